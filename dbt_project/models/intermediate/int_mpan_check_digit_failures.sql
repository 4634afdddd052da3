-- Every MPAN core the run reads whose check digit does not hold. Ingestion refuses bad ones, so
-- assert_mpan_cores_pass_check_digit stops a run if one ever reaches settlement. Every read is checked
-- (integer arithmetic) and only the failures are made distinct: the distinct union of a national day's
-- MPANs spilled to disk (40 s at 30 million).
select distinct mpan_core
from (
    select mpan_core from {{ ref('stg_lake__consumption_submissions') }} where settlement_date = date '{{ run_parameter("settlement_date") }}'
    union all
    select mpan_core from {{ ref('int_registrations_in_force') }}
)
where not {{ mpan_check_digit_ok('mpan_core') }}
