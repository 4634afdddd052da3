-- The load shape every AC-based estimate of the settlement date uses (DOMAIN.md section 5, CONTRACT.md
-- load_shapes.csv): per load shape category of the day's registrations (GSP Group, market segment,
-- domestic premises, consent granularity, measurement quantity) and settlement period, the fraction of
-- annual consumption (AC) that falls in the period, load_shape_kwh / annual_total_kwh, so an estimate is
-- ac_fraction x AC. It carries the season: a winter day of a domestic customer gets more than AC / 365.
--   load_shapes  where the standing data's load_shapes.csv gives the category and date (all its periods)
--   default      else the bundled default: the category's day (load_shape_default, by local half hour) times
--                the date's day weight (load_shape_season: its working or non-working day weight; weekends
--                and bank holidays are non-working), over the sum of the day weights of the 365 days ending
--                on the date
{%- set settlement_date = "date '" ~ run_parameter('settlement_date') ~ "'" %}
{%- set category = ['gsp_group_id', 'market_segment', 'domestic_premises', 'consent_granularity', 'measurement_quantity'] %}
with periods as (
    select settlement_period, local_half_hour from {{ ref('int_settlement_periods') }}
),

categories as (
    select distinct {{ category | join(', ') }}
    from {{ ref('int_registrations_in_force') }}
),

given as (
    select {{ category | join(', ') }}, settlement_period, load_shape_kwh / annual_total_kwh as ac_fraction
    from {{ ref('stg_standing__load_shapes') }}
    where settlement_date = {{ settlement_date }}
),

given_categories as (
    select distinct {{ category | join(', ') }}, true as given_for_the_date from given
),

season as (
    select * from {{ ref('stg_standing__load_shape_season') }}
),

year_days as (
    -- the 365 days ending on the settlement date, each working or not
    select
        days.day::date as day,
        isodow(days.day) <= 5 and days.day::date not in (select date from {{ ref('stg_standing__bank_holidays') }}) as working
    from range({{ settlement_date }} - interval 364 day, {{ settlement_date }} + interval 1 day, interval 1 day) as days(day)
),

day_weights as (
    select
        y.day,
        s.market_segment,
        s.domestic_premises,
        s.measurement_quantity,
        case when y.working then s.working_day_weight else s.non_working_day_weight end as day_weight
    from year_days as y
    inner join season as s
        on s.month = month(y.day) and s.day_of_month = day(y.day)
),

season_of_the_year as (
    select market_segment, domestic_premises, measurement_quantity, sum(day_weight) as year_weight
    from day_weights
    group by all
),

default_shapes as (
    select
        d.market_segment,
        d.domestic_premises,
        d.measurement_quantity,
        p.settlement_period,
        d.shape_fraction * s.day_weight / y.year_weight as ac_fraction
    from periods as p
    inner join {{ ref('stg_standing__load_shape_default') }} as d
        on d.local_half_hour = p.local_half_hour
    inner join day_weights as s
        on s.market_segment = d.market_segment
       and s.domestic_premises = d.domestic_premises
       and s.measurement_quantity = d.measurement_quantity
       and s.day = {{ settlement_date }}
    inner join season_of_the_year as y
        on y.market_segment = d.market_segment
       and y.domestic_premises = d.domestic_premises
       and y.measurement_quantity = d.measurement_quantity
)

select
    c.*,
    p.settlement_period,
    case when gc.given_for_the_date then 'load_shapes' else 'default' end as shape_source,
    case when gc.given_for_the_date then g.ac_fraction else ds.ac_fraction end as ac_fraction
from categories as c
cross join periods as p
left join given_categories as gc
    on {% for column in category %}gc.{{ column }} = c.{{ column }}{% if not loop.last %} and {% endif %}{% endfor %}
left join given as g
    on {% for column in category %}g.{{ column }} = c.{{ column }} and {% endfor %}g.settlement_period = p.settlement_period
left join default_shapes as ds
    on ds.market_segment = c.market_segment
   and ds.domestic_premises = c.domestic_premises
   and ds.measurement_quantity = c.measurement_quantity
   and ds.settlement_period = p.settlement_period
