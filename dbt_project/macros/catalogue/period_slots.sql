{#- Generated from pipelines/catalogue/catalogue.yml by `make catalogue`; do not edit. -#}

{#- The most settlement periods a local day can have (the catalogue's settlement_period: at most 50, at the
    autumn clock change): a day's values are kept in this many period columns (macros/periods.sql). -#}
{% macro period_slots() -%}
{{ return(50) }}
{%- endmacro %}
