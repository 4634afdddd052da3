"""`mhhs settle`: one settlement run of one settlement date (CONTRACT.md), as an immutable record.

    DATA_DIR/runs/<run_type>/<date>/v<version>/
        started.parquet      the run's record when it started (status running)
        standing/            the standing data it used (basis data)
        work.duckdb          the dbt models of the run (dbt_project/), its only writer
        basis/               the landing files (ingestion log) it was given, registrations in force, reads
                             after estimation and the periods it used
        staged/              its outputs before the gate (a failed gate leaves them here)
        gate.duckdb          views over staged/, basis/ and standing/ that the gate validates
        published/           its outputs, as published (staged/ renamed whole once the gate passed)
        finished.parquet     written last: succeeded_at, or the reason it failed
    OUT/<run_type>/<date>/   the outputs of the latest succeeded run (supplier_volumes, gsp_group_correction,
                             review_flags, settlement_runs as CSV and Parquet, data_quality_report.html),
                             replaced atomically
    DATA_DIR/failed/<run_type>/<date>/   the report of the latest run whose gate or stopping checks failed

The settlement arithmetic lives in dbt; this module prepares the inputs, runs dbt, reports a stopped run
in words (the failing checks name what is missing), gates the result with Great Expectations
(pipelines.gate) and publishes.
"""

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pyarrow as pa

from pipelines import gate, validation
from pipelines.atomic import replace_directory
from pipelines.errors import MhhsError
from pipelines.gate import GateResult
from pipelines.lake import Lake
from pipelines.lineage import snapshot_landing_files
from pipelines.locks import settlement_lock
from pipelines.periods import local_midnight_utc
from pipelines.report import write_report
from pipelines.standing_data import load_standing_data
from pipelines.standing_data.calendar import SettlementCalendar
from pipelines.warehouse import refresh_views

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT = PROJECT_ROOT / "dbt_project"
# Published tables of a run and the order their rows are written in (so reruns give identical files).
PUBLISHED_TABLES = {
    "supplier_volumes": "settlement_period, gsp_group_id, supplier_id, bm_unit_id, ccc_id",
    "gsp_group_correction": "settlement_period, gsp_group_id",
    "review_flags": "mpan_core, measurement_quantity, flag, first_period",
}
# Basis data kept with every run: (file name, dbt model, row order).
BASIS_TABLES = [
    ("registrations_in_force", "int_registrations_in_force", "mpan_core, measurement_quantity"),
    ("consumption_after_estimation", "int_consumption_estimated", "mpan_core, measurement_quantity"),
    ("settlement_periods", "int_settlement_periods", "settlement_period"),
]
DBT_SELECTION = ["path:models/staging", "path:models/intermediate", "path:models/marts", "path:tests/settlement"]
# What each stopping check means, in words for the message.
STOPPING_CHECKS = {
    "assert_line_loss_factor_for_every_period": "no line loss factor (llf.csv) for GSP Group, LLFC and period",
    "assert_gsp_group_take_for_every_period": "no GSP Group Take (gsp_group_take.csv) for GSP Group and period",
    "assert_gsp_group_correction_possible": "GSP Group Correction impossible: W = 0 but GSP Group Take differs from U",
    "assert_ccc_for_every_volume": "no CCC in ccc.csv for market segment, quantity, actual/estimated, component",
    "assert_corrected_volumes_add_up_to_gsp_group_take": "corrected volumes do not add up to GSP Group Take",
    "assert_every_expected_period_has_a_value": "periods left without a value after estimation",
    "assert_mpan_cores_pass_check_digit": "MPAN cores with a wrong check digit reached settlement",
    "assert_one_registration_in_force": "registration rows of one MPAN and quantity overlap on the settlement date",
}
_SHOWN_ROWS = 5


@dataclass
class SettlementRun:
    run_id: str
    run_type: str
    settlement_date: date
    version: int
    started_at: datetime
    run_dir: Path
    out_dir: Path


def runs_root(data_dir: Path) -> Path:
    return Path(data_dir).resolve() / "runs"


def _next_version(data_dir: Path, run_type: str, settlement_date: date) -> int:
    folder = runs_root(data_dir) / run_type / settlement_date.isoformat()
    versions = [int(p.name[1:]) for p in folder.glob("v*") if p.name[1:].isdigit()] if folder.is_dir() else []
    return max(versions, default=0) + 1


