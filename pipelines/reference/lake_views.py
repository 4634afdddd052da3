"""The lake as relations: SQL of the views over the committed lake files that the warehouse, the auditor's report
and analysts read (a typed empty SELECT where the lake has no file yet).

The warehouse's views name the lake's files relative to the data directory (`lake/consumption/**/*.parquet`), so
they answer wherever the data directory is mounted: a connection resolves them with DuckDB's `file_search_path`
set to the data directory, or with the data directory as its current directory (docs/analysts.md)."""

from pathlib import Path

from pipelines import catalogue
from pipelines.catalogue.sql_rules import newest_version
from pipelines.reference.ingestion_log import empty_ingestion_log
from pipelines.reference.lake import Lake, empty_select, period_columns
from pipelines.reference.registration_history import updates_applied_sql


def _glob(lake: Lake, dataset: str) -> str:
    """The dataset's files as a glob relative to the data directory."""
    return str(Path(lake.glob(dataset)).relative_to(lake.data_dir))


def _committed(lake: Lake, dataset: str, hive: bool) -> str:
    options = ", hive_partitioning = true" if hive else ""
    return (
        f"SELECT * FROM read_parquet('{_glob(lake, dataset)}'{options}) "
        f"WHERE file_sha256 IN (SELECT file_sha256 FROM ingestion_log)"
    )


def lake_view_definitions(lake: Lake) -> dict[str, str]:
    """SQL of every warehouse view over the lake (a typed empty SELECT where the lake has no file yet), its files
    named relative to the data directory: a connection reading them sets file_search_path to it."""
    views = {
        "ingestion_log": (
            f"SELECT * FROM read_parquet('{_glob(lake, 'ingestion_log')}')"
            if lake.has_files("ingestion_log") else empty_ingestion_log()
        ),
        "ingestion_quarantine": (
            f"SELECT q.* FROM read_parquet('{_glob(lake, 'quarantine')}', filename = true) q "
            "WHERE regexp_extract(q.filename, '([0-9a-f]{16})\\.parquet$', 1) IN (SELECT file_id FROM ingestion_log)"
            if lake.has_files("quarantine") else empty_select("quarantine")
        ),
    }
    if lake.has_files("quarantine"):
        views["ingestion_quarantine"] = f"SELECT * EXCLUDE (filename) FROM ({views['ingestion_quarantine']})"
    items = catalogue.load().items
    # The lake's consumption shape (docs/ingestion.md): catalogue items, the period count and mask, a value column
    # per period.
    submission_columns = {n: items[n].duckdb_type for n in ("mpan_core", "measurement_quantity", "data_service_id",
                                                            "received_at", "settlement_date")}
    submission_columns |= {"period_count": "SMALLINT", "estimated_mask": "UBIGINT"}
    submission_columns |= {n: items[n].duckdb_type for n in ("file_sha256", "source_file")}
    submission_columns |= {c: items["kwh"].duckdb_type for c in period_columns("kwh")}
    empty_consumption = (
        "SELECT " + ", ".join(f"CAST(NULL AS {t}) AS {n}" for n, t in submission_columns.items()) + " WHERE false"
    )
    views["consumption_submissions"] = (
        _committed(lake, "consumption", hive=True) if lake.has_files("consumption") else empty_consumption
    )
    registration_extra = {n: items[n].duckdb_type for n in ("row_number", "file_sha256", "source_file")}
    views["registrations_history"] = (
        f"SELECT * EXCLUDE (snapshot_date), snapshot_date FROM ({_committed(lake, 'registrations', hive=False)})"
        if lake.has_files("registrations") else empty_select("registrations", registration_extra)
    )
    update_extra = {n: items[n].duckdb_type for n in ("row_number", "file_sha256", "source_file")}
    views["registration_updates"] = (
        # the folder (updated_date=D, the UTC date of updated_at) is no column of the view
        f"SELECT * FROM read_parquet('{_glob(lake, 'registration_updates')}', hive_partitioning = false) "
        "WHERE file_sha256 IN (SELECT file_sha256 FROM ingestion_log)"
        if lake.has_files("registration_updates") else empty_select("registration_updates", update_extra)
    )
    # CONTRACT.md: for an MPAN, rows of the newest snapshot that contains it replace all older rows (the
    # catalogue's `newest` rule of registrations), and the updates sent after that snapshot apply over them in
    # updated_at order: the same SQL as the dbt model int_registrations_current (registration_history.py).
    registrations = catalogue.dataset("registrations")
    newest_snapshot = (
        "(SELECT * FROM registrations_history "
        f"QUALIFY {registrations.newest[0]} = {newest_version(registrations)})"
    )
    views["registrations_current"] = updates_applied_sql(newest_snapshot, "registration_updates")
    # Register reads as ingested (every read, repeats and other data services' included), with the month folder
    # they are kept in (read_end_month, docs/ingestion.md).
    read_extra = {n: items[n].duckdb_type for n in ("row_number", "file_sha256", "source_file")} | {"read_end_month": "VARCHAR"}
    views["register_reads"] = (
        f"SELECT * FROM read_parquet('{_glob(lake, 'register_reads')}', hive_partitioning = true, hive_types_autocast = false) "
        "WHERE file_sha256 IN (SELECT file_sha256 FROM ingestion_log)"
        if lake.has_files("register_reads") else empty_select("register_reads", read_extra)
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
