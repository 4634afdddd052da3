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
* `start_runs`: the checks of `mhhs settle`, a new run version per run, the standing data it uses; not
  retried (a retry would start another version).
* `settle_gsp_group` (mapped, one per run and GSP Group): `dbt build` for that group into the group's own
  DuckDB file (`DATA_DIR/runs/<type>/<date>/v<n>/partitions/<group>/work.duckdb`), so the groups run in
  parallel on any workers. A stopping check (missing LLF, GSP Group Take...) fails it without retry,
  naming what is missing.
* `gate_and_publish` (runs once every group has finished, failed or not): reads the partitions together,
  gates and publishes to `MHHS_OUT_DIR/<type>/<date>/`, or records why the run stopped.

Outputs are identical to `mhhs settle` for the same day. See docs/airflow.md.
"""

from datetime import timedelta

import pendulum
from airflow.sdk import CronTriggerTimetable, Param, TriggerRule, dag, get_current_context, task
from airflow.sdk.exceptions import AirflowFailException

from pipelines.core.errors import MhhsError, RunRefused
from pipelines.jobs.orchestration import Folders, settlement_runs_to_perform, task_defaults
from pipelines.jobs.settlement import finish_run
from pipelines.settle.partition import settle_partition
from pipelines.settle.run import open_run, run_gsp_groups, start_run

UK = "Europe/London"


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
        try:
            due = settlement_runs_to_perform(today, params["settlement_date"], params["run_type"],
                                             folders.standing_dir, dispute)
            runs = []
            for run_type, settlement_date in due:
                try:
                    runs.append(start_run(folders.data_dir, settlement_date, run_type, folders.standing_dir,
                                          folders.out_dir, dispute))
                except RunRefused as refused:
                    if by_hand:
                        raise
                    print(f"skipped {run_type} of {settlement_date}: {refused}")
        except MhhsError as problem:
            raise AirflowFailException(str(problem)) from None
        print(f"settlement runs: {', '.join(run.run_id for run in runs) or f'none due on {today}'}")
        return [{"run_id": run.run_id, "run_dir": str(run.run_dir), "gsp_group_id": group}
                for run in runs for group in run_gsp_groups(run)]

    @task(map_index_template="{{ partition_name }}")
    def settle_gsp_group(partition: dict) -> None:
        get_current_context()["partition_name"] = f"{partition['run_id']} {partition['gsp_group_id']}"
        run = open_run(partition["run_dir"], Folders.from_environment().out_dir)
        try:
            settle_partition(run, [partition["gsp_group_id"]])
        except MhhsError as problem:
            # a stopping check fails the same way every time: no retry
            raise AirflowFailException(str(problem)) from None

    @task(trigger_rule=TriggerRule.ALL_DONE, execution_timeout=timedelta(hours=1))
    def gate_and_publish() -> None:
        # the runs start_runs started; none when it failed, which fails the DAG run here too (its log says why)
        partitions = get_current_context()["ti"].xcom_pull(task_ids="start_runs")
        if partitions is None:
            raise AirflowFailException("start_runs failed, so no settlement run started: see its log")
        out_dir = Folders.from_environment().out_dir
        stopped = []
        for run_dir in dict.fromkeys(partition["run_dir"] for partition in partitions):
            try:
                run = finish_run(open_run(run_dir, out_dir))
                print(f"{run.run_id} published to {run.out_dir / run.run_type / run.settlement_date.isoformat()}")
            except MhhsError as problem:
                stopped.append(str(problem))
        if stopped:
            raise AirflowFailException("\n".join(stopped))

    settle_gsp_group.expand(partition=start_runs()) >> gate_and_publish()


mhhs_settlement()
