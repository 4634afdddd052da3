"""The Airflow DAGs (dags/): every DAG loads and is documented, and both run end to end with `airflow dags
test` on the committed (generated) sample, against a metadata database in a temporary AIRFLOW_HOME. Airflow
runs in subprocesses, so its configuration and log handlers never leak into the test process."""

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pipelines.core.errors import MhhsError
from pipelines.jobs.orchestration import INGEST_POOL, INGEST_POOL_SLOTS, settlement_runs_to_perform
from pipelines.settle.publish import PUBLISHED_TABLES
from tests.conftest import PROJECT_ROOT, SAMPLE_DAY

pytestmark = pytest.mark.system

DAGS = PROJECT_ROOT / "dags"
SAMPLE = PROJECT_ROOT / "sample_data" / "landing"
STANDING = SAMPLE / "standing"
# A standing data directory with the files --standing-data requires, independent of the sample.
SCENARIO_STANDING = PROJECT_ROOT / "tests" / "scenarios" / "plain_day" / "given" / "standing"
BIN = Path(sys.executable).parent
DAY = SAMPLE_DAY  # 2026-10-25: the day the shared settled_sample settles through the command line (tests/conftest.py)


def airflow_cli(root: Path, data_dir: Path, landing: Path):
    """The airflow CLI with a fresh AIRFLOW_HOME and SQLite metadata database under `root` (migrated, with the
    ingest pool as scripts/airflow-cluster.sh creates it), the DAGs' folders MHHS_* set; `run.env` its environment
    for subprocesses of its own (`airflow dags test` in the background)."""
    env = {**os.environ, "AIRFLOW_HOME": str(root / "home"), "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
           "AIRFLOW__CORE__LOAD_EXAMPLES": "False", "MHHS_DATA_DIR": str(data_dir),
           "MHHS_LANDING_DIR": str(landing), "MHHS_STANDING_DATA": str(STANDING)}

    def run(*args: str) -> subprocess.CompletedProcess:
        completed = subprocess.run([str(BIN / "airflow"), *args], env=env, capture_output=True, text=True)
        (root / "airflow_output.txt").write_text(completed.stdout + completed.stderr)
        return completed

    assert run("db", "migrate").returncode == 0, (root / "airflow_output.txt").read_text()[-3000:]
    pool = run("pools", "set", INGEST_POOL, str(INGEST_POOL_SLOTS), "one landing file ingested at a time")
    assert pool.returncode == 0, pool.stdout[-3000:] + pool.stderr[-3000:]
    run.root, run.env, run.landing = root, env, landing
    return run


@pytest.fixture(scope="module")
def airflow(tmp_path_factory):
    """Run the airflow CLI with a fresh AIRFLOW_HOME and SQLite metadata database; MHHS_* folders in tmp."""
    root = tmp_path_factory.mktemp("airflow")
    landing = root / "landing"
    shutil.copytree(SAMPLE, landing, ignore=shutil.ignore_patterns("standing"))
    return airflow_cli(root, root / "data", landing)


PARTICIPANT_KINDS = ("supplier", "distributor", "data_service", "saa")


def test_the_publish_step_updates_an_asset_per_kind_of_participant_that_dags_can_be_scheduled_on(airflow):
    facts = (
        "import json\nfrom airflow.dag_processing.dagbag import DagBag\n"
        f"dag = DagBag(dag_folder={str(DAGS)!r}).dags['mhhs_settlement']\n"
        "print(json.dumps([[a.name, a.uri] for a in dag.get_task('gate_and_publish').outlets]))")
    completed = subprocess.run([sys.executable, "-c", facts], env=airflow.env, capture_output=True, text=True)
    assert completed.returncode == 0, completed.stderr[-3000:]
    outlets = json.loads(completed.stdout.strip().splitlines()[-1])
    assert outlets == [[f"mhhs_flows_{kind}", f"file:///mhhs/outbound/participants/{kind}"] for kind in PARTICIPANT_KINDS]
    # a downstream DAG can be scheduled on one of them
    downstream = (
        "from airflow.sdk import Asset, dag, task\nimport pendulum\n"
        "@dag(schedule=[Asset(name='mhhs_flows_supplier', uri='file:///mhhs/outbound/participants/supplier')], "
        "start_date=pendulum.datetime(2026, 1, 1), catchup=False)\n"
        "def deliver_to_suppliers():\n    @task\n    def deliver():\n        pass\n    deliver()\n"
        "d = deliver_to_suppliers()\nprint(type(d.timetable).__name__, repr(d.timetable.asset_condition))")
    completed = subprocess.run([sys.executable, "-c", downstream], env=airflow.env, capture_output=True, text=True)
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "AssetTriggeredTimetable" in completed.stdout and "mhhs_flows_supplier" in completed.stdout


