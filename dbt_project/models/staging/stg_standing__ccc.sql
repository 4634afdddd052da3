-- Standing data of the run, loaded and validated against the data catalogue by `mhhs settle`.
select
    ccc_id,
    market_segment,
    measurement_quantity,
    actual_estimated,
    component,
    -- exact decimals (the catalogue's type): corrected volumes are summed exactly
    scaling_weight::decimal(18, 4) as scaling_weight
from {{ source('standing', 'ccc') }}
