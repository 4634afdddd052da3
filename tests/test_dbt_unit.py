"""The dbt unit tests (`unit_tests:` in dbt_project/models/**/*_unit_tests.yml): every piece of settlement
arithmetic checked on hand-written given/expect rows, run with the real dbt CLI.

dbt infers the column types of `given` rows from the upstream relations, so they must exist: the fixture
builds a throwaway warehouse in tmp_path the way `mhhs settle` does (a `standing` schema with the standing
tables, a lake written by the real ingestion from a one-MPAN landing directory) and runs the models once
on it. The unit tests themselves never read that data.
"""

import os
import re
import subprocess
from datetime import date
from pathlib import Path

import pytest
import yaml

from pipelines import catalogue
from pipelines.jobs.ingestion import ingest
from pipelines.reference.lake import Lake
from pipelines.reference.standing_data import empty_table, expand_llf, load_standing_data
from pipelines.settle.run import create_standing_schema
from tests.conftest import BIN_DIR, PROJECT_ROOT

DBT_PROJECT = PROJECT_ROOT / "dbt_project"
SETTLEMENT_DATE = "2026-10-25"
MPAN = "1200012345679"


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
    return warehouse, Lake(data_dir).root


def dbt(root: Path, warehouse: Path, lake_dir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "MHHS_WAREHOUSE": str(warehouse), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    return subprocess.run(
        [str(BIN_DIR / "dbt"), *args, "--vars", f'{{"lake_dir": "{lake_dir}", "settlement_date": "{SETTLEMENT_DATE}"}}',
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
        "int_settlement_periods", "int_registrations_in_force", "int_consumption_checked", "int_consumption_current",
        "int_consumption_refused", "int_consumption_gaps", "int_consumption_estimated", "int_estimation_load_shapes",
        "int_line_loss_factors", "int_supplier_period_volumes", "int_gsp_group_correction", "supplier_volumes",
        "gsp_group_correction", "int_mpan_check_digit_failures", "int_review_flags",
    }


def test_dbt_unit_tests_pass(environment):
    root, warehouse, lake_dir = environment
    expected = [t["name"] for t in unit_test_definitions()]
    result = dbt(root, warehouse, lake_dir, "test", "--select", "test_type:unit")
    failed = re.findall(r"Failure in unit_test (\S+)", result.stdout)
    assert result.returncode == 0, f"failed unit tests {failed}:\n{result.stdout[-6000:]}"
    summary = _summary(result.stdout)
    assert summary["TOTAL"] == summary["PASS"] == len(expected), summary
