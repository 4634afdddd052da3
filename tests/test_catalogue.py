import json
import re
from pathlib import Path

import duckdb
import pandas as pd
import pandera.pandas as pa
import pytest
import yaml

from pipelines import catalogue
from pipelines.catalogue import CatalogueError, artefacts
from pipelines.catalogue.pandera_schemas import pandera_schema
from tests.conftest import PROJECT_ROOT, SHARED_DIR

CONTRACT = SHARED_DIR / "CONTRACT.md"
requires_contract = pytest.mark.skipif(not CONTRACT.exists(), reason="../shared/CONTRACT.md is not beside this checkout")


def test_committed_artefacts_match_what_the_catalogue_generates():
    drifted = artefacts.write_artefacts(check_only=True, root=PROJECT_ROOT)
    assert drifted == [], f"regenerate with `make catalogue`: {drifted}"


def test_drift_is_detected_when_an_artefact_is_edited(tmp_path):
    artefacts.write_artefacts(root=tmp_path)
    assert artefacts.write_artefacts(check_only=True, root=tmp_path) == []
    suite = tmp_path / "expectations/suites/ccc.json"
    suite.write_text(suite.read_text().replace('"S"', '"X"'))
    assert artefacts.write_artefacts(check_only=True, root=tmp_path) == [Path("expectations/suites/ccc.json")]


def _contract_tables() -> dict[str, list[str]]:
    """Column names of every table in CONTRACT.md, keyed by the heading or file name they follow."""
    tables, name = {}, None
    for line in CONTRACT.read_text().splitlines():
        heading = re.match(r"^#+ .*?`([a-z_]+)[/`.]", line) or re.match(r"^`([a-z_]+)`:", line)
        if heading:
            name = heading.group(1)
        cell = re.match(r"^\| `([a-z_]+(?:`, `[a-z_]+)*)`", line)
        if cell and name:
            tables.setdefault(name, []).extend(cell.group(1).split("`, `"))
        inline = re.match(r"^`([a-z_]+)`[^:]*: `([a-z_, ]+)`", line)
        if inline:
            tables[inline.group(1)] = inline.group(2).split(", ")
            # "(v2 adds `dispute_reference`, empty unless DF, and `standing_data`, ...)"
            added = re.search(r"\(v2 adds (.*)\)", line)
            if added:
                tables[inline.group(1)] += re.findall(r"`([a-z_]+)`", added.group(1))
        file_row = re.match(r"^\| `([a-z_]+)\.csv` \| `?([^|]+?)`? \|", line)
        if file_row:
            tables[file_row.group(1)] = [c.strip(" `") for c in re.split(r",", file_row.group(2).split("(")[0])]
    return tables


@requires_contract
def test_every_contract_column_is_a_catalogue_item_in_the_right_dataset():
    tables = _contract_tables()
    expected = {"consumption", "registrations", "llf", "gsp_group_take", "ccc", "settlement_calendar",
                "bank_holidays", "supplier_volumes", "gsp_group_correction", "settlement_runs", "quarantine"}
    assert expected <= set(tables), f"could not read CONTRACT.md tables: {sorted(tables)}"
    for name in expected:
        contract = set(tables[name]) | EXTENSIONS.get(name, set())
        assert sorted(catalogue.dataset_columns(name)) == sorted(contract), name


# Columns the project adds to a contract table (CONTRACT.md: extending the contract is fine).
EXTENSIONS = {"settlement_runs": {"data_cut_off"}}  # DOMAIN.md section 8: every run records its data cut-off


def test_domain_data_items_are_all_defined():
    items = catalogue.load().items
    for name in ["mpan_core", "measurement_quantity", "utc_period_start", "settlement_date", "settlement_period",
                 "kwh", "quality_flag", "supplier_id", "data_service_id", "gsp_group_id", "llfc_id",
                 "market_segment", "energisation_status", "domestic_premises", "consent_granularity",
                 "annual_consumption_kwh", "bm_unit_id", "effective_from_date", "effective_to_date"]:
        assert name in items
    assert "_I" not in items["gsp_group_id"].allowed_values and len(items["gsp_group_id"].allowed_values) == 14
    for item in items.values():
        assert item.description and item.source and item.type in catalogue.TYPES


def test_a_catalogue_column_that_is_not_an_item_is_refused(tmp_path):
    raw = yaml.safe_load(catalogue.CATALOGUE_FILE.read_text())
    raw["datasets"]["ccc"]["columns"].append("no_such_item")
    path = tmp_path / "catalogue.yml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(CatalogueError, match="no_such_item"):
        catalogue.load(path)


def _good_consumption() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "mpan_core": ["1200012345679", "2000012345672"],
            "measurement_quantity": ["AI", "AE"],
            "utc_period_start": pd.to_datetime(["2026-10-25T00:30:00Z", "2026-10-25T01:00:00Z"]),
            "kwh": [0.123, 0.0],
            "quality_flag": ["A", "E"],
            "data_service_id": ["SDS1", "ADS2"],
            "received_at": pd.to_datetime(["2026-10-26T02:00:00Z", "2026-10-26T02:00:00Z"]),
        }
    )


