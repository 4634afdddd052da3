{#- A parameter of the settlement run a model is compiled for: settlement_date, run_id, run_type,
    run_started_at, gsp_group_ids (the partition's GSP Groups; none: every group) and checks_unregistered
    (whether the partition also checks the submissions of MPANs registered in no GSP Group).

    `mhhs settle` writes them into the partition's DuckDB file before the build, as table
    settlement_run.parameters (name, value as JSON; pipelines/settle/partition.py), and they are read here
    when a node is compiled, never while dbt parses the project: the parse is the same for every run and
    partition, so every partition's build reuses one saved parse instead of parsing the project again.
    A var of the same name (a unit test's overrides, or --vars given by hand) takes the table's place;
    where there is neither (dbt docs generate, dbt parse), the parameter of var example_run. -#}
{% macro run_parameter(name) -%}
{%- if var.has_var(name) -%}
    {{ return(var(name)) }}
{%- endif -%}
{%- if execute and adapter.get_relation(database=target.database, schema='settlement_run', identifier='parameters') -%}
    {%- set found = run_query("select value from settlement_run.parameters where name = '" ~ name ~ "'") -%}
    {%- if found.rows | length != 1 -%}
        {{ exceptions.raise_compiler_error("settlement_run.parameters holds no run parameter " ~ name) }}
    {%- endif -%}
    {{ return(fromjson(found.rows[0][0])) }}
{%- endif -%}
{{ return(var('example_run')[name]) }}
{%- endmacro %}
