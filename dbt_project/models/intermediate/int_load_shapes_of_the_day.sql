-- The Load Shaping Service's shape of the settlement date for every load shape category of the day's
-- registrations and period (docs/settlement.md, "The Load Shaping Service"): the mean actual value per MPAN
-- (int_load_shape_actuals) of the category's qualifying MPANs when there are at least var('load_shape_min_mpans')
-- of them; else of a wider category, dropping the columns of var('load_shape_borrowing') one at a time, in order
-- (default: consent granularity, then domestic premises, then market segment), always within the GSP Group (so a
-- partition of GSP Groups settles alone) and the measurement quantity; the first wider category with enough
-- MPANs lends its mean. A daily- or monthly-consent category has no actual half-hourly data by definition, so it
-- always borrows (first from the half-hourly MPANs of its segment and premises).
-- With no category wide enough: the bundled default shape, scaled to a per-MPAN level: the default share of
-- annual consumption in the period (the default day x the date's season weight / the weights of the 365 days
-- ending on the date) x the mean annual consumption of the category's registered MPANs (1 kWh when they declare
-- none, so the shape keeps its proportions).
--   shape_source    measured (the category's own MPANs), borrowed (a wider category's) or default
--   borrowed_from   the category lent from, its dropped columns as *: _A/S/Y/*/AI; 'default' for the default
--   mpan_count      MPANs the shape is the mean of (0 for the default); own_mpan_count: the category's own
{%- set settlement_date = "date '" ~ run_parameter('settlement_date') ~ "'" %}
{%- set category = ['gsp_group_id', 'market_segment', 'domestic_premises', 'consent_granularity', 'measurement_quantity'] %}
{%- set dropped = [] %}
{%- set levels = [category] %}
{%- for column in var('load_shape_borrowing') %}
    {%- if column in ['gsp_group_id', 'measurement_quantity'] or column not in category %}
        {{ exceptions.raise_compiler_error("load_shape_borrowing may drop consent_granularity, domestic_premises or market_segment, not " ~ column) }}
    {%- endif %}
    {%- do dropped.append(column) %}
    {%- do levels.append(category | reject('in', dropped) | list) %}
{%- endfor %}
with periods as (
    select settlement_period, local_half_hour from {{ ref('int_settlement_periods') }}
),

categories as (
    select {{ category | join(', ') }}, avg(annual_consumption_kwh)::double as mean_annual_consumption_kwh
    from {{ ref('int_registrations_in_force') }}
    group by {{ category | join(', ') }}
),

actuals as (
    select * from {{ ref('int_load_shape_actuals') }}
),

-- every category's pool at each level of borrowing: level 0 is the category itself
candidates as (
    {%- for kept in levels %}
    {%- set level = loop.index0 %}
    select
        {% for column in category %}c.{{ column }}, {% endfor %}
        {{ level }} as level,
        {% for column in category %}{% if column in kept %}c.{{ column }}{% else %}'*'{% endif %}{% if not loop.last %} || '/' || {% endif %}{% endfor %} as pool,
        a.settlement_period,
        sum(a.mpan_count) as mpan_count,
        sum(a.total_kwh) / sum(a.mpan_count) as load_shape_kwh
    from categories as c
    inner join actuals as a
        on {% for column in kept %}a.{{ column }} = c.{{ column }}{% if not loop.last %} and {% endif %}{% endfor %}
    group by all
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

chosen as (
    select {{ category | join(', ') }}, min(level) as level
    from candidates
    where mpan_count >= {{ var('load_shape_min_mpans') }}
    group by all
),

own as (
    select distinct {{ category | join(', ') }}, mpan_count as own_mpan_count
    from actuals
),

season as (
    select * from {{ ref('int_load_shape_season') }}
),

year_weights as (
    select market_segment, domestic_premises, measurement_quantity, sum(day_weight) as year_weight
    from season
    where in_year
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
    inner join season as s
        using (market_segment, domestic_premises, measurement_quantity)
    inner join year_weights as y
        using (market_segment, domestic_premises, measurement_quantity)
    where s.day = {{ settlement_date }}
)

select
    {% for column in category %}c.{{ column }}, {% endfor %}
    {{ settlement_date }} as settlement_date,
    p.settlement_period,
    case when ch.level is null then 'default' when ch.level = 0 then 'measured' else 'borrowed' end as shape_source,
    case when ch.level is null then 'default' when ch.level > 0 then k.pool end as borrowed_from,
    coalesce(k.mpan_count, 0)::bigint as mpan_count,
    coalesce(o.own_mpan_count, 0)::bigint as own_mpan_count,
    case
        when ch.level is not null then k.load_shape_kwh
        else ds.ac_fraction * coalesce(nullif(c.mean_annual_consumption_kwh, 0), 1)
    end as load_shape_kwh
from categories as c
cross join periods as p
left join chosen as ch
    using ({{ category | join(', ') }})
left join candidates as k
    on {% for column in category %}k.{{ column }} = c.{{ column }} and {% endfor %}k.level = ch.level
   and k.settlement_period = p.settlement_period
left join own as o
    using ({{ category | join(', ') }})
left join default_shapes as ds
    on ds.market_segment = c.market_segment
   and ds.domestic_premises = c.domestic_premises
   and ds.measurement_quantity = c.measurement_quantity
   and ds.settlement_period = p.settlement_period
