"""Reliability and security (issue 8), on real `mhhs` processes, real DuckDB files and real dbt runs:
SIGKILL at random moments, determinism, concurrent commands, personal data, file permissions, hostile
landing entries, the read-only `mhhs sql`, lineage, and the analysts' documented queries.

One small world (12 MPANs on the 2026 spring clock change, registrations carrying addresses and
postcodes) is ingested and settled once per module: SF v1 alone, then SF v2 while a second SF tries to
start and another landing file is ingested, then R1.
"""

import csv
import hashlib
import os
import random
import re
import shutil
import signal
import subprocess
import time
import zipfile
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pytest

from pipelines import cli
from pipelines.core.errors import MhhsError
from pipelines.jobs.settlement import settle
from pipelines.outputs.participants import PARTICIPANTS_DIR
from pipelines.outputs.warehouse import refresh_views
from pipelines.quality.report import REPORT_NAME
from pipelines.reference.lake import Lake
from pipelines.settle.publish import PUBLISHED_TABLES, REGISTER_READ_QUARANTINE
from pipelines.settle.run import INTERRUPTED
from tests.conftest import BIN_DIR, PROJECT_ROOT

pytestmark = pytest.mark.system

DAY = "2026-03-29"  # the spring clock change: 46 periods
MHHS = str(BIN_DIR / "mhhs")
TRIALS = 20
# Personal data put into the registration landing files; none of it may reach anything published.
PERSONAL_MARKERS = ("Quillfeather", "7ZW")
RUN_COLUMNS = {"run_id", "version", "started_at", "succeeded_at", "data_cut_off"}  # what may differ between runs
# What OUT/<run_type>/<date>/ holds: every published table (the contract's, bm_unit_volumes and load_shapes
# among them), the run record, the report and the participants' folders.
PUBLISHED_FILES = {f"{table}.{fmt}" for table in (*PUBLISHED_TABLES, "settlement_runs")
                   for fmt in ("csv", "parquet")} | {REPORT_NAME, PARTICIPANTS_DIR}
assert {"supplier_volumes", "gsp_group_correction", "bm_unit_volumes", "load_shapes"} <= set(PUBLISHED_TABLES)
# published/ keeps, beside them, what the run refused (values, and register reads).
REFUSED_FILES = {"quarantine.parquet", REGISTER_READ_QUARANTINE}


