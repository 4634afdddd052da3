"""The DuckDB warehouse: views over the lake and the settlement runs for analysts (one writer: the command
that refreshes them)."""

import duckdb

from pipelines import catalogue
from pipelines.core.locks import warehouse_lock
from pipelines.outputs.analyst_views import analyst_view_definitions
from pipelines.reference.lake import Lake, empty_select
from pipelines.reference.lake_views import lake_view_definitions

# Values a settlement run refused (dbt model int_consumption_refused), in words: the catalogue's reason codes.
SETTLEMENT_REFUSALS = catalogue.reasons("settlement", "refusals")
# The MHHS timetable's run types in order, as a DuckDB list: the catalogue's allowed run types, which are in
# timetable order (R2 and R3 of the old timetable kept for runs settled before v2).
RUN_TYPE_ORDER = "[" + ", ".join(f"'{run_type}'" for run_type in catalogue.load().items["run_type"].allowed_values) + "]"


def _text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def settlement_view_definitions(lake: Lake) -> dict[str, str]:
    """Views over settlement runs (DATA_DIR/runs/): every run's record, and the outputs of succeeded runs."""
    runs = lake.data_dir / "runs"
    started = sorted(runs.glob("*/*/v*/started.parquet"))
    finished = sorted(runs.glob("*/*/v*/finished.parquet"))
    finished_record = catalogue.record("settlement_run_finished")
    if not started:
        views = {"settlement_runs": empty_select("settlement_runs", {"reason": finished_record.column("reason").duckdb_type})}
    else:
        finished_sql = (
            f"SELECT *, parse_dirpath(filename) AS run_dir FROM read_parquet('{runs}/*/*/v*/finished.parquet', filename = true)"
            if finished else "SELECT " + "".join(f"NULL::{c.duckdb_type} AS {c.name}, " for c in finished_record.columns)
            + "NULL::VARCHAR AS run_dir WHERE false"
        )
        views = {
            "settlement_runs": (
                "SELECT s.run_id, s.run_type, s.settlement_date, s.version, s.started_at, "
                "CASE WHEN f.status = 'succeeded' THEN f.finished_at END AS succeeded_at, "
                "coalesce(f.status, 'running') AS status, s.dispute_reference, s.data_cut_off, s.standing_data, f.reason "
                # union_by_name: runs recorded before v2 have no dispute reference, data cut-off or standing data
                f"FROM (SELECT *, parse_dirpath(filename) AS run_dir FROM read_parquet('{runs}/*/*/v*/started.parquet', "
                "filename = true, union_by_name = true)) s "
                f"LEFT JOIN ({finished_sql}) f USING (run_dir)"
            )
        }
    review_flags_columns = (
        "SELECT NULL::VARCHAR AS run_id, NULL::VARCHAR AS run_type, NULL::DATE AS settlement_date, NULL::VARCHAR AS mpan_core, "
        "NULL::VARCHAR AS measurement_quantity, NULL::VARCHAR AS flag, NULL::INTEGER AS first_period, "
        "NULL::INTEGER AS last_period, NULL::VARCHAR AS detail WHERE false"
    )
    for table in ("supplier_volumes", "gsp_group_correction", "review_flags"):
        published = list(runs.glob(f"*/*/v*/published/{table}.parquet"))
        views[table] = (
            f"SELECT * FROM read_parquet('{runs}/*/*/v*/published/{table}.parquet') "
            "WHERE run_id IN (SELECT run_id FROM settlement_runs WHERE status = 'succeeded')"
            if published else empty_select(table) if table != "review_flags" else review_flags_columns
        )
    # The current version of each run type of each day, and the latest run of each day (RF beats SF).
    views["latest_settlement_runs"] = (
        "SELECT * FROM settlement_runs WHERE status = 'succeeded' "
        "QUALIFY version = max(version) OVER (PARTITION BY settlement_date, run_type)"
    )
    views["latest_run_by_day"] = (
        "SELECT * FROM latest_settlement_runs "
        f"QUALIFY list_position({RUN_TYPE_ORDER}, run_type) = max(list_position({RUN_TYPE_ORDER}, run_type)) "
        "OVER (PARTITION BY settlement_date)"
    )
    refused = list(runs.glob("*/*/v*/published/quarantine.parquet"))
    reasons = " ".join(f"WHEN {_text(code)} THEN {_text(text)}" for code, text in SETTLEMENT_REFUSALS.items())
    views["settlement_quarantine"] = (
        f"SELECT source_file, NULL::{catalogue.dataset('quarantine').column('row_number').duckdb_type} AS row_number, reason_code, "
        f"CASE reason_code {reasons} END || ' (settlement run ' || run_id || ')' AS reason, "
        "to_json(struct_pack(mpan_core, measurement_quantity, utc_period_start, kwh, data_service_id, received_at))::VARCHAR "
        f"AS raw_record FROM read_parquet('{runs}/*/*/v*/published/quarantine.parquet') "
        "WHERE run_id IN (SELECT run_id FROM latest_settlement_runs)"
        if refused else empty_select("quarantine")
    )
    # CONTRACT.md: every row or file that ingestion or settlement refused (settlement: its latest runs).
    views["quarantine"] = "SELECT * FROM ingestion_quarantine UNION ALL SELECT * FROM settlement_quarantine"
    return views


def refresh_views(lake: Lake) -> None:
    views = {**lake_view_definitions(lake), **settlement_view_definitions(lake)}
    views |= analyst_view_definitions(lake)
    # One transaction: a reader, or a crash part-way, sees the old set of views or the new one.
    with warehouse_lock(lake.data_dir), duckdb.connect(str(lake.warehouse)) as con:
        con.execute("BEGIN TRANSACTION")
        for name, sql in views.items():
            con.execute(f"CREATE OR REPLACE VIEW {name} AS {sql}")
        con.execute("COMMIT")


