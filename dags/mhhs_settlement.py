"""
### mhhs_settlement: the settlement runs due today, one mapped task per GSP Group

Daily at 07:00 UK time: the settlement calendar (standing data `settlement_calendar.csv` and
`bank_holidays.csv`) says which (run type, settlement date) pairs are due today; nothing is due on
weekends and bank holidays, and the first working day after picks up what fell due in the gap.

Trigger by hand with params `settlement_date` (YYYY-MM-DD) and `run_type` (e.g. `SF`, `RF`, `DF`) to run
one settlement run of your choice; both or neither. A `DF` (Dispute Final) run needs `dispute_reference`, the
upheld dispute it settles, kept in its run record; no other run takes one.

The settlement timetable's rules are those of `mhhs settle` (the same `start_run`): a run type is refused
once a later run type has succeeded for the date, and after RF only DF may settle it. A run asked for by hand
that the rules refuse fails `start_runs`; a scheduled run they refuse is skipped, its reason in the log.

Tasks:
* `start_runs`: claims each settlement date as `mhhs settle` does (the date's lock; a date another process is
  settling fails the task and starts nothing), then the checks of `mhhs settle`, a new run version per run, the
  standing data it uses; not retried (a retry would start another version). This DAG run owns the runs it
  starts: every task of it beats for them (`owner.json`) and holds the date's lock, shared, while it works on
  one, so `mhhs settle` of the date refuses meanwhile (docs/reliability.md, "Concurrency").
* `settle_gsp_group` (mapped, one per run and GSP Group): `dbt build` for that group into the group's own
  DuckDB file (`DATA_DIR/runs/<type>/<date>/v<n>/partitions/<group>/work.duckdb`), so the groups run in
  parallel on any workers. A stopping check (missing LLF, GSP Group Take...) fails it without retry,
  naming what is missing.
* `gate_and_publish` (runs once every group has finished, failed or not): reads the partitions together,
  cuts the data flows to each market participant, gates and publishes each run to `MHHS_OUT_DIR/<type>/<date>/`
  (its `participants/` folders with it), or records why the run stopped. Its outlets are one Airflow Asset per
  kind of participant (`mhhs_flows_supplier`, `mhhs_flows_distributor`, `mhhs_flows_data_service`,
  `mhhs_flows_saa`): a DAG scheduled on one runs when runs were published, the event's `extra` naming each run
  published and its participants folder.

Outputs are identical to `mhhs settle` for the same day. See docs/airflow.md.
"""

from contextlib import ExitStack
from datetime import timedelta

import pendulum
from airflow.sdk import Asset, CronTriggerTimetable, Param, TriggerRule, dag, get_current_context, task
from airflow.sdk.exceptions import AirflowFailException

from pipelines.core.errors import MhhsError, RunRefused
from pipelines.core.locks import LockHeld
from pipelines.jobs.orchestration import (SETTLEMENT_LOCK_WAIT_SECONDS, Folders, settlement_runs_to_perform, task_defaults,
                                          task_owner)
from pipelines.jobs.settlement import finish_run
from pipelines.settle.partition import settle_partition
from pipelines.settle.run import (claim_settlement_date, finished_status, heartbeat, open_run, run_gsp_groups, start_run,
                                  work_on_run)

UK = "Europe/London"
# One Asset per kind of market participant receiving flows (pipelines/outputs/participants.py): updated by
# gate_and_publish whenever it published runs, so a DAG delivering one kind's flows is scheduled on it.
PARTICIPANT_KINDS = ("supplier", "distributor", "data_service", "saa")
PARTICIPANT_FLOWS = {kind: Asset(name=f"mhhs_flows_{kind}", uri=f"file:///mhhs/outbound/participants/{kind}")
                     for kind in PARTICIPANT_KINDS}