DAG_FACTS = """
import json
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=DAGS_FOLDER)
print(json.dumps({"import_errors": {str(k): str(v) for k, v in bag.import_errors.items()}, "dags": {
    dag.dag_id: {"tags": sorted(dag.tags), "doc_md": dag.doc_md, "catchup": dag.catchup,
                 "schedule": str(dag.schedule), "params": sorted(dag.params.keys()),
                 "tasks": {t.task_id: {"owner": t.owner, "retries": t.retries,
                                       "timeout": t.execution_timeout.total_seconds() if t.execution_timeout else None}
                           for t in dag.tasks}}
    for dag in bag.dags.values()}}))
"""


def test_every_dag_loads_and_has_tags_owner_retries_timeouts_and_docs(airflow):
    completed = subprocess.run([sys.executable, "-c", DAG_FACTS.replace("DAGS_FOLDER", repr(str(DAGS)))], env=airflow.env,
                               capture_output=True, text=True)
    assert completed.returncode == 0, completed.stderr[-3000:]
    facts = json.loads(completed.stdout.strip().splitlines()[-1])
    assert facts["import_errors"] == {}
    assert sorted(facts["dags"]) == ["mhhs_ingest", "mhhs_settlement"]
    for dag_id, dag in facts["dags"].items():
        assert "mhhs" in dag["tags"], dag_id
        assert dag["doc_md"] and dag_id in dag["doc_md"], dag_id
        assert dag["catchup"] is False, dag_id
        for task_id, task in dag["tasks"].items():
            assert task["owner"] == "mhhs-data-engineering", task_id
            assert task["timeout"], task_id
            # only the task that starts run versions is not retried (a retry would start another version)
            assert task["retries"] == (0 if task_id == "start_runs" else 2), task_id
    assert facts["dags"]["mhhs_ingest"]["schedule"] == "*/15 * * * *"
    assert "0 7 * * *" in facts["dags"]["mhhs_settlement"]["schedule"]
    assert facts["dags"]["mhhs_settlement"]["params"] == ["dispute_reference", "run_type", "settlement_date"]


@pytest.mark.unit
def test_the_ingest_tasks_wait_in_a_one_slot_pool_which_the_cluster_creates():
    """Mapped ingest tasks take turns through the Airflow pool (queued, holding no worker slot) rather than on
    the ingestion lock; the native cluster (and so `make airflow` and the scale-out test) creates that pool."""
    from pipelines.architecture.sequence import load_dags

    dags = {dag.dag_id: dag for dag in load_dags(DAGS)}
    pools = {(dag_id, task.task_id): task.pool for dag_id, dag in dags.items() for task in dag.tasks}
    assert pools.pop(("mhhs_ingest", "ingest_file")) == INGEST_POOL == "mhhs_ingest"
    assert set(pools.values()) == {"default_pool"}
    assert dags["mhhs_ingest"].get_task("ingest_file").pool_slots == 1 == INGEST_POOL_SLOTS
    script = (PROJECT_ROOT / "scripts" / "airflow-cluster.sh").read_text()
    assert f'pools set {INGEST_POOL} {INGEST_POOL_SLOTS} "' in script


def published(folder: Path) -> dict[str, list[dict]]:
    return {table: pq.read_table(folder / f"{table}.parquet").to_pylist() for table in PUBLISHED_TABLES}


