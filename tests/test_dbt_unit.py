"""The dbt unit tests (`unit_tests:` in each model's properties YAML, dbt_project/models/**/<model>.yml): every
piece of settlement arithmetic checked on hand-written given/expect rows, run with the real dbt CLI.

dbt infers the column types of `given` rows from the upstream relations, so they must exist: the fixture
builds a throwaway warehouse in tmp_path the way `mhhs settle` does (a `standing` schema with the standing
tables, a `settlement_run` schema with the run's parameters and landing files, a lake written by the real
ingestion from a one-MPAN landing directory) and runs the models once on it. The unit tests themselves never
read that data.
"""

import json
import os
import re
import subprocess
from datetime import date
from pathlib import Path

import duckdb
import pytest
import yaml

from pipelines import catalogue
from pipelines.jobs.ingestion import ingest
from pipelines.reference.lake import Lake
from pipelines.reference.standing_data import empty_table, expand_llf, load_standing_data
from pipelines.settle.partition import write_run_inputs
from pipelines.settle.run import create_standing_schema
from tests.conftest import BIN_DIR, PROJECT_ROOT

pytestmark = pytest.mark.dbt

DBT_PROJECT = PROJECT_ROOT / "dbt_project"
SETTLEMENT_DATE = "2026-10-25"
MPAN = "1200012345679"
# The run the unit tests compile for, where a test's overrides give no other parameter.
RUN_PARAMETERS = {"settlement_date": SETTLEMENT_DATE, "run_id": "SF-2026-10-25-v1", "run_type": "SF",
                  "run_started_at": "2026-11-27T00:00:00Z", "gsp_group_ids": None, "checks_unregistered": True}


def unit_test_definitions() -> list[dict]:
    """Every unit test written in the project's YAML files."""
    tests = []
    for path in sorted((DBT_PROJECT / "models").rglob("*.yml")):
        tests += (yaml.safe_load(path.read_text()) or {}).get("unit_tests") or []
    return tests


def prepare_environment(root: Path) -> tuple[Path, Path]:
    """A warehouse with every relation the models read, and a lake dir; returns (warehouse, lake_dir)."""
    landing = root / "landing"
    (landing / "registrations").mkdir(parents=True)
    (landing / "consumption").mkdir()
    (landing / "registrations" / "registrations_2026-10-23.csv").write_text(
        ",".join(catalogue.dataset_columns("registrations")) + "\n"
        f"2026-10-23,{MPAN},AI,2020-01-01,,SUPA,SDSA,_A,D01,S,E,Y,HH,2700,\n"
    )
    (landing / "consumption" / f"consumption_{SETTLEMENT_DATE}.csv").write_text(
        ",".join(catalogue.dataset_columns("consumption")) + "\n"
        f"{MPAN},AI,2026-10-25T00:00:00Z,0.250,A,SDSA,2026-10-26T01:00:00Z\n"
    )
    data_dir = root / "data"
    summary = ingest(landing, data_dir)
    assert not summary.refused
    standing = load_standing_data(None)
    tables = {
        "llf": expand_llf(standing.distributors, standing.llfc, [date.fromisoformat(SETTLEMENT_DATE)]),
        "gsp_group_take": empty_table("gsp_group_take"),
        "ccc": standing.ccc,
        "gsp_groups": standing.gsp_groups,
        "load_shape_default": standing.load_shape_default,
        "load_shape_season": standing.load_shape_season,
        "load_shapes": empty_table("load_shapes"),
        "bank_holidays": standing.bank_holidays,
    }
    warehouse = root / "warehouse.duckdb"
    create_standing_schema(warehouse, tables)
    with duckdb.connect(str(warehouse)) as con:
        write_run_inputs(con, RUN_PARAMETERS, Lake(data_dir).glob("ingestion_log"))
    return warehouse, Lake(data_dir).root


def dbt(root: Path, warehouse: Path, lake_dir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "MHHS_WAREHOUSE": str(warehouse), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    return subprocess.run(
        [str(BIN_DIR / "dbt"), *args, "--vars", json.dumps({"lake_dir": str(lake_dir)}),
         "--profiles-dir", ".", "--target-path", str(root / "target"), "--log-path", str(root / "logs")],
        cwd=DBT_PROJECT, env=env, capture_output=True, text=True,
    )


@pytest.fixture(scope="module")
def environment(tmp_path_factory):
    root = tmp_path_factory.mktemp("dbt_unit")
    warehouse, lake_dir = prepare_environment(root)
    built = dbt(root, warehouse, lake_dir, "run", "--select", "path:models/staging", "path:models/intermediate",
                "path:models/marts")
    assert built.returncode == 0, built.stdout[-3000:]
    return root, warehouse, lake_dir


def _summary(stdout: str) -> dict[str, int]:
    match = re.search(r"Done\. (PASS=\d+.*TOTAL=\d+)", stdout)
    assert match, stdout[-3000:]
    return {k: int(v) for k, v in re.findall(r"(\w+(?:-\w+)?)=(\d+)", match.group(1))}


def test_every_settlement_formula_has_unit_tests():
    tested = {t["model"] for t in unit_test_definitions()}
    assert tested >= {
        "int_settlement_periods", "int_registrations_in_force_everywhere", "int_registrations_in_force",
        "int_consumption_checked", "int_consumption_current",
        "int_consumption_refused", "int_consumption_gaps", "int_consumption_estimated", "int_estimation_load_shapes",
        "int_line_loss_factors", "int_supplier_period_volumes", "int_gsp_group_correction", "supplier_volumes",
        "gsp_group_correction", "int_mpan_check_digit_failures", "int_review_flags",
        # the Load Shaping Service and register reads
        "int_load_shape_season", "int_load_shape_actuals", "int_load_shapes_of_the_day", "int_load_shapes",
        "int_register_reads_checked", "int_register_read_days", "int_register_reads_shaped",
    }


def test_dbt_unit_tests_pass(environment):
    root, warehouse, lake_dir = environment
    expected = [t["name"] for t in unit_test_definitions()]
    result = dbt(root, warehouse, lake_dir, "test", "--select", "test_type:unit")
    failed = re.findall(r"Failure in unit_test (\S+)", result.stdout)
    assert result.returncode == 0, f"failed unit tests {failed}:\n{result.stdout[-6000:]}"
    summary = _summary(result.stdout)
    assert summary["TOTAL"] == summary["PASS"] == len(expected), summary


def test_one_properties_yaml_per_model_with_its_unit_tests():
    """jaffle-shop's layout: each model's description, columns and unit tests in <model>.yml beside it."""
    models = {path.stem: path for path in (DBT_PROJECT / "models").rglob("*.sql")}
    for name, sql in models.items():
        properties = sql.with_suffix(".yml")
        assert properties.exists(), f"{name} has no properties YAML"
        document = yaml.safe_load(properties.read_text())
        assert [model["name"] for model in document["models"]] == [name]
        assert document["models"][0].get("description"), name
        assert {test["model"] for test in document.get("unit_tests") or []} <= {name}
    assert not list((DBT_PROJECT / "models").rglob("*_unit_tests.yml"))


def test_the_marts_have_enforced_contracts_with_every_column_typed():
    for sql in (DBT_PROJECT / "models" / "marts").glob("*.sql"):
        model = yaml.safe_load(sql.with_suffix(".yml").read_text())["models"][0]
        assert model["config"]["contract"] == {"enforced": True}, sql.stem
        assert all(column.get("data_type") and column.get("description") for column in model["columns"]), sql.stem