STARTED_SCHEMA = pa.schema([("run_id", pa.string()), ("run_type", pa.string()), ("settlement_date", pa.date32()),
                            ("version", pa.int32()), ("started_at", pa.timestamp("us", tz="UTC"))])
SETTLEMENT_RUNS_SCHEMA = pa.schema(list(STARTED_SCHEMA) + [("succeeded_at", pa.timestamp("us", tz="UTC")),
                                                          ("status", pa.string())])
FINISHED_SCHEMA = pa.schema([("status", pa.string()), ("finished_at", pa.timestamp("us", tz="UTC")), ("reason", pa.string())])


def _write_record(path: Path, record: dict, schema: pa.Schema) -> None:
    temporary = path.with_suffix(".tmp")
    con = duckdb.connect()
    con.register("record", pa.Table.from_pylist([record], schema=schema))
    con.execute(f"COPY (SELECT * FROM record) TO '{temporary}' (FORMAT parquet)")
    con.close()
    os.replace(temporary, path)


def _standing_tables(standing_dir: Path | None, settlement_date: date) -> dict[str, pa.Table]:
    standing = load_standing_data(standing_dir)
    if standing.gsp_group_take is None:
        raise MhhsError(
            "no GSP Group Take: GSP Group Take is measured data and has no default; "
            "put gsp_group_take.csv in the directory given with --standing-data"
        )
    return {
        "llf": standing.llf_for([settlement_date]),
        "gsp_group_take": standing.gsp_group_take,
        "ccc": standing.ccc,
        "gsp_groups": standing.gsp_groups,
        "load_shape_default": standing.load_shape_default,
    }


def create_standing_schema(database: Path, tables: dict[str, pa.Table]) -> None:
    """The `standing` schema the dbt models read (stg_standing__*)."""
    with duckdb.connect(str(database)) as con:
        con.execute("CREATE SCHEMA standing")
        for name, table in tables.items():
            con.register("incoming", table)
            con.execute(f"CREATE TABLE standing.{name} AS SELECT * FROM incoming")
            con.unregister("incoming")


def _prepare(run: SettlementRun, tables: dict[str, pa.Table]) -> Path:
    """The run's work database with its standing data, also kept as Parquet basis data."""
    database = run.run_dir / "work.duckdb"
    create_standing_schema(database, tables)
    (run.run_dir / "standing").mkdir()
    with duckdb.connect(str(database)) as con:
        for name in tables:
            con.execute(f"COPY standing.{name} TO '{run.run_dir / 'standing' / f'{name}.parquet'}' (FORMAT parquet)")
    return database


def _run_dbt(run: SettlementRun, database: Path, lake: Lake) -> subprocess.CompletedProcess:
    variables = {
        "settlement_date": run.settlement_date.isoformat(),
        "run_id": run.run_id,
        "run_type": run.run_type,
        "run_started_at": run.started_at.isoformat(),
        "lake_dir": str(lake.root),
        "ingestion_log": str(run.run_dir / "basis" / "landing_files.parquet"),
    }
    env = {**os.environ, "MHHS_WAREHOUSE": str(database), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    return subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), "build", "--select", *DBT_SELECTION, "--exclude", "test_type:unit",
         "--vars", json.dumps(variables),
         "--profiles-dir", str(DBT_PROJECT), "--project-dir", str(DBT_PROJECT),
         "--target-path", str(run.run_dir / "target"), "--log-path", str(run.run_dir / "logs")],
        cwd=DBT_PROJECT, env=env, capture_output=True, text=True,
    )


def _dbt_errors(output: str) -> list[str]:
    """dbt's own error lines (a compilation error, say), without colour codes and timestamps."""
    lines = [re.sub(r"\x1b\[[0-9;]*m|^\d\d:\d\d:\d\d\s+", "", line).strip() for line in output.splitlines()]
    errors = []
    for index, line in enumerate(lines):
        if re.search(r"\b(Compilation|Parsing|Runtime|Database|Dependency) Error\b", line):
            detail = next((text for text in lines[index + 1:index + 4] if text), "")
            errors.append(f"{line} {detail}".strip())
    return errors[:_SHOWN_ROWS]


