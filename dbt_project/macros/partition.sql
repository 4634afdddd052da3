{#- A settlement run can be split into partitions of GSP Groups (ARCHITECTURE.md, "Scaling out"): run
    parameter gsp_group_ids lists the partition's groups, none meaning every group. Every model is local to a
    GSP Group, so settling a day as one partition or as one per group gives the same outputs. The rows in force
    in every group are the view int_registrations_in_force_everywhere. -#}
{% macro in_partition(column) -%}
{%- set groups = run_parameter('gsp_group_ids') -%}
{%- if groups is none -%}
true
{%- else -%}
{{ column }} in ({% for group in groups %}'{{ group }}'{% if not loop.last %}, {% endif %}{% endfor %})
{%- endif -%}
{%- endmacro %}

{%- macro partitioned() -%}
{{ return(run_parameter('gsp_group_ids') is not none) }}
{%- endmacro -%}
