-- Supplier BM Unit volumes per period (CONTRACT.md): loss-adjusted volumes before and after GSP Group
-- Correction; corrected = volume x (1 + (CF - 1) x scaling weight) (DOMAIN.md section 6).
select
    '{{ run_parameter("run_id") }}'::varchar as run_id,
    '{{ run_parameter("run_type") }}'::varchar as run_type,
    date '{{ run_parameter("settlement_date") }}' as settlement_date,
    v.settlement_period::integer as settlement_period,
    v.gsp_group_id::varchar as gsp_group_id,
    v.supplier_id::varchar as supplier_id,
    v.bm_unit_id::varchar as bm_unit_id,
    v.ccc_id::varchar as ccc_id,
    v.measurement_quantity::varchar as measurement_quantity,
    v.mpan_count::integer as mpan_count,
    round(v.volume_kwh, 6)::decimal(18, 6) as uncorrected_kwh,
    round(v.volume_kwh * (1 + (c.correction_factor - 1) * v.scaling_weight), 6)::decimal(18, 6) as corrected_kwh
from {{ ref('int_supplier_period_volumes') }} as v
join {{ ref('int_gsp_group_correction') }} as c
    on c.gsp_group_id = v.gsp_group_id and c.settlement_period = v.settlement_period
