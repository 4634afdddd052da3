"""`mhhs settle`: one settlement run of one settlement date (CONTRACT.md), as an immutable record.

    DATA_DIR/runs/<run_type>/<date>/v<version>/
        started.parquet      the run's record when it started (status running): with its dispute reference
                             (DF), data cut-off and the standing files it used with their SHA-256
        standing/            the standing data it used (basis data)
        partitions/<name>/   one partition of the run's GSP Groups ("all", or the groups' ids joined by -):
            work.duckdb      the dbt models of the partition (dbt_project/), its only writer
            result.json      written last: its GSP Groups, and what stopped it if anything did
        basis/               the landing files (ingestion log) it was given, registrations in force, reads
                             after estimation and the periods it used
        staged/              its outputs before the gate (a failed gate leaves them here)
        gate.duckdb          views over staged/, basis/ and standing/ that the gate validates (removed
                             once the outputs are published)
        published/           its outputs, as published (staged/ renamed whole once the gate passed)
        timings.json         how long its steps took (dbt build, staging, gate, publication)
        finished.parquet     written last: succeeded_at, or the reason it failed
    OUT/<run_type>/<date>/   the outputs of the latest succeeded run (supplier_volumes, gsp_group_correction,
                             review_flags, settlement_runs as CSV and Parquet, data_quality_report.html),
                             replaced atomically
    DATA_DIR/failed/<run_type>/<date>/   the report of the latest run that was stopped

A run is start_run, then settle_partition for partitions covering its GSP Groups once each (in parallel on
several machines if need be: each partition writes only its own DuckDB file), then finish_run, which reads
the partitions together, gates them with Great Expectations (pipelines.gate) and publishes. Every settlement model is local to a GSP Group, so the outputs do
not depend on the partitioning. `mhhs settle` settles one partition holding every group; Airflow maps one
task per GSP Group (dags/mhhs_settlement.py).

The settlement arithmetic lives in dbt; this module prepares the inputs, runs dbt, reports a stopped run
in words (the failing checks name what is missing) and publishes.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import time
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
from pipelines.resources import duckdb_config, memory_limit
from pipelines.standing_data import SYNTHETIC_WARNING, StandingData, load_standing_data
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
# Relations of every partition that finish_run reads together (int_settlement_periods is the same in each).
COMBINED_RELATIONS = ["supplier_volumes", "gsp_group_correction", "review_flags", "int_registrations_in_force",
                      "int_consumption_estimated", "int_consumption_refused"]
# Basis data kept with every run: (file name, relation, row order).
BASIS_TABLES = [
    ("registrations_in_force", "int_registrations_in_force", "mpan_core, measurement_quantity"),
    ("consumption_after_estimation", "int_consumption_estimated", "mpan_core, measurement_quantity"),
    ("settlement_periods", "int_settlement_periods", "settlement_period"),
]
STANDING_TABLES = ["llf", "gsp_group_take", "ccc", "gsp_groups", "load_shape_default", "load_shape_season", "load_shapes",
                   "bank_holidays"]
DBT_SELECTION = ["path:models/staging", "path:models/intermediate", "path:models/marts", "path:tests/settlement"]
# What each stopping check means, in words for the message.
STOPPING_CHECKS = {
    "assert_line_loss_factor_for_every_period": "no line loss factor (llf.csv) for distributor, LLFC and period",
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
    dispute_reference: str | None = None
    # the instant the run read the ingestion log: it uses the landing files committed by then, no later ones
    data_cut_off: datetime | None = None
    standing_data: str = "{}"  # JSON: {"synthetic": bool, "files": [{"file", "source", "sha256"}, ...]}

    @property
    def synthetic_standing_data(self) -> bool:
        return bool(json.loads(self.standing_data or "{}").get("synthetic"))

    @property
    def data_dir(self) -> Path:
        return self.run_dir.parents[3]

    @property
    def partitions_dir(self) -> Path:
        return self.run_dir / "partitions"


class PartitionStopped(MhhsError):
    """A partition's stopping checks failed; its result.json says which, finish_run reports them."""


def runs_root(data_dir: Path) -> Path:
    return Path(data_dir).resolve() / "runs"


def _next_version(data_dir: Path, run_type: str, settlement_date: date) -> int:
    folder = runs_root(data_dir) / run_type / settlement_date.isoformat()
    versions = [int(p.name[1:]) for p in folder.glob("v*") if p.name[1:].isdigit()] if folder.is_dir() else []
    return max(versions, default=0) + 1


