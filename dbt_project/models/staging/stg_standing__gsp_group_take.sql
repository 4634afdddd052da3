-- Standing data of the run, loaded and validated against the data catalogue by `mhhs settle`.
select
    gsp_group_id,
    settlement_date,
    settlement_period,
    gsp_group_take_kwh
from {{ source('standing', 'gsp_group_take') }}
