-- Standing data of the run, loaded and validated against the data catalogue by `mhhs settle`.
select
    gsp_group_id,
    gsp_group_name,
    distributor_id
from {{ source('standing', 'gsp_groups') }}
