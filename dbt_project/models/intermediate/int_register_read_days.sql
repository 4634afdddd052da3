-- Each accepted register read (int_register_reads_checked, current) shared over the days of its interval
-- (CONTRACT.md, "Register reads"; docs/settlement.md, "Register reads"): day d gets
--   kwh x (d's shape total / the interval's shape total)
-- with the shape of the MPAN's load shape category (as registered on the settlement date). A day's shape total:
--   the settlement date  load_shapes.csv where it gives the category and date, else this run's Load Shaping
--                        Service shape (int_load_shapes)
--   another day          load_shapes.csv where it gives the category and day, else the published history
--                        (stg_settlement_run__load_shape_history), else the default: the settlement date's total x
--                        the day's season weight / the date's season weight (int_load_shape_season)
-- An interval whose shape is zero throughout shares the read equally over its days.
-- Rounding: kWh to 3 places by cumulative rounding (macros/settlement.sql), so that the days add up to the read
-- exactly. Every day of the interval is computed (a run keeps the settlement date's:
-- int_register_reads_shaped), so the days of an interval add up to the read to the 0.001 kWh whichever run
-- settles each day, as long as the shapes are the same (day totals are summed as 12-place decimals, so every
-- run sums them alike). date_shape_source: where the settlement date's shape came from.
{%- set settlement_date = "date '" ~ run_parameter('settlement_date') ~ "'" %}
{%- set category = ['gsp_group_id', 'market_segment', 'domestic_premises', 'consent_granularity', 'measurement_quantity'] %}
with periods as (
    select settlement_period from {{ ref('int_settlement_periods') }}
),

reads as (
    select
        mpan_core, measurement_quantity, {{ category | reject('equalto', 'measurement_quantity') | join(', ') }},
        read_start_date, read_end_date, kwh
    from {{ ref('int_register_reads_checked') }}
    where current
),

read_categories as (
    select distinct {{ category | join(', ') }} from reads
),

given as (
    select s.*
    from {{ ref('stg_standing__load_shapes') }} as s
    semi join read_categories as c using ({{ category | join(', ') }})
),

given_days as (
    select {{ category | join(', ') }}, settlement_date as day, sum(load_shape_kwh)::double as day_total
    from given
    group by all
),

-- the date's shape, period by period: load_shapes.csv where it gives the category and date, else this run's
date_shape as (
    select
        {% for column in category %}c.{{ column }}, {% endfor %}
        p.settlement_period,
        case when gd.day is not null then g.load_shape_kwh else l.load_shape_kwh end::double as shape_kwh,
        case when gd.day is not null then 'load_shapes' else l.shape_source end as shape_source
    from read_categories as c
    cross join periods as p
    left join given_days as gd
        on {% for column in category %}gd.{{ column }} = c.{{ column }} and {% endfor %}gd.day = {{ settlement_date }}
    left join given as g
        on {% for column in category %}g.{{ column }} = c.{{ column }} and {% endfor %}g.settlement_date = {{ settlement_date }}
       and g.settlement_period = p.settlement_period
    left join {{ ref('int_load_shapes') }} as l
        on {% for column in category %}l.{{ column }} = c.{{ column }} and {% endfor %}l.settlement_period = p.settlement_period
),

date_totals as (
    select {{ category | join(', ') }}, sum(shape_kwh) as day_total, any_value(shape_source) as shape_source
    from date_shape
    group by all
),

history_days as (
    select h.{{ category | join(', h.') }}, h.settlement_date as day, sum(h.load_shape_kwh)::double as day_total
    from {{ ref('stg_settlement_run__load_shape_history') }} as h
    semi join read_categories as c using ({{ category | join(', ') }})
    group by all
),

season as (
    select * from {{ ref('int_load_shape_season') }}
),

-- a day's weight depends on the read's category and interval only: the days are shared once per category and
-- interval (macros/settlement.sql, "Cumulative rounding"), then each read takes its own kWh's share of each day
intervals as (
    select distinct {{ category | join(', ') }}, read_start_date, read_end_date from reads
),

interval_days as (
    select i.*, unnest(generate_series(i.read_start_date, i.read_end_date, interval 1 day))::date as day
    from intervals as i
),

day_totals as (
    select
        d.*,
        case
            when d.day = {{ settlement_date }} then t.day_total
            else coalesce(gd.day_total, h.day_total, t.day_total * s.day_weight / nullif(today.day_weight, 0), t.day_total)
        end as day_total,
        t.shape_source as date_shape_source
    from interval_days as d
    inner join date_totals as t
        on {% for column in category %}t.{{ column }} = d.{{ column }}{% if not loop.last %} and {% endif %}{% endfor %}
    left join given_days as gd
        on {% for column in category %}gd.{{ column }} = d.{{ column }} and {% endfor %}gd.day = d.day
    left join history_days as h
        on {% for column in category %}h.{{ column }} = d.{{ column }} and {% endfor %}h.day = d.day
    left join season as s
        on s.market_segment = d.market_segment and s.domestic_premises = d.domestic_premises
       and s.measurement_quantity = d.measurement_quantity and s.day = d.day
    left join season as today
        on today.market_segment = d.market_segment and today.domestic_premises = d.domestic_premises
       and today.measurement_quantity = d.measurement_quantity and today.day = {{ settlement_date }}
),

-- each day's weight as an exact decimal (so every run sums an interval alike), 1 each when the interval's shape is zero
day_weights as (
    select *, {{ share_weight('day_total', 'read_interval') }} as weight
    from day_totals
    window read_interval as (partition by {{ category | join(', ') }}, read_start_date, read_end_date)
),

day_shares as (
    select
        *,
        sum(weight) over through_day as weight_through,
        coalesce(sum(weight) over before_day, 0) as weight_before,
        sum(weight) over read_interval as weight_whole
    from day_weights
    window read_interval as (partition by {{ category | join(', ') }}, read_start_date, read_end_date),
           through_day as (partition by {{ category | join(', ') }}, read_start_date, read_end_date order by day
                           rows between unbounded preceding and current row),
           before_day as (partition by {{ category | join(', ') }}, read_start_date, read_end_date order by day
                          rows between unbounded preceding and 1 preceding)
)

select
    r.*,
    s.day,
    s.day_total,
    s.date_shape_source,
    ({{ share_through('r.kwh', 's.weight_through', 's.weight_whole', 's.day = r.read_end_date') }}
     - {{ share_through('r.kwh', 's.weight_before', 's.weight_whole') }})::decimal(18, 3) as day_kwh
from reads as r
inner join day_shares as s
    on {% for column in category %}s.{{ column }} = r.{{ column }} and {% endfor %}s.read_start_date = r.read_start_date
   and s.read_end_date = r.read_end_date
