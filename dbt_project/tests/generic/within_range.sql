{% test within_range(model, column_name, min_value=none, max_value=none) %}
-- Returns each value outside the catalogue's inclusive range, with the bounds it broke.
select {{ column_name }} as failing_value,
       {{ min_value if min_value is not none else 'null' }} as min_value,
       {{ max_value if max_value is not none else 'null' }} as max_value,
       count(*) as occurrences
from {{ model }}
where {{ column_name }} is not null
  and (
    {% if min_value is not none %} {{ column_name }} < {{ min_value }} {% else %} false {% endif %}
    or {% if max_value is not none %} {{ column_name }} > {{ max_value }} {% else %} false {% endif %}
  )
group by 1
{% endtest %}
