{% test half_hour_boundary(model, column_name) %}
-- Returns each timestamp that does not start a UTC half hour.
select {{ column_name }} as failing_value, count(*) as occurrences
from {{ model }}
where {{ column_name }} is not null and epoch({{ column_name }}) % 1800 <> 0
group by 1
{% endtest %}
