"""The Load Shaping Service's history in the lake (pipelines/settle/load_shape_history.py): which published load
shapes a run reads for other dates, and the warehouse view over them."""

from datetime import date, datetime, timezone
from pathlib import Path

import duckdb
import pytest

from pipelines.settle.load_shape_history import (history_sql, keep_published_load_shapes, warehouse_view_sql,
                                                 write_load_shape_history)
from pipelines.settle.run import FINISHED_SCHEMA, write_record

pytestmark = pytest.mark.unit

COLUMNS = ("gsp_group_id, market_segment, domestic_premises, consent_granularity, measurement_quantity, "
           "settlement_date, settlement_period, load_shape_kwh, annual_total_kwh")


def _publish(data_dir: Path, run_id: str, day: str, kwh: float, status: str | None, finished_at: str) -> None:
    """A run of `day` that published one period of _A/S/Y/HH/AI at `kwh`, finished with `status` (None: never)."""
    run_type, version = run_id.split("-")[0], run_id.split("-")[-1]
    run_dir = data_dir / "runs" / run_type / day / version
    run_dir.mkdir(parents=True)
    published = run_dir / "load_shapes.parquet"
    duckdb.sql(f"COPY (SELECT '_A' AS gsp_group_id, 'S' AS market_segment, 'Y' AS domestic_premises, "
               f"'HH' AS consent_granularity, 'AI' AS measurement_quantity, DATE '{day}' AS settlement_date, "
               f"1 AS settlement_period, {kwh}::DECIMAL(18, 6) AS load_shape_kwh, 1000::DECIMAL(18, 6) AS annual_total_kwh) "
               f"TO '{published}' (FORMAT parquet)")
    keep_published_load_shapes(data_dir, run_id, date.fromisoformat(day), published)
    if status is not None:
        write_record(run_dir / "finished.parquet",
                     {"status": status, "finished_at": datetime.fromisoformat(finished_at).replace(tzinfo=timezone.utc),
                      "reason": None}, FINISHED_SCHEMA)


def test_history_is_the_newest_succeeded_run_of_each_other_date(tmp_path):
    """2026-10-24: SF succeeded (1.0), R1 succeeded later (2.0): R1's. 2026-10-23: SF succeeded (3.0), its R1
    failed (9.0) and an RF never finished (8.0): SF's. The run's own date (2026-10-25, 7.0) is never history."""
    _publish(tmp_path, "SF-2026-10-24-v1", "2026-10-24", 1.0, "succeeded", "2026-11-01T10:00:00")
    _publish(tmp_path, "R1-2026-10-24-v1", "2026-10-24", 2.0, "succeeded", "2026-12-01T10:00:00")
    _publish(tmp_path, "SF-2026-10-23-v1", "2026-10-23", 3.0, "succeeded", "2026-11-01T10:00:00")
    _publish(tmp_path, "R1-2026-10-23-v1", "2026-10-23", 9.0, "failed", "2026-12-01T10:00:00")
    _publish(tmp_path, "RF-2026-10-23-v1", "2026-10-23", 8.0, None, "")
    _publish(tmp_path, "SF-2026-10-25-v1", "2026-10-25", 7.0, "succeeded", "2026-11-01T10:00:00")
    rows = duckdb.sql(f"SELECT settlement_date, load_shape_kwh FROM ({history_sql(tmp_path, date(2026, 10, 25))}) "
                      "ORDER BY 1").fetchall()
    assert [(str(day), float(kwh)) for day, kwh in rows] == [("2026-10-23", 3.0), ("2026-10-24", 2.0)]


def test_no_history_is_an_empty_table_with_the_catalogue_columns(tmp_path):
    with duckdb.connect() as con:
        con.execute("CREATE SCHEMA settlement_run")
        write_load_shape_history(con, tmp_path, date(2026, 10, 25))
        columns = [row[0] for row in con.execute("DESCRIBE settlement_run.load_shape_history").fetchall()]
        assert con.execute("SELECT count(*) FROM settlement_run.load_shape_history").fetchone() == (0,)
    assert ", ".join(columns) == COLUMNS


def test_warehouse_view_holds_succeeded_runs_with_their_run_id(tmp_path):
    _publish(tmp_path, "SF-2026-10-24-v1", "2026-10-24", 1.0, "succeeded", "2026-11-01T10:00:00")
    _publish(tmp_path, "R1-2026-10-24-v1", "2026-10-24", 2.0, "failed", "2026-12-01T10:00:00")
    with duckdb.connect(config={"file_search_path": str(tmp_path)}) as con:
        con.execute("CREATE VIEW settlement_runs AS SELECT * FROM (VALUES ('SF-2026-10-24-v1', 'succeeded'), "
                    "('R1-2026-10-24-v1', 'failed')) AS t(run_id, status)")
        rows = con.execute(f"SELECT run_id, load_shape_kwh FROM ({warehouse_view_sql(tmp_path)})").fetchall()
    assert [(run_id, float(kwh)) for run_id, kwh in rows] == [("SF-2026-10-24-v1", 1.0)]
