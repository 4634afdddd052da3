import importlib
import json
import re
from pathlib import Path

import duckdb
import pandas as pd
import pandera.pandas as pa
import pytest
import yaml

from pipelines import catalogue
from pipelines.architecture import catalogue_artefacts as artefacts
from pipelines.catalogue import CatalogueError
from pipelines.catalogue.pandera_schemas import pandera_schema
from tests.conftest import PROJECT_ROOT, SHARED_DIR

pytestmark = pytest.mark.unit

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


# ---- every rule defined once: reason codes, stopping checks, types, weights, newest snapshot, run types ----------

CODE = re.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$")
SQL_CODE = re.compile(r"'([A-Z][A-Z0-9_]{3,})'")  # a code as an SQL literal in dbt (OUTLIER has no underscore)
PYTHON_SQL_CODE = re.compile(r"'([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)'")  # in SQL built by Python (not 'VARCHAR')
ENVIRONMENT = ("MHHS_", "DBT_", "AIRFLOW_")  # names of environment variables, not codes
PACKAGE = PROJECT_ROOT / "pipelines"
DBT_SQL = sorted(path for folder in ("models", "macros", "tests") for path in (PROJECT_ROOT / "dbt_project" / folder).rglob("*.sql"))
GENERATED_MACROS = PROJECT_ROOT / "dbt_project/macros/catalogue/catalogue_rules.sql"


def _known_codes() -> set[str]:
    """The catalogue's reason codes and the codes of the item rules ingestion checks (<ITEM>_<RULE>)."""
    from pipelines.catalogue.sql_rules import rules_for

    rule_codes = {rule.reason_code for dataset in catalogue.datasets_of_kind("input") for item in dataset.columns
                  for rule in rules_for(item)}
    return set(catalogue.load().reason_codes) | rule_codes


def _python_codes() -> dict[str, set[str]]:
    """Reason codes written as literals in the package: whole strings, and SQL literals inside strings."""
    import ast

    trees = {path: ast.parse(path.read_text()) for path in PACKAGE.rglob("*.py")}
    # names the package binds (constants, functions, imports): a string naming one (in __all__, say) is no code
    bound = {name for tree in trees.values() for node in ast.walk(tree) for name in (
        [node.id] if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) else
        [node.name] if isinstance(node, (ast.FunctionDef, ast.ClassDef)) else
        [alias.asname or alias.name for alias in node.names] if isinstance(node, ast.ImportFrom) else [])}
    found: dict[str, set[str]] = {}
    for path, tree in trees.items():
        strings = [node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)]
        codes = {s for s in strings if CODE.match(s) and not s.startswith(ENVIRONMENT) and s not in bound}
        codes |= {code for s in strings for code in PYTHON_SQL_CODE.findall(s)}
        for code in codes:
            found.setdefault(code, set()).add(str(path.relative_to(PROJECT_ROOT)))
    return found


def _dbt_codes() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in DBT_SQL:
        for code in SQL_CODE.findall(path.read_text()):
            found.setdefault(code, set()).add(str(path.relative_to(PROJECT_ROOT)))
    return found


def test_every_reason_code_in_python_or_dbt_sql_is_in_the_catalogue():
    known = _known_codes()
    unknown = {code: where for code, where in {**_python_codes(), **_dbt_codes()}.items() if code not in known}
    assert unknown == {}, "add these codes with their words to catalogue.yml (reason_codes)"


def test_every_catalogue_reason_code_is_given_somewhere():
    """Vice versa: a code nothing gives any more is marked `retired`; settlement's codes come from dbt."""
    python_words = set(re.findall(r"\b[A-Z][A-Z0-9_]+\b", "".join(
        p.read_text() for p in PACKAGE.rglob("*.py") if p.name != "reasons.py")))
    dbt = _dbt_codes()
    for code in catalogue.load().reason_codes.values():
        if code.retired:
            continue
        if code.stage == "settlement":
            assert code.code in dbt, f"{code.code}: no dbt model gives it"
        else:
            assert code.code in python_words, f"{code.code}: no code of the package gives it"


def test_the_code_reads_the_reasons_words_from_the_catalogue():
    from pipelines.ingest import reasons
    from pipelines.outputs.warehouse import SETTLEMENT_REFUSALS
    from pipelines.settle.partition import STOPPING_CHECKS

    parameters = artefacts.reason_parameters()
    assert reasons.ROW_REASONS == catalogue.reasons("ingestion", "rows")
    assert reasons.FILE_REASONS == catalogue.reasons("ingestion", "files")
    assert reasons.UNSAFE_FILE_REASONS == catalogue.reasons("ingestion", "unsafe_files", **parameters)
    assert SETTLEMENT_REFUSALS == catalogue.reasons("settlement", "refusals")
    assert STOPPING_CHECKS == catalogue.stopping_check_messages()
    page = (PROJECT_ROOT / "docs/reason_codes.md").read_text()
    assert all(f"`{code}`" in page for code in _known_codes() | set(catalogue.load().stopping_checks))


def test_every_settlement_stopping_check_is_in_the_catalogue_and_names_a_real_rule():
    tests = {path.stem for path in (PROJECT_ROOT / "dbt_project/tests/settlement").glob("*.sql")}
    assert tests == set(catalogue.load().stopping_checks)
    rules = catalogue.load().settlement_rules
    assert {check.rule for check in catalogue.load().stopping_checks.values()} - {None} <= set(rules)
    # the correction identity's tolerance is stated once (a parameter of the rule), for the gate and for dbt
    assert "{tolerance_kwh}" not in rules["correction_identity"].query
    assert "0.001" in rules["correction_identity"].query and "0.001 kWh" in rules["correction_identity"].description
    for path in (PROJECT_ROOT / "dbt_project/tests/settlement").glob("*.sql"):
        assert not re.search(r"\b0\.0*1\b", path.read_text()), f"{path.name}: read the tolerance from the catalogue"
    identity = PROJECT_ROOT / "dbt_project/tests/settlement/assert_corrected_volumes_add_up_to_gsp_group_take.sql"
    assert "{{ correction_tolerance_kwh() }}" in identity.read_text()


