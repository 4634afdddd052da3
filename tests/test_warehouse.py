"""The analysts' warehouse (issue 22, operability; docs/analysts.md, docs/reliability.md):

  * readers never block writers, writers never break readers: a read-only connection held open, one querying in
    a loop and new connections opened over and over while `mhhs ingest` and `mhhs settle` refresh the views;
  * the views answer wherever the data directory is: a copy moved elsewhere answers as it is, no refresh;
  * file modes: published outputs owner-only, or group-readable with MHHS_GROUP_READABLE=1; the lake, the
    quarantine and the runs' own files owner-only whatever the setting.

One settlement of the committed sample (module fixture `refreshed_under_readers`) serves every test that needs
a settled day; the other tests work on small data directories of their own.
"""

import json
import os
import stat
import subprocess
import sys
import threading
import time
from datetime import date, datetime, timezone
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from pipelines import cli
from pipelines.core.atomic import GROUP_READABLE_SETTING
from pipelines.outputs.warehouse import open_warehouse, refresh_views
from pipelines.reference.lake import Lake
from pipelines.settle.publish import publish
from pipelines.settle.run import SettlementRun
from tests.conftest import BIN_DIR, PROJECT_ROOT, SAMPLE_DAY, SAMPLE_LANDING, SAMPLE_STANDING, copy_data_dir

pytestmark = pytest.mark.integration

MHHS = str(BIN_DIR / "mhhs")
RUN_ID = f"SF-{SAMPLE_DAY}-v1"
# What the readers ask, over the lake, the runs and the analyst views.
QUERIES = {
    "consumption_values": "SELECT count(*) FROM consumption_values",
    "quarantine": "SELECT count(*) FROM quarantine",
    "settlement_runs": "SELECT count(*) FROM settlement_runs",
    "supplier_positions": "SELECT count(*) FROM supplier_positions",
}
# A reader in a process of its own: opens the warehouse afresh (read-only, as an analyst's tool does) and queries
# it until the stop file appears; prints how many rounds succeeded and every failure.
FRESH_READER = """
import json, sys, time
from pathlib import Path
import duckdb
data_dir, stop, queries = Path(sys.argv[1]), Path(sys.argv[2]), json.loads(sys.argv[3])
rounds, failures = 0, []
while not stop.exists():
    try:
        with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True,
                            config={"file_search_path": str(data_dir)}) as con:
            for sql in queries.values():
                con.execute(sql).fetchall()
        rounds += 1
    except Exception as error:
        failures.append(f"{type(error).__name__}: {error}")
    time.sleep(0.05)
print(json.dumps({"rounds": rounds, "failures": failures[:5], "failed": len(failures)}))
"""


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _counts(con) -> dict[str, int]:
    return {name: con.execute(sql).fetchone()[0] for name, sql in QUERIES.items()}


