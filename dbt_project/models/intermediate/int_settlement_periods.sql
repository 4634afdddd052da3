-- Every settlement period of the settlement date with its UTC start (DOMAIN.md section 4): built as a
-- sequence of UTC instants from local midnight to the next, so the day has 46, 48 or 50 periods.
with day as (
    select
        timezone('Europe/London', date '{{ run_parameter("settlement_date") }}'::timestamp) as day_start,
        timezone('Europe/London', (date '{{ run_parameter("settlement_date") }}' + 1)::timestamp) as day_end
),

starts as (
    select unnest(generate_series(day_start, day_end - interval 30 minute, interval 30 minute)) as utc_period_start
    from day
)

select
    (1 + (epoch(utc_period_start) - epoch(day_start)) // 1800)::integer as settlement_period,
    utc_period_start,
    -- local clock half hour, to place load shapes (the repeated autumn hour maps to the same slot twice)
    (1 + hour(timezone('Europe/London', utc_period_start)) * 2
       + minute(timezone('Europe/London', utc_period_start)) // 30)::integer as local_half_hour
from starts, day
