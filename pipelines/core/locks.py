"""Advisory locks under DATA_DIR/locks/ that keep concurrent commands from corrupting each other.

    settle-<date>.lock   one settlement run of a settlement date at a time: a second one refuses at once (held
                         exclusively by `mhhs settle` and a claim, shared by the Airflow tasks of a claimed run)
    ingest.lock          one ingestion at a time (they share the lake's staging area): a second one waits
    gate.lock            one data-quality gate at a time (they share GX's files and the Data Docs): waits
    warehouse.lock       refreshes of the warehouse views, one at a time: waits (readers take no lock)

fcntl locks belong to the process: the kernel releases them when it ends, however it ends (SIGKILL
included), so a crash never leaves a stale lock behind.
"""

import fcntl
import time
from contextlib import contextmanager
from datetime import date, datetime, timezone
from pathlib import Path

from pipelines.core.errors import Busy


class LockHeld(Busy):
    """A lock another command holds (exit code ExitCode.BUSY)."""


def _lock_file(data_dir: Path, name: str):
    folder = Path(data_dir).resolve() / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    return open(folder / f"{name}.lock", "a+")


@contextmanager
def _locked(data_dir: Path, name: str, mode: int, wait: bool | float, holder: str = "", refusal: str = "{held}"):
    """The lock `name` in `mode` (fcntl.LOCK_EX or LOCK_SH). `wait`: True waits as long as it takes, False
    refuses at once, a number of seconds tries that long. A refusal is LockHeld(`refusal` with `{held}` replaced
    by what the lock file says of its holder); `holder`, when given, is written there once the lock is taken."""
    handle = _lock_file(data_dir, name)
    try:
        if wait is True:
            fcntl.flock(handle, mode)
        else:
            deadline = time.monotonic() + float(wait)
            while True:
                try:
                    fcntl.flock(handle, mode | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        handle.seek(0)
                        held = handle.read().strip() or "another process holds " + handle.name
                        raise LockHeld(refusal.format(held=held)) from None
                    time.sleep(0.2)
        if holder:
            handle.truncate(0)
            handle.write(f"{holder}, since {datetime.now(timezone.utc):%H:%M:%S} UTC")
            handle.flush()
        yield
    finally:
        handle.close()  # closing the descriptor releases the lock


def settlement_lock(data_dir: Path, settlement_date: date, holder: str, shared: bool = False,
                    wait_seconds: float = 0):
    """The settlement date's lock (pipelines.settle.run decides who holds it how): exclusive for a whole `mhhs
    settle` run and while a run of the date is claimed, shared by the Airflow tasks working on a claimed run (its
    GSP Groups settle in parallel). A comer that cannot have it within `wait_seconds` refuses with a message
    naming the last exclusive holder (`holder`, written into the lock file; shared holders leave the text alone:
    they could overwrite each other's)."""
    return _locked(data_dir, f"settle-{settlement_date.isoformat()}", fcntl.LOCK_SH if shared else fcntl.LOCK_EX,
                   wait=wait_seconds, holder="" if shared else holder,
                   refusal=f"another settlement of {settlement_date} is in progress ({{held}}); nothing was done: "
                           "run this again when it has finished")


def ingestion_lock(data_dir: Path):
    """Held for a whole ingestion; a second ingestion waits for the first. The Airflow DAG ingests one file at a
    time through its pool `mhhs_ingest` (one slot), so its tasks wait in the pool, not here holding a worker:
    this lock keeps `mhhs ingest` by hand and the DAG apart, and is the safety net should the pool be widened."""
    return _locked(data_dir, "ingest", fcntl.LOCK_EX, wait=True)


def gate_lock(data_dir: Path):
    """Great Expectations' project files and Data Docs are shared by every run of the data directory: one
    gate writes them at a time, the others wait."""
    return _locked(data_dir, "gate", fcntl.LOCK_EX, wait=True)


def warehouse_lock(data_dir: Path):
    """Refreshes of the warehouse views take turns (each builds the next warehouse file under one temporary
    name). Readers need no lock: a refresh never opens the warehouse file they read, it renames a new one
    over it (pipelines.outputs.warehouse)."""
    return _locked(data_dir, "warehouse", fcntl.LOCK_EX, wait=True)

