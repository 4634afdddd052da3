-- Every MPAN-day submission of the lake that the run may read (its landing file is one of the run's
-- settlement_run.landing_files: committed to the ingestion log before the run started), of every settlement
-- date: one row per MPAN, quantity, data service and received_at, with the period values as columns
-- kwh_01..kwh_50. Models filter on settlement_date, which only the files of those dates are read for.
select
    s.mpan_core,
    s.measurement_quantity,
    s.data_service_id,
    s.received_at,
    s.period_count,
    s.estimated_mask,
    {{ period_columns('kwh', 's') }},
    s.file_sha256,
    s.source_file,
    s.settlement_date
from {{ source('lake', 'consumption') }} as s
where s.file_sha256 in (select file_sha256 from {{ source('settlement_run', 'landing_files') }})
