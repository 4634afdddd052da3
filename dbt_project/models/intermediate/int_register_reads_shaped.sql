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

-- the date's shape is the category's, so each period's weight, and the weights summed through it and through the
-- period before, are the category's too (macros/settlement.sql, "Cumulative rounding")
period_weights as (
    select *, {{ share_weight('shape_kwh', 'category') }} as weight
    from date_shape
    window category as (partition by {{ category | join(', ') }})
),

period_shares as (
    select
        *,
        sum(weight) over through_period as weight_through,
        coalesce(sum(weight) over before_period, 0) as weight_before,
        sum(weight) over category as weight_whole,
        settlement_period = max(settlement_period) over category as is_last_period
    from period_weights
    window category as (partition by {{ category | join(', ') }}),
           through_period as (partition by {{ category | join(', ') }} order by settlement_period
                              rows between unbounded preceding and current row),
           before_period as (partition by {{ category | join(', ') }} order by settlement_period
                             rows between unbounded preceding and 1 preceding)
),

-- one row per category: its periods' weights side by side, so that each read is one row of arithmetic
category_shares as (
    select
        {{ category | join(', ') }},
        any_value(weight_whole) as weight_whole,
        {{ each_period('any_value(weight_through) filter (where settlement_period = {p}) as through_{p:02d}') }},
        {{ each_period('any_value(weight_before) filter (where settlement_period = {p}) as before_{p:02d}') }},
        {{ each_period('bool_or(is_last_period) filter (where settlement_period = {p}) as last_{p:02d}') }},
        bit_or(1::ubigint << settlement_period) as register_read_mask
    from period_shares
    group by all
)

select
    d.mpan_core,
    d.measurement_quantity,
    d.read_start_date,
    d.read_end_date,
    d.kwh as read_kwh,
    d.day_kwh,
    d.date_shape_source,
    {{ each_period('(' ~ share_through('d.day_kwh', 's.through_{p:02d}', 's.weight_whole', 's.last_{p:02d}') ~ ' - '
                   ~ share_through('d.day_kwh', 's.before_{p:02d}', 's.weight_whole') ~ ')::decimal(18, 3) as kwh_{p:02d}') }},
    s.register_read_mask
from date_kwh as d
inner join category_shares as s
    on {% for column in category %}s.{{ column }} = d.{{ column }}{% if not loop.last %} and {% endif %}{% endfor %}
