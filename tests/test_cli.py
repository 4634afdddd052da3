"""`mhhs` as a command (docs/cli.md): `--data-dir` before or after the command's name, `--version`, one exit
status per kind of failure (each provoked for real, through the installed `mhhs`), progress lines on stderr,
the summary of `mhhs settle` with the gate's warnings, and tables drawn by DuckDB."""

import importlib.metadata
import json
import os
import re
import shutil
import stat
import subprocess
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

import pipelines.core.locks
import pipelines.outputs.sql
import pipelines.settle.partition
from pipelines.core.errors import EXIT_CODE_MEANINGS, ExitCode, MhhsError, exit_code_table
from pipelines.core.locks import LockHeld, settlement_lock
from pipelines.core.progress import Progress
from tests.conftest import BIN_DIR, PROJECT_ROOT, SAMPLE_DAY, SAMPLE_LANDING, SAMPLE_STANDING, copy_data_dir

pytestmark = pytest.mark.unit

CLI_DOC = PROJECT_ROOT / "docs" / "cli.md"
PROGRESS_LINE = re.compile(r"^\[ *\d+\.\d s\] \S.*$")
# The settings a test's `mhhs` must not inherit from whoever runs the tests.
OWN_SETTINGS = ("MHHS_DATA_DIR", "MHHS_PROGRESS", "MHHS_DEBUG", "MHHS_MEMORY_LIMIT")


def mhhs(*args, cwd: Path, **settings: str) -> subprocess.CompletedProcess:
    """The installed `mhhs ARGS`, run in `cwd` (so the default ./data is under it), with `settings` as its only
    MHHS_ environment; its stdout and stderr are pipes, not a terminal."""
    env = {name: value for name, value in os.environ.items() if name not in OWN_SETTINGS} | settings
    completed = subprocess.run([str(BIN_DIR / "mhhs"), *map(str, args)], cwd=cwd, env=env,
                               capture_output=True, text=True)
    assert "Traceback" not in completed.stdout + completed.stderr, completed.stderr
    return completed


def message(completed: subprocess.CompletedProcess) -> str:
    """The one line a failing `mhhs` prints on stderr."""
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1, completed.stderr
    return lines[0]


# ---- the exit codes: defined once, documented from the definition ---------------------------------------------


def documented_exit_codes() -> str:
    text = CLI_DOC.read_text()
    start = text.index("<!-- exit codes:")
    return text[text.index("\n", start) + 1:text.index("<!-- end of exit codes -->")].strip()


def test_the_exit_code_table_of_docs_cli_is_generated_from_the_exit_codes():
    assert set(EXIT_CODE_MEANINGS) == set(ExitCode)
    assert documented_exit_codes() == exit_code_table(), (
        "docs/cli.md's exit codes differ from pipelines/core/errors.py: paste in the output of "
        "`.venv/bin/python -c 'from pipelines.core.errors import exit_code_table; print(exit_code_table())'`")


def test_every_error_class_exits_with_a_documented_code_and_the_kinds_are_distinct():
    def subclasses(cls):
        return [cls] + [sub for direct in cls.__subclasses__() for sub in subclasses(direct)]

    classes = subclasses(MhhsError)
    assert {LockHeld, pipelines.outputs.sql.QueryRefused, pipelines.settle.partition.PartitionStopped} <= set(classes)
    assert all(cls.exit_code in set(ExitCode) - {ExitCode.OK} for cls in classes), \
        {cls.__name__: cls.exit_code for cls in classes}
    assert len(set(ExitCode)) == len({int(code) for code in ExitCode})
    assert LockHeld.exit_code == ExitCode.BUSY and pipelines.core.locks.LockHeld is LockHeld
    assert pipelines.settle.partition.PartitionStopped.exit_code == ExitCode.STOPPED


# ---- --data-dir and --version ------------------------------------------------------------------------------------

COUNT_FILES = "SELECT count(*) AS files FROM ingestion_log"


