"""Lineage for audit: which landing files (by content hash) a settlement run was given.

A run's basis holds `landing_files.parquet`: the ingestion log as it stood when the run started. The run's
dbt models read the lake through that snapshot only, so it is exactly the set of files the run could use;
with the run's registrations in force it traces every published row to the landing files that fed it
(docs/analysts.md, "Which landing files fed this row?").
"""

import os
from pathlib import Path

import duckdb

from pipelines import catalogue
from pipelines.reference.lake import Lake

# The ingestion log: one row per landing file ingested or refused whole (the data catalogue's record
# ingestion_log), as {column: DuckDB type} and as the Arrow schema its entries are written with.
INGESTION_LOG_COLUMNS = {item.name: item.duckdb_type for item in catalogue.record("ingestion_log").columns}
INGESTION_LOG_SCHEMA = catalogue.record("ingestion_log").arrow_schema()


def empty_ingestion_log() -> str:
    return "SELECT " + ", ".join(f"CAST(NULL AS {t}) AS {n}" for n, t in INGESTION_LOG_COLUMNS.items()) + " WHERE false"


LANDING_FILE_COLUMNS = "file_sha256, file_id, dataset, source_file, status, rows_accepted, ingested_at"


def snapshot_landing_files(lake: Lake, basis_dir: Path) -> Path:
    """Write the committed ingestion log into the run's basis (atomically) and return its path."""
    basis_dir.mkdir(parents=True, exist_ok=True)
    target = basis_dir / "landing_files.parquet"
    temporary = basis_dir / ".landing_files.tmp"
    source = (
        f"SELECT {LANDING_FILE_COLUMNS} FROM read_parquet('{lake.glob('ingestion_log')}')"
        if lake.has_files("ingestion_log") else f"SELECT {LANDING_FILE_COLUMNS} FROM ({empty_ingestion_log()})"
    )
    with duckdb.connect() as con:
        con.execute(f"COPY ({source} ORDER BY file_sha256) TO '{temporary}' (FORMAT parquet)")
    os.replace(temporary, target)
    return target
