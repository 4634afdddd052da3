-- GSP Group Correction Factor per period and GSP Group (CONTRACT.md).
select
    '{{ run_parameter("run_id") }}'::varchar as run_id,
    '{{ run_parameter("run_type") }}'::varchar as run_type,
    date '{{ run_parameter("settlement_date") }}' as settlement_date,
    -- bigint as published before the contract, not the catalogue's integer (catalogue_artefacts.PUBLISHED_TYPES)
    settlement_period::bigint as settlement_period,
    gsp_group_id::varchar as gsp_group_id,
    gsp_group_take_kwh::decimal(18, 3) as gsp_group_take_kwh,
    round(uncorrected_kwh, 6)::decimal(18, 6) as uncorrected_kwh,
    round(correction_factor, 9)::decimal(18, 9) as correction_factor
from {{ ref('int_gsp_group_correction') }}