def test_data_dir_goes_before_or_after_the_command_name(ingested_sample, tmp_path):
    before = mhhs("--data-dir", ingested_sample, "sql", COUNT_FILES, cwd=tmp_path)
    after = mhhs("sql", COUNT_FILES, "--data-dir", ingested_sample, cwd=tmp_path)
    from_env = mhhs("sql", COUNT_FILES, cwd=tmp_path, MHHS_DATA_DIR=str(ingested_sample))
    # after the name wins over before it (and over the environment)
    both = mhhs("--data-dir", tmp_path / "elsewhere", "sql", COUNT_FILES, "--data-dir", ingested_sample,
                cwd=tmp_path, MHHS_DATA_DIR=str(tmp_path / "nowhere"))
    assert [c.returncode for c in (before, after, from_env, both)] == [0, 0, 0, 0], [c.stderr for c in (before, after)]
    assert before.stdout == after.stdout == from_env.stdout == both.stdout
    assert "│    10 │" in before.stdout  # the sample's ten landing files
    # the default: ./data
    default = mhhs("sql", COUNT_FILES, cwd=tmp_path)
    assert default.returncode == ExitCode.USAGE
    warehouse = tmp_path / "data" / "warehouse.duckdb"
    assert message(default) == f"mhhs sql: no warehouse at {warehouse}; run `mhhs ingest` first"


def test_data_dir_is_an_option_of_every_command():
    from pipelines.cli import build_parser

    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices
    assert len(commands) >= 8
    for name, command in commands.items():
        assert "--data-dir" in command.format_usage(), name


def test_version_prints_the_installed_version(tmp_path):
    completed = mhhs("--version", cwd=tmp_path)
    assert (completed.returncode, completed.stdout) == (0, f"mhhs {importlib.metadata.version('mhhs-settlement')}\n")


# ---- one exit status per kind of failure, each for real ----------------------------------------------------------


@pytest.mark.parametrize("args, says", [
    (["settle", "--date", "2026-02-30", "--run-type", "SF"], "is not a date"),
    (["settle", "--date", SAMPLE_DAY, "--run-type", "SF", "--dispute", "TD-1"], "--dispute is only for a DF"),
    (["ingest"], "the following arguments are required: DIR"),
    (["reconcile"], "invalid choice: 'reconcile'"),
    (["ingest", "no-such-landing"], "landing directory no-such-landing does not exist"),
    (["sql", "SELECT 1", "--max-rows", "0"], "is not a positive whole number"),
])
def test_usage_errors_exit_2(tmp_path, args, says):
    completed = mhhs(*args, cwd=tmp_path)
    assert completed.returncode == ExitCode.USAGE == 2
    assert says in completed.stderr and completed.stdout == ""
    assert not (tmp_path / "data" / "lake").exists()


def test_a_query_mhhs_sql_refuses_is_a_usage_error(ingested_sample, tmp_path):
    completed = mhhs("--data-dir", ingested_sample, "sql", "DROP VIEW ingestion_log", cwd=tmp_path)
    assert completed.returncode == ExitCode.USAGE
    assert message(completed).startswith("mhhs sql: only SELECT queries are allowed")


def test_a_landing_file_refused_whole_is_bad_input_exit_1(tmp_path):
    landing = tmp_path / "landing"
    shutil.copytree(SAMPLE_LANDING / "registrations", landing / "registrations")
    (landing / "consumption").mkdir()
    (landing / "consumption" / "readings.parquet").write_text("mpan_core,kwh\nthis is no Parquet file\n")
    completed = mhhs("ingest", landing, cwd=tmp_path)
    assert completed.returncode == ExitCode.BAD_INPUT == 1
    assert message(completed).startswith(f"mhhs ingest: refused whole files, kept under data/refused_files/: "
                                         "consumption/readings.parquet (")
    assert "│ consumption/readings.parquet" in completed.stdout and "refused 1 whole files" in completed.stdout
    # the registrations were ingested all the same
    assert "│ registrations/registrations_2026-10-23.csv │ ingested" in completed.stdout


def test_standing_data_without_a_required_file_is_bad_input_exit_1(tmp_path):
    standing = tmp_path / "standing"
    shutil.copytree(SAMPLE_STANDING, standing)
    (standing / "ccc.csv").unlink()
    completed = mhhs("settle", "--date", SAMPLE_DAY, "--run-type", "SF", "--standing-data", standing, cwd=tmp_path)
    assert completed.returncode == ExitCode.BAD_INPUT
    assert "lacks ccc.csv" in message(completed)
    assert not (tmp_path / "data" / "runs").exists()


