"""The warehouse views that compare runs of a day (docs/analysts.md): `run_comparison` (each succeeded run
against the one before it) and `run_comparison_to_sf` (each later run type against SF), both per settlement
period, GSP Group and supplier, on net corrected kWh (import positive, export negative). The runs are written
by hand as `mhhs settle` records them, and every expected figure below is worked out by hand."""

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines import catalogue
from pipelines.outputs.warehouse import refresh_views
from pipelines.reference.lake import Lake
from pipelines.settle.run import FINISHED_SCHEMA, STARTED_SCHEMA

pytestmark = pytest.mark.unit

DAY = date(2026, 11, 10)
T0 = datetime(2026, 11, 20, 7, 0, tzinfo=timezone.utc)
# (run type, minutes after T0 it started, its rows: (period, supplier, quantity, CCC, corrected kWh))
RUNS = [
    ("SF", 0, [
        (1, "SUPA", "AI", "S01", 0.6), (1, "SUPA", "AI", "S02", 0.06), (1, "SUPA", "AE", "S09", 0.2),  # net 0.46
        (2, "SUPA", "AI", "S01", 0.5),                                                                # net 0.5
        (1, "SUPB", "AI", "S01", 0.3),                                                                # net 0.3
    ]),
    ("RF", 60, [
        (1, "SUPA", "AI", "S01", 0.7), (1, "SUPA", "AE", "S09", 0.1),  # net 0.6: +0.14 (export counts negative)
        # SUPA has nothing in period 2 any more: -0.5
        (1, "SUPB", "AI", "S01", 0.3),                                 # unchanged
        (2, "SUPB", "AI", "S01", 0.25),                                # new in RF: +0.25
    ]),
]


def write_run(data_dir: Path, run_type: str, minutes: int, rows: list[tuple]) -> str:
    run_id = f"{run_type}-{DAY.isoformat()}-v1"
    run_dir = data_dir / "runs" / run_type / DAY.isoformat() / "v1"
    (run_dir / "published").mkdir(parents=True)
    started = T0 + timedelta(minutes=minutes)
    pq.write_table(pa.Table.from_pylist([{
        "run_id": run_id, "run_type": run_type, "settlement_date": DAY, "version": 1, "started_at": started,
        "dispute_reference": None, "data_cut_off": started, "standing_data": '{"files": [], "synthetic": false}'}],
        schema=STARTED_SCHEMA), run_dir / "started.parquet")
    pq.write_table(pa.Table.from_pylist([{"status": "succeeded", "finished_at": started + timedelta(minutes=5),
                                          "reason": None}], schema=FINISHED_SCHEMA), run_dir / "finished.parquet")
    volumes = [{"run_id": run_id, "run_type": run_type, "settlement_date": DAY, "settlement_period": period,
                "gsp_group_id": "_C", "supplier_id": supplier, "bm_unit_id": f"2__C{supplier}000", "ccc_id": ccc,
                "measurement_quantity": quantity, "mpan_count": 1, "uncorrected_kwh": kwh / 1.2, "corrected_kwh": kwh}
               for period, supplier, quantity, ccc, kwh in rows]
    table = pa.Table.from_pylist(volumes)
    assert table.column_names == catalogue.dataset_columns("supplier_volumes")
    pq.write_table(table, run_dir / "published" / "supplier_volumes.parquet")
    return run_id


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    data_dir = tmp_path_factory.mktemp("comparison") / "data"
    for run_type, minutes, rows in RUNS:
        write_run(data_dir, run_type, minutes, rows)
    refresh_views(Lake(data_dir))
    return data_dir / "warehouse.duckdb"


def query(warehouse: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True, config={"file_search_path": str(warehouse.parent)}) as con:
        return con.execute(sql).fetchall()


def rounded(rows: list[tuple]) -> list[tuple]:
    return [tuple(round(v, 9) if isinstance(v, float) else v for v in row) for row in rows]