def test_the_dags_ingest_the_landing_files_and_publish_what_mhhs_settle_publishes(airflow, settled_sample):
    ingested = airflow("dags", "test", "mhhs_ingest")
    assert ingested.returncode == 0, ingested.stdout[-3000:] + ingested.stderr[-3000:]
    data_dir = Path(airflow.env["MHHS_DATA_DIR"])
    # every landing file of every landing folder (v2: registration_updates/ and register_reads/ too)
    landing_files = [p for folder in ("registrations", "registration_updates", "consumption", "register_reads")
                     for p in (airflow.landing / folder).glob("*") if p.is_file()]
    assert {p.parent.name for p in landing_files} == {"registrations", "registration_updates", "consumption", "register_reads"}
    assert len(list((data_dir / "lake" / "ingestion_log").glob("*.parquet"))) == len(landing_files)
    with sqlite3.connect(airflow.root / "home" / "airflow.db") as db:
        (extra,), = db.execute("SELECT extra FROM asset_event WHERE source_dag_id = 'mhhs_ingest'").fetchall()
    assert json.loads(extra) == {"partitions": [
        "consumption/settlement_date=2026-10-24", "consumption/settlement_date=2026-10-25",
        "register_reads/read_end_month=2026-10", "registration_updates/updated_date=2026-10-25",
        "registrations/snapshot_date=2026-10-23", "registrations/snapshot_date=2026-10-26"]}

    settled = airflow("dags", "test", "mhhs_settlement", "--conf", json.dumps({"settlement_date": DAY, "run_type": "SF"}))
    assert settled.returncode == 0, settled.stdout[-3000:] + settled.stderr[-3000:]
    run_dir = data_dir / "runs" / "SF" / DAY / "v1"
    groups = [row["gsp_group_id"] for row in pq.read_table(run_dir / "standing" / "gsp_groups.parquet").to_pylist()]
    assert sorted(p.name for p in (run_dir / "partitions").iterdir()) == sorted(groups) and len(groups) == 14

    # the same day through the command line (`mhhs ingest` of the sample, `mhhs settle` with STANDING: the
    # shared settled_sample): one partition holding every group
    dag_out, cli_out = data_dir / "outbound" / "SF" / DAY, settled_sample / "outbound" / "SF" / DAY
    assert published(dag_out) == published(cli_out)
    for table in PUBLISHED_TABLES:
        assert (dag_out / f"{table}.csv").read_bytes() == (cli_out / f"{table}.csv").read_bytes(), table
    assert len(published(dag_out)["supplier_volumes"]) > 0
    run, = pq.read_table(dag_out / "settlement_runs.parquet").to_pylist()
    assert (run["run_id"], run["status"]) == (f"SF-{DAY}-v1", "succeeded")
    # each participant's flows as the command line cuts them (the JSON messages differ only in sentAt)
    flows = sorted(p.relative_to(cli_out) for p in (cli_out / "participants").rglob("*.csv"))
    assert flows and flows == sorted(p.relative_to(dag_out) for p in (dag_out / "participants").rglob("*.csv"))
    assert all((dag_out / f).read_bytes() == (cli_out / f).read_bytes() for f in flows)
    # one asset event per kind of participant, naming the run published and the kind's folder
    with sqlite3.connect(airflow.root / "home" / "airflow.db") as db:
        events = dict(db.execute("SELECT a.name, e.extra FROM asset_event e JOIN asset a ON a.id = e.asset_id "
                                 "WHERE e.source_dag_id = 'mhhs_settlement' AND e.source_task_id = 'gate_and_publish'"))
    assert sorted(events) == [f"mhhs_flows_{kind}" for kind in sorted(PARTICIPANT_KINDS)]
    for kind in PARTICIPANT_KINDS:
        (event,) = json.loads(events[f"mhhs_flows_{kind}"])["runs"]
        assert (event["run_id"], event["folder"]) == (f"SF-{DAY}-v1", str(dag_out / "participants" / kind))

    again = airflow("dags", "test", "mhhs_ingest")
    assert again.returncode == 0
    with sqlite3.connect(airflow.root / "home" / "airflow.db") as db:
        # nothing new landed: no mapped ingestion ran, so no asset event either
        assert db.execute("SELECT count(*) FROM asset_event WHERE source_dag_id = 'mhhs_ingest'").fetchone() == (1,)


def test_a_run_by_hand_with_a_bad_date_or_half_its_params_fails_with_a_message_and_starts_nothing(airflow):
    runs = Path(airflow.env["MHHS_DATA_DIR"]) / "runs"
    versions_before = sorted(runs.glob("*/*/v*"))
    bad_date = airflow("dags", "test", "mhhs_settlement", "--conf", json.dumps({"settlement_date": "2026-02-30", "run_type": "SF"}))
    assert bad_date.returncode != 0
    assert "Invalid input for param settlement_date: '2026-02-30' is not a 'date'" in bad_date.stdout + bad_date.stderr

    no_date = airflow("dags", "test", "mhhs_settlement", "--conf", json.dumps({"run_type": "SF"}))
    assert "a run by hand needs both settlement_date (YYYY-MM-DD) and run_type" in no_date.stdout + no_date.stderr
    assert sorted(runs.glob("*/*/v*")) == versions_before


