-- Every MPAN core the run reads, with whether its check digit holds. Ingestion refuses bad ones, so
-- assert_mpan_cores_pass_check_digit stops a run if one ever reaches settlement.
select mpan_core, {{ mpan_check_digit_ok('mpan_core') }} as check_digit_ok
from (
    select mpan_core from {{ ref('stg_lake__consumption_submissions') }}
    union
    select mpan_core from {{ ref('int_registrations_in_force') }}
)