@dag(
    dag_id="mhhs_settlement",
    schedule=CronTriggerTimetable("0 7 * * *", timezone=UK),
    start_date=pendulum.datetime(2026, 1, 1, tz=UK),
    catchup=False,
    max_active_runs=1,
    tags=["mhhs", "settlement"],
    doc_md=__doc__,
    params={
        "settlement_date": Param(None, type=["null", "string"], format="date",
                                 description="settlement date YYYY-MM-DD; empty for the runs due today"),
        "run_type": Param(None, type=["null", "string"],
                          description="run type of the settlement calendar (SF, R1, ...); empty for the runs due today"),
        "dispute_reference": Param(None, type=["null", "string"],
                                   description="DF only: reference of the upheld trading dispute the run settles"),
    },
    default_args=task_defaults(execution_timeout=timedelta(hours=2)),
)
def mhhs_settlement():
    @task(retries=0, execution_timeout=timedelta(minutes=10))
    def start_runs() -> list[dict]:
        context = get_current_context()
        folders = Folders.from_environment()
        today = pendulum.instance(context["dag_run"].run_after).in_timezone(UK).date()
        params = context["params"]
        by_hand = params["run_type"] is not None
        dispute = params.get("dispute_reference") or None
        owner = task_owner(context)  # this DAG run owns the runs it starts, across its tasks
        try:
            due = settlement_runs_to_perform(today, params["settlement_date"], params["run_type"],
                                             folders.standing_dir, dispute)
            runs = []
            with ExitStack() as claims:
                # every date claimed before any run starts: a date settled elsewhere starts nothing
                for settlement_date in sorted({day for _, day in due}):
                    run_types = ", ".join(run_type for run_type, day in due if day == settlement_date)
                    claims.enter_context(claim_settlement_date(folders.data_dir, settlement_date, run_types, owner,
                                                               wait_seconds=SETTLEMENT_LOCK_WAIT_SECONDS))
                for run_type, settlement_date in due:
                    try:
                        runs.append(start_run(folders.data_dir, settlement_date, run_type, folders.standing_dir,
                                              folders.out_dir, dispute, owner))
                    except RunRefused as refused:
                        if by_hand:
                            raise
                        print(f"skipped {run_type} of {settlement_date}: {refused}")
        except MhhsError as problem:
            raise AirflowFailException(str(problem)) from None
        print(f"settlement runs: {', '.join(run.run_id for run in runs) or f'none due on {today}'}")
        return [{"run_id": run.run_id, "run_dir": str(run.run_dir), "gsp_group_id": group}
                for run in runs for group in run_gsp_groups(run)]

    def runs_of_this_dag_run(context) -> list[str]:
        """The folders of the settlement runs start_runs started: every task beats for all of them."""
        return list(dict.fromkeys(p["run_dir"] for p in context["ti"].xcom_pull(task_ids="start_runs") or []))

    @task(map_index_template="{{ partition_name }}")
    def settle_gsp_group(partition: dict) -> None:
        context = get_current_context()
        context["partition_name"] = f"{partition['run_id']} {partition['gsp_group_id']}"
        run = open_run(partition["run_dir"], Folders.from_environment().out_dir)
        owner = task_owner(context)
        try:
            with heartbeat([run.run_dir, *runs_of_this_dag_run(context)], owner), \
                    work_on_run(run, SETTLEMENT_LOCK_WAIT_SECONDS):
                finished = finished_status(run)
                if finished is not None:  # recorded as interrupted while this DAG run's tasks waited too long
                    raise AirflowFailException(f"settlement run {run.run_id} has finished ({finished[0]}: "
                                               f"{finished[1]}); its GSP Groups are not settled again")
                settle_partition(run, [partition["gsp_group_id"]])
        except LockHeld:
            raise  # the date's lock stayed busy: retried
        except MhhsError as problem:
            # a stopping check fails the same way every time: no retry
            raise AirflowFailException(str(problem)) from None

    @task(trigger_rule=TriggerRule.ALL_DONE, execution_timeout=timedelta(hours=1),
          outlets=list(PARTICIPANT_FLOWS.values()))
    def gate_and_publish() -> None:
        # the runs start_runs started; none when it failed, which fails the DAG run here too (its log says why)
        context = get_current_context()
        partitions = context["ti"].xcom_pull(task_ids="start_runs")
        if partitions is None:
            raise AirflowFailException("start_runs failed, so no settlement run started: see its log")
        out_dir = Folders.from_environment().out_dir
        stopped, busy, published = [], [], []
        run_dirs = runs_of_this_dag_run(context)
        with heartbeat(run_dirs, task_owner(context)):
            for run_dir in run_dirs:
                try:
                    run = open_run(run_dir, out_dir)
                    with work_on_run(run, SETTLEMENT_LOCK_WAIT_SECONDS):
                        run = finish_run(run)
                    out = run.out_dir / run.run_type / run.settlement_date.isoformat()
                    print(f"{run.run_id} published to {out}")
                    published.append({"run_id": run.run_id, "run_type": run.run_type,
                                      "settlement_date": run.settlement_date.isoformat(),
                                      "participants": str(out / "participants")})
                except LockHeld as held:
                    busy.append(held)
                except MhhsError as problem:
                    stopped.append(str(problem))
        for kind, asset in PARTICIPANT_FLOWS.items():  # what each kind's deliveries read: the runs published
            context["outlet_events"][asset].extra = {"runs": [run | {"folder": f"{run['participants']}/{kind}"}
                                                              for run in published]}
        if stopped:
            raise AirflowFailException("\n".join(stopped + [str(held) for held in busy]))
        if busy:
            raise busy[0]  # the date's lock stayed busy: retried (a finished run is not finished again)

    settle_gsp_group.expand(partition=start_runs()) >> gate_and_publish()


mhhs_settlement()
