{#- The most settlement periods a local day can have (autumn clock change). -#}
{% macro max_periods() %}50{% endmacro %}

{%- macro period_numbers() -%}
{{ return(range(1, 51)) }}
{%- endmacro -%}

{#- The lake folder of one dataset, as a Parquet glob. -#}
{% macro lake(dataset, partition=none) -%}
'{{ var("lake_dir") }}/{{ dataset }}/{% if partition %}{{ partition }}/{% else %}**/{% endif %}*.parquet'
{%- endmacro %}

{#- Only rows of landing files whose ingestion committed (their ingestion log entry exists). A settlement
    run passes the log as it was when the run started (var ingestion_log), so a file ingested while the
    run is under way never reaches some of its models and not others. -#}
{% macro committed(alias) -%}
{%- set log = "'" ~ var('ingestion_log') ~ "'" if var('ingestion_log', none) else lake('ingestion_log') -%}
{{ alias }}.file_sha256 in (select file_sha256 from read_parquet({{ log }}))
{%- endmacro %}

{#- True when a 13-digit MPAN core's last digit is its check digit (DOMAIN.md section 7): the first 12
    digits times 3, 5, 7, 13, 17, 19, 23, 29, 31, 37, 41, 43, summed, mod 11, mod 10. -#}
{% macro mpan_check_digit_ok(column) -%}
{%- set weights = [3, 5, 7, 13, 17, 19, 23, 29, 31, 37, 41, 43] -%}
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
