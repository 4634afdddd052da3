-- Every registration row of the lake that the run may read (its landing file is one of the run's
-- settlement_run.landing_files: committed to the ingestion log before the run started), with the snapshot it
-- came in.
select
    r.snapshot_date,
    r.mpan_core,
    r.measurement_quantity,
    r.effective_from_date,
    r.effective_to_date,
    r.supplier_id,
    r.data_service_id,
    r.gsp_group_id,
    r.llfc_id,
    r.market_segment,
    r.energisation_status,
    r.domestic_premises,
    r.consent_granularity,
    r.annual_consumption_kwh,
    r.bm_unit_id,
    r.row_number,
    r.file_sha256,
    r.source_file
from {{ source('lake', 'registrations') }} as r
where r.file_sha256 in (select file_sha256 from {{ source('settlement_run', 'landing_files') }})
