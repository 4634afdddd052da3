"""The DuckDB warehouse: views over the lake and the settlement runs for analysts (one writer: the command
that refreshes them)."""

import duckdb

from pipelines.core.locks import warehouse_lock
from pipelines.outputs.analyst_views import NET_TOTALS, analyst_view_definitions, compared_keys
from pipelines.reference.lake import Lake, empty_select
from pipelines.reference.lake_views import lake_view_definitions

# Values a settlement run refused (dbt model int_consumption_refused), in words.
SETTLEMENT_REFUSALS = {
    "NOT_REGISTERED": "no registration in force for the MPAN and quantity on the settlement date",
    "NOT_ENERGISED": "the MPAN is de-energised on the settlement date (runs before 0.8.0 only: since then the metered values of a de-energised MPAN are settled and flagged for review)",
    "DATA_SERVICE_NOT_APPOINTED": "sent by a data service not appointed to the MPAN on the settlement date",
    "FUTURE_PERIOD": "the period had not ended when the run started",
    "ABOVE_PHYSICAL_MAXIMUM": "above the physical maximum for the market segment and premises (dbt var physical_max_kwh)",
}
# The MHHS timetable's run types in order (R2 and R3 of the old timetable kept for runs settled before v2).
RUN_TYPE_ORDER = "['II', 'SF', 'R1', 'R2', 'R3', 'RF', 'DF']"


def settlement_view_definitions(lake: Lake) -> dict[str, str]:
    """Views over settlement runs (DATA_DIR/runs/): every run's record, and the outputs of succeeded runs."""
    runs = lake.data_dir / "runs"
    started = sorted(runs.glob("*/*/v*/started.parquet"))
    finished = sorted(runs.glob("*/*/v*/finished.parquet"))
    if not started:
        views = {"settlement_runs": empty_select("settlement_runs", {"reason": "VARCHAR"})}
    else:
        finished_sql = (
            f"SELECT *, parse_dirpath(filename) AS run_dir FROM read_parquet('{runs}/*/*/v*/finished.parquet', filename = true)"
            if finished else "SELECT NULL::VARCHAR AS status, NULL::TIMESTAMPTZ AS finished_at, NULL::VARCHAR AS reason, "
            "NULL::VARCHAR AS run_dir WHERE false"
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
    # What changed between each succeeded run and the succeeded run of the day before it (any run type), per
    # settlement period, GSP Group and supplier: net corrected kWh, import positive and export negative. A
    # supplier, group or period in only one of the two runs counts 0 kWh in the other.
    views["run_comparison"] = (
        "WITH runs AS (SELECT run_id, run_type, version, settlement_date, "
        "lag(run_id) OVER (PARTITION BY settlement_date ORDER BY started_at, run_id) AS previous_run_id "
        "FROM settlement_runs WHERE status = 'succeeded'), "
        f"{NET_TOTALS}, {compared_keys('runs', 'previous_run_id')} "
        "SELECT k.settlement_date, k.settlement_period, k.gsp_group_id, k.supplier_id, k.previous_run_id, k.run_id, "
        "k.run_type, k.version, "
        "CASE WHEN k.previous_run_id IS NOT NULL THEN coalesce(p.net_kwh, 0) END AS previous_net_kwh, "
        "coalesce(c.net_kwh, 0) AS net_kwh, "
        "CASE WHEN k.previous_run_id IS NOT NULL THEN coalesce(c.net_kwh, 0) - coalesce(p.net_kwh, 0) END AS change_kwh "
        "FROM keys k LEFT JOIN totals c USING (run_id, settlement_period, gsp_group_id, supplier_id) "
        "LEFT JOIN totals p ON p.run_id = k.previous_run_id AND p.settlement_period = k.settlement_period "
        "AND p.gsp_group_id = k.gsp_group_id AND p.supplier_id = k.supplier_id "
        "ORDER BY k.settlement_date, k.run_id, k.settlement_period, k.gsp_group_id, k.supplier_id"
    )
    refused = list(runs.glob("*/*/v*/published/quarantine.parquet"))
    reasons = " ".join(f"WHEN '{code}' THEN '{text}'" for code, text in SETTLEMENT_REFUSALS.items())
    views["settlement_quarantine"] = (
        "SELECT source_file, NULL::BIGINT AS row_number, reason_code, "
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


