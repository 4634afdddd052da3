{#- A day's values are kept one column per settlement period, <prefix>_01 .. <prefix>_NN (kwh_01 .. kwh_50),
    NN = period_slots(): the most periods a local day can have, generated from the data catalogue
    (macros/catalogue/period_slots.sql). These macros write the period columns and the loops over them, so no
    model states the number of periods itself. In a template, {p} stands for the period number: 'kwh_{p:02d}'
    is kwh_07 for period 7, 't_c_{p}' is t_c_7. -#}

{#- The period numbers 1 .. period_slots(), for a Jinja loop. -#}
{%- macro period_numbers() -%}
{{ return(range(1, period_slots() + 1)) }}
{%- endmacro -%}

{#- The period numbers as a DuckDB list (1 .. period_slots()), for SQL that picks periods from a mask. -#}
{% macro period_number_list() -%}
range(1, {{ period_slots() + 1 }})
{%- endmacro %}

{#- The column of one period: period_column('kwh', 7) is kwh_07. -#}
{%- macro period_column(prefix, period) -%}
{{ return(prefix ~ '_%02d' % period) }}
{%- endmacro -%}

{#- A template written once per period, joined by separator: each_period('t_c_{p} - e_c_{p}') is
    t_c_1 - e_c_1, t_c_2 - e_c_2, ..., t_c_50 - e_c_50. -#}
{% macro each_period(template, separator=', ') -%}
{%- for p in period_numbers() %}{{ template.format(p=p) }}{% if not loop.last %}{{ separator }}{% endif %}{% endfor -%}
{%- endmacro %}

{#- Every period column, comma-separated: period_columns('kwh', 's') is s.kwh_01, s.kwh_02, ..., s.kwh_50. -#}
{% macro period_columns(prefix, alias=none) -%}
{{ each_period((alias ~ '.' if alias else '') ~ prefix ~ '_{p:02d}') }}
{%- endmacro %}

{#- A bit mask (ubigint) with bit p set where the condition holds for period p:
    period_mask('kwh_{p:02d} is not null') has a bit for each period with a value. -#}
{% macro period_mask(condition) -%}
(0::ubigint
{%- for p in period_numbers() %}
    | case when {{ condition.format(p=p) }} then {{ 2 ** p }}::ubigint else 0::ubigint end
{%- endfor %})
{%- endmacro %}
