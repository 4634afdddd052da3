"""What the Airflow DAGs (dags/) need besides the pipelines themselves: where the data is, which
settlement runs a DAG run performs, who owns them (the DAG run: task_owner) and the ingest tasks' pool. Kept free
of Airflow so it is tested without it.

The DAGs read their folders from the environment of the Airflow workers:
    MHHS_DATA_DIR        the data directory (lake, runs, warehouse), as for `mhhs`; default ./data
    MHHS_LANDING_DIR     where landing files arrive; default DATA_DIR/landing
    MHHS_STANDING_DATA   the standing data directory, as `mhhs settle --standing-data` (it must hold llf.csv,
                         gsp_group_take.csv and ccc.csv; unset: the bundled synthetic set, which has no GSP Group
                         Take, so no run can settle)
    MHHS_OUT_DIR         where outputs are published; default DATA_DIR/outbound
"""

import os
import socket
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from pipelines.core import validation
from pipelines.core.errors import MhhsError
from pipelines.reference.standing_data import load_standing_data
from pipelines.reference.standing_data.calendar import SettlementCalendar
from pipelines.settle.run import RunOwner

# The Airflow pool the ingest tasks run in, with one slot (created by scripts/airflow-cluster.sh, `airflow pools
# set mhhs_ingest 1 ...`): ingestions of one lake take turns, and a task waiting its turn waits in the pool, not
# on the ingestion lock holding a worker slot. Without the pool, Airflow does not schedule the tasks at all.
INGEST_POOL = "mhhs_ingest"
INGEST_POOL_SLOTS = 1  # the pool's size; each ingest task takes one slot
# How long a settlement task waits for the settlement date's lock before refusing: a claim of the date by
# another process holds it a moment when it refuses, or for a whole run when it found this one's owner gone.
SETTLEMENT_LOCK_WAIT_SECONDS = 60


@dataclass(frozen=True)
class Folders:
    data_dir: Path
    landing_dir: Path
    standing_dir: Path | None
    out_dir: Path

    @classmethod
    def from_environment(cls) -> "Folders":
        data_dir = Path(os.environ.get("MHHS_DATA_DIR", "data")).resolve()
        standing = os.environ.get("MHHS_STANDING_DATA")
        return cls(
            data_dir=data_dir,
            landing_dir=Path(os.environ.get("MHHS_LANDING_DIR", data_dir / "landing")).resolve(),
            standing_dir=Path(standing).resolve() if standing else None,
            out_dir=Path(os.environ.get("MHHS_OUT_DIR", data_dir / "outbound")).resolve(),
        )


def settlement_runs_to_perform(today: date, settlement_date: str | None, run_type: str | None,
                               standing_dir: Path | None, dispute_reference: str | None = None) -> list[tuple[str, date]]:
    """The (run type, settlement date) pairs of one DAG run: the one asked for by hand, both given, or
    else every run the settlement calendar has due today (none on weekends and bank holidays). A dispute
    reference goes with a DF run by hand only (start_run refuses a DF without one)."""
    calendar = SettlementCalendar.from_standing_data(load_standing_data(standing_dir))
    if dispute_reference is not None:
        validation.dispute_reference(dispute_reference)
        if run_type != "DF":
            raise MhhsError(f"dispute_reference is only for a DF (Dispute Final) run by hand, not "
                            f"{run_type or 'the runs the settlement calendar has due'}")
    if settlement_date is None and run_type is None:
        return calendar.due_runs(today)
    if settlement_date is None or run_type is None:
        raise MhhsError("a run by hand needs both settlement_date (YYYY-MM-DD) and run_type, or neither "
                        "for the runs the settlement calendar has due")
    try:
        day = date.fromisoformat(settlement_date)
    except ValueError:
        raise MhhsError(f"settlement_date {settlement_date!r} is not a date YYYY-MM-DD") from None
    if run_type not in calendar.working_days_after:
        raise MhhsError(f"unknown run type {run_type!r}; the settlement calendar has {', '.join(calendar.working_days_after)}")
    return [(run_type, day)]


def worker_hostname() -> str:
    """The name Airflow records for the worker running a task ([core] hostname_callable): MHHS_WORKER_NAME
    where several workers share one machine (the native scale-out test, `make airflow WORKERS=2`), else the
    machine's name."""
    return os.environ.get("MHHS_WORKER_NAME") or socket.getfqdn()


def task_defaults(execution_timeout: timedelta) -> dict:
    """The DAGs' default_args: who owns their tasks, how a failed task is retried, and how long it may run."""
    return {"owner": "mhhs-data-engineering", "retries": 2, "retry_delay": timedelta(minutes=2),
            "execution_timeout": execution_timeout}


def task_owner(context) -> RunOwner:
    """The owner of the settlement runs an Airflow DAG run starts (pipelines.settle.run.RunOwner): the DAG run,
    with the task working now, from the task's context (`get_current_context()`)."""
    ti = context["ti"]
    map_index = getattr(ti, "map_index", -1)
    return RunOwner.airflow_task(ti.dag_id, ti.run_id, ti.task_id, -1 if map_index is None else map_index,
                                 getattr(ti, "try_number", 1))