_RUN_KEY = [("run_id", pa.string()), ("run_type", pa.string()), ("settlement_date", pa.date32()),
            ("version", pa.int32()), ("started_at", pa.timestamp("us", tz="UTC"))]
# What a run records when it starts besides its key (contract v2): the dispute it settles (DF only), its data
# cut-off and the standing files it used (JSON text, docs/standing_data.md).
_RUN_BASIS = [("dispute_reference", pa.string()), ("data_cut_off", pa.timestamp("us", tz="UTC")),
              ("standing_data", pa.string())]
STARTED_SCHEMA = pa.schema(_RUN_KEY + _RUN_BASIS)
SETTLEMENT_RUNS_SCHEMA = pa.schema(_RUN_KEY + [("succeeded_at", pa.timestamp("us", tz="UTC")), ("status", pa.string())]
                                   + _RUN_BASIS)
FINISHED_SCHEMA = pa.schema([("status", pa.string()), ("finished_at", pa.timestamp("us", tz="UTC")), ("reason", pa.string())])


def _write_record(path: Path, record: dict, schema: pa.Schema) -> None:
    temporary = path.with_suffix(".tmp")
    con = duckdb.connect()
    con.register("record", pa.Table.from_pylist([record], schema=schema))
    con.execute(f"COPY (SELECT * FROM record) TO '{temporary}' (FORMAT parquet)")
    con.close()
    os.replace(temporary, path)


def _standing_tables(standing: StandingData, settlement_date: date) -> dict[str, pa.Table]:
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
        "load_shape_season": standing.load_shape_season,
        "load_shapes": standing.load_shapes_or_empty(),
        "bank_holidays": standing.bank_holidays,
    }


def create_standing_schema(database: Path, tables: dict[str, pa.Table]) -> None:
    """The `standing` schema the dbt models read (stg_standing__*)."""
    with duckdb.connect(str(database)) as con:
        con.execute("CREATE SCHEMA standing")
        for name, table in tables.items():
            con.register("incoming", table)
            con.execute(f"CREATE TABLE standing.{name} AS SELECT * FROM incoming")
            con.unregister("incoming")


def succeeded_run_types(data_dir: Path, settlement_date: date) -> set[str]:
    """The run types with a succeeded run of the date (DATA_DIR/runs/<type>/<date>/v*/finished.parquet)."""
    finished = sorted(runs_root(data_dir).glob(f"*/{settlement_date.isoformat()}/v*/finished.parquet"))
    if not finished:
        return set()
    with duckdb.connect() as con:
        rows = con.execute("SELECT filename FROM read_parquet(?, filename = true) WHERE status = 'succeeded'",
                           [[str(path) for path in finished]]).fetchall()
    return {Path(filename).parents[2].name for filename, in rows}


