-- The Load Shaping Service's input (DOMAIN.md section 5): per load shape category (GSP Group, market segment,
-- domestic premises, consent granularity, measurement quantity) and settlement period of the date, the actual
-- half-hourly values of the MPANs whose day qualifies, summed, with the number of MPANs (docs/settlement.md,
-- "The Load Shaping Service"). A day qualifies when the MPAN has half-hourly consent, is energised, and has a
-- usable value (it passed the run's checks: registered, appointed data service, period ended, under the
-- physical maximum) for every period of the day, none of them estimated by its data service. A whole day is
-- asked for so that every period's mean is over the same MPANs: with partial days a period's mean would be over
-- whichever MPANs happened to send it, and the shape's proportions (which shape register reads and estimates)
-- would follow who sent what rather than when energy is used.
{%- set category = ['gsp_group_id', 'market_segment', 'domestic_premises', 'consent_granularity', 'measurement_quantity'] %}
with day as (
    select bit_or(1::ubigint << settlement_period) as day_mask from {{ ref('int_settlement_periods') }}
),

qualifying as (
    select g.*
    from {{ ref('int_consumption_gaps') }} as g, day
    where g.consent_granularity = 'HH'
      and g.energisation_status = 'E'
      and g.present_mask = day.day_mask
      and coalesce(g.estimated_mask, 0::ubigint) = 0
),

-- summed per category first (one row per category, not one per value)
sums as (
    select
        {{ category | join(', ') }},
        count(*) as mpan_count,
        {{ each_period('sum(kwh_{p:02d})::double as kwh_{p:02d}') }}
    from qualifying
    group by {{ category | join(', ') }}
)

select
    {% for column in category %}s.{{ column }}, {% endfor %}
    p.settlement_period,
    s.mpan_count,
    [{{ period_columns('kwh', 's') }}][p.settlement_period] as total_kwh,
    [{{ period_columns('kwh', 's') }}][p.settlement_period] / s.mpan_count as load_shape_kwh
from sums as s
cross join {{ ref('int_settlement_periods') }} as p
