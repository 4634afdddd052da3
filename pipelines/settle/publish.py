"""A settlement run's outputs: the partitions read together, written out (staged/) for the gate, then published
whole (published/ and OUT/<run_type>/<date>/)."""

import os
import shutil
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from pipelines.core.atomic import group_readable, open_to_group, replace_directory, set_published_modes
from pipelines.core.resources import duckdb_config
from pipelines.settle.load_shape_history import keep_published_load_shapes
from pipelines.settle.run import SETTLEMENT_RUNS_SCHEMA, STANDING_TABLES, SettlementRun

# Published tables of a run and the order their rows are written in (so reruns give identical files).
PUBLISHED_TABLES = {
    "supplier_volumes": "settlement_period, gsp_group_id, supplier_id, bm_unit_id, ccc_id",
    "gsp_group_correction": "settlement_period, gsp_group_id",
    "review_flags": "mpan_core, measurement_quantity, flag, first_period",
    "bm_unit_volumes": "settlement_period, gsp_group_id, supplier_id, bm_unit_id",
    "load_shapes": "gsp_group_id, market_segment, domestic_premises, consent_granularity, measurement_quantity, "
                   "settlement_period",
}
# The run's refused register reads, beside quarantine.parquet (the refused values) in published/.
REGISTER_READ_QUARANTINE = "register_read_quarantine.parquet"
# Relations of every partition that finish_run reads together (int_settlement_periods is the same in each).
COMBINED_RELATIONS = ["supplier_volumes", "gsp_group_correction", "review_flags", "bm_unit_volumes", "int_registrations_in_force",
                      "int_consumption_estimated", "int_consumption_refused", "load_shapes", "int_load_shapes",
                      "int_register_reads_refused"]
# Basis data kept with every run: (file name, relation, row order).
BASIS_TABLES = [
    ("registrations_in_force", "int_registrations_in_force", "mpan_core, measurement_quantity"),
    ("consumption_after_estimation", "int_consumption_estimated", "mpan_core, measurement_quantity"),
    ("settlement_periods", "int_settlement_periods", "settlement_period"),
    # the Load Shaping Service's shapes of every category of the day with their provenance (int_load_shapes)
    ("load_shape_basis", "int_load_shapes",
     "gsp_group_id, market_segment, domestic_premises, consent_granularity, measurement_quantity, settlement_period"),
]



def combine(run: SettlementRun, partitions: list[Path]) -> duckdb.DuckDBPyConnection:
    """One connection in which the settlement relations hold the union of the partitions, beside the
    standing data the run used (schema standing): what the gate checks and publish writes out."""
    con = duckdb.connect(config=duckdb_config(run.run_dir / "spill"))
    for index, folder in enumerate(partitions):
        con.execute(f"ATTACH '{folder / 'work.duckdb'}' AS partition_{index} (READ_ONLY)")
    for relation in COMBINED_RELATIONS:
        con.execute(f"CREATE VIEW {relation} AS "
                    + " UNION ALL BY NAME ".join(f"SELECT * FROM partition_{i}.main.{relation}" for i in range(len(partitions))))
    con.execute("CREATE VIEW int_settlement_periods AS SELECT * FROM partition_0.main.int_settlement_periods")
    con.execute("CREATE SCHEMA standing")
    for table in STANDING_TABLES:
        con.execute(f"CREATE VIEW standing.{table} AS SELECT * FROM read_parquet('{run.run_dir / 'standing' / f'{table}.parquet'}')")
    return con


