-- The correction identity: in every GSP Group and period the signed corrected volumes add up to the GSP
-- Group Take within correction_tolerance_kwh() (the data catalogue's settlement rule correction_identity).
-- Returns expected against observed where it does not hold.
{{ config(store_failures = true) }}
select
    v.gsp_group_id,
    v.settlement_period,
    any_value(c.gsp_group_take_kwh) as expected_kwh,
    sum(case v.measurement_quantity when 'AI' then 1 else -1 end * v.corrected_kwh) as observed_kwh
from {{ ref('supplier_volumes') }} as v
join {{ ref('gsp_group_correction') }} as c
    on c.gsp_group_id = v.gsp_group_id and c.settlement_period = v.settlement_period
group by v.gsp_group_id, v.settlement_period
having abs(observed_kwh - expected_kwh) > {{ correction_tolerance_kwh() }}
