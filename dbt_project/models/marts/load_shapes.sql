-- The Load Shaping Service's publication (CONTRACT.md, load_shapes): exactly the columns of load_shapes.csv, for
-- every category with actual half-hourly data on the run's date, so that one run's output can be another's input.
-- A category with fewer qualifying MPANs than var('load_shape_min_mpans') publishes the shape it borrowed (its
-- provenance is in the run's basis data load_shape_basis, int_load_shapes). Rounded to the catalogue's 6 places.
select
    gsp_group_id::varchar as gsp_group_id,
    market_segment::varchar as market_segment,
    domestic_premises::varchar as domestic_premises,
    consent_granularity::varchar as consent_granularity,
    measurement_quantity::varchar as measurement_quantity,
    settlement_date::date as settlement_date,
    settlement_period::integer as settlement_period,
    round(load_shape_kwh, 6)::decimal(18, 6) as load_shape_kwh,
    greatest(round(annual_total_kwh, 6), 0.000001)::decimal(18, 6) as annual_total_kwh
from {{ ref('int_load_shapes') }}
where own_mpan_count > 0