def test_a_settlement_date_being_settled_is_busy_exit_4(tmp_path):
    data_dir = tmp_path / "data"
    with settlement_lock(data_dir, date.fromisoformat(SAMPLE_DAY), "a settlement run held by tests/test_cli.py"):
        completed = mhhs("settle", "--date", SAMPLE_DAY, "--run-type", "SF", "--standing-data", SAMPLE_STANDING,
                         cwd=tmp_path)
    assert completed.returncode == ExitCode.BUSY == 4
    assert message(completed).startswith(f"mhhs settle: another settlement of {SAMPLE_DAY} is in progress (")
    assert "held by tests/test_cli.py" in completed.stderr
    assert not (data_dir / "runs").exists()


def test_a_day_not_yet_ended_is_a_refused_run_exit_5(tmp_path):
    tomorrow = (datetime.now(timezone.utc) + timedelta(days=2)).date().isoformat()
    completed = mhhs("settle", "--date", tomorrow, "--run-type", "SF", "--standing-data", SAMPLE_STANDING, cwd=tmp_path)
    assert completed.returncode == ExitCode.REFUSED == 5
    assert f"settlement date {tomorrow} has not ended yet" in message(completed)


def test_a_date_with_nothing_ingested_is_a_stopped_run_exit_6(tmp_path):
    empty = mhhs("settle", "--date", SAMPLE_DAY, "--run-type", "SF", "--standing-data", SAMPLE_STANDING, cwd=tmp_path)
    assert empty.returncode == ExitCode.STOPPED == 6
    assert "no registrations in the lake" in message(empty)
    # registrations ingested, but no consumption for the date
    data_dir = tmp_path / "data"
    assert mhhs("ingest", SAMPLE_LANDING, cwd=tmp_path).returncode == 0
    completed = mhhs("settle", "--date", "2026-10-20", "--run-type", "SF", "--standing-data", SAMPLE_STANDING,
                     cwd=tmp_path)
    assert completed.returncode == ExitCode.STOPPED
    assert message(completed) == ("mhhs settle: no consumption ingested for settlement date 2026-10-20; "
                                  "run `mhhs ingest` first")
    assert not (data_dir / "runs").exists() and not (data_dir / "outbound").exists()


def test_a_corrupt_warehouse_is_an_internal_error_exit_3(tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "warehouse.duckdb").write_bytes(b"not a DuckDB database\n" * 1000)
    completed = mhhs("sql", "SELECT 1", cwd=tmp_path)
    assert completed.returncode == ExitCode.INTERNAL == 3
    assert message(completed).startswith("mhhs sql: internal error (IOException: ")
    assert message(completed).endswith("Rerun with MHHS_DEBUG=1 for the stack trace and report it.")


def test_duckdb_out_of_memory_exits_7(tmp_path):
    completed = mhhs("ingest", SAMPLE_LANDING, "--json", cwd=tmp_path, MHHS_MEMORY_LIMIT="1MB")
    assert completed.returncode == ExitCode.OUT_OF_MEMORY == 7
    assert message(completed).startswith("mhhs ingest: DuckDB ran out of memory within MHHS_MEMORY_LIMIT=1MB (")
    assert completed.stdout == ""


# ---- progress, on stderr, for people only --------------------------------------------------------------------


def test_progress_is_for_a_terminal_unless_forced_and_never_with_json(monkeypatch):
    monkeypatch.delenv("MHHS_PROGRESS", raising=False)
    assert Progress.for_command().enabled is os.isatty(2)
    monkeypatch.setenv("MHHS_PROGRESS", "1")
    assert Progress.for_command().enabled and not Progress.for_command(json_output=True).enabled
    monkeypatch.setenv("MHHS_PROGRESS", "0")
    assert not Progress.for_command().enabled


