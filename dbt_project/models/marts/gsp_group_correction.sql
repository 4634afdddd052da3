-- GSP Group Correction Factor per period and GSP Group (CONTRACT.md).
select
    '{{ var("run_id") }}' as run_id,
    '{{ var("run_type") }}' as run_type,
    date '{{ var("settlement_date") }}' as settlement_date,
    settlement_period,
    gsp_group_id,
    gsp_group_take_kwh::decimal(18, 3) as gsp_group_take_kwh,
    round(uncorrected_kwh, 6)::decimal(18, 6) as uncorrected_kwh,
    round(correction_factor, 9)::decimal(18, 9) as correction_factor
from {{ ref('int_gsp_group_correction') }}
