"""The DuckDB warehouse: views over the lake and the settlement runs for analysts.

Readers never block writers, and writers never break readers: a refresh builds a new warehouse file beside the old
one and swaps it in with one rename, so a reader holding the old file open (a notebook, DBeaver, the DuckDB CLI)
keeps reading the old views, still valid, and a new connection opens the new file. Refreshes take turns
(pipelines.core.locks.warehouse_lock); readers take no lock.

Every view names its files relative to the data directory (`lake/...`, `runs/...`), never by absolute path, so a
data directory moved or mounted elsewhere (a container, another host) answers without a refresh. A connection
resolves them with `file_search_path` set to the data directory (open_warehouse, `mhhs sql`) or with the data
directory as its current directory (the DuckDB CLI started there): docs/analysts.md.
"""

import os
from pathlib import Path

import duckdb

from pipelines import catalogue
from pipelines.core.locks import warehouse_lock
from pipelines.outputs.analyst_views import analyst_view_definitions
from pipelines.reference.lake import Lake, empty_select
from pipelines.reference.lake_views import lake_view_definitions
from pipelines.settle.load_shape_history import warehouse_view_sql as load_shapes_view_sql

# Values a settlement run refused (dbt model int_consumption_refused), in words: the catalogue's reason codes.
SETTLEMENT_REFUSALS = catalogue.reasons("settlement", "refusals")
# The MHHS timetable's run types in order, as a DuckDB list: the catalogue's allowed run types, which are in
# timetable order (R2 and R3 of the old timetable kept for runs settled before v2).
RUN_TYPE_ORDER = "[" + ", ".join(f"'{run_type}'" for run_type in catalogue.load().items["run_type"].allowed_values) + "]"


def _text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def settlement_view_definitions(lake: Lake) -> dict[str, str]:
    """Views over settlement runs (DATA_DIR/runs/): every run's record, and the outputs of succeeded runs; files
    named relative to the data directory."""
    runs = "runs"
    runs_dir = lake.data_dir / runs
    started = sorted(runs_dir.glob("*/*/v*/started.parquet"))
    finished = sorted(runs_dir.glob("*/*/v*/finished.parquet"))
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
    for table in ("supplier_volumes", "gsp_group_correction", "review_flags", "bm_unit_volumes"):
        published = list(runs_dir.glob(f"*/*/v*/published/{table}.parquet"))
        views[table] = (
            f"SELECT * FROM read_parquet('{runs}/*/*/v*/published/{table}.parquet') "
            "WHERE run_id IN (SELECT run_id FROM settlement_runs WHERE status = 'succeeded')"
            if published else empty_select(table)
        )
    # The Load Shaping Service's publications of succeeded runs, with their run (the published file has exactly
    # the contract's columns; the history in the lake names the run: pipelines/settle/load_shape_history.py).
    views["load_shapes"] = load_shapes_view_sql(lake.data_dir) or empty_select("load_shapes", {"run_id": "VARCHAR"})
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
    refused = list(runs_dir.glob("*/*/v*/published/quarantine.parquet"))
    reasons = " ".join(f"WHEN {_text(code)} THEN {_text(text)}" for code, text in SETTLEMENT_REFUSALS.items())
    views["settlement_quarantine"] = (
        f"SELECT source_file, NULL::{catalogue.dataset('quarantine').column('row_number').duckdb_type} AS row_number, reason_code, "
        f"CASE reason_code {reasons} END || ' (settlement run ' || run_id || ')' AS reason, "
        "to_json(struct_pack(mpan_core, measurement_quantity, utc_period_start, kwh, data_service_id, received_at))::VARCHAR "
        f"AS raw_record FROM read_parquet('{runs}/*/*/v*/published/quarantine.parquet') "
        "WHERE run_id IN (SELECT run_id FROM latest_settlement_runs)"
        if refused else empty_select("quarantine")
    )
    # register reads a run refused (pipelines.settle.publish.REGISTER_READ_QUARANTINE): a read, with its row
    refused_reads = list(runs_dir.glob("*/*/v*/published/register_read_quarantine.parquet"))
    if refused_reads:
        views["settlement_quarantine"] += (
            f" UNION ALL SELECT source_file, row_number, reason_code, "
            f"CASE reason_code {reasons} END || ' (settlement run ' || run_id || ')' AS reason, "
            "to_json(struct_pack(mpan_core, measurement_quantity, read_start_date, read_end_date, kwh, data_service_id, "
            "received_at))::VARCHAR AS raw_record "
            f"FROM read_parquet('{runs}/*/*/v*/published/register_read_quarantine.parquet') "
            "WHERE run_id IN (SELECT run_id FROM latest_settlement_runs)"
        )
    # CONTRACT.md: every row or file that ingestion or settlement refused (settlement: its latest runs).
    views["quarantine"] = "SELECT * FROM ingestion_quarantine UNION ALL SELECT * FROM settlement_quarantine"
    return views


def open_warehouse(data_dir: Path, **config) -> duckdb.DuckDBPyConnection:
    """A read-only connection to DATA_DIR/warehouse.duckdb whose views find their files wherever the data
    directory is (file_search_path = the data directory): for notebooks and scripts (docs/analysts.md)."""
    lake = Lake(data_dir)
    return duckdb.connect(str(lake.warehouse), read_only=True,
                          config={"file_search_path": str(lake.data_dir), **config})


def _fsync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def refresh_views(lake: Lake) -> None:
    """Build every view in a new warehouse file beside the old one, then rename it over the old one: a reader
    with the old file open keeps it (on Linux its open file outlives the rename), a new connection gets the new
    one, and a crash part-way leaves the old file whole (the next refresh discards the leftover)."""
    views = {**lake_view_definitions(lake), **settlement_view_definitions(lake)}
    views |= analyst_view_definitions(lake)
    incoming = lake.warehouse.with_name(f".{lake.warehouse.name}.incoming")
    with warehouse_lock(lake.data_dir):
        for leftover in (incoming, incoming.with_name(incoming.name + ".wal")):
            leftover.unlink(missing_ok=True)
        lake.data_dir.mkdir(parents=True, exist_ok=True)
        # The views bind (read their files' schemas) as they are created: resolve their relative paths here.
        with duckdb.connect(str(incoming), config={"file_search_path": str(lake.data_dir)}) as con:
            con.execute("BEGIN TRANSACTION")
            for name, sql in views.items():
                con.execute(f"CREATE VIEW {name} AS {sql}")
            con.execute("COMMIT")
        _fsync(incoming)  # closing checkpointed it: one file, no write-ahead log
        # a log left by a writer of the old file (before refreshes swapped files) must not replay into the new one
        lake.warehouse.with_name(lake.warehouse.name + ".wal").unlink(missing_ok=True)
        os.replace(incoming, lake.warehouse)
        _fsync(lake.data_dir)