@pytest.mark.unit
@pytest.mark.parametrize("today, expected", [
    # Monday 2 November 2026: SF (5 working days after) for Monday 26 October, as the calendar says
    (date(2026, 11, 2), "calendar"),
    # a Saturday: nothing is due
    (date(2026, 10, 31), []),
])
def test_a_scheduled_run_performs_the_runs_the_calendar_has_due(today, expected):
    from pipelines.reference.standing_data import load_standing_data
    from pipelines.reference.standing_data.calendar import SettlementCalendar

    runs = settlement_runs_to_perform(today, None, None, STANDING)
    calendar = SettlementCalendar.from_standing_data(load_standing_data(STANDING))
    assert runs == (calendar.due_runs(today) if expected == "calendar" else expected)
    if expected == "calendar":
        assert runs and all(calendar.due_date(run_type, day) == today for run_type, day in runs)


@pytest.mark.unit
@pytest.mark.parametrize("settlement_date, run_type, message", [
    ("2026-10-25", None, "needs both settlement_date"),
    (None, "SF", "needs both settlement_date"),
    ("25/10/2026", "SF", "is not a date YYYY-MM-DD"),
    ("2026-10-25", "XX", "unknown run type 'XX'"),
])
def test_a_run_by_hand_needs_a_valid_date_and_run_type(settlement_date, run_type, message):
    with pytest.raises(MhhsError, match=message):
        settlement_runs_to_perform(date(2026, 11, 2), settlement_date, run_type, STANDING)


@pytest.mark.unit
def test_a_run_by_hand_performs_just_that_run():
    assert settlement_runs_to_perform(date(2026, 11, 2), DAY, "R1", STANDING) == [("R1", date(2026, 10, 25))]


@pytest.mark.unit
@pytest.mark.parametrize("settlement_date, run_type, dispute, message", [
    (DAY, "SF", "TD-2026-0042", "dispute_reference is only for a DF (Dispute Final) run by hand, not SF"),
    (None, None, "TD-2026-0042", "not the runs the settlement calendar has due"),
    (DAY, "DF", "bad\nreference", "is not a dispute reference"),
])
def test_a_dispute_reference_goes_with_a_df_run_by_hand_only(settlement_date, run_type, dispute, message):
    with pytest.raises(MhhsError, match=re.escape(message)):
        settlement_runs_to_perform(date(2026, 11, 2), settlement_date, run_type, SCENARIO_STANDING, dispute)
    assert settlement_runs_to_perform(date(2026, 11, 2), DAY, "DF", SCENARIO_STANDING, "TD-2026-0042") == [
        ("DF", date(2026, 10, 25))]


def test_the_settlement_dag_keeps_the_timetable_rules_and_takes_the_dispute_reference_as_a_param(airflow):
    """The DAG's start_runs calls the same start_run as `mhhs settle`: a DF by hand without its
    dispute_reference is refused, and a dispute_reference on another run type too; neither starts a run."""
    runs = Path(airflow.env["MHHS_DATA_DIR"]) / "runs"
    versions_before = sorted(runs.glob("*/*/v*"))
    env = {**airflow.env, "MHHS_STANDING_DATA": str(SCENARIO_STANDING)}  # holds llf, gsp_group_take and ccc.csv

    def trigger(conf: dict) -> str:
        completed = subprocess.run([str(BIN / "airflow"), "dags", "test", "mhhs_settlement", "--conf", json.dumps(conf)],
                                   env=env, capture_output=True, text=True)
        assert completed.returncode != 0
        return completed.stdout + completed.stderr

    no_dispute = trigger({"settlement_date": DAY, "run_type": "DF"})
    assert "DF (Dispute Final) run of 2026-10-25 needs the reference of the upheld dispute it settles" in no_dispute
    wrong_type = trigger({"settlement_date": DAY, "run_type": "SF", "dispute_reference": "TD-2026-0042"})
    assert "dispute_reference is only for a DF (Dispute Final) run by hand, not SF" in wrong_type
    assert sorted(runs.glob("*/*/v*")) == versions_before