def mhhs(data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run([MHHS, "--data-dir", str(data_dir), *map(str, args)], capture_output=True, text=True,
                            timeout=600)
    assert "Traceback" not in result.stderr, result.stderr
    return result


def settle_args(world, data_dir: Path, run_type: str = "SF") -> list[str]:
    return [MHHS, "--data-dir", str(data_dir), "settle", "--date", DAY, "--run-type", run_type,
            "--standing-data", str(world.landing / "standing")]


def run_and_kill(args: list[str], kill_after: float) -> bool:
    """Run a command and SIGKILL it, with every process it started (dbt), after kill_after seconds.
    True when it had already finished by itself."""
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        process.wait(timeout=kill_after)
        return True
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        return False


def read_only(data_dir: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True,
                        config={"file_search_path": str(data_dir)}) as con:
        return con.execute(sql).fetchall()


# ---- the world ----------------------------------------------------------------------------------------


def add_personal_data(landing: Path) -> None:
    """Address and postcode columns in every registration file, plus a row that breaks a rule and a
    malformed row, both holding them (so they reach the quarantine)."""
    for path in sorted((landing / "registrations").glob("*.csv")):
        header, *body = list(csv.reader(path.open(newline="")))
        rows = [header + ["address_line_1", "postcode"]]
        rows += [row + [f"{n} Quillfeather Lane", f"QX{n} 7ZW"] for n, row in enumerate(body)]
        wrong_supplier = dict(zip(header, body[0])) | {"supplier_id": "TOOLONG"}
        rows.append([wrong_supplier[c] for c in header] + ["99 Quillfeather Lane", "QX99 7ZW"])
        rows.append(body[0] + ["98 Quillfeather Lane"])  # one field short
        with path.open("w", newline="") as handle:
            csv.writer(handle, lineterminator="\n").writerows(rows)


def late_restatement(landing: Path, target: Path) -> str:
    """A later submission of one MPAN's day with other values: returns the MPAN."""
    (target / "consumption").mkdir(parents=True)
    source = next((landing / "consumption").glob("*.csv"))
    header, *body = list(csv.reader(source.open(newline="")))
    mpan = body[0][header.index("mpan_core")]
    rows = [header]
    for row in body:
        if row[header.index("mpan_core")] == mpan:
            row = list(row)
            row[header.index("kwh")] = f"{float(row[header.index('kwh')]) + 0.5:.3f}"
            received = datetime.fromisoformat(row[header.index("received_at")].replace("Z", "+00:00"))
            row[header.index("received_at")] = (received + timedelta(days=1)).isoformat()
            rows.append(row)
    with (target / "consumption" / f"consumption_{DAY}_late.csv").open("w", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)
    return mpan


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("reliability")
    landing, late, data = root / "landing", root / "late", root / "data"
    assert cli.main(["generate", "--mpans", "12", "--days", "1", "--start", DAY, "--seed", "3",
                     "--out", str(landing), "--fault-rate", "all=0"]) == 0
    add_personal_data(landing)
    restated_mpan = late_restatement(landing, late)
    outputs = []

    started = time.monotonic()
    ingested = mhhs(data, "ingest", landing)
    ingest_seconds = time.monotonic() - started
    assert ingested.returncode == 0, ingested.stderr
    ingested_counts = visible_counts(data)
    pristine = root / "pristine"  # the data directory as ingested (its views still read data/: refresh a copy)
    shutil.copytree(data, pristine)

    started = time.monotonic()
    first = subprocess.run(settle_args(SimpleNamespace(landing=landing), data), capture_output=True, text=True, timeout=600)
    settle_seconds = time.monotonic() - started
    assert first.returncode == 0, first.stderr

    # SF again; while it runs, a second SF of the day and an ingestion of a late restatement.
    concurrent = subprocess.Popen(settle_args(SimpleNamespace(landing=landing), data), stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
    while not (data / "runs" / "SF" / DAY / "v2" / "started.parquet").exists() and concurrent.poll() is None:
        time.sleep(0.05)
    refused = mhhs(data, "settle", "--date", DAY, "--run-type", "SF", "--standing-data", landing / "standing")
    late_ingest = mhhs(data, "ingest", late)
    settle_still_running = concurrent.poll() is None
    concurrent_out, concurrent_err = concurrent.communicate(timeout=600)
    later_run = mhhs(data, "settle", "--date", DAY, "--run-type", "R1", "--standing-data", landing / "standing")
    assert later_run.returncode == 0, later_run.stderr
    outputs += [ingested, first, refused, late_ingest, later_run]
    return SimpleNamespace(
        root=root, landing=landing, late=late, data=data, pristine=pristine, restated_mpan=restated_mpan,
        ingest_seconds=ingest_seconds, settle_seconds=settle_seconds, ingested_counts=ingested_counts, refused=refused, late_ingest=late_ingest,
        settle_still_running=settle_still_running, concurrent=(concurrent.returncode, concurrent_out, concurrent_err),
        command_output="".join(r.stdout + r.stderr for r in outputs) + concurrent_out + concurrent_err,
    )


# ---- comparing outputs --------------------------------------------------------------------------------


# What names a run, its times or its data directory in the data-quality report: run ids, versions, Data
# Docs page times and folder, the report's own time.
RUN_TEXT = re.compile(r"[A-Z0-9]{2,4}-\d{4}-\d\d-\d\d-v\d+|version \d+|\d{8}T\d{6}\.\d+Z|generated [^.]* UTC"
                      r"|data cut-off [^;]* UTC"
                      r"|file://[^\"]*/data_docs/")


def published_content(folder: Path) -> dict[str, list[str]]:
    """Every published table as sorted text rows without the columns that name the run or its times,
    from the CSV and, separately, the Parquet file; the report without the text that names the run."""
    content = {}
    with duckdb.connect() as con:
        for path in sorted(folder.glob("*")):
            if path.name.startswith("."):
                continue
            if path.is_dir():  # the report's Data Docs pages (data_docs/): which pages, by name
                content[path.name] = sorted(str(p.relative_to(path)) for p in path.rglob("*") if p.is_file())
            elif path.suffix == ".csv":  # the bytes of each line, less the run's fields (no field holds a comma
                # but settlement_runs' last, standing_data, whose JSON is the same for every run of the inputs)
                header, *lines = path.read_bytes().splitlines()
                kept = [i for i, name in enumerate(header.split(b",")) if name.decode() not in RUN_COLUMNS]
                content[path.name] = sorted(b",".join(line.split(b",")[i] for i in kept) for line in [header, *lines])
            elif path.suffix == ".html":
                content[path.name] = [RUN_TEXT.sub("(run)", path.read_text())]
            else:
                relation = con.sql(f"SELECT * FROM read_parquet('{path}')")
                kept = ", ".join(c for c in relation.columns if c not in RUN_COLUMNS)
                content[path.name] = sorted(map(repr, con.sql(f"SELECT {kept} FROM read_parquet('{path}')").fetchall()))
    return content


def lake_content(data_dir: Path) -> dict[str, object]:
    """The lake file by file (bytes), with the ingestion log's rows less the time of ingestion."""
    lake = data_dir / "lake"
    content = {}
    for path in sorted(lake.rglob("*")):
        relative = path.relative_to(lake)
        if path.is_dir() or relative.parts[0].startswith("."):
            continue
        if relative.parts[0] == "ingestion_log":
            with duckdb.connect() as con:
                content[str(relative)] = con.sql(f"SELECT * EXCLUDE (ingested_at) FROM '{path}'").fetchall()
        else:
            content[str(relative)] = path.read_bytes()
    return content


# ---- 1. crash safety ----------------------------------------------------------------------------------


def visible_counts(data_dir: Path) -> dict[str, dict]:
    """What the warehouse shows per landing file: committed lake rows and quarantined rows."""
    nothing = {"submissions": {}, "registrations": {}, "quarantine": {}}
    if not (data_dir / "warehouse.duckdb").exists():
        return nothing
    if not read_only(data_dir, "SELECT count(*) FROM duckdb_views() WHERE view_name = 'quarantine'")[0][0]:
        return nothing  # killed before its first views were committed
    return {
        "submissions": dict(read_only(data_dir, "SELECT source_file, count(*) FROM consumption_submissions GROUP BY 1")),
        "registrations": dict(read_only(data_dir, "SELECT source_file, count(*) FROM registrations_history GROUP BY 1")),
        "quarantine": dict(read_only(data_dir, "SELECT source_file, count(*) FROM quarantine GROUP BY 1")),
    }


def test_ingest_killed_at_random_moments_shows_whole_files_or_nothing_and_a_rerun_matches_a_clean_run(world, tmp_path):
    reference_lake = lake_content(world.pristine)
    reference = world.ingested_counts
    rng = random.Random(20261127)
    killed = 0
    for trial in range(TRIALS):
        data = tmp_path / f"data{trial}"
        kill_after = rng.uniform(0, world.ingest_seconds)
        killed += not run_and_kill([MHHS, "--data-dir", str(data), "ingest", str(world.landing)], kill_after)
        shown = visible_counts(data)
        committed = {f for f, in read_only(data, "SELECT source_file FROM ingestion_log")} if any(shown.values()) else set()
        for view, counts in shown.items():
            for source_file, rows in counts.items():
                assert source_file in committed and rows == reference[view][source_file], (trial, kill_after, view, source_file)
        assert cli.main(["--data-dir", str(data), "ingest", str(world.landing)]) == 0, trial  # the rerun
        assert lake_content(data) == reference_lake, (trial, kill_after)
        assert visible_counts(data) == reference
        shutil.rmtree(data)
    assert killed >= TRIALS // 2  # most trials really interrupted an ingestion


def check_no_partial_settlement(data_dir: Path, reference: dict, reference_rows: dict) -> None:
    out = data_dir / "outbound" / "SF"
    visible = [p.name for p in out.iterdir() if not p.name.startswith(".")] if out.is_dir() else []
    assert visible in ([], [DAY])
    if visible:
        assert published_content(out / DAY) == reference
    for published in (data_dir / "runs").glob("*/*/v*/published"):
        names = {p.name for p in published.iterdir()}
        assert names - {"data_docs"} == PUBLISHED_FILES | REFUSED_FILES  # with the report's pages or not
    statuses = dict(read_only(data_dir, "SELECT run_id, status FROM settlement_runs"))
    for table, expected in reference_rows.items():
        for run_id, rows in read_only(data_dir, f"SELECT run_id, count(*) FROM {table} GROUP BY 1"):
            assert statuses[run_id] == "succeeded" and rows == expected, (table, run_id)


def test_settle_killed_at_random_moments_never_publishes_part_of_a_run_and_a_rerun_matches_a_clean_run(world, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(world.pristine, data)
    refresh_views(Lake(data))  # views name their files by absolute path
    reference = published_content(world.data / "outbound" / "SF" / DAY)
    reference_rows = {table: read_only(world.data, f"SELECT count(*) FROM {table} WHERE run_id = 'SF-{DAY}-v1'")[0][0]
                      for table in ("supplier_volumes", "gsp_group_correction")}
    rng = random.Random(20261128)
    finished = []
    # Each killed run is followed by a rerun: the next trial's run, itself killed at a random moment,
    # and after the last trial one left to complete.
    for trial in range(TRIALS):
        kill_after = rng.uniform(0, world.settle_seconds)
        finished.append(run_and_kill(settle_args(world, data), kill_after))
        check_no_partial_settlement(data, reference, reference_rows)
    rerun = mhhs(data, "settle", "--date", DAY, "--run-type", "SF", "--standing-data", world.landing / "standing")
    assert rerun.returncode == 0, rerun.stderr
    check_no_partial_settlement(data, reference, reference_rows)
    assert published_content(data / "outbound" / "SF" / DAY) == reference
    # Every run killed part-way is recorded as interrupted (none is left "running"); a run killed after
    # its finished record was written succeeded whole.
    runs = read_only(data, "SELECT status, reason FROM settlement_runs ORDER BY version")
    assert runs[-1][0] == "succeeded"
    assert {run for run in runs if run[0] != "succeeded"} <= {("failed", INTERRUPTED)}
    assert runs.count(("failed", INTERRUPTED)) >= TRIALS // 2
    # settlement writes nothing in the lake but the Load Shaping Service's history: the shapes of each run that published
    history = {name for name in lake_content(data) if name.startswith("load_shapes/")}
    assert {name: content for name, content in lake_content(data).items() if name not in history} == lake_content(world.pristine)
    # every succeeded run's shapes are there; a run killed after publishing, before its record said so, may have left
    # its own, which the history's readers ignore (they take succeeded runs only)
    runs = dict(read_only(data, "SELECT run_id, status FROM settlement_runs"))
    kept = {name.rsplit("/", 1)[1].removesuffix(".parquet") for name in history}
    assert {run_id for run_id, status in runs.items() if status == "succeeded"} <= kept <= set(runs)


# ---- 2. determinism -----------------------------------------------------------------------------------


def test_settling_the_same_inputs_twice_publishes_identical_content(world):
    runs = world.data / "runs" / "SF" / DAY
    first, second = published_content(runs / "v1" / "published"), published_content(runs / "v2" / "published")
    assert set(first) - {"data_docs"} == PUBLISHED_FILES | REFUSED_FILES
    assert first == second
    assert len(first["supplier_volumes.csv"]) > 100


# ---- 3. concurrency -----------------------------------------------------------------------------------


def test_a_second_settlement_of_the_same_day_refuses_while_the_first_proceeds(world):
    assert world.refused.returncode == 4
    assert f"another settlement of {DAY} is in progress" in world.refused.stderr
    assert "nothing was done" in world.refused.stderr
    code, out, err = world.concurrent
    assert code == 0, err
    assert f"SF-{DAY}-v2 succeeded" in out
    # the refused attempt left no run behind
    assert sorted(p.name for p in (world.data / "runs" / "SF" / DAY).iterdir()) == ["v1", "v2"]
    assert read_only(world.data, "SELECT run_id, status FROM settlement_runs ORDER BY run_id") == [
        (f"R1-{DAY}-v1", "succeeded"), (f"SF-{DAY}-v1", "succeeded"), (f"SF-{DAY}-v2", "succeeded")]


def test_ingesting_while_a_settlement_runs_corrupts_neither(world):
    assert world.settle_still_running, "the ingestion did not overlap the settlement run"
    assert world.late_ingest.returncode == 0, world.late_ingest.stderr
    # The run used the landing files committed when it started: identical to v1, without the late file.
    late = f"consumption/consumption_{DAY}_late.csv"
    given = {f for f, in read_only(world.data, f"SELECT source_file FROM run_landing_files WHERE run_id = 'SF-{DAY}-v2'")}
    assert late not in given
    assert late in {f for f, in read_only(world.data, f"SELECT source_file FROM run_landing_files WHERE run_id = 'R1-{DAY}-v1'")}
    # The late file is whole in the lake, and R1 (started after it) settled the restated values.
    assert read_only(world.data, f"SELECT count(*) FROM consumption_values WHERE source_file = '{late}'")[0][0] == 46
    totals = dict(read_only(world.data, "SELECT run_id, sum(uncorrected_kwh) FROM supplier_volumes GROUP BY 1"))
    assert totals[f"R1-{DAY}-v1"] != totals[f"SF-{DAY}-v2"] == totals[f"SF-{DAY}-v1"]


# ---- 6. personal data and permissions -----------------------------------------------------------------


def text_of(path: Path) -> str:
    """A file's content as text, reading Parquet and DuckDB files through DuckDB."""
    if path.suffix == ".parquet":
        with duckdb.connect() as con:
            return str(con.sql(f"SELECT * FROM read_parquet('{path}')").fetchall())
    if path.suffix == ".duckdb":
        with duckdb.connect(str(path), read_only=True, config={"file_search_path": str(path.parent)}) as con:
            names = con.execute("SELECT table_schema, table_name FROM information_schema.tables").fetchall()
            return "".join(str(con.sql(f'SELECT * FROM "{schema}"."{name}"').fetchall()) for schema, name in names)
    return path.read_bytes().decode("utf-8", errors="replace")


def test_addresses_and_postcodes_never_leave_ingestion(world):
    data = world.data
    # The rows carrying them were read: the quarantine holds the broken and the malformed one.
    codes = read_only(data, "SELECT reason_code, raw_record FROM quarantine WHERE source_file LIKE 'registrations/%'")
    assert sorted(code for code, _ in codes) == sorted(["MALFORMED_ROW", "SUPPLIER_ID_BAD_FORMAT"] * 2), codes
    assert not (data / "refused_files").exists() or not any((data / "refused_files").iterdir())
    scanned = 0
    for path in sorted(data.rglob("*")):
        if path.is_file() and path.suffix not in (".lock", ".wal", ".gpickle", ".msgpack"):
            text = text_of(path)
            scanned += 1
            for marker in PERSONAL_MARKERS:
                assert marker not in text, f"{marker!r} found in {path.relative_to(data)}"
    assert scanned > 50
    for marker in PERSONAL_MARKERS:
        assert marker not in world.command_output


def test_the_data_directory_and_published_files_are_readable_by_their_owner_only(world):
    for path in [world.data, *world.data.rglob("*")]:
        assert path.stat().st_mode & 0o077 == 0, f"{path} is open to group or others: {oct(path.stat().st_mode)}"


# ---- 5. bad paths and names ---------------------------------------------------------------------------


def tree(root: Path, skip: Path) -> dict[str, int]:
    return {str(p): p.lstat().st_size for p in root.rglob("*") if skip not in p.parents and p != skip}


def test_hostile_landing_entries_are_refused_with_a_reason_and_nothing_is_written_outside_the_data_dir(world, tmp_path, capsys):
    landing, data = tmp_path / "landing", tmp_path / "data"
    consumption, registrations = landing / "consumption", landing / "registrations"
    consumption.mkdir(parents=True)
    registrations.mkdir()
    good = next((world.landing / "consumption").glob("*.csv"))
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "secret.csv"
    secret.write_text(good.read_text().replace("SDS", "ZQX"))
    shutil.copy(good, consumption / "readings..csv")
    shutil.copy(good, consumption / "tab\tname.csv")
    (consumption / "escape.csv").symlink_to(secret)  # absolute target outside the landing directory
    (registrations / "relative.csv").symlink_to("../../outside/secret.csv")
    (consumption / "folder.csv").symlink_to(outside)
    os.mkfifo(consumption / "pipe.csv")
    (consumption / "huge_line.csv").write_text(good.read_text().splitlines()[0] + "\n" + "7" * (2 * 1024 * 1024) + "\n")
    with zipfile.ZipFile(consumption / "zipped.csv", "w") as archive:
        archive.write(good, "inside.csv")
    shutil.copy(good, consumption / good.name)  # a good file among them is ingested as usual
    before = tree(tmp_path, data)

    capsys.readouterr()
    assert cli.main(["--data-dir", str(data), "ingest", str(landing), "--json"]) == 1
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    expected = {
        "consumption/readings..csv": "FILE_UNSAFE_NAME",
        "consumption/tab\tname.csv": "FILE_UNSAFE_NAME",
        "consumption/escape.csv": "FILE_OUTSIDE_LANDING",
        "registrations/relative.csv": "FILE_OUTSIDE_LANDING",
        "consumption/folder.csv": "FILE_OUTSIDE_LANDING",
        "consumption/pipe.csv": "FILE_NOT_REGULAR",
        "consumption/huge_line.csv": "FILE_LINE_TOO_LONG",
        "consumption/zipped.csv": "FILE_ARCHIVE",
    }
    for name, code in expected.items():
        assert f"{name} ({code}: " in err
    assert dict(read_only(data, "SELECT source_file, reason_code FROM quarantine")) == expected
    good_rows = f"SELECT count(*) FROM consumption_submissions WHERE source_file = 'consumption/{good.name}'"
    assert read_only(data, good_rows)[0][0] == world.ingested_counts["submissions"][f"consumption/{good.name}"]
    # Nothing outside the landing directory was read or copied, and nothing was written outside DATA_DIR.
    assert tree(tmp_path, data) == before
    for path in data.rglob("*"):
        assert path.is_dir() or "ZQX" not in text_of(path), path
    assert sorted(p.name for p in (data / "refused_files").rglob("*") if p.is_file()) == ["huge_line.csv", "zipped.csv"]
    # A rerun finds every entry recorded already.
    assert cli.main(["--data-dir", str(data), "ingest", str(landing)]) == 0


# ---- 7. access: mhhs sql and validated arguments ------------------------------------------------------


def sql(capsys, data_dir: Path, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = cli.main(["--data-dir", str(data_dir), "sql", *args])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def test_mhhs_sql_prints_a_table_and_writes_csv_and_parquet(world, tmp_path, capsys):
    query = "SELECT run_id, status FROM settlement_runs ORDER BY run_id"
    code, out, _ = sql(capsys, world.data, query, "--csv", str(tmp_path / "runs.csv"), "--parquet", str(tmp_path / "runs.parquet"))
    assert code == 0
    # DuckDB's table: the names, their types, one row per run, then the row count
    assert out.splitlines()[1].split() == ["│", "run_id", "│", "status", "│"]
    assert re.search(rf"│ SF-{DAY}-v2 +│ succeeded +│", out) and out.rstrip().endswith("(3 rows)")
    with duckdb.connect() as con:
        assert con.sql(f"SELECT * FROM '{tmp_path / 'runs.csv'}'").fetchall() == \
            con.sql(f"SELECT * FROM '{tmp_path / 'runs.parquet'}'").fetchall() == read_only(world.data, query)


@pytest.mark.parametrize("statement", [
    "INSERT INTO settlement_runs VALUES (1)",
    "UPDATE settlement_runs SET status = 'failed'",
    "DELETE FROM settlement_runs",
    "DROP VIEW supplier_volumes",
    "CREATE TABLE stolen AS SELECT * FROM supplier_volumes",
    "CREATE OR REPLACE VIEW supplier_volumes AS SELECT 1",
    "COPY (SELECT * FROM supplier_volumes) TO 'copied.csv'",
    "COPY supplier_volumes TO '{data}/lake/copied.parquet'",
    "ATTACH '{data}/other.duckdb' AS other",
    "SET enable_external_access = true",
    "PRAGMA enable_profiling",
    "INSTALL httpfs",
    "LOAD httpfs",
    "CALL pragma_version()",
    "SELECT 1; DROP VIEW supplier_volumes",
    "SELECT * FROM query('COPY (SELECT 1) TO ''{data}/lake/x.csv''')",
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_text('{data}/refused_files/*/*')",
    "SELECT * FROM read_parquet('https://example.org/x.parquet')",
    "SELECT * FROM nonexistent_view",
    "SELEC nothing",
])
def test_mhhs_sql_cannot_modify_or_reach_outside_the_warehouse(world, capsys, statement):
    warehouse = world.data / "warehouse.duckdb"
    before = (warehouse.read_bytes(), sorted(world.data.rglob("*")))
    code, out, err = sql(capsys, world.data, statement.format(data=world.data))
    assert code != 0
    assert err.startswith("mhhs sql: ") and len(err.strip().splitlines()) == 1, err
    assert out == ""
    assert (warehouse.read_bytes(), sorted(world.data.rglob("*"))) == before


@pytest.mark.parametrize("args, message", [
    (["--date", "2026-02-30", "--run-type", "SF"], "is not a date"),
    (["--date", "2026-03-29; DROP TABLE x", "--run-type", "SF"], "is not a date"),
    (["--date", DAY, "--run-type", "SF' OR '1'='1"], "is not a run type"),
    (["--date", DAY, "--run-type", "../../etc"], "is not a run type"),
])
def test_settle_arguments_are_validated_before_use(world, tmp_path, capsys, args, message):
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_status:
        cli.main(["--data-dir", str(tmp_path / "data"), "settle", *args])
    assert exit_status.value.code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "data").exists()


@pytest.mark.unit
def test_settlement_parameters_from_other_callers_are_validated_too(tmp_path):
    """Airflow tasks call pipelines.settle.run directly with DAG params."""
    with pytest.raises(MhhsError, match="is not a run type"):
        settle(tmp_path / "data", "2026-03-29", "SF/../x")
    with pytest.raises(MhhsError, match="is not a date"):
        settle(tmp_path / "data", "29/03/2026", "SF")
    assert not (tmp_path / "data").exists()


# ---- 8. lineage and 9. the analysts' page -------------------------------------------------------------

ANALYSTS_PAGE = PROJECT_ROOT / "docs" / "analysts.md"


def documented_queries() -> dict[str, str]:
    """Every ```sql block of docs/analysts.md, by the heading above it."""
    text = ANALYSTS_PAGE.read_text()
    queries, heading = {}, None
    for block in re.split(r"(^#+ [^\n]*$|^```sql\n.*?^```)", text, flags=re.M | re.S):
        if block.startswith("#"):
            heading = block.lstrip("# ").strip()
        elif block.startswith("```sql"):
            queries[heading] = block.removeprefix("```sql\n").removesuffix("```").strip()
    return queries


def test_every_query_on_the_analysts_page_runs_through_mhhs_sql_and_returns_rows(world, capsys):
    queries = documented_queries()
    assert len(queries) >= 8
    for heading, query in queries.items():
        code, out, err = sql(capsys, world.data, query)
        assert code == 0, (heading, err)
        assert not out.rstrip().endswith("(0 rows)"), (heading, out)


def test_a_published_row_traces_to_its_run_and_the_hashes_of_the_landing_files_that_fed_it(world, capsys):
    query = documented_queries()["Which landing files fed this row?"]
    with duckdb.connect(str(world.data / "warehouse.duckdb"), read_only=True,
                        config={"file_search_path": str(world.data)}) as con:
        run_id, group, supplier, bm_unit = con.execute(
            f"SELECT run_id, gsp_group_id, supplier_id, bm_unit_id FROM supplier_volumes s JOIN run_registrations r "
            f"USING (run_id, gsp_group_id, supplier_id, bm_unit_id) WHERE run_id = 'R1-{DAY}-v1' AND r.mpan_core = '{world.restated_mpan}' "
            "LIMIT 1").fetchone()
        lineage = con.execute(
            query.replace("'SF-2026-03-29-v1'", f"'{run_id}'").replace("'_A'", f"'{group}'")
            .replace("'BRVO'", f"'{supplier}'").replace("'2__ABRVO000'", f"'{bm_unit}'")
        ).fetchall()
    by_hash = {sha: file for file, sha, *_ in lineage}
    landing_hashes = {
        hashlib.sha256(path.read_bytes()).hexdigest(): f"{path.parent.name}/{path.name}"
        for folder in (world.landing, world.late) for path in folder.glob("*/*.csv")
    }
    assert by_hash and set(by_hash) <= set(landing_hashes)
    for sha, source_file in by_hash.items():
        assert landing_hashes[sha] == source_file
    # R1 ran after the late restatement was ingested, and its rows for the restated MPAN name that file.
    assert f"consumption/consumption_{DAY}_late.csv" in by_hash.values()
    assert any(f.startswith("registrations/") for f in by_hash.values())


# ---- 4. properties through the real settlement SQL (the run's own compiled dbt models) ----------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

COMPILED = Path("target") / "compiled" / "mhhs_settlement"
PROPERTY_SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture
def work_copy(world, tmp_path):
    """A copy of run v1's dbt work database (every model's table) and the run's compiled SQL by model."""
    run_dir = world.data / "runs" / "SF" / DAY / "v1" / "partitions" / "all"  # mhhs settle: one partition
    shutil.copy(run_dir / "work.duckdb", tmp_path / "work.duckdb")  # the compiled SQL names catalog "work"
    con = duckdb.connect(str(tmp_path / "work.duckdb"))
    compiled = {p.stem: p.read_text() for p in (run_dir / COMPILED).rglob("*.sql")}
    con.execute("DROP VIEW stg_standing__gsp_group_take")  # a table here, so examples can set the take
    con.execute("CREATE TABLE stg_standing__gsp_group_take (gsp_group_id VARCHAR, settlement_date DATE, "
                "settlement_period INTEGER, gsp_group_take_kwh DECIMAL(18, 3))")
    yield con, compiled
    con.close()


volume_rows = st.lists(
    st.tuples(
        st.sampled_from(["_A", "_B"]), st.integers(1, 3), st.sampled_from(["SUPA", "SUPB", "SUPC"]),
        st.sampled_from(["AI", "AE"]),
        st.decimals(min_value=0, max_value=5000, places=3),
        st.sampled_from(["0", "1", "0.5", "0.25"]) | st.decimals(min_value=0, max_value=1, places=4).map(str),
    ),
    min_size=1, max_size=30,
)


@PROPERTY_SETTINGS
@given(rows=volume_rows, shares=st.lists(st.floats(-0.15, 0.15), min_size=6, max_size=6))
def test_property_corrected_volumes_add_up_to_gsp_group_take(work_copy, rows, shares):
    """CF = 1 + (GSPGT - U) / W and corrected = volume x (1 + (CF - 1) x w) make the signed corrected
    volumes add up to GSP Group Take, for any volumes and weights: through the run's compiled models
    int_gsp_group_correction, gsp_group_correction and supplier_volumes and its stopping check."""
    con, compiled = work_copy
    con.execute("CREATE OR REPLACE TABLE int_supplier_period_volumes AS SELECT * FROM int_supplier_period_volumes LIMIT 0")
    for n, (group, period, supplier, quantity, kwh, weight) in enumerate(rows):
        con.execute(
            "INSERT INTO int_supplier_period_volumes BY NAME SELECT ? AS gsp_group_id, ? AS supplier_id, ? AS bm_unit_id, "
            "'S' AS market_segment, ? AS measurement_quantity, ? AS settlement_period, 'A' AS actual_estimated, "
            "'C' AS component, ? AS volume_kwh, 1 AS mpan_count, ? AS ccc_id, ? AS scaling_weight",
            [group, supplier, f"2__{supplier}", quantity, period, kwh, f"C{n:02d}", weight],
        )
    # A take near U (within a share of W, so CF stays in a plausible range), for every group and period.
    totals = con.execute(
        "SELECT gsp_group_id, settlement_period, sum(CASE measurement_quantity WHEN 'AI' THEN 1 ELSE -1 END * volume_kwh), "
        "sum(CASE measurement_quantity WHEN 'AI' THEN 1 ELSE -1 END * volume_kwh * scaling_weight) "
        "FROM int_supplier_period_volumes GROUP BY ALL ORDER BY ALL").fetchall()
    takes = [(g, p, round(u + w * type(u)(shares[i % 6]), 3), w) for i, (g, p, u, w) in enumerate(totals)]
    con.execute("DELETE FROM stg_standing__gsp_group_take")
    con.executemany("INSERT INTO stg_standing__gsp_group_take VALUES (?, ?, ?, ?)", [(g, DAY, p, t) for g, p, t, _ in takes])
    for model in ("int_gsp_group_correction", "gsp_group_correction", "supplier_volumes"):
        con.execute(f"CREATE OR REPLACE TABLE {model} AS {compiled[model]}")
    # (W = 0 gives a take equal to U here: CF = 1; a take that differs then stops the run, a dbt unit test.)
    assert con.execute(compiled["assert_gsp_group_correction_possible"]).fetchall() == []
    assert con.execute(compiled["assert_corrected_volumes_add_up_to_gsp_group_take"]).fetchall() == []
    sums = dict(((g, p), s) for g, p, s in con.execute(
        "SELECT gsp_group_id, settlement_period, sum(CASE measurement_quantity WHEN 'AI' THEN 1 ELSE -1 END * corrected_kwh) "
        "FROM supplier_volumes GROUP BY ALL").fetchall())
    for group, period, take, _ in takes:
        assert abs(float(sums[(group, period)]) - float(take)) <= 0.001


@PROPERTY_SETTINGS
@given(data=st.data())
def test_property_estimation_fills_every_gap_and_never_goes_negative(work_copy, data):
    """Whatever periods are missing (short gaps, long gaps, whole days, zeros around them), the run's
    compiled int_consumption_estimated gives every expected period a value >= 0, keeps every received
    value, and flags exactly the filled periods as estimated."""
    con, compiled = work_copy
    periods = con.execute("SELECT count(*) FROM int_settlement_periods").fetchone()[0]
    con.execute("CREATE OR REPLACE TABLE gaps_template AS SELECT * FROM int_consumption_gaps")
    spine = con.execute("SELECT mpan_core, measurement_quantity FROM gaps_template ORDER BY ALL").fetchall()
    con.execute("CREATE OR REPLACE TABLE int_consumption_gaps AS SELECT * FROM gaps_template")
    for mpan, quantity in spine:
        missing = data.draw(st.sets(st.integers(1, periods), max_size=periods), label=f"missing {mpan}")
        zeros = data.draw(st.sets(st.integers(1, periods), max_size=6), label=f"zeros {mpan}")
        values = ", ".join(
            f"kwh_{p:02d} = " + ("NULL" if p in missing else "0" if p in zeros else f"coalesce(kwh_{p:02d}, 0.1)")
            for p in range(1, periods + 1))
        present = sum(1 << p for p in range(1, periods + 1) if p not in missing)
        day = sum(1 << p for p in range(1, periods + 1))
        con.execute(
            f"UPDATE int_consumption_gaps SET {values}, present_mask = {present}::UBIGINT, "
            f"estimated_mask = coalesce(estimated_mask, 0::UBIGINT) & {present}::UBIGINT, "
            f"missing_mask = {day & ~present}::UBIGINT WHERE mpan_core = ? AND measurement_quantity = ?",
            [mpan, quantity])
    con.execute(f"CREATE OR REPLACE TABLE int_consumption_estimated AS {compiled['int_consumption_estimated']}")
    kwh = ", ".join(f"kwh_{p:02d}" for p in range(1, periods + 1))
    received = {(m, q): row for m, q, *row in con.execute(f"SELECT mpan_core, measurement_quantity, {kwh} FROM int_consumption_gaps").fetchall()}
    estimated_kwh = ", ".join(f"e.kwh_{p:02d}" for p in range(1, periods + 1))
    estimated = con.execute(f"SELECT mpan_core, measurement_quantity, e.estimated_mask, g.present_mask, {estimated_kwh} "
                            "FROM int_consumption_estimated e JOIN int_consumption_gaps g USING (mpan_core, measurement_quantity)").fetchall()
    assert len(estimated) == len(spine)
    for mpan, quantity, estimated_mask, present_mask, *values in estimated:
        for p, value in enumerate(values, start=1):
            assert value is not None and value >= 0, (mpan, quantity, p, value)
            if (present_mask >> p) & 1:
                assert value == received[(mpan, quantity)][p - 1]
            else:
                assert (estimated_mask >> p) & 1
    assert con.execute(compiled["assert_every_expected_period_has_a_value"]).fetchall() == []


def test_the_completeness_check_names_each_period_left_without_a_value(work_copy):
    """assert_every_expected_period_has_a_value finds missing periods from each MPAN-day's period columns:
    it names exactly the periods emptied here, and only periods of the day (a 46-, 48- or 50-period day)."""
    con, compiled = work_copy
    assert con.execute(compiled["assert_every_expected_period_has_a_value"]).fetchall() == []
    periods = con.execute("SELECT max(settlement_period) FROM int_settlement_periods").fetchone()[0]
    (mpan, quantity), (other, other_quantity) = con.execute(
        "SELECT mpan_core, measurement_quantity FROM int_consumption_estimated ORDER BY ALL LIMIT 2").fetchall()
    con.execute(f"UPDATE int_consumption_estimated SET kwh_01 = NULL, kwh_{periods:02d} = NULL "
                "WHERE mpan_core = ? AND measurement_quantity = ?", [mpan, quantity])
    con.execute("UPDATE int_consumption_estimated SET kwh_17 = NULL WHERE mpan_core = ? AND measurement_quantity = ?",
                [other, other_quantity])
    assert sorted(con.execute(compiled["assert_every_expected_period_has_a_value"]).fetchall()) == sorted(
        [(mpan, quantity, 1), (mpan, quantity, periods), (other, other_quantity, 17)])
