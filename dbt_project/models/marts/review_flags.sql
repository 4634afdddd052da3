-- Accepted values a reviewer should look at (published beside the run's outputs for auditors).
select
    '{{ run_parameter("run_id") }}'::varchar as run_id,
    '{{ run_parameter("run_type") }}'::varchar as run_type,
    date '{{ run_parameter("settlement_date") }}' as settlement_date,
    mpan_core::varchar as mpan_core,
    measurement_quantity::varchar as measurement_quantity,
    flag::varchar as flag,
    first_period::bigint as first_period,
    last_period::bigint as last_period,
    detail::varchar as detail
from {{ ref('int_review_flags') }}
