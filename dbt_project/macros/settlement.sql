{#- The most settlement periods a local day can have (autumn clock change). -#}
{% macro max_periods() %}50{% endmacro %}

{%- macro period_numbers() -%}
{{ return(range(1, 51)) }}
{%- endmacro -%}

{#- The lake folder of one dataset, as a Parquet glob. -#}
{% macro lake(dataset, partition=none) -%}
'{{ var("lake_dir") }}/{{ dataset }}/{% if partition %}{{ partition }}/{% else %}**/{% endif %}*.parquet'
{%- endmacro %}

{#- Only rows of landing files whose ingestion committed (their ingestion log entry exists). -#}
{% macro committed(alias) -%}
{{ alias }}.file_sha256 in (select file_sha256 from read_parquet({{ lake('ingestion_log') }}))
{%- endmacro %}
