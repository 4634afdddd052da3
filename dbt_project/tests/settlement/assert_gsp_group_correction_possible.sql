-- W = 0 with GSP Group Take different from U cannot be corrected (DOMAIN.md section 6): the run stops.
{{ config(store_failures = true) }}
select gsp_group_id, settlement_period, gsp_group_take_kwh, uncorrected_kwh, weighted_kwh
from {{ ref('int_gsp_group_correction') }}
where gsp_group_take_kwh is not null and correction_factor is null
order by 1, 2
