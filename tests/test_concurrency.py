"""One concurrency model for `mhhs settle` and the Airflow settlement DAG (docs/reliability.md, "Concurrency"):
a run records its owner and heartbeat (owner.json); the next run of a date records a run as interrupted only
when its owner is gone (its process ended, on this machine, or its heartbeat is older than the timeout), and
refuses while it is alive; the DAG's tasks take the date's lock as `mhhs settle` does.

Real processes throughout: `mhhs settle`, `airflow dags test`, and small Python processes that own a run as
`mhhs settle` or an Airflow DAG run does (pipelines.settle.run), SIGKILLed where a test says so.
"""

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pytest

from pipelines.settle.run import INTERRUPTED, OWNER_TIMEOUT, RunOwner, owner_gone, read_owner, write_owner
from tests.conftest import BIN_DIR, SAMPLE_DAY, copy_data_dir
from tests.test_dags import STANDING, airflow_cli

pytestmark = pytest.mark.system

MHHS = str(BIN_DIR / "mhhs")
OTHER_DAY = "2026-10-24"  # the sample's other day, with its own GSP Group Take


def mhhs_settle(data_dir: Path, day: str = SAMPLE_DAY, **env: str) -> subprocess.CompletedProcess:
    result = subprocess.run([MHHS, "--data-dir", str(data_dir), "settle", "--date", day, "--run-type", "SF",
                             "--standing-data", str(STANDING)], capture_output=True, text=True, timeout=900,
                            env={**os.environ, **env})
    assert "Traceback" not in result.stderr, result.stderr
    return result


def runs(data_dir: Path, day: str = SAMPLE_DAY) -> dict[str, tuple[str, str | None] | None]:
    """Every run of the date by version folder: (status, reason) from finished.parquet, None while unfinished."""
    found = {}
    for run_dir in sorted((data_dir / "runs" / "SF" / day).glob("v*")):
        finished = run_dir / "finished.parquet"
        with duckdb.connect() as con:
            found[run_dir.name] = (con.execute(f"SELECT status, reason FROM read_parquet('{finished}')").fetchone()
                                   if finished.exists() else None)
    return found


def wait_for(path: Path, process: subprocess.Popen, seconds: float = 300) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert process.poll() is None, f"the process ended ({process.returncode}) before {path} appeared"
        assert time.monotonic() < deadline, f"{path} did not appear in {seconds} s"
        time.sleep(0.1)


# A process that owns a started run and beats every half second until it is killed: as `mhhs settle` does
# ("process": it holds the date's claim for the whole run), or as an Airflow DAG run does ("airflow": start_runs
# claims the date and starts the run, then the DAG run's tasks beat for it; between or before its tasks, none
# holds the date's lock).
OWNER_PROCESS = """
import sys, time
from pathlib import Path
from pipelines.settle.run import RunOwner, claim_settlement_date, heartbeat, start_run

data_dir, day, standing, kind = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]), sys.argv[4]
if kind == "process":
    owner = RunOwner.this_process("a test's mhhs settle")
    with claim_settlement_date(data_dir, day, "SF", owner):
        run = start_run(data_dir, day, "SF", standing, owner=owner)
        with heartbeat([run.run_dir], owner, seconds=0.5):
            print(run.run_dir, flush=True)
            time.sleep(600)
else:
    owner = RunOwner.airflow_task("mhhs_settlement", "manual__concurrency_test", "start_runs")
    with claim_settlement_date(data_dir, day, "SF", owner):
        run = start_run(data_dir, day, "SF", standing, owner=owner)
    with heartbeat([run.run_dir], owner, seconds=0.5):
        print(run.run_dir, flush=True)
        time.sleep(600)
"""


