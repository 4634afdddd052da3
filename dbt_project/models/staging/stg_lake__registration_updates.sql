-- Every registration update of the lake that the run may read (its landing file is one of the run's
-- settlement_run.landing_files: committed to the ingestion log before the run started). Ingestion keeps one
-- update per update_id (a repeat or a reused id is quarantined), so the rows are the updates as sent.
select
    u.update_id,
    u.updated_at,
    u.mpan_core,
    u.measurement_quantity,
    u.effective_from_date,
    u.effective_to_date,
    u.supplier_id,
    u.data_service_id,
    u.gsp_group_id,
    u.llfc_id,
    u.market_segment,
    u.energisation_status,
    u.domestic_premises,
    u.consent_granularity,
    u.annual_consumption_kwh,
    u.bm_unit_id,
    u.row_number,
    u.file_sha256,
    u.source_file
from {{ source('lake', 'registration_updates') }} as u
where u.file_sha256 in (select file_sha256 from {{ source('settlement_run', 'landing_files') }})