def start_run(data_dir: Path, settlement_date: date, run_type: str, standing_dir: Path | None = None,
              out_dir: Path | None = None, dispute_reference: str | None = None) -> SettlementRun:
    """Check the run can start (the settlement timetable's rules included: RunRefused), then record it (a new
    version) with the standing data and the landing files (the ingestion log as it stands now) it uses."""
    settlement_date, run_type = validation.settlement_date(settlement_date), validation.run_type(run_type)
    if dispute_reference is not None:
        dispute_reference = validation.dispute_reference(dispute_reference)
    lake = Lake(data_dir)
    standing = load_standing_data(standing_dir)
    calendar = SettlementCalendar.from_standing_data(standing)
    if run_type not in calendar.working_days_after:
        raise MhhsError(f"unknown run type {run_type!r}; the settlement calendar has {', '.join(calendar.working_days_after)}")
    calendar.check_run_allowed(run_type, settlement_date, succeeded_run_types(data_dir, settlement_date),
                               dispute_reference)
    day_ends = local_midnight_utc(settlement_date + timedelta(days=1))
    if day_ends > datetime.now(timezone.utc):
        raise MhhsError(f"settlement date {settlement_date} has not ended yet (it ends at {day_ends:%Y-%m-%d %H:%M} UTC)")
    if not lake.has_files("registrations"):
        raise MhhsError(f"no registrations in the lake under {lake.root}; run `mhhs ingest` first")
    if not (lake.consumption / f"settlement_date={settlement_date.isoformat()}").is_dir():
        raise MhhsError(f"no consumption ingested for settlement date {settlement_date}; run `mhhs ingest` first")
    if standing.synthetic and standing.gsp_group_take is None:
        raise MhhsError(
            f"no --standing-data given, so the run would use the bundled {SYNTHETIC_WARNING}; and it has no GSP "
            "Group Take, which is measured data: pass --standing-data DIR holding llf.csv, gsp_group_take.csv and "
            "ccc.csv (`mhhs generate` writes a complete one under OUT/standing/); nothing was settled")
    tables = _standing_tables(standing, settlement_date)
    version = _next_version(data_dir, run_type, settlement_date)
    run = SettlementRun(
        run_id=f"{run_type}-{settlement_date.isoformat()}-v{version}",
        run_type=run_type,
        settlement_date=settlement_date,
        version=version,
        started_at=datetime.now(timezone.utc),
        run_dir=runs_root(data_dir) / run_type / settlement_date.isoformat() / f"v{version}",
        out_dir=Path(out_dir).resolve() if out_dir else lake.data_dir / "outbound",
        dispute_reference=dispute_reference,
        # the standing files it uses: those copied into the run, and the calendar that decided its rules
        standing_data=standing.record([*tables, "settlement_calendar", "bank_holidays"]),
    )
    run.run_dir.mkdir(parents=True)
    # The ingestion log is read aside first, so the data cut-off (taken once it was read: every landing file
    # the run uses was committed before it) goes into the record; it joins basis/ once the run is recorded,
    # so no basis file ever exists without its run's record.
    snapshot = snapshot_landing_files(lake, run.run_dir / ".snapshot")
    run.data_cut_off = datetime.now(timezone.utc)
    record = {"run_id": run.run_id, "run_type": run_type, "settlement_date": settlement_date, "version": version,
              "started_at": run.started_at, "dispute_reference": dispute_reference,
              "data_cut_off": run.data_cut_off, "standing_data": run.standing_data}
    _write_record(run.run_dir / "started.parquet", record, STARTED_SCHEMA)
    (run.run_dir / "basis").mkdir()
    os.replace(snapshot, run.run_dir / "basis" / snapshot.name)
    snapshot.parent.rmdir()
    (run.run_dir / "standing").mkdir()
    with duckdb.connect() as con:
        for name, table in tables.items():
            con.register("incoming", table)
            con.execute(f"COPY incoming TO '{run.run_dir / 'standing' / f'{name}.parquet'}' (FORMAT parquet)")
            con.unregister("incoming")
    return run


def open_run(run_dir: Path, out_dir: Path) -> SettlementRun:
    """A started run, from its folder (another process or machine settles its partitions)."""
    run_dir = Path(run_dir).resolve()
    started = run_dir / "started.parquet"
    if not started.exists():
        raise MhhsError(f"{run_dir} is not a settlement run: it has no started.parquet")
    with duckdb.connect() as con:
        row = con.execute(f"SELECT * FROM read_parquet('{started}')").fetchone()
        record = dict(zip([column[0] for column in con.description], row))
    cut_off = record.get("data_cut_off")
    return SettlementRun(run_id=record["run_id"], run_type=record["run_type"], settlement_date=record["settlement_date"],
                         version=record["version"], started_at=record["started_at"].astimezone(timezone.utc),
                         run_dir=run_dir, out_dir=Path(out_dir).resolve(),
                         dispute_reference=record.get("dispute_reference"),
                         data_cut_off=cut_off.astimezone(timezone.utc) if cut_off else None,
                         standing_data=record.get("standing_data") or "{}")


def run_gsp_groups(run: SettlementRun) -> list[str]:
    """The GSP Groups of the run's standing data, in order: its partitions must cover each exactly once."""
    with duckdb.connect() as con:
        rows = con.execute(
            f"SELECT gsp_group_id FROM read_parquet('{run.run_dir / 'standing' / 'gsp_groups.parquet'}') ORDER BY 1"
        ).fetchall()
    return [row[0] for row in rows]


def _run_dbt(run: SettlementRun, folder: Path, database: Path, partition_vars: dict) -> subprocess.CompletedProcess:
    variables = {
        "settlement_date": run.settlement_date.isoformat(),
        "run_id": run.run_id,
        "run_type": run.run_type,
        "run_started_at": run.started_at.isoformat(),
        "lake_dir": str(Lake(run.data_dir).root),
        "ingestion_log": str(run.run_dir / "basis" / "landing_files.parquet"),
        **partition_vars,
    }
    env = {**os.environ, "MHHS_WAREHOUSE": str(database), "MHHS_MEMORY_LIMIT": memory_limit(),
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    return subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), "build", "--select", *DBT_SELECTION, "--exclude", "test_type:unit",
         "--vars", json.dumps(variables),
         "--profiles-dir", str(DBT_PROJECT), "--project-dir", str(DBT_PROJECT),
         "--target-path", str(folder / "target"), "--log-path", str(folder / "logs")],
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


