"""The settlement run record: one settlement run of one settlement date (CONTRACT.md), as an immutable record.

    DATA_DIR/runs/<run_type>/<date>/v<version>/
        owner.json           who owns the run (this process, or an Airflow DAG run) and its latest heartbeat,
                             written before anything else of the run (RunOwner, heartbeat, owner_gone)
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
finishes, its owner and heartbeat, the claim of its settlement date (the date's lock), and the marking of runs
whose owner is gone as interrupted.
"""

import json
import os
import socket
import threading
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pyarrow as pa

from pipelines import catalogue
from pipelines.core import validation
from pipelines.core.errors import MhhsError, RunRefused, RunStopped
from pipelines.core.locks import LockHeld, settlement_lock
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

# ---- who works on a run: its owner and heartbeat ---------------------------------------------------------
#
# A run's folder holds owner.json: who owns the run and when it last showed it was alive. `mhhs settle` owns
# its run for the whole run, from one process, beating every HEARTBEAT_SECONDS from a background thread. An
# Airflow DAG run owns the runs its start_runs task started: they outlive any one task, and every task of the
# DAG run beats for all of them while it works. The owner is gone, and an unfinished run of it is recorded as
# interrupted by the next run of its date, when
#   * it is a process on this machine (same host name and boot) and that process has ended (its pid is not
#     alive, or is alive with another start time: a reused pid), seen at once; or
#   * its last heartbeat is older than owner_timeout() (MHHS_RUN_OWNER_TIMEOUT seconds, default 15 minutes):
#     for owners on other machines (Celery workers), and for a DAG run, which is alive while its tasks are
#     queued, waiting to retry or running, so the timeout must exceed the longest gap between its tasks.

OWNER_FILE = "owner.json"
HEARTBEAT_SECONDS = 30.0
OWNER_TIMEOUT = timedelta(minutes=15)


def owner_timeout() -> timedelta:
    """How old a run's last heartbeat may be before its owner is taken to be gone."""
    seconds = os.environ.get("MHHS_RUN_OWNER_TIMEOUT")
    return timedelta(seconds=float(seconds)) if seconds else OWNER_TIMEOUT


def _boot_id() -> str | None:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return None


def _process_start(pid: int) -> int | None:
    """The process's start time (clock ticks after boot, /proc/<pid>/stat field 22); None when it is not
    alive (a zombie counts as ended) or where there is no /proc."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()  # after the command name, which may hold spaces
    return None if fields[0] == "Z" else int(fields[19])


def _process_alive(pid: int, start: int | None) -> bool:
    if Path("/proc/self/stat").exists():
        now = _process_start(pid)
        return now is not None and (start is None or now == start)
    try:  # no /proc: whether the pid is alive, without telling a reused one apart
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


@dataclass(frozen=True)
class RunOwner:
    """Who owns a settlement run: this process (`mhhs settle`), or an Airflow DAG run, with the task of it
    working now. Recorded in the run's owner.json with the working process and the time of its heartbeat."""
    description: str
    dag_id: str | None = None
    dag_run_id: str | None = None
    task: dict | None = None  # the Airflow task working now: task_id, map_index, try_number

    @classmethod
    def this_process(cls, command: str = "mhhs settle") -> "RunOwner":
        return cls(f"{command}, process {os.getpid()} on {socket.gethostname()}")

    @classmethod
    def airflow_task(cls, dag_id: str, dag_run_id: str, task_id: str, map_index: int = -1,
                     try_number: int = 1) -> "RunOwner":
        return cls(f"Airflow DAG run {dag_id} {dag_run_id}", dag_id, dag_run_id,
                   {"task_id": task_id, "map_index": map_index, "try_number": try_number})

    @property
    def is_airflow(self) -> bool:
        return self.dag_run_id is not None

    def owns(self, record: dict) -> bool:
        """Whether an owner.json record is this owner's: the same DAG run, or this very process."""
        if self.is_airflow:
            return (record.get("dag_id"), record.get("dag_run_id")) == (self.dag_id, self.dag_run_id)
        return (record.get("dag_run_id") is None and record.get("host") == socket.gethostname()
                and record.get("pid") == os.getpid() and record.get("boot_id") == _boot_id())

    def record(self) -> dict:
        pid = os.getpid()
        return {"owner": self.description, "dag_id": self.dag_id, "dag_run_id": self.dag_run_id, "task": self.task,
                "host": socket.gethostname(), "boot_id": _boot_id(), "pid": pid, "process_start": _process_start(pid),
                "heartbeat_at": datetime.now(timezone.utc).isoformat()}


