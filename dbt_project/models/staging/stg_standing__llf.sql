-- Standing data of the run, loaded and validated against the data catalogue by `mhhs settle`.
select
    distributor_id,
    llfc_id,
    settlement_date,
    settlement_period,
    -- exact decimals (the catalogue's type): the losses are summed exactly
    llf::decimal(18, 4) as llf
from {{ source('standing', 'llf') }}
