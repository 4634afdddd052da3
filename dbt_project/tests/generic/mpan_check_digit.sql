{% test mpan_check_digit(model, column_name) %}
-- Returns each 13-digit MPAN core whose last digit is not its check digit (DOMAIN.md section 7).
select {{ column_name }} as failing_value, count(*) as occurrences
from {{ model }}
where regexp_full_match({{ column_name }}, '[0-9]{13}') and not {{ mpan_check_digit_ok(column_name) }}
group by 1
{% endtest %}