def _failures(run: SettlementRun, database: Path, output: str) -> list[str]:
    """What stopped the run, in words, from dbt's run results and the failing rows it stored."""
    results_file = run.run_dir / "target" / "run_results.json"
    if not results_file.exists():
        return _dbt_errors(output) or ["dbt did not run; see " + str(run.run_dir / "dbt_output.txt")]
    problems = []
    with duckdb.connect(str(database), read_only=True) as con:
        for result in json.loads(results_file.read_text())["results"]:
            if result["status"] not in ("fail", "error"):
                continue
            name = result["unique_id"].split(".")[2]
            words = STOPPING_CHECKS.get(name, name)
            if result["status"] == "error":
                message = " ".join(line.strip() for line in str(result.get("message", "")).splitlines()[:3])
                problems.append(f"{words}: {message}")
                continue
            try:
                rows = con.execute(f"SELECT * FROM dbt_test__audit.{name} LIMIT {_SHOWN_ROWS}").fetchall()
                columns = [d[0] for d in con.description]
                shown = "; ".join(", ".join(f"{c}={v}" for c, v in zip(columns, row)) for row in rows)
            except duckdb.Error:
                shown = ""
            problems.append(f"{words} ({result.get('failures')} rows){': ' + shown if shown else ''}")
    return problems or _dbt_errors(output) or ["dbt failed; see " + str(run.run_dir / "dbt_output.txt")]


def _stage(run: SettlementRun, database: Path, succeeded_at: datetime) -> Path:
    """The run's outputs and basis data as files, for the gate to check before anything is published.
    Basis files are written aside and moved into basis/ whole, since views read them."""
    staged = run.run_dir / "staged"
    basis = run.run_dir / ".basis"
    staged.mkdir()
    basis.mkdir()
    record = pa.Table.from_pylist(
        [{"run_id": run.run_id, "run_type": run.run_type, "settlement_date": run.settlement_date, "version": run.version,
          "started_at": run.started_at, "succeeded_at": succeeded_at, "status": "succeeded"}],
        schema=SETTLEMENT_RUNS_SCHEMA,
    )
    with duckdb.connect(str(database), read_only=True) as con:
        con.register("settlement_run", record)
        con.execute(f"COPY settlement_run TO '{staged / 'settlement_runs.parquet'}' (FORMAT parquet)")
        con.execute(f"COPY settlement_run TO '{staged / 'settlement_runs.csv'}' (HEADER, DELIMITER ',')")
        for table, order in PUBLISHED_TABLES.items():
            for fmt, options in (("parquet", "FORMAT parquet"), ("csv", "HEADER, DELIMITER ','")):
                con.execute(f"COPY (SELECT * FROM main.{table} ORDER BY {order}) TO '{staged / f'{table}.{fmt}'}' ({options})")
        for name, model, order in BASIS_TABLES:
            con.execute(f"COPY (SELECT * FROM main.{model} ORDER BY {order}) TO '{basis / f'{name}.parquet'}' (FORMAT parquet)")
        con.execute(
            f"COPY (SELECT * FROM main.int_consumption_refused ORDER BY source_file, mpan_core, settlement_period) "
            f"TO '{staged / 'quarantine.parquet'}' (FORMAT parquet)"
        )
    for part in basis.iterdir():
        os.replace(part, run.run_dir / "basis" / part.name)
    basis.rmdir()
    return staged


def _publish(run: SettlementRun) -> None:
    """published/ (renamed whole, so views over runs/*/published/ never read a half-written file) is the
    run's record of what it published; OUT/<run_type>/<date>/ is swapped whole, so a reader sees the
    previous outputs or the new ones."""
    published = (run.run_dir / "staged").rename(run.run_dir / "published")
    target = run.out_dir / run.run_type / run.settlement_date.isoformat()
    incoming = target.with_name(f".{target.name}.incoming")
    shutil.rmtree(incoming, ignore_errors=True)
    shutil.copytree(published, incoming, ignore=shutil.ignore_patterns("quarantine.parquet"))
    replace_directory(incoming, target)


def failed_dir(data_dir: Path, run: SettlementRun) -> Path:
    return data_dir / "failed" / run.run_type / run.settlement_date.isoformat()


