-- The bundled default season around the settlement date: each calendar day's weight (load_shape_season: the
-- day's energy relative to the year's mean day, its working or non-working weight; weekends and bank holidays are
-- non-working) per market segment, domestic indicator and quantity, for the days from 400 before the date to
-- 400 after it (a register read's interval can reach either side of the date). in_year marks the 365 days ending
-- on the date, over which an annual total is summed. The Load Shaping Service fills the days its history lacks
-- with it, and the default load shape takes the date's share of the year from it.
{%- set settlement_date = "date '" ~ run_parameter('settlement_date') ~ "'" %}
with days as (
    select
        days.day::date as day,
        days.day::date between {{ settlement_date }} - 364 and {{ settlement_date }} as in_year,
        isodow(days.day) <= 5 and days.day::date not in (select date from {{ ref('stg_standing__bank_holidays') }}) as working
    from range({{ settlement_date }} - interval 400 day, {{ settlement_date }} + interval 401 day, interval 1 day) as days(day)
)

select
    d.day,
    d.in_year,
    s.market_segment,
    s.domestic_premises,
    s.measurement_quantity,
    case when d.working then s.working_day_weight else s.non_working_day_weight end::double as day_weight
from days as d
inner join {{ ref('stg_standing__load_shape_season') }} as s
    on s.month = month(d.day) and s.day_of_month = day(d.day)
