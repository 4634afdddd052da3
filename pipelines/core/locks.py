"""Advisory locks under DATA_DIR/locks/ that keep concurrent commands from corrupting each other.

    settle-<date>.lock   one settlement run of a settlement date at a time: a second one refuses at once
    ingest.lock          one ingestion at a time (they share the lake's staging area): a second one waits
    gate.lock            one data-quality gate at a time (they share GX's files and the Data Docs): waits
    warehouse.lock       the warehouse file: refreshing its views (exclusive) and `mhhs sql` (shared) wait

fcntl locks belong to the process: the kernel releases them when it ends, however it ends (SIGKILL
included), so a crash never leaves a stale lock behind.
"""

import fcntl
import os
from contextlib import contextmanager
from datetime import date, datetime, timezone
from pathlib import Path

from pipelines.core.errors import MhhsError


class LockHeld(MhhsError):
    exit_code = 4


def _lock_file(data_dir: Path, name: str):
    folder = Path(data_dir).resolve() / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    return open(folder / f"{name}.lock", "a+")


@contextmanager
def _locked(data_dir: Path, name: str, mode: int, wait: bool, holder: str = ""):
    handle = _lock_file(data_dir, name)
    try:
        try:
            fcntl.flock(handle, mode | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            handle.seek(0)
            raise LockHeld(handle.read().strip() or "another process holds " + handle.name) from None
        if holder:
            handle.truncate(0)
            handle.write(holder)
            handle.flush()
        yield
    finally:
        handle.close()  # closing the descriptor releases the lock


@contextmanager
def settlement_lock(data_dir: Path, settlement_date: date, run_type: str):
    """Held for the whole of one settlement run; a second run of the same date refuses with a message."""
    holder = f"settlement run {run_type} of {settlement_date} started by process {os.getpid()} at {datetime.now(timezone.utc):%H:%M:%S} UTC"
    try:
        with _locked(data_dir, f"settle-{settlement_date.isoformat()}", fcntl.LOCK_EX, wait=False, holder=holder):
            yield
    except LockHeld as held:
        raise LockHeld(
            f"another settlement of {settlement_date} is in progress ({held}); nothing was done: "
            "run this again when it has finished"
        ) from None


def ingestion_lock(data_dir: Path):
    """Held for a whole ingestion; a second ingestion waits for the first."""
    return _locked(data_dir, "ingest", fcntl.LOCK_EX, wait=True)


def gate_lock(data_dir: Path):
    """Great Expectations' project files and Data Docs are shared by every run of the data directory: one
    gate writes them at a time, the others wait."""
    return _locked(data_dir, "gate", fcntl.LOCK_EX, wait=True)


def warehouse_lock(data_dir: Path, shared: bool = False):
    """DuckDB lets one process write a database file, or several read it, never both: writers of the
    warehouse views and its read-only readers take turns here instead of failing on DuckDB's own lock."""
    return _locked(data_dir, "warehouse", fcntl.LOCK_SH if shared else fcntl.LOCK_EX, wait=True)

