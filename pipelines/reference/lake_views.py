"""The lake as relations: SQL of the views over the committed lake files that the warehouse, the auditor's report
and analysts read (a typed empty SELECT where the lake has no file yet)."""

from pipelines.reference.ingestion_log import empty_ingestion_log
from pipelines.reference.lake import Lake, empty_select, period_columns


def _committed(lake: Lake, dataset: str, hive: bool) -> str:
    options = ", hive_partitioning = true" if hive else ""
    return (
        f"SELECT * FROM read_parquet('{lake.glob(dataset)}'{options}) "
        f"WHERE file_sha256 IN (SELECT file_sha256 FROM ingestion_log)"
    )


def lake_view_definitions(lake: Lake) -> dict[str, str]:
    """SQL of every warehouse view over the lake (a typed empty SELECT where the lake has no file yet)."""
    views = {
        "ingestion_log": (
            f"SELECT * FROM read_parquet('{lake.glob('ingestion_log')}')"
            if lake.has_files("ingestion_log") else empty_ingestion_log()
        ),
        "ingestion_quarantine": (
            f"SELECT q.* FROM read_parquet('{lake.glob('quarantine')}', filename = true) q "
            "WHERE regexp_extract(q.filename, '([0-9a-f]{16})\\.parquet$', 1) IN (SELECT file_id FROM ingestion_log)"
            if lake.has_files("quarantine") else empty_select("quarantine")
        ),
    }
    if lake.has_files("quarantine"):
        views["ingestion_quarantine"] = f"SELECT * EXCLUDE (filename) FROM ({views['ingestion_quarantine']})"
    submission_columns = {"settlement_date": "DATE", "period_count": "SMALLINT", "estimated_mask": "UBIGINT",
                          "file_sha256": "VARCHAR", "source_file": "VARCHAR"}
    submission_columns |= {c: "DECIMAL(18,3)" for c in period_columns("kwh")}
    empty_consumption = (
        "SELECT CAST(NULL AS VARCHAR) AS mpan_core, CAST(NULL AS VARCHAR) AS measurement_quantity, "
        "CAST(NULL AS VARCHAR) AS data_service_id, CAST(NULL AS TIMESTAMPTZ) AS received_at, "
        + ", ".join(f"CAST(NULL AS {t}) AS {n}" for n, t in submission_columns.items())
        + " WHERE false"
    )
    views["consumption_submissions"] = (
        _committed(lake, "consumption", hive=True) if lake.has_files("consumption") else empty_consumption
    )
    registration_extra = {"row_number": "BIGINT", "file_sha256": "VARCHAR", "source_file": "VARCHAR"}
    views["registrations_history"] = (
        f"SELECT * EXCLUDE (snapshot_date), snapshot_date FROM ({_committed(lake, 'registrations', hive=False)})"
        if lake.has_files("registrations") else empty_select("registrations", registration_extra)
    )
    # CONTRACT.md: for an MPAN, rows of the newest snapshot that contains it replace all older rows.
    views["registrations_current"] = (
        "SELECT * FROM registrations_history "
        "QUALIFY snapshot_date = max(snapshot_date) OVER (PARTITION BY mpan_core)"
    )
    # One row per MPAN, quantity, UTC period and submission: the long form analysts read.
    views["consumption_values"] = (
        "SELECT mpan_core, measurement_quantity, settlement_date, settlement_period, "
        "timezone('Europe/London', settlement_date::TIMESTAMP) + to_minutes(30 * (settlement_period - 1)) AS utc_period_start, "
        "kwh, CASE WHEN (estimated_mask >> settlement_period::UBIGINT) & 1 = 1 THEN 'E' ELSE 'A' END AS quality_flag, "
        "data_service_id, received_at, file_sha256, source_file FROM ("
        "SELECT *, unnest(generate_series(1, 50)) AS settlement_period, "
        f"unnest([{', '.join(period_columns('kwh'))}]) AS kwh "
        "FROM consumption_submissions) WHERE kwh IS NOT NULL"
    )
    return views
