-- The Load Shaping Service's publication with its provenance (docs/settlement.md, "The Load Shaping Service"):
-- every category's shape of the settlement date (int_load_shapes_of_the_day) with its annual total, the sum of
-- the category's shape over the 365 days ending on the date:
--   the date itself     this run's shape
--   the 364 days before the published history (stg_settlement_run__load_shape_history: for each date, the
--                       load_shapes of the newest succeeded run that published it), where it holds the category
--   a day it lacks      the default season scaled to the category's level on the date: this run's day total x
--                       the day's season weight / the date's season weight (int_load_shape_season). With no
--                       history at all the annual total is then the date's total over the date's share of the
--                       season's year, and a default-shaped category's annual total is its mean annual consumption
-- An annual total is at least 0.000001 kWh (a shape that was zero all year would otherwise divide by zero).
-- The mart load_shapes publishes the categories with actual half-hourly data on the date; the rest are kept
-- here (the run's basis data load_shape_basis) for estimation, register reads and auditors.
{%- set settlement_date = "date '" ~ run_parameter('settlement_date') ~ "'" %}
{%- set category = ['gsp_group_id', 'market_segment', 'domestic_premises', 'consent_granularity', 'measurement_quantity'] %}
with shapes as (
    select * from {{ ref('int_load_shapes_of_the_day') }}
),

day_totals as (
    select {{ category | join(', ') }}, sum(load_shape_kwh) as day_total_kwh
    from shapes
    group by all
),

history as (
    select {{ category | join(', ') }}, settlement_date as day, sum(load_shape_kwh)::double as day_total_kwh
    from {{ ref('stg_settlement_run__load_shape_history') }}
    where settlement_date between {{ settlement_date }} - 364 and {{ settlement_date }} - 1
    group by all
),

season as (
    select * from {{ ref('int_load_shape_season') }}
),

earlier_days as (
    select
        {% for column in category %}t.{{ column }}, {% endfor %}
        s.day,
        h.day_total_kwh is not null as from_history,
        coalesce(h.day_total_kwh, t.day_total_kwh * s.day_weight / nullif(today.day_weight, 0)) as day_total_kwh
    from day_totals as t
    inner join season as s
        on s.market_segment = t.market_segment
       and s.domestic_premises = t.domestic_premises
       and s.measurement_quantity = t.measurement_quantity
       and s.in_year and s.day < {{ settlement_date }}
    inner join season as today
        on today.market_segment = t.market_segment
       and today.domestic_premises = t.domestic_premises
       and today.measurement_quantity = t.measurement_quantity
       and today.day = {{ settlement_date }}
    left join history as h
        on {% for column in category %}h.{{ column }} = t.{{ column }} and {% endfor %}h.day = s.day
),

annual as (
    select
        {% for column in category %}t.{{ column }}, {% endfor %}
        greatest(any_value(t.day_total_kwh) + coalesce(sum(e.day_total_kwh), 0), 0.000001) as annual_total_kwh,
        count(e.day) filter (where e.from_history) as history_days,
        count(e.day) filter (where not e.from_history) as default_days
    from day_totals as t
    left join earlier_days as e
        using ({{ category | join(', ') }})
    group by {% for column in category %}t.{{ column }}{% if not loop.last %}, {% endif %}{% endfor %}
)

select
    s.*,
    a.annual_total_kwh,
    a.history_days,
    a.default_days
from shapes as s
inner join annual as a
    using ({{ category | join(', ') }})
