-- Every submission of the day checked against the registration in force. A whole submission is refused
-- when its MPAN is not registered or when its sender is not the appointed data service (DOMAIN.md section 5:
-- a de-energised MPAN's metered data is settled, since the energy flowed, and flagged for review);
-- a single value is refused when its period has not ended yet or it exceeds the physical maximum of the
-- segment and premises. usable_mask holds bit p for each value that may be chosen as current.
{%- set registrations_everywhere = ref('int_registrations_in_force_everywhere') %}
with periods as (
    select
        bit_or(1::ubigint << settlement_period) as day_mask,
        bit_or(case when utc_period_start + interval 30 minute <= '{{ run_parameter("run_started_at") }}'::timestamptz
                    then 1::ubigint << settlement_period else 0::ubigint end) as ended_mask
    from {{ ref('int_settlement_periods') }}
),

checked as (
    select
        s.*,
        r.market_segment,
        r.domestic_premises,
        case
            when r.mpan_core is null then 'NOT_REGISTERED'
            when r.data_service_id <> s.data_service_id then 'DATA_SERVICE_NOT_APPOINTED'
        end as submission_reason_code,
        {{ physical_max_kwh('r.market_segment', 'r.domestic_premises') }} as physical_max_kwh
    from {{ ref('stg_lake__consumption_submissions') }} as s
    left join {{ ref('int_registrations_in_force') }} as r
        on s.mpan_core = r.mpan_core and s.measurement_quantity = r.measurement_quantity
    where s.settlement_date = date '{{ run_parameter("settlement_date") }}'
    {%- if partitioned() %}
    -- in a partitioned run, a submission whose MPAN and quantity is in force in another partition's GSP
    -- Group is checked there; one partition checks those registered nowhere
      and (r.mpan_core is not null
    {%- if run_parameter('checks_unregistered') %}
       or not exists (
           select 1
           from {{ registrations_everywhere }} as everywhere
           where everywhere.mpan_core = s.mpan_core and everywhere.measurement_quantity = s.measurement_quantity
       )
    {%- endif %})
    {%- endif %}
)

select
    checked.*,
    {{ period_mask('kwh_{p:02d} is not null') }} as present_mask,
    {{ period_mask('kwh_{p:02d} > physical_max_kwh') }} as above_max_mask,
    periods.day_mask,
    periods.ended_mask
from checked, periods