def test_run_comparison_is_signed_per_period_gsp_group_and_supplier(warehouse):
    rows = query(warehouse, "SELECT run_id, previous_run_id, settlement_period, gsp_group_id, supplier_id, "
                            "previous_net_kwh, net_kwh, change_kwh FROM run_comparison "
                            "ORDER BY run_id DESC, settlement_period, supplier_id")
    assert rounded(rows) == [
        # SF is the day's first run: nothing to compare with
        ("SF-2026-11-10-v1", None, 1, "_C", "SUPA", None, 0.46, None),
        ("SF-2026-11-10-v1", None, 1, "_C", "SUPB", None, 0.3, None),
        ("SF-2026-11-10-v1", None, 2, "_C", "SUPA", None, 0.5, None),
        # RF against SF: 0.7 - 0.1 = 0.6 against 0.6 + 0.06 - 0.2 = 0.46
        ("RF-2026-11-10-v1", "SF-2026-11-10-v1", 1, "_C", "SUPA", 0.46, 0.6, 0.14),
        ("RF-2026-11-10-v1", "SF-2026-11-10-v1", 1, "_C", "SUPB", 0.3, 0.3, 0.0),
        # a supplier gone from a period, and one new in it, are compared with 0 kWh
        ("RF-2026-11-10-v1", "SF-2026-11-10-v1", 2, "_C", "SUPA", 0.5, 0.0, -0.5),
        ("RF-2026-11-10-v1", "SF-2026-11-10-v1", 2, "_C", "SUPB", 0.0, 0.25, 0.25),
    ]


def test_run_comparison_to_sf_has_the_same_grain_and_signs(warehouse):
    rows = query(warehouse, "SELECT sf_run_id, run_id, run_type, settlement_period, supplier_id, sf_net_kwh, net_kwh, "
                            "change_kwh FROM run_comparison_to_sf ORDER BY settlement_period, supplier_id")
    assert rounded(rows) == [
        ("SF-2026-11-10-v1", "RF-2026-11-10-v1", "RF", 1, "SUPA", 0.46, 0.6, 0.14),
        ("SF-2026-11-10-v1", "RF-2026-11-10-v1", "RF", 1, "SUPB", 0.3, 0.3, 0.0),
        ("SF-2026-11-10-v1", "RF-2026-11-10-v1", "RF", 2, "SUPA", 0.5, 0.0, -0.5),
        ("SF-2026-11-10-v1", "RF-2026-11-10-v1", "RF", 2, "SUPB", 0.0, 0.25, 0.25),
    ]
    # the two views agree where they compare the same pair of runs
    assert query(warehouse, "SELECT count(*) FROM run_comparison c JOIN run_comparison_to_sf s "
                            "USING (run_id, settlement_period, gsp_group_id, supplier_id) "
                            "WHERE c.change_kwh IS DISTINCT FROM s.change_kwh") == [(0,)]


def test_the_day_total_of_the_changes_is_the_change_of_the_net_day_total(warehouse):
    # SF net 0.46 + 0.5 + 0.3 = 1.26; RF net 0.6 + 0.3 + 0.25 = 1.15: the day moved by -0.11
    (total,) = query(warehouse, "SELECT sum(change_kwh) FROM run_comparison WHERE run_id = 'RF-2026-11-10-v1'")
    assert total[0] == pytest.approx(-0.11)


def test_settlement_runs_shows_the_v2_record_columns(warehouse):
    columns = [row[0] for row in query(warehouse, "DESCRIBE settlement_runs")]
    assert columns == [*catalogue.dataset_columns("settlement_runs"), "reason"]


def test_runs_recorded_before_v2_still_show_with_empty_v2_columns(tmp_path):
    data_dir = tmp_path / "data"
    write_run(data_dir, "RF", 0, RUNS[1][2])
    legacy = data_dir / "runs" / "SF" / DAY.isoformat() / "v1"  # started.parquet as 0.7 wrote it
    legacy.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist([{"run_id": f"SF-{DAY}-v1", "run_type": "SF", "settlement_date": DAY,
                                          "version": 1, "started_at": T0 - timedelta(days=1)}],
                                        schema=pa.schema(list(STARTED_SCHEMA)[:5])), legacy / "started.parquet")
    refresh_views(Lake(data_dir))
    rows = query(data_dir / "warehouse.duckdb", "SELECT run_id, status, dispute_reference, data_cut_off IS NULL, "
                                                "standing_data FROM settlement_runs ORDER BY run_id")
    assert rows == [("RF-2026-11-10-v1", "succeeded", None, False, '{"files": [], "synthetic": false}'),
                    ("SF-2026-11-10-v1", "running", None, True, None)]
