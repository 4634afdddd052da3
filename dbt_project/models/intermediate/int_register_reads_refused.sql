-- Every register read the run refused, with its reason (int_register_reads_checked): written beside the run's
-- quarantine (register_read_quarantine.parquet) and shown in the warehouse view quarantine. A read spans days, so
-- each run of a day of its interval refuses it again, for that date.
select
    '{{ run_parameter("run_id") }}' as run_id,
    source_file,
    row_number,
    file_sha256,
    mpan_core,
    measurement_quantity,
    read_start_date,
    read_end_date,
    kwh,
    data_service_id,
    received_at,
    reason_code
from {{ ref('int_register_reads_checked') }}
where reason_code is not null
