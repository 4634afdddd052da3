{#- Generated from pipelines/catalogue/catalogue.yml and pipelines/core/mpan.py by `make catalogue`; do not edit. -#}

{#- The MPAN core check-digit weights (DOMAIN.md section 7): pipelines.core.mpan.CHECK_WEIGHTS. -#}
{% macro mpan_check_weights() -%}
{{ return([3, 5, 7, 13, 17, 19, 23, 29, 31, 37, 41, 43]) }}
{%- endmacro %}

{#- The newest snapshot date holding each row's MPAN: its rows replace all older ones (CONTRACT.md; the
    catalogue's `newest` rule of registrations). -#}
{% macro registrations_newest_snapshot_date() -%}
max(snapshot_date) over (partition by mpan_core)
{%- endmacro %}

{#- How far the signed corrected volumes of a GSP Group and period may be from its GSP Group Take, in kWh
    (settlement rule correction_identity). -#}
{% macro correction_tolerance_kwh() -%}
0.001
{%- endmacro %}
