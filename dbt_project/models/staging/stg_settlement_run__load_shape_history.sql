-- The published load shapes of other settlement dates that the run may read (source
-- settlement_run.load_shape_history: for each date, the load_shapes of the newest succeeded run that published
-- it, as they stood when the run started).
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
from {{ source('settlement_run', 'load_shape_history') }}
