-- The BM Unit volumes keep the correction identity: in every GSP Group and period the net BM Unit volumes
-- (import - export) add up to the GSP Group Take within correction_tolerance_kwh() (the data catalogue's
-- settlement rule bm_unit_volumes_add_up_to_gsp_group_take, which the gate checks again over the whole run).
-- Returns expected against observed where it does not hold.
{{ config(store_failures = true) }}
select
    c.gsp_group_id,
    c.settlement_period,
    c.gsp_group_take_kwh as expected_kwh,
    coalesce(sum(b.net_kwh), 0) as observed_kwh
from {{ ref('gsp_group_correction') }} as c
left join {{ ref('bm_unit_volumes') }} as b
    on b.gsp_group_id = c.gsp_group_id and b.settlement_period = c.settlement_period
group by c.gsp_group_id, c.settlement_period, c.gsp_group_take_kwh
having abs(observed_kwh - expected_kwh) > {{ correction_tolerance_kwh() }}