def stage(run: SettlementRun, con: duckdb.DuckDBPyConnection, succeeded_at: datetime) -> Path:
    """Write the run's outputs (staged/) and basis data from the combined relations, for the gate to check
    before anything is published. Basis files are written aside and moved into basis/ whole, since views
    read them; a finish interrupted part-way is simply redone."""
    staged = run.run_dir / "staged"
    aside = run.run_dir / ".basis"
    for folder in (staged, aside, run.run_dir / "published"):
        shutil.rmtree(folder, ignore_errors=True)
    staged.mkdir()
    aside.mkdir()
    record = pa.Table.from_pylist(
        [{"run_id": run.run_id, "run_type": run.run_type, "settlement_date": run.settlement_date, "version": run.version,
          "started_at": run.started_at, "succeeded_at": succeeded_at, "status": "succeeded",
          "dispute_reference": run.dispute_reference, "data_cut_off": run.data_cut_off,
          "standing_data": run.standing_data}],
        schema=SETTLEMENT_RUNS_SCHEMA,
    )
    con.register("settlement_run", record)
    con.execute(f"COPY settlement_run TO '{staged / 'settlement_runs.parquet'}' (FORMAT parquet)")
    con.execute(f"COPY settlement_run TO '{staged / 'settlement_runs.csv'}' (HEADER, DELIMITER ',')")
    con.unregister("settlement_run")
    for table, order in PUBLISHED_TABLES.items():
        for fmt, options in (("parquet", "FORMAT parquet"), ("csv", "HEADER, DELIMITER ','")):
            con.execute(f"COPY (SELECT * FROM {table} ORDER BY {order}) TO '{staged / f'{table}.{fmt}'}' ({options})")
    for name, relation, order in BASIS_TABLES:
        con.execute(f"COPY (SELECT * FROM {relation} ORDER BY {order}) TO '{aside / f'{name}.parquet'}' (FORMAT parquet)")
    con.execute(
        f"COPY (SELECT * FROM int_consumption_refused "
        f"ORDER BY source_file, mpan_core, measurement_quantity, received_at, data_service_id, settlement_period) "
        f"TO '{staged / 'quarantine.parquet'}' (FORMAT parquet)"
    )
    # refused register reads (a read, not half-hourly values: kept apart from the values' quarantine, which the
    # report reconciles value by value); the warehouse's quarantine view shows both
    con.execute(
        f"COPY (SELECT * FROM int_register_reads_refused "
        f"ORDER BY source_file, row_number, mpan_core, measurement_quantity, received_at) "
        f"TO '{staged / REGISTER_READ_QUARANTINE}' (FORMAT parquet)"
    )
    (run.run_dir / "basis").mkdir(exist_ok=True)
    for part in aside.iterdir():
        os.replace(part, run.run_dir / "basis" / part.name)
    aside.rmdir()
    return staged


def publish(run: SettlementRun) -> None:
    """published/ (staged/ renamed whole, so views over runs/*/published/ never read a half-written file)
    is the run's record of what it published; OUT/<run_type>/<date>/ is swapped whole, so a reader sees
    the previous outputs or the new ones. OUT/<run_type>/<date>/ (outputs and data-quality report) is owner-only,
    or readable by the group with MHHS_GROUP_READABLE=1, its modes set before it appears (pipelines.core.atomic);
    published/ stays with the run's own files, owner-only."""
    group = group_readable()  # a wrong setting stops here, before anything moved
    published = (run.run_dir / "staged").rename(run.run_dir / "published")
    # the Load Shaping Service's history: read by later runs once this run's record says it succeeded
    keep_published_load_shapes(run.data_dir, run.run_id, run.settlement_date, published / "load_shapes.parquet")
    # its views read staged/, which is gone; the gate's results stay in the Data Docs and the report
    (run.run_dir / "gate.duckdb").unlink(missing_ok=True)
    target = run.out_dir / run.run_type / run.settlement_date.isoformat()
    incoming = target.with_name(f".{target.name}.incoming")
    shutil.rmtree(incoming, ignore_errors=True)
    shutil.copytree(published, incoming, ignore=shutil.ignore_patterns("quarantine.parquet", REGISTER_READ_QUARANTINE))
    set_published_modes(incoming, group)
    if group:
        open_to_group(target.parent, run.out_dir, run.data_dir)
    replace_directory(incoming, target)
