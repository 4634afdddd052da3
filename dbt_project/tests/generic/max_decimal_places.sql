{% test max_decimal_places(model, column_name, places) %}
-- Returns each value with more decimal places than the catalogue allows.
select {{ column_name }} as failing_value, {{ places }} as max_places, count(*) as occurrences
from {{ model }}
where {{ column_name }} is not null
  and round({{ column_name }}::double, {{ places }}) <> {{ column_name }}::double
group by 1
{% endtest %}
