-- A snapshot whose rows for one MPAN and quantity overlap on the settlement date: nobody can say who
-- supplied it that day, so the run stops naming the MPAN rather than settle it twice.
{{ config(store_failures = true) }}
select mpan_core, measurement_quantity, count(*) as rows_in_force, string_agg(supplier_id, ' ') as suppliers
from {{ ref('int_registrations_in_force') }}
group by mpan_core, measurement_quantity
having count(*) > 1
