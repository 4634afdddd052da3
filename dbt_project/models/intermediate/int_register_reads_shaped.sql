-- Each accepted register read as half-hourly values of the settlement date (CONTRACT.md, "Register reads";
-- docs/settlement.md, "Register reads"): the date's share of the read (int_register_read_days) shared over its
-- periods by the date's shape of the MPAN's load shape category (load_shapes.csv where it gives the category and
-- date, else this run's Load Shaping Service shape, int_load_shapes), so that
--   value of period p = kwh x (the date's shape total / the interval's shape total) x (p's shape / the date's total)
-- A date whose shape is zero throughout shares its kWh equally over the periods. Rounding as for the days
-- (cumulative rounding, macros/settlement.sql), so the periods add up to the day exactly.
-- register_read_mask: bit p for each period of the day (the same convention as estimated_mask).
{%- set settlement_date = "date '" ~ run_parameter('settlement_date') ~ "'" %}
{%- set category = ['gsp_group_id', 'market_segment', 'domestic_premises', 'consent_granularity', 'measurement_quantity'] %}
with date_kwh as (
    select * from {{ ref('int_register_read_days') }}
    where day = {{ settlement_date }}
),

date_categories as (
    select distinct {{ category | join(', ') }} from date_kwh
),

given as (
    select s.*
    from {{ ref('stg_standing__load_shapes') }} as s
    semi join date_categories as c using ({{ category | join(', ') }})
    where s.settlement_date = {{ settlement_date }}
),

given_categories as (
    select distinct {{ category | join(', ') }} from given
),

date_shape as (
    select
        {% for column in category %}c.{{ column }}, {% endfor %}
        p.settlement_period,
        case when gc.gsp_group_id is not null then g.load_shape_kwh else l.load_shape_kwh end::double as shape_kwh
    from date_categories as c
    cross join {{ ref('int_settlement_periods') }} as p
    left join given_categories as gc
        on {% for column in category %}gc.{{ column }} = c.{{ column }}{% if not loop.last %} and {% endif %}{% endfor %}
    left join given as g
        on {% for column in category %}g.{{ column }} = c.{{ column }} and {% endfor %}g.settlement_period = p.settlement_period
    left join {{ ref('int_load_shapes') }} as l
        on {% for column in category %}l.{{ column }} = c.{{ column }} and {% endfor %}l.settlement_period = p.settlement_period
),

period_weights as (
    select
        d.mpan_core,
        d.measurement_quantity,
        d.day_kwh,
        s.settlement_period,
        {{ share_weight('s.shape_kwh', 'read') }} as weight,
        max(s.settlement_period) over read as last_period
    from date_kwh as d
    inner join date_shape as s
        on {% for column in category %}s.{{ column }} = d.{{ column }}{% if not loop.last %} and {% endif %}{% endfor %}
    window read as (partition by d.mpan_core, d.measurement_quantity)
),

periods_through as (
    select
        *,
        {{ cumulative_share_through('day_kwh', 'weight', 'settlement_period = last_period', 'read', 'through_period') }}
            as kwh_through_period
    from period_weights
    window read as (partition by mpan_core, measurement_quantity),
           through_period as (partition by mpan_core, measurement_quantity order by settlement_period
                              rows between unbounded preceding and current row)
),

period_values as (
    select
        *,
        kwh_through_period - coalesce(lag(kwh_through_period) over (
            partition by mpan_core, measurement_quantity order by settlement_period), 0) as period_kwh
    from periods_through
),

values_by_read as (
    select
        mpan_core,
        measurement_quantity,
        list(period_kwh order by settlement_period) as values,
        list(settlement_period order by settlement_period) as periods,
        bit_or(1::ubigint << settlement_period) as register_read_mask
    from period_values
    group by mpan_core, measurement_quantity
)

select
    d.mpan_core,
    d.measurement_quantity,
    d.read_start_date,
    d.read_end_date,
    d.kwh as read_kwh,
    d.day_kwh,
    d.date_shape_source,
    {{ each_period('v.values[list_position(v.periods, {p})]::decimal(18, 3) as kwh_{p:02d}') }},
    v.register_read_mask
from date_kwh as d
inner join values_by_read as v
    on v.mpan_core = d.mpan_core and v.measurement_quantity = d.measurement_quantity
