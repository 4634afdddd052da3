-- Accepted values a reviewer should look at (published beside the run's outputs for auditors).
select
    '{{ var("run_id") }}' as run_id,
    '{{ var("run_type") }}' as run_type,
    date '{{ var("settlement_date") }}' as settlement_date,
    mpan_core,
    measurement_quantity,
    flag,
    first_period,
    last_period,
    detail
from {{ ref('int_review_flags') }}
