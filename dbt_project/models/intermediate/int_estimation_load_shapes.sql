-- The load shape every AC-based estimate of the settlement date uses (DOMAIN.md section 5, CONTRACT.md
-- load_shapes.csv): per load shape category of the day's registrations (GSP Group, market segment,
-- domestic premises, consent granularity, measurement quantity) and settlement period, the fraction of
-- annual consumption (AC) that falls in the period, load_shape_kwh / annual_total_kwh, so an estimate is
-- ac_fraction x AC. It carries the season: a winter day of a domestic customer gets more than AC / 365.
--   load_shapes  where the standing data's load_shapes.csv gives the category and date (all its periods)
--   else the Load Shaping Service's shape of the category for the date (int_load_shapes), shape_source saying
--   which: measured (the category's own actual data), borrowed (a wider category's) or default (the bundled
--   default and season scaled to the category's level; with no published history its fraction is exactly
--   the default day x the date's season weight / the season weights of the 365 days ending on the date)
{%- set settlement_date = "date '" ~ run_parameter('settlement_date') ~ "'" %}
{%- set category = ['gsp_group_id', 'market_segment', 'domestic_premises', 'consent_granularity', 'measurement_quantity'] %}
with periods as (
    select settlement_period from {{ ref('int_settlement_periods') }}
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
)

select
    c.*,
    p.settlement_period,
    case when gc.given_for_the_date then 'load_shapes' else lss.shape_source end as shape_source,
    case when gc.given_for_the_date then g.ac_fraction else lss.load_shape_kwh / lss.annual_total_kwh end::double as ac_fraction
from categories as c
cross join periods as p
left join given_categories as gc
    on {% for column in category %}gc.{{ column }} = c.{{ column }}{% if not loop.last %} and {% endif %}{% endfor %}
left join given as g
    on {% for column in category %}g.{{ column }} = c.{{ column }} and {% endfor %}g.settlement_period = p.settlement_period
left join {{ ref('int_load_shapes') }} as lss
    on {% for column in category %}lss.{{ column }} = c.{{ column }} and {% endfor %}lss.settlement_period = p.settlement_period
