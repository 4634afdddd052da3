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
    the row before; the last row's cumulative share is the total itself.
    share_weight: the row's weight as an exact decimal, so that every run sums the same weights alike; 1 each when
    the weights of the whole window are zero (the total is then shared equally).
    share_through: the total's rounded cumulative share for a cumulative weight (`weight_through`, the weights
    summed through a row or through the row before it) out of `weight_whole` (every row's weights summed).
    The weights are a shape's, the same for every read of a load shape category (and interval), so the models sum
    them once per category and apply share_through to each read: the same figures as a window per read, without
    sorting every read's 48 periods or 30 days (docs/benchmarks.md, "Register reads shared once per category"). -#}
{% macro share_weight(shape, whole) -%}
case when sum({{ shape }}) over {{ whole }} > 0 then round({{ shape }}, 12) else 1 end::decimal(38, 12)
{%- endmacro %}

{% macro share_through(total, weight_through, weight_whole, is_last_row='false') -%}
case
    when {{ is_last_row }} then {{ total }}
    else round({{ total }} * ({{ weight_through }})::double / ({{ weight_whole }})::double, 3)
end::decimal(18, 3)
{%- endmacro %}
