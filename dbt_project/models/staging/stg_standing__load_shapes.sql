-- Standing data of the run, loaded and validated against the data catalogue by `mhhs settle` (no rows when the
-- standing data directory has no load_shapes.csv).
select
    gsp_group_id,
    market_segment,
    domestic_premises,
    consent_granularity,
    measurement_quantity,
    settlement_date,
    settlement_period,
    load_shape_kwh,
    annual_total_kwh
from {{ source('standing', 'load_shapes') }}
