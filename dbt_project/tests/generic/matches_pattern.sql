{% test matches_pattern(model, column_name, pattern) %}
-- Returns each value that does not match the catalogue's pattern, with how often it occurs.
select {{ column_name }} as failing_value, '{{ pattern }}' as expected_pattern, count(*) as occurrences
from {{ model }}
where {{ column_name }} is not null
  and not regexp_matches({{ column_name }}::varchar, '{{ pattern | replace("'", "''") }}')
group by 1
{% endtest %}
