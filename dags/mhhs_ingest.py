"""
### mhhs_ingest: new landing files into the Parquet lake

Every 15 minutes: finds the landing files (`MHHS_LANDING_DIR/registrations/`, `.../registration_updates/`,
`.../consumption/`, `.../register_reads/`: every landing folder of `pipelines.ingest.LANDING_FORMATS`) whose
content the lake has not ingested yet, ingests each in its own mapped task (the same code and commit as
`mhhs ingest`: a file counts only once its ingestion log entry exists, so a retried task is safe), one at a
time through the Airflow pool `mhhs_ingest` (one slot; `airflow pools set mhhs_ingest 1 ...` creates it,
scripts/airflow-cluster.sh does: without it the tasks are never scheduled), then
refreshes the warehouse views once and emits the `mhhs_lake` asset with the lake partitions it changed
(`extra.partitions`, e.g. `consumption/settlement_date=2026-10-25`, `register_reads/read_end_month=2026-10`).

A file refused whole or rows quarantined are data, not failures: the task log and `mhhs quarantine` say
why. Folders come from the workers' environment (`pipelines/orchestration.py`); see docs/airflow.md.
"""

from datetime import datetime, timedelta, timezone

from airflow.sdk import Asset, dag, get_current_context, task
from airflow.sdk.exceptions import AirflowFailException

from pipelines.core.errors import MhhsError
from pipelines.ingest import ingest_landing_file, lake_partitions, pending_landing_files
from pipelines.jobs.orchestration import INGEST_POOL, Folders, task_defaults
from pipelines.outputs.warehouse import refresh_views
from pipelines.reference.lake import Lake

LAKE = Asset(name="mhhs_lake", uri="file:///mhhs/lake")


@dag(
    dag_id="mhhs_ingest",
    schedule="*/15 * * * *",
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    max_active_runs=1,
    tags=["mhhs", "ingestion"],
    doc_md=__doc__,
    default_args=task_defaults(execution_timeout=timedelta(hours=1)),
)
def mhhs_ingest():
    @task
    def find_new_landing_files() -> list[str]:
        folders = Folders.from_environment()
        if not folders.landing_dir.is_dir():
            return []
        return pending_landing_files(folders.landing_dir, folders.data_dir)

    # one at a time through the pool (one slot): a file waiting its turn holds no worker slot
    @task(map_index_template="{{ landing_file }}", pool=INGEST_POOL)
    def ingest_file(landing_file: str) -> dict:
        get_current_context()["landing_file"] = landing_file
        folders = Folders.from_environment()
        try:
            result = ingest_landing_file(folders.landing_dir, landing_file, folders.data_dir)
        except MhhsError as problem:
            raise AirflowFailException(str(problem)) from None
        print(f"{landing_file}: {result.status}, {result.rows_accepted} rows accepted, "
              f"{result.rows_quarantined} quarantined{': ' + result.reason if result.reason else ''}")
        return {"landing_file": landing_file, "status": result.status,
                "partitions": lake_partitions(folders.data_dir, result)}

    @task(outlets=[LAKE])
    def refresh_warehouse(ingested: list[dict]) -> None:
        refresh_views(Lake(Folders.from_environment().data_dir))
        partitions = sorted({partition for result in ingested for partition in result["partitions"]})
        get_current_context()["outlet_events"][LAKE].extra = {"partitions": partitions}
        print(f"lake partitions changed: {', '.join(partitions) or 'none'}")

    refresh_warehouse(ingest_file.expand(landing_file=find_new_landing_files()))


mhhs_ingest()
