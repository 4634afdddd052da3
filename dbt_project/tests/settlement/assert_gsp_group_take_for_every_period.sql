-- A GSP Group and period with volumes but no GSP Group Take: the run stops naming them.
{{ config(store_failures = true) }}
select gsp_group_id, settlement_period
from {{ ref('int_gsp_group_correction') }}
where gsp_group_take_kwh is null
order by 1, 2
