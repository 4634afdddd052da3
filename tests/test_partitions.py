"""A settlement run split into partitions of GSP Groups publishes exactly what one partition holding every
group publishes (as `mhhs settle` runs it). Airflow's split, one partition per group, is compared with
`mhhs settle` in tests/test_dags.py; here the partitions are uneven, without Airflow."""

import shutil
from datetime import date
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from pipelines import cli
from pipelines.core.errors import MhhsError
from pipelines.core.mpan import check_digit
from pipelines.jobs.settlement import finish_run, settle
from pipelines.settle.partition import settle_partition
from pipelines.settle.publish import PUBLISHED_TABLES
from pipelines.settle.run import open_run, run_gsp_groups, start_run
from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.integration

SAMPLE = PROJECT_ROOT / "sample_data" / "landing"
DAY = date(2026, 10, 25)
COMPARED = [*PUBLISHED_TABLES, "quarantine"]


UNREGISTERED_MPAN = "199999999999" + str(check_digit("199999999999"))


@pytest.fixture(scope="module")
def ingested(tmp_path_factory):
    """The sample, plus a day of reads for an MPAN registered in no GSP Group."""
    landing = tmp_path_factory.mktemp("landing") / "landing"
    shutil.copytree(SAMPLE, landing)
    rows = [f"{UNREGISTERED_MPAN},AI,2026-10-25T{hour:02d}:{minute:02d}:00Z,0.100,A,SDSC,2026-10-26T01:00:00Z"
            for hour in range(23) for minute in (0, 30)]
    (landing / "consumption" / "unregistered_2026-10-25.csv").write_text(
        "mpan_core,measurement_quantity,utc_period_start,kwh,quality_flag,data_service_id,received_at\n"
        + "\n".join(rows) + "\n")
    data_dir = tmp_path_factory.mktemp("ingested") / "data"
    assert cli.main(["--data-dir", str(data_dir), "ingest", str(landing)]) == 0
    return data_dir


def copy_of(ingested: Path, folder: Path) -> Path:
    shutil.copytree(ingested, folder / "data")
    return folder / "data"


def published(run_dir: Path) -> dict[str, list[dict]]:
    return {table: pq.read_table(run_dir / "published" / f"{table}.parquet").to_pylist() for table in COMPARED}


def test_uneven_partitions_publish_what_one_partition_publishes(ingested, tmp_path):
    whole = settle(copy_of(ingested, tmp_path / "whole"), DAY, "SF", SAMPLE / "standing")

    data_dir = copy_of(ingested, tmp_path / "split")
    run = start_run(data_dir, DAY, "SF", SAMPLE / "standing")
    groups = run_gsp_groups(run)
    # the first group's partition also checks submissions of MPANs registered nowhere
    partitions = [groups[7:], groups[1:7], groups[:1]]
    for partition in partitions:
        # as a separate task would see the run: opened again from its folder
        settle_partition(open_run(run.run_dir, run.out_dir), partition)
    split = finish_run(open_run(run.run_dir, run.out_dir))

    assert len(groups) == 14
    assert len(list((split.run_dir / "partitions").iterdir())) == 3
    whole_outputs, split_outputs = published(whole.run_dir), published(split.run_dir)
    # the sample settles several groups and refuses submissions of MPANs registered nowhere
    assert len({row["gsp_group_id"] for row in whole_outputs["supplier_volumes"]}) > 1
    assert {row["mpan_core"] for row in whole_outputs["quarantine"] if row["reason_code"] == "NOT_REGISTERED"} == {UNREGISTERED_MPAN}
    for table in COMPARED:
        assert split_outputs[table] == whole_outputs[table], table
    for table in PUBLISHED_TABLES:
        csv = f"{table}.csv"
        assert (split.run_dir / "published" / csv).read_bytes() == (whole.run_dir / "published" / csv).read_bytes()
    for basis in ("registrations_in_force", "consumption_after_estimation"):
        assert (pq.read_table(split.run_dir / "basis" / f"{basis}.parquet").to_pylist()
                == pq.read_table(whole.run_dir / "basis" / f"{basis}.parquet").to_pylist())
    # one parse of the dbt project serves every partition: the first parses it, the others reuse its parse
    logs = [(split.run_dir / "partitions" / "-".join(partition) / "logs" / "dbt.log").read_text() for partition in partitions]
    assert "Unable to do partial parsing because saved manifest not found" in logs[0]
    assert not any("Unable to do partial parsing" in log for log in logs[1:])
    assert len(list((data_dir / "dbt_parse").glob("*.msgpack"))) == 1


def test_a_run_with_a_gsp_group_left_unsettled_stops_and_says_which(ingested, tmp_path):
    data_dir = copy_of(ingested, tmp_path)
    run = start_run(data_dir, DAY, "SF", SAMPLE / "standing")
    groups = run_gsp_groups(run)
    settle_partition(run, groups[:-1])
    with pytest.raises(MhhsError, match=f"nothing was published: GSP Groups {groups[-1]} were not settled"):
        finish_run(run)
    assert not (run.out_dir / "SF" / DAY.isoformat()).exists()
    status, = duckdb.connect().execute(f"SELECT status FROM read_parquet('{run.run_dir / 'finished.parquet'}')").fetchone()
    assert status == "failed"


def test_a_partition_of_groups_the_run_does_not_have_is_refused(ingested, tmp_path):
    run = start_run(copy_of(ingested, tmp_path), DAY, "SF", SAMPLE / "standing")
    with pytest.raises(MhhsError, match="got _Z"):
        settle_partition(run, ["_A", "_Z"])