def _failures(folder: Path, database: Path, output: str) -> list[str]:
    """What stopped a partition, in words, from dbt's run results and the failing rows it stored."""
    results_file = folder / "target" / "run_results.json"
    if not results_file.exists():
        return _dbt_errors(output) or ["dbt did not run; see " + str(folder / "dbt_output.txt")]
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
    return problems or _dbt_errors(output) or ["dbt failed; see " + str(folder / "dbt_output.txt")]


def settle_partition(run: SettlementRun, gsp_group_ids: list[str] | None = None) -> Path:
    """Settle the run's GSP Groups `gsp_group_ids` (None: every group) into the partition's own DuckDB file.

    Safe to repeat: a partition starts again from nothing. Raises PartitionStopped naming what is missing
    when a stopping check fails; the partition's result.json records it for finish_run either way.
    """
    groups = run_gsp_groups(run)
    if gsp_group_ids is not None:
        gsp_group_ids = sorted(set(gsp_group_ids))
        unknown = [group for group in gsp_group_ids if group not in groups]
        if not gsp_group_ids or unknown:
            raise MhhsError(f"a partition needs GSP Groups of the run's standing data ({', '.join(groups)}); "
                            f"got {', '.join(unknown) or 'none'}")
    name = "all" if gsp_group_ids is None else "-".join(gsp_group_ids)
    folder = run.partitions_dir / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    database = folder / "work.duckdb"
    with duckdb.connect(str(database)) as con:
        con.execute("CREATE SCHEMA standing")
        for table in STANDING_TABLES:
            con.execute(f"CREATE TABLE standing.{table} AS SELECT * FROM read_parquet('{run.run_dir / 'standing' / f'{table}.parquet'}')")
    # Submissions of MPANs registered in no GSP Group belong to no group: the partition holding the run's
    # first group checks them, so they are refused exactly once.
    checks_unregistered = gsp_group_ids is None or groups[0] in gsp_group_ids
    started = time.perf_counter()
    completed = _run_dbt(run, folder, database, {"gsp_group_ids": gsp_group_ids, "checks_unregistered": checks_unregistered})
    output = completed.stdout + completed.stderr
    (folder / "dbt_output.txt").write_text(output)
    problems = _failures(folder, database, output) if completed.returncode != 0 else []
    result = {"gsp_group_ids": gsp_group_ids or groups, "problems": problems,
              "dbt_seconds": round(time.perf_counter() - started, 2)}
    temporary = folder / "result.json.tmp"
    temporary.write_text(json.dumps(result, indent=2))
    os.replace(temporary, folder / "result.json")
    if problems:
        raise PartitionStopped(f"settlement run {run.run_id}, GSP Groups {', '.join(result['gsp_group_ids'])} "
                               "stopped: " + "; ".join(problems))
    return folder


def _partition_problems(run: SettlementRun) -> tuple[list[str], list[Path]]:
    """What stops the run from its partitions' results, and the partitions it would publish from."""
    groups = run_gsp_groups(run)
    problems: list[str] = []
    covered: list[str] = []
    folders = sorted(path for path in run.partitions_dir.glob("*") if path.is_dir()) if run.partitions_dir.is_dir() else []
    for folder in folders:
        result_file = folder / "result.json"
        if not result_file.exists():
            problems.append(f"partition {folder.name} did not finish")
            continue
        result = json.loads(result_file.read_text())
        covered += result["gsp_group_ids"]
        problems += [problem for problem in result["problems"] if problem not in problems]
    missing = [group for group in groups if group not in covered]
    twice = sorted({group for group in covered if covered.count(group) > 1})
    if missing:
        problems.append(f"GSP Groups {', '.join(missing)} were not settled")
    if twice:
        problems.append(f"GSP Groups {', '.join(twice)} were settled in more than one partition")
    return problems, folders


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
    (run.run_dir / "basis").mkdir(exist_ok=True)
    for part in aside.iterdir():
        os.replace(part, run.run_dir / "basis" / part.name)
    aside.rmdir()
    return staged


def publish(run: SettlementRun) -> None:
    """published/ (staged/ renamed whole, so views over runs/*/published/ never read a half-written file)
    is the run's record of what it published; OUT/<run_type>/<date>/ is swapped whole, so a reader sees
    the previous outputs or the new ones."""
    published = (run.run_dir / "staged").rename(run.run_dir / "published")
    # its views read staged/, which is gone; the gate's results stay in the Data Docs and the report
    (run.run_dir / "gate.duckdb").unlink(missing_ok=True)
    target = run.out_dir / run.run_type / run.settlement_date.isoformat()
    incoming = target.with_name(f".{target.name}.incoming")
    shutil.rmtree(incoming, ignore_errors=True)
    shutil.copytree(published, incoming, ignore=shutil.ignore_patterns("quarantine.parquet"))
    replace_directory(incoming, target)


