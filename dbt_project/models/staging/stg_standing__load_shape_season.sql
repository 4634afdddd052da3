-- Standing data of the run, loaded and validated against the data catalogue by `mhhs settle`.
select
    market_segment,
    domestic_premises,
    measurement_quantity,
    month,
    day_of_month,
    working_day_weight,
    non_working_day_weight
from {{ source('standing', 'load_shape_season') }}