@pytest.fixture(scope="module")
def refreshed_under_readers(ingested_sample, tmp_path_factory):
    """A copy of the ingested sample on which `mhhs ingest` (the sample again: nothing new, the views
    refreshed) and `mhhs settle` (with MHHS_GROUP_READABLE=1) ran as subprocesses at the same time, while this
    process held a read-only connection open, a thread queried through it in a loop, and another process opened
    the warehouse afresh in a loop."""
    data_dir = copy_data_dir(ingested_sample, tmp_path_factory.mktemp("under_readers"))
    held = duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True,
                          config={"file_search_path": str(data_dir)})
    before = _counts(held)
    stop_file = data_dir.parent / "stop"
    loop = {"rounds": 0, "failures": []}
    stop = threading.Event()

    def query_in_a_loop():
        cursor = held.cursor()
        while not stop.is_set():
            try:
                _counts(cursor)
                loop["rounds"] += 1
            except duckdb.Error as error:
                loop["failures"].append(f"{type(error).__name__}: {error}")
            time.sleep(0.05)
        cursor.close()

    thread = threading.Thread(target=query_in_a_loop)
    thread.start()
    fresh = subprocess.Popen([sys.executable, "-c", FRESH_READER, str(data_dir), str(stop_file), json.dumps(QUERIES)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        env = {**os.environ, GROUP_READABLE_SETTING: "1"}
        ingest = subprocess.Popen([MHHS, "--data-dir", str(data_dir), "ingest", str(SAMPLE_LANDING)], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        settle = subprocess.Popen([MHHS, "--data-dir", str(data_dir), "settle", "--date", SAMPLE_DAY, "--run-type", "SF",
                                   "--standing-data", str(SAMPLE_STANDING)], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        ingested = ingest.communicate(timeout=900)
        settled = settle.communicate(timeout=900)
        time.sleep(0.5)  # a few more rounds on the refreshed warehouse
    finally:
        stop.set()
        thread.join()
        stop_file.touch()
        fresh_out, fresh_err = fresh.communicate(timeout=60)
    after_on_held = _counts(held)
    held.close()
    return {
        "data_dir": data_dir, "before": before, "after_on_held": after_on_held, "loop": loop,
        "fresh": json.loads(fresh_out) if fresh_out.strip() else {"error": fresh_err},
        "ingest": (ingest.returncode, *ingested), "settle": (settle.returncode, *settled),
    }


# ---- readers never block writers, writers never break readers ------------------------------------------------


def test_ingest_and_settle_succeed_while_readers_hold_and_query_the_warehouse(refreshed_under_readers):
    result = refreshed_under_readers
    code, out, err = result["ingest"]
    assert code == 0, f"mhhs ingest exited {code} with a reader on the warehouse:\n{out}{err}"
    code, out, err = result["settle"]
    assert code == 0, f"mhhs settle exited {code} with a reader on the warehouse:\n{out}{err}"
    # every query of the held connection, and of the connections opened afresh, answered
    assert result["loop"]["failures"] == [] and result["loop"]["rounds"] > 10, result["loop"]
    assert result["fresh"].get("failed") == 0 and result["fresh"]["rounds"] > 10, result["fresh"]


def test_a_reader_keeps_the_views_it_opened_and_a_new_connection_gets_the_new_ones(refreshed_under_readers):
    result = refreshed_under_readers
    data_dir = result["data_dir"]
    # the held connection read the file it opened to the end: the views as they were before the run
    assert result["before"]["settlement_runs"] == 0 and result["before"]["consumption_values"] > 0
    assert result["after_on_held"] == result["before"]
    with open_warehouse(data_dir) as con:
        assert con.execute("SELECT run_id, status FROM settlement_runs").fetchall() == [(RUN_ID, "succeeded")]
        assert con.execute("SELECT count(*) FROM supplier_positions").fetchone()[0] > 0
        assert _counts(con)["consumption_values"] == result["before"]["consumption_values"]
    # the swap leaves one warehouse file and nothing aside
    assert sorted(path.name for path in data_dir.iterdir() if "warehouse" in path.name) == ["warehouse.duckdb"]


def test_a_refresh_succeeds_while_this_process_holds_the_warehouse_open(ingested_sample, tmp_path):
    """The failure of issue 22: `Could not set lock on file warehouse.duckdb` when the views were refreshed in
    place with an analyst's read-only connection open."""
    lake = Lake(copy_data_dir(ingested_sample, tmp_path))
    with duckdb.connect(str(lake.warehouse), read_only=True, config={"file_search_path": str(lake.data_dir)}) as con:
        before = con.execute("SELECT count(*) FROM consumption_values").fetchone()[0]
        refresh_views(lake)
        refresh_views(lake)
        assert con.execute("SELECT count(*) FROM consumption_values").fetchone()[0] == before > 0


def test_mhhs_sql_answers_while_a_reader_holds_the_warehouse_open(ingested_sample, tmp_path):
    data_dir = copy_data_dir(ingested_sample, tmp_path)
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True, config={"file_search_path": str(data_dir)}):
        done = subprocess.run([MHHS, "--data-dir", str(data_dir), "sql", "SELECT count(*) AS n FROM ingestion_log"],
                              capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "(1 row)" in done.stdout


def test_mhhs_sql_reads_the_relative_paths_of_the_views_and_nothing_beside_them(ingested_sample, capsys):
    """The views' relative paths are allowed to `mhhs sql`, but not as a way out of the lake or the runs."""
    data_dir = str(ingested_sample)
    assert cli.main(["--data-dir", data_dir, "sql", "SELECT count(*) FROM read_parquet('lake/ingestion_log/*.parquet')"]) == 0
    capsys.readouterr()
    for path in ("lake/../refused_files/*/*", "runs/../lake/../refused_files/*/*", "refused_files/*/*"):
        code = cli.main(["--data-dir", data_dir, "sql", f"SELECT * FROM read_text('{path}')"])
        assert code != 0, path
        assert "file system operations are disabled" in capsys.readouterr().err, path


# ---- views that answer wherever the data directory is ------------------------------------------------------------


def test_a_moved_data_directory_answers_without_a_refresh(refreshed_under_readers, tmp_path):
    original = refreshed_under_readers["data_dir"]
    with open_warehouse(original) as con:
        expected = _counts(con)
        definitions = [sql for sql, in con.execute("SELECT sql FROM duckdb_views() WHERE NOT internal").fetchall()]
    assert not any(str(original) in sql or "read_parquet('/" in sql for sql in definitions)
    moved = tmp_path / "elsewhere" / "mounted"
    moved.parent.mkdir()
    copy_data_dir(original, tmp_path).rename(moved)
    warehouse_bytes = (moved / "warehouse.duckdb").read_bytes()
    # One consumption file removed from the moved copy only: its views must read the copy, not the original.
    removed = sorted((moved / "lake" / "consumption").rglob("*.parquet"))[0]
    kwh = pq.read_table(removed, columns=[name for name in pq.read_schema(removed).names if name.startswith("kwh_")])
    removed_values = sum(len(column) - column.null_count for column in kwh.columns)
    removed.unlink()
    expected_moved = {**expected, "consumption_values": expected["consumption_values"] - removed_values}
    assert removed_values > 0

    with open_warehouse(moved) as con:  # the project's helper: file_search_path = the data directory
        assert _counts(con) == expected_moved
    # an analyst's tool started in the data directory, with no setting at all (as `cd DATA_DIR; duckdb ...`)
    plain = subprocess.run(
        [sys.executable, "-c", "import duckdb, json, sys; con = duckdb.connect('warehouse.duckdb', read_only=True); "
         "print(json.dumps({n: con.execute(q).fetchone()[0] for n, q in json.loads(sys.argv[1]).items()}))",
         json.dumps(QUERIES)], cwd=moved, capture_output=True, text=True, timeout=120)
    assert plain.returncode == 0, plain.stderr
    assert json.loads(plain.stdout) == expected_moved
    # mhhs sql from anywhere
    done = subprocess.run([MHHS, "--data-dir", str(moved), "sql", "SELECT count(*) AS n FROM consumption_values"],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert str(expected_moved["consumption_values"]) in done.stdout.split(), done.stdout
    assert (moved / "warehouse.duckdb").read_bytes() == warehouse_bytes  # no refresh happened


# ---- file modes -----------------------------------------------------------------------------------------------


def test_with_the_setting_published_outputs_are_group_readable_and_the_rest_stays_private(refreshed_under_readers):
    data_dir = refreshed_under_readers["data_dir"]
    outputs = data_dir / "outbound" / "SF" / SAMPLE_DAY
    files = sorted(path for path in outputs.rglob("*") if path.is_file())
    assert {path.name for path in files} >= {"supplier_volumes.csv", "data_quality_report.html"}
    assert {path.name: _mode(path) for path in files} == {path.name: 0o640 for path in files}
    assert {_mode(folder) for folder in (outputs, outputs.parent, data_dir / "outbound")} == {0o750}
    assert _mode(data_dir) & 0o077 == 0o010  # the group passes through the data directory, cannot list it
    private = [path for part in ("lake", "runs", "refused_files", "locks", "data_docs", "gx")
               for path in (data_dir / part).rglob("*")]
    private += [data_dir / "warehouse.duckdb", data_dir / "lake", data_dir / "runs"]
    assert any(path.name == "quarantine.parquet" for path in private)
    assert any("published" in path.parts for path in private)  # the run's own record of what it published
    shared = {str(path.relative_to(data_dir)): oct(_mode(path)) for path in private if _mode(path) & 0o077}
    assert shared == {}


def _staged_run(data_dir: Path, version: int) -> SettlementRun:
    """A run whose outputs are staged (as `stage` leaves them), for publish."""
    run_dir = data_dir / "runs" / "SF" / SAMPLE_DAY / f"v{version}"
    (run_dir / "staged").mkdir(parents=True)
    for name in ("supplier_volumes.csv", "supplier_volumes.parquet", "load_shapes.parquet", "data_quality_report.html",
                 "quarantine.parquet"):
        (run_dir / "staged" / name).write_text(f"{name} of v{version}")
    return SettlementRun(run_id=f"SF-{SAMPLE_DAY}-v{version}", run_type="SF", settlement_date=date.fromisoformat(SAMPLE_DAY),
                         version=version, started_at=datetime.now(timezone.utc), run_dir=run_dir,
                         out_dir=data_dir / "outbound")


@pytest.mark.parametrize("setting, file_mode, folder_mode", [(None, 0o600, 0o700), ("0", 0o600, 0o700),
                                                              ("1", 0o640, 0o750)])
def test_published_modes_follow_the_setting_whatever_the_umask(tmp_path, monkeypatch, setting, file_mode, folder_mode):
    monkeypatch.delenv(GROUP_READABLE_SETTING, raising=False)
    if setting is not None:
        monkeypatch.setenv(GROUP_READABLE_SETTING, setting)
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o700)
    previous = os.umask(0o022)  # a lax umask (an Airflow worker's, say) must not widen the published outputs
    try:
        publish(_staged_run(data_dir, 1))
        publish(_staged_run(data_dir, 2))  # a later version swapped in over the first: the same modes
    finally:
        os.umask(previous)
    outputs = data_dir / "outbound" / "SF" / SAMPLE_DAY
    assert (outputs / "supplier_volumes.csv").read_text() == "supplier_volumes.csv of v2"
    assert sorted(path.name for path in outputs.iterdir()) == [
        "data_quality_report.html", "load_shapes.parquet", "supplier_volumes.csv", "supplier_volumes.parquet"]
    assert {_mode(path) for path in outputs.iterdir()} == {file_mode}
    assert _mode(outputs) == folder_mode
    if setting == "1":  # the group can list the run types and dates, and pass through the data directory only
        assert {_mode(data_dir / "outbound") & 0o070, _mode(data_dir / "outbound" / "SF") & 0o070} == {0o050}
        assert _mode(data_dir) == 0o710
    else:
        assert _mode(data_dir) == 0o700


def test_a_wrong_setting_is_refused_before_any_work(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(GROUP_READABLE_SETTING, "yes")
    code = cli.main(["--data-dir", str(tmp_path / "data"), "ingest", str(SAMPLE_LANDING)])
    assert code == 2
    assert GROUP_READABLE_SETTING in capsys.readouterr().err
    assert not (tmp_path / "data").exists()


def test_the_documented_ways_of_opening_the_warehouse_are_the_ones_tested():
    page = (PROJECT_ROOT / "docs" / "analysts.md").read_text()
    for phrase in ("file_search_path", "open_warehouse", "read_only=True", GROUP_READABLE_SETTING):
        assert phrase in page, phrase