def test_dbt_reads_the_check_digit_weights_and_the_newest_snapshot_rule_from_the_generated_macros():
    from pipelines.core.mpan import CHECK_WEIGHTS

    weights = ", ".join(map(str, CHECK_WEIGHTS[:4]))
    for path in DBT_SQL:
        if path == GENERATED_MACROS:
            continue
        text = path.read_text()
        assert weights not in text, f"{path.name} restates the MPAN check-digit weights: use mpan_check_weights()"
        assert not re.search(r"max\(\s*snapshot_date\s*\)\s*over", text, re.I), \
            f"{path.name} restates the newest-snapshot rule: use registrations_newest_snapshot_date()"
    users = "".join(path.read_text() for path in DBT_SQL if path != GENERATED_MACROS)
    assert "mpan_check_weights()" in users and "registrations_newest_snapshot_date()" in users


def test_the_warehouse_keeps_the_newest_snapshot_by_the_catalogue_rule(tmp_path):
    from pipelines.catalogue.sql_rules import newest_version
    from pipelines.reference.lake import Lake
    from pipelines.reference.lake_views import lake_view_definitions

    rule = newest_version(catalogue.dataset("registrations"))
    assert rule == "max(snapshot_date) over (partition by mpan_core)"
    assert rule in lake_view_definitions(Lake(tmp_path))["registrations_current"]
    assert rule in GENERATED_MACROS.read_text()


def test_one_type_map():
    """Every tool's type for a catalogue item comes from catalogue.TYPE_MAP."""
    import ast

    from pandera.engines import pandas_engine

    from pipelines.catalogue.dip_schema import item_schema
    from pipelines.catalogue.sql_rules import sql_type

    for item in catalogue.load().items.values():
        assert sql_type(item) == item.duckdb_type
        assert item_schema(item)["type"] == catalogue.TYPE_MAP[item.type].json_schema
    for name in ("consumption", "registrations", "ccc", "llf"):
        for column_name, column in pandera_schema(name).columns.items():
            item = catalogue.dataset(name).column(column_name)
            assert column.dtype == pandas_engine.Engine.dtype(item.pandas_dtype), column_name
    # no other map keyed by the catalogue's types (one known copy, in a module owned elsewhere)
    maps = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Dict) and sum(isinstance(k, ast.Constant) and k.value in catalogue.TYPES
                                                  for k in node.keys) >= 3:
                maps.add(str(path.relative_to(PROJECT_ROOT)))
    # standing data reads decimals as DOUBLE and integers as BIGINT for pandera: to derive from TYPE_MAP's pandas types
    assert maps <= {"pipelines/catalogue/__init__.py", "pipelines/reference/standing_data/__init__.py"}


def test_the_records_arrow_schemas_are_the_catalogues():
    from pipelines.reference.ingestion_log import INGESTION_LOG_COLUMNS, INGESTION_LOG_SCHEMA
    from pipelines.settle.run import FINISHED_SCHEMA, SETTLEMENT_RUNS_SCHEMA, STARTED_SCHEMA

    log = catalogue.record("ingestion_log")
    assert INGESTION_LOG_SCHEMA.equals(log.arrow_schema())
    assert INGESTION_LOG_COLUMNS == {"source_file": "VARCHAR", "dataset": "VARCHAR", "file_sha256": "VARCHAR",
                                     "status": "VARCHAR", "rows_in": "BIGINT", "rows_accepted": "BIGINT",
                                     "rows_quarantined": "BIGINT", "reason_code": "VARCHAR", "reason": "VARCHAR",
                                     "rejections": "VARCHAR", "ingested_at": "TIMESTAMPTZ", "file_id": "VARCHAR"}
    # what ingestion writes with (its own copies, in whichever of its modules, until it imports these) must be
    # the catalogue's
    expected = {"INGESTION_LOG_SCHEMA": log.arrow_schema(), "QUARANTINE_SCHEMA": catalogue.dataset("quarantine").arrow_schema()}
    found = 0
    for path in (PACKAGE / "ingest").glob("*.py"):
        module = importlib.import_module("pipelines.ingest" + ("" if path.stem == "__init__" else "." + path.stem))
        for name, schema in expected.items():
            if hasattr(module, name):
                found += 1
                assert getattr(module, name).equals(schema), f"{module.__name__}.{name}"
    assert found >= 2
    assert STARTED_SCHEMA.names == [c for c in catalogue.dataset_columns("settlement_runs")
                                    if c not in ("succeeded_at", "status")]
    assert SETTLEMENT_RUNS_SCHEMA.equals(catalogue.dataset("settlement_runs").arrow_schema())
    assert str(SETTLEMENT_RUNS_SCHEMA.field("version").type) == "int32"
    assert FINISHED_SCHEMA.names == ["status", "finished_at", "reason"]
    assert "## Records" in (PROJECT_ROOT / "docs/data_dictionary.md").read_text()


def test_run_types_are_ordered_once():
    from pipelines.outputs.warehouse import RUN_TYPE_ORDER
    from pipelines.reference.standing_data.calendar import SettlementCalendar

    order = list(catalogue.load().items["run_type"].allowed_values)
    assert RUN_TYPE_ORDER == "[" + ", ".join(f"'{r}'" for r in order) + "]"
    calendar = SettlementCalendar.from_standing_data()
    assert calendar.order == [run_type for run_type in order if run_type in calendar.working_days_after]
