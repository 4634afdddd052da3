-- The register reads of the lake that the run may read (their landing file is one of the run's
-- settlement_run.landing_files: committed to the ingestion log before the run started) whose interval holds the
-- run's settlement date (read_start_date <= D <= read_end_date, both inclusive).
--
-- The lake keeps reads in folders by the month of read_end_date (read_end_month=YYYY-MM). Ingestion refuses a
-- read longer than 31 days (READ_LONGER_THAN_A_MONTH: read_end_date - read_start_date <= 30), so a read holding
-- D ends between D and D + 30 days: only the folders of those two months are read.
{%- set settlement_date = modules.datetime.date.fromisoformat(run_parameter('settlement_date')) %}
{%- set months = [settlement_date.strftime('%Y-%m'),
                  (settlement_date + modules.datetime.timedelta(days=30)).strftime('%Y-%m')] %}
select
    r.mpan_core,
    r.measurement_quantity,
    r.data_service_id,
    r.received_at,
    r.read_start_date,
    r.read_end_date,
    r.kwh,
    r.source_file,
    r.row_number,
    r.file_sha256
from {{ source('lake', 'register_reads') }} as r
where r.read_end_month in ('{{ months | unique | join("', '") }}')
  and r.read_start_date <= date '{{ settlement_date }}'
  and r.read_end_date >= date '{{ settlement_date }}'
  and r.file_sha256 in (select file_sha256 from {{ source('settlement_run', 'landing_files') }})