def start_owner(data_dir: Path, kind: str) -> tuple[subprocess.Popen, Path]:
    process = subprocess.Popen([sys.executable, "-c", OWNER_PROCESS, str(data_dir), SAMPLE_DAY, str(STANDING), kind],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    line = process.stdout.readline()
    assert line, process.stderr.read()
    return process, Path(line.strip())


def kill(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()


# ---- the owner rule, one process at a time (unit) -------------------------------------------------------


SLEEPING_OWNER = """
import sys, time
from pathlib import Path
from pipelines.settle.run import RunOwner, write_owner
write_owner(Path(sys.argv[1]), RunOwner.this_process())
print("owner written", flush=True)
time.sleep(120)
"""


@pytest.mark.unit
def test_a_process_owner_on_this_machine_is_gone_once_its_process_ended_or_its_pid_was_reused(tmp_path):
    run_dir = tmp_path / "runs" / "SF" / SAMPLE_DAY / "v1"
    run_dir.mkdir(parents=True)
    write_owner(run_dir, RunOwner.this_process())
    assert owner_gone(run_dir) is None  # this very process
    owner = subprocess.Popen([sys.executable, "-c", SLEEPING_OWNER, str(run_dir)], stdout=subprocess.PIPE, text=True)
    try:
        assert owner.stdout.readline() == "owner written\n"
        record = read_owner(run_dir)
        assert record["pid"] == owner.pid and owner_gone(run_dir) is None  # another process, alive
        ended = f"its process {owner.pid} on {record['host']} has ended"
        if record["process_start"] is not None:  # Linux: the pid alive with another start time is a reused pid
            (run_dir / "owner.json").write_text(json.dumps(record | {"process_start": record["process_start"] + 1}))
            assert owner_gone(run_dir) == ended
            (run_dir / "owner.json").write_text(json.dumps(record))
    finally:
        owner.kill()
        owner.wait()
    # at once, however fresh its heartbeat: the process is known to have ended
    assert owner_gone(run_dir) == ended
    assert datetime.now(timezone.utc) - datetime.fromisoformat(record["heartbeat_at"]) < timedelta(minutes=1)


@pytest.mark.unit
def test_an_airflow_owner_or_one_on_another_machine_is_gone_only_once_its_heartbeat_is_too_old(tmp_path):
    run_dir = tmp_path / "runs" / "SF" / SAMPLE_DAY / "v1"
    run_dir.mkdir(parents=True)
    # an Airflow DAG run: the task process that beat last has ended (a DAG run outlives its tasks' processes)
    write_owner(run_dir, RunOwner.airflow_task("mhhs_settlement", "manual__x", "start_runs"))
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    record = read_owner(run_dir)
    (run_dir / "owner.json").write_text(json.dumps(record | {"pid": int(ended.stdout)}))
    now = datetime.fromisoformat(record["heartbeat_at"])
    assert owner_gone(run_dir, now + OWNER_TIMEOUT - timedelta(seconds=1)) is None
    assert owner_gone(run_dir, now + OWNER_TIMEOUT + timedelta(seconds=1)).startswith("its last heartbeat was 901 s ago")
    # `mhhs settle` on another machine (a Celery worker's host): only its heartbeat can tell
    (run_dir / "owner.json").write_text(json.dumps(record | {"dag_id": None, "dag_run_id": None, "task": None,
                                                             "host": "elsewhere", "pid": int(ended.stdout)}))
    assert owner_gone(run_dir, now + timedelta(minutes=14)) is None
    assert owner_gone(run_dir, now + timedelta(minutes=16)) is not None
    (run_dir / "owner.json").unlink()  # a run recorded before owners were
    assert owner_gone(run_dir) == "it has no owner record"


HOLDING_THE_LOCK = """
import sys, time
from datetime import date
from pathlib import Path
from pipelines.core.locks import settlement_lock
with settlement_lock(Path(sys.argv[1]), date.fromisoformat(sys.argv[2]), "a test's holder", shared=sys.argv[3] == "shared"):
    print("held", flush=True)
    time.sleep(120)
"""


def hold_the_lock(data_dir: Path, mode: str) -> subprocess.Popen:
    """Another process holding the date's lock: "shared" as an Airflow task working on a run, "exclusive" as a claim."""
    process = subprocess.Popen([sys.executable, "-c", HOLDING_THE_LOCK, str(data_dir), SAMPLE_DAY, mode],
                               stdout=subprocess.PIPE, text=True, start_new_session=True)
    assert process.stdout.readline() == "held\n"
    return process


@pytest.mark.unit
def test_airflow_tasks_share_the_date_lock_a_claim_takes_whole_and_never_work_on_a_run_found_gone(tmp_path):
    from pipelines.core.locks import LockHeld
    from pipelines.settle.run import SettlementRun, claim_settlement_date, record_finished, work_on_run

    data_dir = tmp_path / "data"
    run_dir = data_dir / "runs" / "SF" / SAMPLE_DAY / "v1"
    run_dir.mkdir(parents=True)
    day = datetime.fromisoformat(SAMPLE_DAY).date()
    run = SettlementRun(f"SF-{SAMPLE_DAY}-v1", "SF", day, 1, datetime.now(timezone.utc), run_dir, data_dir / "outbound")
    # another task of the run works on it (shared): this task works too, a claim of the date refuses at once
    other_task = hold_the_lock(data_dir, "shared")
    try:
        with work_on_run(run, wait_seconds=0):
            pass
        with pytest.raises(LockHeld, match=f"another settlement of {SAMPLE_DAY} is in progress"):
            with claim_settlement_date(data_dir, day, "SF"):
                pass
    finally:
        kill(other_task)
    # a claim holds it whole (`mhhs settle` at work): a task waits, then refuses (retried) ...
    claimant = hold_the_lock(data_dir, "exclusive")
    try:
        started = time.monotonic()
        with pytest.raises(LockHeld, match="a test's holder"):
            with work_on_run(run, wait_seconds=1):
                pass
        assert time.monotonic() - started >= 1
        # ... and once the claimant recorded the run as interrupted, says so (not retried)
        record_finished(run, "failed", datetime.now(timezone.utc), INTERRUPTED)
        with pytest.raises(Exception, match=f"settlement run SF-{SAMPLE_DAY}-v1 has finished \\(failed: interrupted"):
            with work_on_run(run, wait_seconds=0):
                pass
    finally:
        kill(claimant)


@pytest.mark.unit
def test_a_claim_refuses_while_another_owner_is_alive_and_marks_its_own_leftovers(tmp_path):
    """Run folders as start_run leaves them (owner.json, then started.parquet; no finished.parquet yet)."""
    from pipelines.core.locks import LockHeld
    from pipelines.settle.run import claim_settlement_date

    data_dir = tmp_path / "data"
    day = datetime.fromisoformat(SAMPLE_DAY).date()

    def unfinished_run(version: int, owner: RunOwner) -> Path:
        run_dir = data_dir / "runs" / "SF" / SAMPLE_DAY / f"v{version}"
        run_dir.mkdir(parents=True)
        write_owner(run_dir, owner)
        (run_dir / "started.parquet").touch()  # only its presence counts here
        return run_dir

    dag_run = RunOwner.airflow_task("mhhs_settlement", "scheduled__2026-10-30", "settle_gsp_group", 0)
    unfinished_run(1, dag_run)
    with pytest.raises(LockHeld, match=f"settlement run SF-{SAMPLE_DAY}-v1 of Airflow DAG run mhhs_settlement "
                                       "scheduled__2026-10-30, last heartbeat 0 s ago from task settle_gsp_group\\[0\\]"):
        with claim_settlement_date(data_dir, day, "SF"):
            pass
    assert runs(data_dir) == {"v1": None}
    # the same DAG run claiming again (its start_runs cleared and run again): its earlier run is left behind
    with claim_settlement_date(data_dir, day, "SF", RunOwner.airflow_task("mhhs_settlement", "scheduled__2026-10-30",
                                                                        "start_runs")):
        pass
    assert runs(data_dir) == {"v1": ("failed", INTERRUPTED)}
    # so is a run this very process left unfinished, when it claims the date again
    unfinished_run(2, RunOwner.this_process())
    with claim_settlement_date(data_dir, day, "SF"):
        pass
    assert runs(data_dir)["v2"] == ("failed", INTERRUPTED)


# ---- mhhs settle against owners in other processes (system) ----------------------------------------------


def test_the_next_run_of_a_date_marks_a_run_interrupted_only_once_its_owner_is_gone(ingested_sample, tmp_path):
    data = copy_data_dir(ingested_sample, tmp_path)

    # `mhhs settle` at work: a second one refuses at once, naming the run and its owner; nothing is marked
    first = subprocess.Popen([MHHS, "--data-dir", str(data), "settle", "--date", SAMPLE_DAY, "--run-type", "SF",
                              "--standing-data", str(STANDING)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
    wait_for(data / "runs" / "SF" / SAMPLE_DAY / "v1" / "started.parquet", first)
    refused = mhhs_settle(data)
    assert refused.returncode == 4, refused.stderr
    assert (f"another settlement of {SAMPLE_DAY} is in progress (settlement run SF-{SAMPLE_DAY}-v1 of mhhs settle, "
            f"process {first.pid} on ") in refused.stderr
    assert "nothing was done" in refused.stderr
    # SIGKILLed: its process has ended, so the next run of the date records it as interrupted at once
    kill(first)
    assert runs(data) == {"v1": None}
    after_kill = mhhs_settle(data)
    assert after_kill.returncode == 0, after_kill.stderr
    assert runs(data) == {"v1": ("failed", INTERRUPTED), "v2": ("succeeded", None)}

    # A run owned by an Airflow DAG run (here a process standing in for it) whose tasks are queued: no process
    # holds the date's lock, but its owner beats, so `mhhs settle` refuses and marks nothing...
    owner, run_dir = start_owner(data, "airflow")
    assert run_dir.name == "v3"
    try:
        refused = mhhs_settle(data)
        assert refused.returncode == 4, refused.stderr
        assert (f"(settlement run SF-{SAMPLE_DAY}-v3 of Airflow DAG run mhhs_settlement manual__concurrency_test, "
                "last heartbeat ") in refused.stderr
    finally:
        kill(owner)
    # ... nor once the process that beat last has ended: a DAG run outlives its tasks' processes ...
    refused = mhhs_settle(data)
    assert refused.returncode == 4, refused.stderr
    assert runs(data)["v3"] is None and "v4" not in runs(data)
    # ... until its heartbeat is older than the timeout (MHHS_RUN_OWNER_TIMEOUT, 15 minutes unless set)
    time.sleep(2)
    after_timeout = mhhs_settle(data, MHHS_RUN_OWNER_TIMEOUT="1")
    assert after_timeout.returncode == 0, after_timeout.stderr
    assert runs(data) == {"v1": ("failed", INTERRUPTED), "v2": ("succeeded", None), "v3": ("failed", INTERRUPTED),
                          "v4": ("succeeded", None)}


def test_a_dag_run_and_mhhs_settle_side_by_side_refuse_the_same_date_and_settle_different_ones(ingested_sample, tmp_path):
    """`airflow dags test mhhs_settlement` settles one date while `mhhs settle` is refused that date (the DAG
    run owns its run between and during its tasks) and settles another date meanwhile; neither is interrupted."""
    data = copy_data_dir(ingested_sample, tmp_path)
    airflow = airflow_cli(tmp_path / "airflow", data, tmp_path / "landing")
    dag = subprocess.Popen([str(BIN_DIR / "airflow"), "dags", "test", "mhhs_settlement", "--conf",
                            json.dumps({"settlement_date": SAMPLE_DAY, "run_type": "SF"})],
                           env=airflow.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        run_dir = data / "runs" / "SF" / SAMPLE_DAY / "v1"
        wait_for(run_dir / "started.parquet", dag, seconds=600)
        same_date = mhhs_settle(data, SAMPLE_DAY)
        other_date = mhhs_settle(data, OTHER_DAY)
        overlapped = dag.poll() is None
        output, _ = dag.communicate(timeout=1800)
    finally:
        if dag.poll() is None:
            dag.kill()
            dag.wait()
    assert dag.returncode == 0, output[-5000:]
    assert same_date.returncode == 4, same_date.stderr
    assert (f"another settlement of {SAMPLE_DAY} is in progress (settlement run SF-{SAMPLE_DAY}-v1 of Airflow DAG run "
            "mhhs_settlement manual__") in same_date.stderr
    assert other_date.returncode == 0, other_date.stderr
    assert overlapped, "mhhs settle of the other date did not overlap the DAG run"
    assert runs(data, SAMPLE_DAY) == {"v1": ("succeeded", None)}
    assert runs(data, OTHER_DAY) == {"v1": ("succeeded", None)}
    owner = read_owner(run_dir)
    assert (owner["dag_id"], owner["task"]["task_id"]) == ("mhhs_settlement", "gate_and_publish")
    assert owner["dag_run_id"].startswith("manual__")
    assert read_owner(data / "runs" / "SF" / OTHER_DAY / "v1")["owner"].startswith("mhhs settle, process ")