@pytest.mark.parametrize(
    "column, bad_value, failed_check",
    [
        ("mpan_core", "1234567890123", "MPAN check digit"),
        ("mpan_core", "12000123456", "str_matches"),
        ("measurement_quantity", "RI", "isin"),
        ("utc_period_start", pd.Timestamp("2026-10-25T00:15:00Z"), "starts on a :00 or :30 boundary"),
        ("kwh", -0.5, "greater_than_or_equal_to(0)"),
        ("kwh", 1.2345, "at most 3 decimal places"),
        ("quality_flag", "X", "isin"),
        ("data_service_id", "DS1", "str_matches"),
        ("received_at", pd.NaT, "not_nullable"),
    ],
)
def test_pandera_schema_enforces_each_catalogue_rule(column, bad_value, failed_check):
    schema = pandera_schema("consumption")
    schema.validate(_good_consumption())
    frame = _good_consumption()
    frame.loc[1, column] = bad_value
    with pytest.raises(pa.errors.SchemaErrors) as errors:
        schema.validate(frame, lazy=True)
    cases = errors.value.failure_cases
    assert set(cases["column"]) == {column}
    assert any(failed_check in str(check) for check in cases["check"])


def test_pandera_schema_enforces_the_key():
    frame = pd.concat([_good_consumption()] * 2, ignore_index=True)
    with pytest.raises(pa.errors.SchemaErrors, match="unique"):
        pandera_schema("consumption").validate(frame, lazy=True)


def _run_gx_checkpoint(dataset_name: str, frame: pd.DataFrame):
    import great_expectations as gx

    context = gx.get_context(mode="ephemeral")
    suite_json = json.loads((PROJECT_ROOT / f"expectations/suites/{dataset_name}.json").read_text())
    suite = context.suites.add(gx.ExpectationSuite(**suite_json))
    batch = context.data_sources.add_pandas("standing").add_dataframe_asset(dataset_name)
    definition = batch.add_batch_definition_whole_dataframe("whole")
    validation = context.validation_definitions.add(
        gx.ValidationDefinition(name=dataset_name, data=definition, suite=suite)
    )
    checkpoint = context.checkpoints.add(gx.Checkpoint(name=f"{dataset_name}_checkpoint", validation_definitions=[validation]))
    result = checkpoint.run(batch_parameters={"dataframe": frame})
    failed = [
        r.expectation_config.meta["catalogue_rule"]
        for run in result.run_results.values()
        for r in run.results
        if not r.success
    ]
    return result.success, failed


def test_generated_gx_suites_pass_the_bundled_standing_data_in_a_real_checkpoint():
    from pipelines.reference.standing_data import load_standing_data

    standing = load_standing_data()
    for name in ("gsp_groups", "ccc", "settlement_calendar", "bank_holidays", "llfc"):
        success, failed = _run_gx_checkpoint(name, getattr(standing, name).to_pandas())
        assert success, (name, failed)


def test_generated_gx_suite_fails_broken_standing_data_naming_the_rules():
    from pipelines.reference.standing_data import load_standing_data

    ccc = load_standing_data().ccc.to_pandas()
    ccc.loc[0, "scaling_weight"] = 2.0
    ccc.loc[1, "component"] = "X"
    ccc.loc[2, "ccc_id"] = ccc.loc[3, "ccc_id"]
    success, failed = _run_gx_checkpoint("ccc", ccc)
    assert not success
    assert sorted(failed) == ["component.allowed_values", "key", "scaling_weight.range"]


def test_generated_dbt_tests_pass_on_the_default_seeds_and_catch_a_broken_value(run_dbt):
    build = run_dbt("build", "--select", "resource_type:seed")
    assert build.returncode == 0, build.stdout[-3000:]
    assert "ERROR=0" in build.stdout and "PASS=" in build.stdout
    with duckdb.connect(str(run_dbt.warehouse)) as con:
        assert con.execute("select count(*) from standing.ccc").fetchall() == [(24,)]
        con.execute("update standing.ccc set scaling_weight = 1.5 where ccc_id = 'S01'")
        con.execute("update standing.gsp_groups set gsp_group_id = '_I' where gsp_group_id = '_A'")
    check = run_dbt("test", "--select", "resource_type:seed")
    assert check.returncode != 0
    failures = sorted(re.findall(r"Failure in test (\S+)", check.stdout))
    assert failures == [
        "accepted_values_gsp_groups_gsp_group_id___A___B___C___D___E___F___G___H___J___K___L___M___N___P",
        "within_range_ccc_scaling_weight__1__0",
    ], check.stdout[-3000:]


def test_generated_lake_source_tests_pass_on_the_ingested_sample(run_dbt, tmp_path):
    from pipelines.jobs.ingestion import ingest

    data_dir = tmp_path / "data"
    assert not ingest(PROJECT_ROOT / "sample_data" / "landing", data_dir).refused
    result = run_dbt("test", "--select", "source:lake", "--vars", json.dumps({"lake_dir": str(data_dir / "lake")}))
    assert result.returncode == 0, result.stdout[-3000:]
    passed = int(re.search(r"PASS=(\d+)", result.stdout).group(1))
    assert passed >= len(catalogue.dataset_columns("registrations")), result.stdout[-3000:]
