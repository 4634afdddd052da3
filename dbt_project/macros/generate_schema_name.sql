{% macro generate_schema_name(custom_schema_name, node) -%}
    {#- Custom schemas are used as named (standing, staging, ...), not prefixed with the target schema. -#}
    {{ custom_schema_name | trim if custom_schema_name is not none else target.schema }}
{%- endmacro %}
