"""The Load Shaping Service's history in the lake: every published run's load_shapes, kept per settlement date.

    DATA_DIR/lake/load_shapes/settlement_date=D/<run_id>.parquet    the load_shapes a run published for date D

A run's file is written when it publishes (keep_published_load_shapes), before its record says it succeeded, so a
file counts only once its run's finished.parquet says `succeeded`: a run interrupted between the two leaves a file
nobody reads. For each date the history's value is the newest succeeded run's (the latest finished_at), whatever
its run type: a later run of a day has more actual data. A partition reads the history as it stands when it
starts (settlement_run.load_shape_history in its DuckDB file, written by pipelines.settle.partition), for annual
totals and for shaping register reads over other days (docs/settlement.md, "The Load Shaping Service").
"""

import os
from datetime import date
from pathlib import Path

import duckdb

from pipelines import catalogue
from pipelines.reference.lake import Lake

HISTORY_FOLDER = "load_shapes"
# The history a run reads: the dates within this many days of its settlement date (the annual total needs 364
# days before it; a register read's interval reaches a month or so either side).
HISTORY_WINDOW_DAYS = 400


def history_root(data_dir: Path) -> Path:
    return Lake(data_dir).root / HISTORY_FOLDER


def keep_published_load_shapes(data_dir: Path, run_id: str, settlement_date: date, published: Path) -> Path:
    """Copy a run's published load_shapes.parquet into the history (aside, then renamed: never half a file)."""
    target = history_root(data_dir) / f"settlement_date={settlement_date.isoformat()}" / f"{run_id}.parquet"
    target.parent.mkdir(parents=True, exist_ok=True)
    aside = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    aside.write_bytes(published.read_bytes())
    os.replace(aside, target)
    return target


def _succeeded_runs_sql(data_dir: Path) -> str | None:
    """run_id and finished_at of every succeeded run (runs/<type>/<date>/v<n>/finished.parquet names the run)."""
    runs = Path(data_dir).resolve() / "runs"
    if not any(runs.glob("*/*/v*/finished.parquet")):
        return None
    return (
        "SELECT regexp_replace(filename, '^.*/([^/]+)/([^/]+)/(v[0-9]+)/finished\\.parquet$', '\\1-\\2-\\3') AS run_id, "
        "finished_at "
        f"FROM read_parquet('{runs}/*/*/v*/finished.parquet', filename = true) WHERE status = 'succeeded'"
    )


def history_sql(data_dir: Path, settlement_date: date) -> str:
    """SQL of the history a run of `settlement_date` reads: for each other date within HISTORY_WINDOW_DAYS of it,
    the load_shapes of the newest succeeded run that published it; the columns of the catalogue's load_shapes."""
    columns = catalogue.dataset("load_shapes").columns
    empty = "SELECT " + ", ".join(f"CAST(NULL AS {c.duckdb_type}) AS {c.name}" for c in columns) + " WHERE false"
    root = history_root(data_dir)
    succeeded = _succeeded_runs_sql(data_dir)
    if succeeded is None or not any(root.glob("*/*.parquet")):
        return empty
    names = ", ".join(f"h.{c.name}::{c.duckdb_type} AS {c.name}" for c in columns)
    return (
        f"SELECT {names} FROM (SELECT *, regexp_extract(filename, '([^/]+)\\.parquet$', 1) AS run_id "
        f"FROM read_parquet('{root}/*/*.parquet', filename = true, hive_partitioning = false)) AS h "
        f"INNER JOIN ({succeeded}) AS s USING (run_id) "
        f"WHERE h.settlement_date BETWEEN DATE '{settlement_date.isoformat()}' - {HISTORY_WINDOW_DAYS} "
        f"AND DATE '{settlement_date.isoformat()}' + {HISTORY_WINDOW_DAYS} "
        f"AND h.settlement_date <> DATE '{settlement_date.isoformat()}' "
        "QUALIFY s.finished_at = max(s.finished_at) OVER (PARTITION BY h.settlement_date)"
    )


def write_load_shape_history(con: duckdb.DuckDBPyConnection, data_dir: Path | None, settlement_date: date) -> None:
    """Table settlement_run.load_shape_history of a partition's DuckDB file (dbt source of the same name); empty
    without a data directory (the dbt unit tests' warehouse)."""
    if data_dir is None:
        columns = catalogue.dataset("load_shapes").columns
        sql = "SELECT " + ", ".join(f"CAST(NULL AS {c.duckdb_type}) AS {c.name}" for c in columns) + " WHERE false"
    else:
        sql = history_sql(data_dir, settlement_date)
    con.execute(f"CREATE TABLE settlement_run.load_shape_history AS {sql}")


def warehouse_view_sql(data_dir: Path, runs_view: str = "settlement_runs") -> str | None:
    """The warehouse view load_shapes: every succeeded run's published load shapes with its run_id, files named
    relative to the data directory; None when no run has published any."""
    root = history_root(data_dir)
    if not any(root.glob("*/*.parquet")):
        return None
    relative = root.relative_to(Path(data_dir).resolve())
    return (
        "SELECT * EXCLUDE (filename), regexp_extract(filename, '([^/]+)\\.parquet$', 1) AS run_id "
        f"FROM read_parquet('{relative}/*/*.parquet', filename = true, hive_partitioning = false) "
        f"WHERE regexp_extract(filename, '([^/]+)\\.parquet$', 1) IN "
        f"(SELECT run_id FROM {runs_view} WHERE status = 'succeeded')"
    )
