{% test mpan_check_digit(model, column_name) %}
-- DOMAIN.md section 7: weights 3,5,7,13,17,19,23,29,31,37,41,43; check digit = (sum mod 11) mod 10.
{% set weights = [3, 5, 7, 13, 17, 19, 23, 29, 31, 37, 41, 43] %}
select {{ column_name }} as failing_value,
       (({% for w in weights %}substr({{ column_name }}, {{ loop.index }}, 1)::int * {{ w }}{% if not loop.last %} + {% endif %}{% endfor %}) % 11) % 10 as expected_check_digit
from {{ model }}
where regexp_full_match({{ column_name }}, '[0-9]{13}')
  and (({% for w in weights %}substr({{ column_name }}, {{ loop.index }}, 1)::int * {{ w }}{% if not loop.last %} + {% endif %}{% endfor %}) % 11) % 10
      <> substr({{ column_name }}, 13, 1)::int
{% endtest %}
