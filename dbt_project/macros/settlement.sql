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

{#- Cumulative rounding: a kWh total shared over ordered rows (the days of a register read, the periods of a day)
    in proportion to each row's weight, each share rounded to 3 places, so that the shares add up to the total
    exactly. A row's share is the total's cumulative share through it, rounded, minus the cumulative share through
    the row before (lag); the last row's cumulative share is the total itself.
    share_weight: the row's weight as an exact decimal, so that every run sums the same weights alike; 1 each when
    the weights of the whole window are zero (the total is then shared equally).
    cumulative_share_through: the rounded cumulative share through the row, over `whole` (every row sharing the
    total) and `through` (the same rows, ordered, up to the current one). -#}
{% macro share_weight(shape, whole) -%}
case when sum({{ shape }}) over {{ whole }} > 0 then round({{ shape }}, 12) else 1 end::decimal(38, 12)
{%- endmacro %}

{% macro cumulative_share_through(total, weight, is_last_row, whole, through) -%}
case
    when {{ is_last_row }} then {{ total }}
    else round({{ total }} * (sum({{ weight }}) over {{ through }})::double / (sum({{ weight }}) over {{ whole }})::double, 3)
end::decimal(18, 3)
{%- endmacro %}
