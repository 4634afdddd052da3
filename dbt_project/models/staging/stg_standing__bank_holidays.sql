-- Standing data of the run, loaded and validated against the data catalogue by `mhhs settle`.
select
    date
from {{ source('standing', 'bank_holidays') }}
