-- Actual values of the same weekday within a month either side of the settlement date (D +/- 7, 14, 21,
-- 28 days), for MPANs with a gap only, matched by local clock half hour so a clock change between the
-- days does not shift them. Like-day reads pass the run's own checks first: sent by the data service
-- appointed now and within the physical maximum (the like days' own registrations are not re-read).
-- Per like day the latest usable submission of each period counts, and only if it is actual; the
-- like-day value of a half hour is the mean over the like days that have one.
with gaps as (
    select mpan_core, measurement_quantity, data_service_id,
           {{ physical_max_kwh('market_segment', 'domestic_premises') }} as physical_max_kwh
    from {{ ref('int_consumption_gaps') }}
    where missing_mask <> 0
),

like_days as (
    select date '{{ run_parameter("settlement_date") }}' + offset_days as like_date
    from (select unnest([-28, -21, -14, -7, 7, 14, 21, 28]) as offset_days)
),

submissions as (
    select c.*, g.physical_max_kwh
    from {{ ref('stg_lake__consumption_submissions') }} as c
    join gaps as g
        on c.mpan_core = g.mpan_core
       and c.measurement_quantity = g.measurement_quantity
       and c.data_service_id = g.data_service_id
    where c.settlement_date in (select like_date from like_days)
),

period_slots as (
    -- local clock half hour of every period of every like day
    select
        like_date,
        settlement_period,
        1 + hour(local_start) * 2 + minute(local_start) // 30 as local_half_hour
    from (
        select
            d.like_date,
            p.settlement_period,
            timezone('Europe/London', timezone('Europe/London', d.like_date::timestamp)
                     + to_minutes(30 * (p.settlement_period - 1))) as local_start
        from like_days as d
        cross join (select unnest(generate_series(1, {{ period_slots() }})) as settlement_period) as p
    )
),

values_by_period as (
    select
        s.mpan_core,
        s.measurement_quantity,
        s.settlement_date,
        s.received_at,
        s.file_sha256,
        p.settlement_period,
        [{{ period_columns('kwh', 's') }}][p.settlement_period] as kwh,
        (s.estimated_mask >> p.settlement_period) & 1 = 1 as estimated,
        p.local_half_hour,
        s.physical_max_kwh
    from submissions as s
    join period_slots as p on p.like_date = s.settlement_date
),

latest as (
    select
        mpan_core,
        measurement_quantity,
        settlement_date,
        settlement_period,
        any_value(local_half_hour) as local_half_hour,
        arg_max(kwh, (received_at, file_sha256)) as kwh,
        arg_max(estimated, (received_at, file_sha256)) as estimated
    from values_by_period
    where kwh is not null and kwh <= physical_max_kwh
    group by mpan_core, measurement_quantity, settlement_date, settlement_period
)

select
    mpan_core,
    measurement_quantity,
    local_half_hour,
    round(avg(kwh), 3) as like_day_kwh,
    count(distinct settlement_date) as like_days
from latest
where not estimated
group by mpan_core, measurement_quantity, local_half_hour