def test_ingest_prints_progress_lines_only_when_asked_and_a_table_of_its_files(tmp_path):
    forced = mhhs("ingest", SAMPLE_LANDING, cwd=tmp_path, MHHS_PROGRESS="1")
    assert forced.returncode == 0, forced.stderr
    lines = forced.stderr.splitlines()
    assert all(PROGRESS_LINE.match(line) for line in lines), lines
    assert [line.split("] ", 1)[1] for line in lines] == [
        *(f"ingest {n}/10: {name}" for n, name in enumerate([
            "registrations/registrations_2026-10-23.csv", "registrations/registrations_2026-10-26.csv",
            "registration_updates/registration_updates_2026-10-24_2026-10-25.csv",
            "consumption/consumption_2026-10-24.csv", "consumption/consumption_2026-10-24_restated.csv",
            "consumption/consumption_2026-10-25.csv", "consumption/consumption_2026-10-25_restated.csv",
            "register_reads/register_reads_2026-10-24.csv", "register_reads/register_reads_2026-10-25.csv",
            "register_reads/register_reads_2026-10.csv"], start=1)),
        "refreshing the warehouse views"]
    # the table, drawn by DuckDB: names, types, one row per file
    table = forced.stdout.splitlines()
    assert table[0].startswith("┌") and [cell.strip() for cell in table[1].split("│")[1:-1]] == [
        "file", "status", "rows in", "accepted", "rejected", "refused because"]
    assert re.search(r"│ consumption/consumption_2026-10-25\.csv +│ ingested │ +\d+ │", forced.stdout)
    assert "(10 files)" in table and re.search(r"^accepted \d+ rows, rejected \d+$", forced.stdout, re.M)
    assert re.search(r"│ DUPLICATE_ROW +│ +\d+ │", forced.stdout)
    # not a terminal: no progress; --json: none even when forced, and stdout is one JSON object
    piped = mhhs("ingest", SAMPLE_LANDING, cwd=tmp_path)
    as_json = mhhs("ingest", SAMPLE_LANDING, "--json", cwd=tmp_path, MHHS_PROGRESS="1")
    assert (piped.returncode, piped.stderr, as_json.returncode, as_json.stderr) == (0, "", 0, "")
    assert [f["status"] for f in json.loads(as_json.stdout)["files"]] == ["already_ingested"] * 10


# ---- mhhs sql: DuckDB's tables ---------------------------------------------------------------------------------


