{#- True when a 13-digit MPAN core's last digit is its check digit (DOMAIN.md section 7): the first 12
    digits times their weights (mpan_check_weights(), generated from pipelines/core/mpan.py), summed, mod 11,
    mod 10. -#}
{% macro mpan_check_digit_ok(column) -%}
{%- set weights = mpan_check_weights() -%}
{#- the number is cast once, inside a one-element list: 14 casts per MPAN cost ten times as much -#}
(regexp_full_match({{ column }}, '[0-9]{13}') and list_transform([try_cast({{ column }} as bigint)], lambda n: ((
    {%- for w in weights %}(n // {{ 10 ** (12 - loop.index0) }} % 10) * {{ w }}{% if not loop.last %} + {% endif %}{% endfor -%}
) % 11) % 10 = n % 10)[1])
{%- endmacro %}

{#- The largest credible half-hour value for a market segment and domestic indicator (var physical_max_kwh). -#}
{% macro physical_max_kwh(market_segment, domestic_premises) -%}
case {{ market_segment }} || '_' || {{ domestic_premises }}
    {%- for category, limit in var('physical_max_kwh').items() %}
    when '{{ category }}' then {{ limit }}
    {%- endfor %}
end
{%- endmacro %}
