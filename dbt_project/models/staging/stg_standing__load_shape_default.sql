-- Standing data of the run, loaded and validated against the data catalogue by `mhhs settle`.
select
    market_segment,
    domestic_premises,
    measurement_quantity,
    local_half_hour,
    shape_fraction
from {{ source('standing', 'load_shape_default') }}
