"""Scale-out for real (ARCHITECTURE.md, "Scaling out"): Airflow with the CeleryExecutor, a Postgres metadata
database and a Redis broker, started on loopback by scripts/airflow-cluster.sh with two Celery workers.
mhhs_ingest ingests the committed sample, then one mhhs_settlement run settles its GSP Groups on both
workers at once and publishes exactly what `mhhs settle` publishes for the same day."""

import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

import psycopg2
import pyarrow.parquet as pq
import pytest

from pipelines.ingest import LANDING_FORMATS
from pipelines.settle.publish import PUBLISHED_TABLES
from tests.conftest import PROJECT_ROOT, SAMPLE_DAY

pytestmark = [pytest.mark.system, pytest.mark.skipif(
    os.environ.get("MHHS_SCALE_OUT") != "1",
    reason="starts Postgres, Redis and Airflow with two Celery workers for a few minutes: `make test-scale` runs it",
)]

SCRIPT = PROJECT_ROOT / "scripts" / "airflow-cluster.sh"
SAMPLE = PROJECT_ROOT / "sample_data" / "landing"
STANDING = SAMPLE / "standing"
DAY = SAMPLE_DAY  # 2026-10-25: the day the shared settled_sample settles through the command line (tests/conftest.py)
RUN_TIMEOUT_SECONDS = 1200


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    state = tmp_path_factory.mktemp("cluster")
    landing = state / "landing"
    shutil.copytree(SAMPLE, landing, ignore=shutil.ignore_patterns("standing"))
    env = {**os.environ, "MHHS_DATA_DIR": str(state / "data"), "MHHS_LANDING_DIR": str(landing),
           "MHHS_STANDING_DATA": str(STANDING)}
    try:
        started = subprocess.run([str(SCRIPT), "start", str(state), "2"], env=env, capture_output=True, text=True)
        assert started.returncode == 0, started.stdout + started.stderr
        services = sorted(path.stem for path in (state / "pids").glob("*.pid"))
        sourced = subprocess.run(["bash", "-c", f"source {state / 'env'} && env -0"], capture_output=True, text=True, check=True)
        settings = dict(line.split("=", 1) for line in sourced.stdout.split("\0") if "=" in line)
        database = urlsplit(settings["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
        yield {"state": state, "env": settings, "landing": landing, "services": services,
               "connect": lambda: psycopg2.connect(host=database.hostname, port=database.port,
                                                   user=database.username, dbname=database.path.lstrip("/"))}
    finally:
        subprocess.run([str(SCRIPT), "stop", str(state)], capture_output=True)


def trigger_and_wait(cluster, dag_id: str, run_id: str, conf: dict | None = None) -> str:
    arguments = ["airflow", "dags", "trigger", dag_id, "--run-id", run_id] + (["--conf", json.dumps(conf)] if conf else [])
    triggered = subprocess.run(arguments, env=cluster["env"], capture_output=True, text=True)
    assert triggered.returncode == 0, triggered.stderr[-3000:]
    deadline = time.monotonic() + RUN_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        with cluster["connect"]() as db, db.cursor() as cursor:
            cursor.execute("SELECT state FROM dag_run WHERE dag_id = %s AND run_id = %s", (dag_id, run_id))
            row = cursor.fetchone()
        if row and row[0] in ("success", "failed"):
            return row[0]
        time.sleep(5)
    return "still running"


def task_instances(cluster, dag_id: str, run_id: str) -> list[dict]:
    with cluster["connect"]() as db, db.cursor() as cursor:
        cursor.execute("SELECT task_id, map_index, state, hostname, start_date, end_date FROM task_instance "
                       "WHERE dag_id = %s AND run_id = %s ORDER BY start_date", (dag_id, run_id))
        columns = [c.name for c in cursor.description]
        return [dict(zip(columns, row)) for row in cursor.fetchall()]


def test_a_settlement_run_settles_its_gsp_groups_on_two_celery_workers_at_once(cluster, settled_sample):
    assert cluster["services"] == ["api-server", "dag-processor", "postgres", "redis", "scheduler", "worker-1", "worker-2"]
    ingest = trigger_and_wait(cluster, "mhhs_ingest", "scale_out_ingest")
    assert ingest == "success", task_instances(cluster, "mhhs_ingest", "scale_out_ingest")
    data_dir = Path(cluster["env"]["MHHS_DATA_DIR"])
    # one ingestion log entry per landing file of the sample (consumption, registrations, updates, register reads)
    landing_files = [path for folder, suffixes in LANDING_FORMATS.items() for suffix in suffixes
                     for path in (SAMPLE / folder).glob(f"*{suffix}")]
    assert len(landing_files) == 10
    assert len(list((data_dir / "lake" / "ingestion_log").glob("*.parquet"))) == len(landing_files)

    settlement = trigger_and_wait(cluster, "mhhs_settlement", "scale_out_settlement", {"settlement_date": DAY, "run_type": "SF"})
    tasks = task_instances(cluster, "mhhs_settlement", "scale_out_settlement")
    assert settlement == "success", tasks
    groups = [t for t in tasks if t["task_id"] == "settle_gsp_group"]
    assert len(groups) == 14 and {t["state"] for t in groups} == {"success"}
    assert {t["hostname"] for t in groups} == {"worker-1", "worker-2"}
    # parallel: a group settled on one worker while another was being settled on the other
    assert any(a["start_date"] < b["end_date"] and b["start_date"] < a["end_date"]
               for a in groups if a["hostname"] == "worker-1" for b in groups if b["hostname"] == "worker-2")

    # the same day through the command line (`mhhs ingest` of the sample, `mhhs settle` with STANDING: the
    # shared settled_sample)
    airflow_out, cli_out = data_dir / "outbound" / "SF" / DAY, settled_sample / "outbound" / "SF" / DAY
    for table in PUBLISHED_TABLES:
        assert pq.read_table(airflow_out / f"{table}.parquet").to_pylist() == pq.read_table(cli_out / f"{table}.parquet").to_pylist()
        assert (airflow_out / f"{table}.csv").read_bytes() == (cli_out / f"{table}.csv").read_bytes()