def failed_dir(data_dir: Path, run: SettlementRun) -> Path:
    return Path(data_dir) / "failed" / run.run_type / run.settlement_date.isoformat()


def _stop(run: SettlementRun, lake: Lake, problems: list[str], gate_result: GateResult | None) -> MhhsError:
    """Record the stopped run, write its report under DATA_DIR/failed/ and say what stopped it."""
    report = write_report(run, lake, gate_result, failed_dir(lake.data_dir, run), stopped_by=problems)
    _write_record(run.run_dir / "finished.parquet",
                  {"status": "failed", "finished_at": datetime.now(timezone.utc), "reason": " | ".join(problems)},
                  FINISHED_SCHEMA)
    refresh_views(lake)
    return MhhsError(f"settlement run {run.run_id} stopped, nothing was published: " + "; ".join(problems)
                     + f". Report: {report}")


def _finished(run: SettlementRun) -> tuple[str, str | None] | None:
    finished = run.run_dir / "finished.parquet"
    if not finished.exists():
        return None
    with duckdb.connect() as con:
        return con.execute(f"SELECT status, reason FROM read_parquet('{finished}')").fetchone()


def finish_run(run: SettlementRun, checker: gate.GateProcess | None = None) -> SettlementRun:
    """Gate and publish the run from its partitions, or record why it stopped; finished.parquet is written
    last. `checker` is a gate process started earlier (so GX loads while dbt builds), else one starts here.

    Safe to repeat: a finished run is not finished again (a stopped one raises its reason again).
    """
    lake = Lake(run.data_dir)
    finished = _finished(run)
    if finished is not None:
        if checker is not None:
            checker.cancel()
        status, reason = finished
        if status == "succeeded":
            return run
        raise MhhsError(f"settlement run {run.run_id} stopped, nothing was published: {reason}")
    checker = checker or gate.GateProcess(lake.data_dir, run.run_dir, run.run_id)
    try:
        problems, partitions = _partition_problems(run)
        if problems:
            raise _stop(run, lake, problems, None)
        timings = {"dbt_build": round(sum(json.loads((p / "result.json").read_text()).get("dbt_seconds", 0)
                                          for p in partitions), 2)}
        succeeded_at = datetime.now(timezone.utc)
        started = time.perf_counter()
        with combine(run, partitions) as con:
            staged = stage(run, con, succeeded_at)
        timings["stage"] = round(time.perf_counter() - started, 2)
        started = time.perf_counter()
        gate_result = checker.result()
        timings["gate"] = round(time.perf_counter() - started, 2)
    finally:
        checker.cancel()
    started = time.perf_counter()
    if not gate_result.passed:
        failed = [f"{rule.name} ({rule.unexpected_count} unexpected)" for rule in gate_result.failed]
        raise _stop(run, lake, ["data-quality gate failed: " + ", ".join(failed)], gate_result)
    write_report(run, lake, gate_result, staged)
    publish(run)
    timings["publish"] = round(time.perf_counter() - started, 2)
    (run.run_dir / "timings.json").write_text(json.dumps(timings, indent=2) + "\n")
    _write_record(run.run_dir / "finished.parquet",
                  {"status": "succeeded", "finished_at": succeeded_at, "reason": None}, FINISHED_SCHEMA)
    refresh_views(lake)
    return run


def settle(data_dir: Path, settlement_date: date, run_type: str, standing_dir: Path | None = None,
           out_dir: Path | None = None, dispute_reference: str | None = None) -> SettlementRun:
    """A whole run in one process: one partition holding every GSP Group, one run of the date at a time."""
    settlement_date, run_type = validation.settlement_date(settlement_date), validation.run_type(run_type)
    with settlement_lock(data_dir, settlement_date, run_type):
        run = start_run(data_dir, settlement_date, run_type, standing_dir, out_dir, dispute_reference)
        checker = gate.GateProcess(run.data_dir, run.run_dir, run.run_id)
        try:
            settle_partition(run)
        except PartitionStopped:
            pass  # finish_run records the run as stopped and raises, naming what is missing
        except BaseException:
            checker.cancel()
            raise
        return finish_run(run, checker)