def write_owner(run_dir: Path, owner: RunOwner) -> None:
    """owner.json, replaced whole (several tasks of a DAG run may beat at once: the last one wins)."""
    temporary = Path(run_dir) / f".{OWNER_FILE}.{os.getpid()}.{threading.get_ident()}"
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump(owner.record(), handle)
    os.replace(temporary, Path(run_dir) / OWNER_FILE)


def read_owner(run_dir: Path) -> dict | None:
    try:
        return json.loads((Path(run_dir) / OWNER_FILE).read_text())
    except (OSError, ValueError):
        return None


def owner_gone(run_dir: Path, now: datetime | None = None) -> str | None:
    """None while the run's owner is alive; else why it is taken to be gone (see above)."""
    record = read_owner(run_dir)
    if record is None:
        return "it has no owner record"  # a run recorded before owners were
    if (record.get("dag_run_id") is None and record.get("host") == socket.gethostname()
            and record.get("boot_id") == _boot_id() and not _process_alive(record["pid"], record.get("process_start"))):
        return f"its process {record['pid']} on {record['host']} has ended"
    age = (now or datetime.now(timezone.utc)) - datetime.fromisoformat(record["heartbeat_at"])
    if age > owner_timeout():
        return f"its last heartbeat was {age.total_seconds():.0f} s ago, more than {owner_timeout().total_seconds():.0f} s"
    return None


def describe_owner(run_dir: Path) -> str:
    """The run and its owner, for a refusal: `settlement run SF-2026-10-25-v1 of mhhs settle, process 4242 on
    host-a, last heartbeat 12 s ago`, or `... of Airflow DAG run mhhs_settlement manual__..., last heartbeat 12 s
    ago from task settle_gsp_group[3] try 1, process 4242 on worker-1`."""
    run_dir = Path(run_dir)
    record = read_owner(run_dir) or {}
    run_id = f"{run_dir.parents[1].name}-{run_dir.parent.name}-{run_dir.name}"
    if not record:
        return f"settlement run {run_id}"
    age = max((datetime.now(timezone.utc) - datetime.fromisoformat(record["heartbeat_at"])).total_seconds(), 0)
    described = f"settlement run {run_id} of {record['owner']}, last heartbeat {age:.0f} s ago"
    task = record.get("task")
    if task:  # an Airflow DAG run: which of its tasks beat last, and where
        mapped = f"[{task['map_index']}]" if task.get("map_index", -1) >= 0 else ""
        described += f" from task {task['task_id']}{mapped} try {task.get('try_number')}, process {record['pid']} on {record['host']}"
    return described