def _stop(run: SettlementRun, lake: Lake, problems: list[str], gate_result: GateResult | None) -> MhhsError:
    """Record the failed run, write its report under DATA_DIR/failed/ and say what stopped it."""
    report = write_report(run, lake, gate_result, failed_dir(lake.data_dir, run), stopped_by=problems)
    _write_record(run.run_dir / "finished.parquet",
                  {"status": "failed", "finished_at": datetime.now(timezone.utc), "reason": " | ".join(problems)},
                  FINISHED_SCHEMA)
    refresh_views(lake)
    return MhhsError(f"settlement run {run.run_id} stopped, nothing was published: " + "; ".join(problems)
                     + f". Report: {report}")


def settle(data_dir: Path, settlement_date: date, run_type: str, standing_dir: Path | None = None,
           out_dir: Path | None = None) -> SettlementRun:
    settlement_date, run_type = validation.settlement_date(settlement_date), validation.run_type(run_type)
    with settlement_lock(data_dir, settlement_date, run_type):
        return _settle(data_dir, settlement_date, run_type, standing_dir, out_dir)


def _settle(data_dir: Path, settlement_date: date, run_type: str, standing_dir: Path | None,
            out_dir: Path | None) -> SettlementRun:
    lake = Lake(data_dir)
    calendar = SettlementCalendar.from_standing_data(load_standing_data(standing_dir))
    if run_type not in calendar.working_days_after:
        raise MhhsError(f"unknown run type {run_type!r}; the settlement calendar has {', '.join(calendar.working_days_after)}")
    day_ends = local_midnight_utc(settlement_date + timedelta(days=1))
    if day_ends > datetime.now(timezone.utc):
        raise MhhsError(f"settlement date {settlement_date} has not ended yet (it ends at {day_ends:%Y-%m-%d %H:%M} UTC)")
    if not lake.has_files("registrations"):
        raise MhhsError(f"no registrations in the lake under {lake.root}; run `mhhs ingest` first")
    if not (lake.consumption / f"settlement_date={settlement_date.isoformat()}").is_dir():
        raise MhhsError(f"no consumption ingested for settlement date {settlement_date}; run `mhhs ingest` first")
    tables = _standing_tables(standing_dir, settlement_date)
    version = _next_version(data_dir, run_type, settlement_date)
    run = SettlementRun(
        run_id=f"{run_type}-{settlement_date.isoformat()}-v{version}",
        run_type=run_type,
        settlement_date=settlement_date,
        version=version,
        started_at=datetime.now(timezone.utc),
        run_dir=runs_root(data_dir) / run_type / settlement_date.isoformat() / f"v{version}",
        out_dir=Path(out_dir) if out_dir else lake.data_dir / "outbound",
    )
    run.run_dir.mkdir(parents=True)
    record = {"run_id": run.run_id, "run_type": run_type, "settlement_date": settlement_date, "version": version,
              "started_at": run.started_at}
    _write_record(run.run_dir / "started.parquet", record, STARTED_SCHEMA)
    snapshot_landing_files(lake, run.run_dir / "basis")
    checker = gate.GateProcess(lake.data_dir, run.run_dir, run.run_id)
    try:
        database = _prepare(run, tables)
        completed = _run_dbt(run, database, lake)
        (run.run_dir / "dbt_output.txt").write_text(completed.stdout + completed.stderr)
        if completed.returncode != 0:
            raise _stop(run, lake, _failures(run, database, completed.stdout + completed.stderr), None)
        succeeded_at = datetime.now(timezone.utc)
        staged = _stage(run, database, succeeded_at)
        gate_result = checker.result()
    finally:
        checker.cancel()
    if not gate_result.passed:
        failed = [f"{rule.name} ({rule.unexpected_count} unexpected)" for rule in gate_result.failed]
        raise _stop(run, lake, ["data-quality gate failed: " + ", ".join(failed)], gate_result)
    write_report(run, lake, gate_result, staged)
    _publish(run)
    _write_record(run.run_dir / "finished.parquet",
                  {"status": "succeeded", "finished_at": succeeded_at, "reason": None}, FINISHED_SCHEMA)
    refresh_views(lake)
    return run
