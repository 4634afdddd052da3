-- Every submitted value the settlement refused, with the reason (into the run's quarantine).
with candidates as (
    select *
    from {{ ref('int_consumption_checked') }}
    where submission_reason_code is not null
       or present_mask & ~ended_mask <> 0
       or above_max_mask <> 0
),

values_by_period as (
    select
        c.*,
        p.settlement_period,
        p.utc_period_start,
        [{{ period_columns('kwh') }}][p.settlement_period] as kwh
    from candidates as c
    cross join {{ ref('int_settlement_periods') }} as p
    where (c.present_mask >> p.settlement_period) & 1 = 1
)

select
    '{{ run_parameter("run_id") }}' as run_id,
    source_file,
    file_sha256,
    mpan_core,
    measurement_quantity,
    settlement_period,
    utc_period_start,
    kwh,
    data_service_id,
    received_at,
    coalesce(
        submission_reason_code,
        case
            when (ended_mask >> settlement_period) & 1 = 0 then 'FUTURE_PERIOD'
            when (above_max_mask >> settlement_period) & 1 = 1 then 'ABOVE_PHYSICAL_MAXIMUM'
        end
    ) as reason_code
from values_by_period
where submission_reason_code is not null
   or (ended_mask >> settlement_period) & 1 = 0
   or (above_max_mask >> settlement_period) & 1 = 1