@contextmanager
def heartbeat(run_dirs: list[Path], owner: RunOwner, seconds: float = HEARTBEAT_SECONDS):
    """While the block runs, a background thread rewrites each run's owner.json every `seconds`: the owner
    shows it is alive. A beat that cannot be written (the run's folder removed) is skipped."""
    run_dirs = list(dict.fromkeys(Path(run_dir) for run_dir in run_dirs))
    stop = threading.Event()

    def beat() -> None:
        for run_dir in run_dirs:
            try:
                write_owner(run_dir, owner)
            except OSError:  # the folder removed, a full disk: the next beat tries again
                pass

    def beat_until_stopped() -> None:
        while not stop.wait(seconds):
            beat()

    beat()
    thread = threading.Thread(target=beat_until_stopped, name="mhhs-run-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def _unfinished_runs(data_dir: Path, settlement_date: date) -> list[Path]:
    return [started.parent for started in sorted(runs_root(data_dir).glob(f"*/{settlement_date.isoformat()}/v*/started.parquet"))
            if not started.with_name("finished.parquet").exists()]


def mark_interrupted_runs(data_dir: Path, settlement_date: date, claimant: "RunOwner | None" = None) -> list[Path]:
    """Runs of the date that started but never finished and whose owner is gone (owner_gone), found while
    holding the date's lock exclusively: record them as failed so no view reports them as still running. So are
    the claimant's own (`mhhs settle` in a process that left a run unfinished, a DAG run whose start_runs was
    cleared and run again): a claimant starting a run is working on no other run of the date."""
    marked = []
    for run_dir in _unfinished_runs(data_dir, settlement_date):
        if owner_gone(run_dir) is None and not (claimant is not None and claimant.owns(read_owner(run_dir) or {})):
            continue
        record = {"status": "failed", "finished_at": datetime.now(timezone.utc), "reason": INTERRUPTED}
        write_record(run_dir / "finished.parquet", record, FINISHED_SCHEMA)
        marked.append(run_dir)
    return marked


def _in_progress(settlement_date: date, runs: list[Path], held: LockHeld | None = None) -> LockHeld:
    """The refusal naming the live runs of the date and their owners (else what the lock file says)."""
    if not runs and held is not None:
        return held
    return LockHeld(f"another settlement of {settlement_date} is in progress ({'; '.join(map(describe_owner, runs))}); "
                    "nothing was done: run this again when it has finished")


@contextmanager
def claim_settlement_date(data_dir: Path, settlement_date: date, run_type: str, owner: RunOwner | None = None,
                          wait_seconds: float = 0):
    """Taken to start a settlement run of the date: the date's lock, exclusively (waiting up to `wait_seconds`
    for it). Runs of the date whose owner is gone, or is `owner` itself, are recorded as interrupted; a run of the
    date whose owner is alive refuses this claim (LockHeld, naming that run and its owner), as does the lock held.

    `mhhs settle` holds the claim for its whole run; the Airflow DAG holds it while start_runs starts its runs,
    and its other tasks hold the lock shared while they work on a run (work_on_run)."""
    owner = owner or RunOwner.this_process()
    settlement_date = validation.settlement_date(settlement_date)
    with ExitStack() as stack:
        try:
            stack.enter_context(settlement_lock(data_dir, settlement_date,
                                                f"settlement run {run_type} of {settlement_date}, {owner.description}",
                                                wait_seconds=wait_seconds))
        except LockHeld as held:
            alive = [run_dir for run_dir in _unfinished_runs(data_dir, settlement_date) if owner_gone(run_dir) is None]
            raise _in_progress(settlement_date, alive, held) from None
        mark_interrupted_runs(data_dir, settlement_date, owner)
        alive = _unfinished_runs(data_dir, settlement_date)  # others' runs, their owners alive
        if alive:
            raise _in_progress(settlement_date, alive)
        yield


@contextmanager
def work_on_run(run: "SettlementRun", wait_seconds: float = 60):
    """Held by an Airflow task while it works on a run its DAG run started: the date's lock, shared (the run's
    GSP Groups settle in parallel), so a claim of the date (`mhhs settle`) refuses meanwhile. Refuses when the
    lock stays held exclusively for `wait_seconds`: another process settles the date, which it does only once
    this run's owner was found gone and the run recorded as interrupted (then RunStopped says so)."""
    with ExitStack() as stack:
        try:
            stack.enter_context(settlement_lock(run.data_dir, run.settlement_date, f"settlement run {run.run_id}",
                                                shared=True, wait_seconds=wait_seconds))
        except LockHeld:
            finished = finished_status(run)
            if finished is not None:
                raise RunStopped(f"settlement run {run.run_id} has finished ({finished[0]}: {finished[1]})") from None
            raise
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
        raise RunStopped(
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
              out_dir: Path | None = None, dispute_reference: str | None = None,
              owner: RunOwner | None = None) -> SettlementRun:
    """Check the run can start (the settlement timetable's rules included: RunRefused), then record it (a new
    version) with the standing data and the landing files (the ingestion log as it stands now) it uses.
    Call it holding the date's claim (claim_settlement_date); `owner` (default: this process) owns the run from
    its first file on: owner.json is written before started.parquet."""
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
        raise RunRefused(f"settlement date {settlement_date} has not ended yet (it ends at {day_ends:%Y-%m-%d %H:%M} UTC)")
    if not lake.has_files("registrations"):
        raise RunStopped(f"no registrations in the lake under {lake.root}; run `mhhs ingest` first")
    if not (lake.consumption / f"settlement_date={settlement_date.isoformat()}").is_dir():
        raise RunStopped(f"no consumption ingested for settlement date {settlement_date}; run `mhhs ingest` first")
    if standing.synthetic and standing.gsp_group_take is None:
        raise RunStopped(
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
    write_owner(run.run_dir, owner or RunOwner.this_process())
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