def test_mhhs_sql_prints_the_first_rows_as_duckdbs_table(ingested_sample, tmp_path):
    query = "SELECT range AS n, CASE WHEN range = 1 THEN NULL ELSE 'x' || range END AS label FROM range(100)"
    completed = mhhs("--data-dir", ingested_sample, "sql", query, "--max-rows", "3", "--csv", tmp_path / "all.csv",
                     cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.splitlines() == [
        "┌───────┬─────────┐",
        "│   n   │  label  │",
        "│ int64 │ varchar │",
        "├───────┼─────────┤",
        "│     0 │ x0      │",
        "│     1 │ NULL    │",
        "│     2 │ x2      │",
        "└───────┴─────────┘",
        "(3 of 100 rows)",
    ]
    assert len((tmp_path / "all.csv").read_text().splitlines()) == 101  # every row, with its header
    one = mhhs("--data-dir", ingested_sample, "sql", "SELECT 42 AS answer", cwd=tmp_path)
    none = mhhs("--data-dir", ingested_sample, "sql", "SELECT 42 AS answer WHERE false", cwd=tmp_path)
    assert one.stdout.splitlines()[-2:] == ["└────────┘", "(1 row)"]
    assert none.stdout.splitlines()[-2:] == ["└────────┘", "(0 rows)"]


# ---- mhhs settle: progress and its summary, on a settled copy of the sample (dbt and GX: integration) -----------


def settle_again(data_dir: Path, tmp_path: Path, *options: str, **settings: str) -> subprocess.CompletedProcess:
    return mhhs("--data-dir", data_dir, "settle", "--date", SAMPLE_DAY, "--run-type", "SF",
                "--standing-data", SAMPLE_STANDING, *options, cwd=tmp_path, **settings)


@pytest.mark.integration
def test_settle_shows_its_steps_and_sums_up_with_the_gates_warnings(settled_sample_copy, tmp_path):
    data_dir = settled_sample_copy
    completed = settle_again(data_dir, tmp_path, MHHS_PROGRESS="1")
    assert completed.returncode == 0, completed.stderr
    steps = completed.stderr.splitlines()
    assert all(PROGRESS_LINE.match(line) for line in steps), steps
    said = [line.split("] ", 1)[1] for line in steps]
    assert said[:3] == [f"settle SF {SAMPLE_DAY}: checking the inputs and loading the standing data",
                        f"run SF-{SAMPLE_DAY}-v2 started", "dbt build: partition all (14 GSP Groups)"]
    assert any(re.fullmatch(r"dbt build \d+/\d+: supplier_volumes \(OK in [\d.]+s\)", line) for line in said)
    assert any(re.fullmatch(r"dbt build \d+/\d+: assert_\w+ \(PASS in [\d.]+s\)", line) for line in said)
    assert said[-1] == f"publishing to {data_dir / 'outbound' / 'SF' / SAMPLE_DAY}"
    seconds = [float(line[1:].split(" s]")[0]) for line in steps]
    assert seconds == sorted(seconds)

    recorded = json.loads((data_dir / "runs" / "SF" / SAMPLE_DAY / "v2" / "gate_result.json").read_text())
    warnings = recorded["warnings"]
    assert recorded["passed"] and warnings, "the sample day has correction factors outside 0.9..1.1: warnings"
    outputs = data_dir / "outbound" / "SF" / SAMPLE_DAY
    summary = completed.stdout.splitlines()
    assert summary[0] == f"settlement run SF-{SAMPLE_DAY}-v2 succeeded; outputs in {outputs}"
    assert summary[1] == (f"data-quality gate passed: {recorded['rules']} rules, {len(warnings)} "
                          f"{'warning' if len(warnings) == 1 else 'warnings'}; "
                          f"report: {outputs / 'data_quality_report.html'}")
    assert [line.split(" (")[0] for line in summary[2:]] == [f"  warning: {w['rule']}" for w in warnings]
    assert "correction_factor" in summary[2]
    assert said[-2] == f"data-quality gate: {recorded['rules']} rules, 0 failed, {len(warnings)} " + \
        ("warning" if len(warnings) == 1 else "warnings")

    # --json: one object, the same summary, and no progress even when forced
    as_json = settle_again(data_dir, tmp_path, "--json", MHHS_PROGRESS="1")
    assert (as_json.returncode, as_json.stderr) == (0, "")
    result = json.loads(as_json.stdout)
    assert {key: result[key] for key in ("run_id", "version", "status", "outputs", "report")} == {
        "run_id": f"SF-{SAMPLE_DAY}-v3", "version": 3, "status": "succeeded", "outputs": str(outputs),
        "report": str(outputs / "data_quality_report.html")}
    assert result["gate"]["warnings"] == warnings and result["gate"]["rules"] == recorded["rules"]
    assert Path(result["report"]).is_file()


@pytest.mark.integration
def test_a_stopping_check_is_a_stopped_run_exit_6(ingested_sample, tmp_path):
    """Standing data without the GSP Group Take of one group: dbt's stopping check stops the run."""
    data_dir = copy_data_dir(ingested_sample, tmp_path)
    standing = tmp_path / "standing"
    shutil.copytree(SAMPLE_STANDING, standing)
    header, *rows = (standing / "gsp_group_take.csv").read_text().splitlines()
    column = header.split(",").index("gsp_group_id")
    group = rows[0].split(",")[column]
    kept = [row for row in rows if row.split(",")[column] != group]
    (standing / "gsp_group_take.csv").write_text("\n".join([header, *kept]) + "\n")
    completed = mhhs("--data-dir", data_dir, "settle", "--date", SAMPLE_DAY, "--run-type", "SF",
                     "--standing-data", standing, cwd=tmp_path, MHHS_GROUP_READABLE="1")
    assert completed.returncode == ExitCode.STOPPED, completed.stderr
    said = message(completed)
    assert said.startswith(f"mhhs settle: settlement run SF-{SAMPLE_DAY}-v1 stopped, nothing was published: ")
    report = data_dir / "failed" / "SF" / SAMPLE_DAY / "data_quality_report.html"
    assert group in said and "GSP Group Take" in said and said.endswith(f"Report: {report}") and report.is_file()
    assert not (data_dir / "outbound").exists()
    # MHHS_GROUP_READABLE=1: auditors read a stopped run's report as they read a published one; the lake stays private
    assert stat.S_IMODE(report.stat().st_mode) == 0o640 and stat.S_IMODE(report.parent.stat().st_mode) == 0o750
    assert stat.S_IMODE((data_dir / "failed").stat().st_mode) & 0o050 == 0o050
    assert all(stat.S_IMODE(path.stat().st_mode) & 0o077 == 0 for path in (data_dir / "lake").rglob("*.parquet"))
