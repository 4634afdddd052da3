"""The settlement run record: one settlement run of one settlement date (CONTRACT.md), as an immutable record.

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
    DATA_DIR/dbt_parse/                  dbt's parse of the project, shared by every partition (pipelines.settle.partition)

A run is start_run (here), then settle_partition (pipelines.settle.partition) for partitions covering its GSP
Groups once each (in parallel on several machines if need be: each partition writes only its own DuckDB file),
then finish_run (pipelines.jobs.settlement), which reads the partitions together, gates them with Great
Expectations and publishes (pipelines.settle.publish). Every settlement model is local to a GSP Group, so the
outputs do not depend on the partitioning. `mhhs settle` settles one partition holding every group; Airflow maps
one task per GSP Group (dags/mhhs_settlement.py).

This module owns the run's record: its folder and version, the record written when it starts and when it
finishes, and the marking of runs an ended process left unfinished.
"""

import json
import os
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pyarrow as pa

from pipelines import catalogue
from pipelines.core import validation
from pipelines.core.errors import MhhsError
from pipelines.core.locks import settlement_lock
from pipelines.core.periods import local_midnight_utc
from pipelines.reference.ingestion_log import snapshot_landing_files
from pipelines.reference.lake import Lake
from pipelines.reference.standing_data import SYNTHETIC_WARNING, StandingData, load_standing_data
from pipelines.reference.standing_data.calendar import SettlementCalendar

STANDING_TABLES = ["llf", "gsp_group_take", "ccc", "gsp_groups", "load_shape_default", "load_shape_season", "load_shapes",
                   "bank_holidays"]


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


def runs_root(data_dir: Path) -> Path:
    return Path(data_dir).resolve() / "runs"


def _next_version(data_dir: Path, run_type: str, settlement_date: date) -> int:
    folder = runs_root(data_dir) / run_type / settlement_date.isoformat()
    versions = [int(p.name[1:]) for p in folder.glob("v*") if p.name[1:].isdigit()] if folder.is_dir() else []
    return max(versions, default=0) + 1


# The run record's files and the published settlement_runs, as the data catalogue defines them (records
# settlement_run_started and settlement_run_finished; output dataset settlement_runs).
STARTED_SCHEMA = catalogue.record("settlement_run_started").arrow_schema()
SETTLEMENT_RUNS_SCHEMA = catalogue.dataset("settlement_runs").arrow_schema()
FINISHED_SCHEMA = catalogue.record("settlement_run_finished").arrow_schema()


def write_record(path: Path, record: dict, schema: pa.Schema) -> None:
    temporary = path.with_suffix(".tmp")
    con = duckdb.connect()
    con.register("record", pa.Table.from_pylist([record], schema=schema))
    con.execute(f"COPY (SELECT * FROM record) TO '{temporary}' (FORMAT parquet)")
    con.close()
    os.replace(temporary, path)


INTERRUPTED = "interrupted: the process ended before the run finished; nothing of it was published"


def mark_interrupted_runs(data_dir: Path, settlement_date: date) -> list[Path]:
    """Runs of the date that started but never finished, found while holding the date's lock, were
    killed: record them as failed so no view reports them as still running."""
    marked = []
    for started in sorted(runs_root(data_dir).glob(f"*/{settlement_date.isoformat()}/v*/started.parquet")):
        finished = started.with_name("finished.parquet")
        if finished.exists():
            continue
        record = {"status": "failed", "finished_at": datetime.now(timezone.utc), "reason": INTERRUPTED}
        write_record(finished, record, FINISHED_SCHEMA)
        marked.append(started.parent)
    return marked


@contextmanager
def claim_settlement_date(data_dir: Path, settlement_date: date, run_type: str):
    """Held for the whole of one settlement run of the date: a second run of the date refuses at once, and runs
    of the date that an ended process left unfinished are recorded as interrupted."""
    with settlement_lock(data_dir, settlement_date, run_type):
        mark_interrupted_runs(data_dir, settlement_date)
        yield


def record_finished(run: "SettlementRun", status: str, finished_at: datetime, reason: str | None = None) -> None:
    """finished.parquet, written last: the run succeeded, or failed for `reason`."""
    write_record(run.run_dir / "finished.parquet", {"status": status, "finished_at": finished_at, "reason": reason},
                 FINISHED_SCHEMA)


def finished_status(run: SettlementRun) -> tuple[str, str | None] | None:
    finished = run.run_dir / "finished.parquet"
    if not finished.exists():
        return None
    with duckdb.connect() as con:
        return con.execute(f"SELECT status, reason FROM read_parquet('{finished}')").fetchone()


def failed_dir(data_dir: Path, run: SettlementRun) -> Path:
    return Path(data_dir) / "failed" / run.run_type / run.settlement_date.isoformat()


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
    write_record(run.run_dir / "started.parquet", record, STARTED_SCHEMA)
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
