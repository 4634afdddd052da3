{% test unique_combination(model, combination_of_columns) %}
-- Returns each key that occurs more than once, with how often.
select {{ combination_of_columns | join(', ') }}, count(*) as occurrences
from {{ model }}
group by {{ combination_of_columns | join(', ') }}
having count(*) > 1
{% endtest %}
