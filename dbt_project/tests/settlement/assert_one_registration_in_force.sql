-- A snapshot whose rows for one MPAN and quantity overlap on the settlement date: nobody can say who
-- supplied it that day, so the run stops naming the MPAN rather than settle it twice. A partitioned run
-- looks in every GSP Group, so rows overlapping across two partitions' groups stop it too.
{{ config(store_failures = true) }}
{%- set registrations_everywhere = ref('int_registrations_in_force_everywhere') %}
select mpan_core, measurement_quantity, count(*) as rows_in_force, string_agg(supplier_id, ' ') as suppliers
{%- if partitioned() %}
from {{ registrations_everywhere }}
group by mpan_core, measurement_quantity
having count(*) > 1 and bool_or({{ in_partition('gsp_group_id') }})
{%- else %}
from {{ ref('int_registrations_in_force') }}
group by mpan_core, measurement_quantity
having count(*) > 1
{%- endif %}
