-- Load shapes built from the day's actual data, as the Load Shaping Service does: per load-shape category
-- (market segment, domestic indicator, GSP Group; the day type is the settlement date's own), the share
-- of the category's consumption in each settlement period, from MPANs whose day is complete and actual.
-- A category needs var('load_shape_min_mpans') such MPANs; otherwise the bundled default shape applies.
-- Sums stay exact decimals so a rerun gives the same shape to the last digit.
with complete_days as (
    select *
    from {{ ref('int_consumption_gaps') }}
    where missing_mask = 0 and estimated_mask = 0
),

sums as (
    select
        market_segment,
        domestic_premises,
        gsp_group_id,
        measurement_quantity,
        count(*) as mpan_count,
        [{% for p in period_numbers() %}sum(kwh_{{ '%02d' % p }}){% if not loop.last %}, {% endif %}{% endfor %}] as period_kwh
    from complete_days
    group by market_segment, domestic_premises, gsp_group_id, measurement_quantity
    having count(*) >= {{ var('load_shape_min_mpans') }}
)

select
    s.market_segment,
    s.domestic_premises,
    s.gsp_group_id,
    s.measurement_quantity,
    s.mpan_count,
    p.settlement_period,
    s.period_kwh[p.settlement_period] / nullif(list_sum(s.period_kwh), 0) as shape_fraction
from sums as s
cross join {{ ref('int_settlement_periods') }} as p
