"""Artefacts generated from the data catalogue: dbt docs, sources and tests, Great Expectations suites and
the data dictionary. `mhhs catalogue` writes them; `mhhs catalogue --check` (and the drift test) reports
any that differ from what the catalogue generates now.
"""

import json
import re
from pathlib import Path

import yaml

from pipelines import catalogue
from pipelines.catalogue import Dataset, Item
from pipelines.core.paths import PROJECT_ROOT
from pipelines.reference.lake import CONSUMPTION_PERIOD_SLOTS, period_columns
from pipelines.reference.standing_data import DEFAULT_DATASETS
from pipelines.settle.run import STANDING_TABLES

HEADER = "# Generated from pipelines/catalogue/catalogue.yml by `make catalogue`; do not edit.\n"
LAKE_LOCATION = "{{ var('lake_dir') }}"
# Datasets the lake keeps in their catalogue shape, with the catalogue's tests. Consumption lands as one row per
# MPAN-day submission with a column per period (docs/ingestion.md): its source (lake.consumption) is described
# below, its values were checked against the catalogue when they were ingested.
LAKE_DATASETS = ("registrations", "registration_updates", "register_reads")
# Lake datasets kept in hive-partitioned folders that are not one of their columns, read with that partition
# column as text (register reads by the month of read_end_date, read_end_month=YYYY-MM: docs/ingestion.md).
LAKE_PARTITIONS = {"register_reads": "read_end_month"}
# Lake datasets of the optional landing folders (contract v2): a lake may hold none of their files yet, and
# read_parquet refuses a glob that matches nothing, so their source reads with allow_empty and takes its columns
# from a typed empty SELECT (a lake without their files reads as no rows, and their source tests pass on it).
OPTIONAL_LAKE_DATASETS = ("registration_updates", "register_reads")
# The columns the lake adds to a dataset's own: where each row came from.
LAKE_LINEAGE_COLUMNS = ("row_number", "file_sha256", "source_file")
LAKE_CONSUMPTION_DESCRIPTION = (
    "Consumption as the lake keeps it: one row per MPAN-day submission (MPAN, quantity, data service, received_at) "
    "with the day's values one column per period, every settlement date (folder settlement_date=D). Each value "
    "passed the catalogue's rules of the consumption dataset when it was ingested (docs/ingestion.md)."
)
# The lake's own columns of consumption; the others are catalogue items.
LAKE_CONSUMPTION_COLUMNS = {
    "mpan_core": None,
    "measurement_quantity": None,
    "data_service_id": None,
    "received_at": None,
    "period_count": "Values the submission holds for the day.",
    "estimated_mask": "Bit p is set where the value of period p is estimated by the data service (quality_flag E).",
    **{column: f"Value of settlement period {column[-2:]} (kWh, 3 decimal places); empty where the submission has "
               "none (a day has 46, 48 or 50 periods)." for column in period_columns("kwh")},
    "file_sha256": "SHA-256 of the landing file the row came from (its ingestion log entry commits it).",
    "source_file": "Landing file (relative to the landing directory) the row came from.",
    "settlement_date": "The settlement date of the values (the lake folder settlement_date=D).",
}
# The published outputs whose dbt models (models/marts/<name>.sql) get a properties YAML with an enforced
# contract generated from the catalogue.
MART_DATASETS = ("supplier_volumes", "gsp_group_correction", "review_flags", "bm_unit_volumes")
# Where a mart has always been published with another type than the catalogue's, the type it is published with:
# the warehouse reads the published files of every run together, so a published column never changes type.
# (gsp_group_correction.settlement_period is BIGINT, the catalogue's settlement_period INTEGER.)
PUBLISHED_TYPES = {("gsp_group_correction", "settlement_period"): "bigint"}
MART_HEADER = ("# Generated from pipelines/catalogue/catalogue.yml by `make catalogue`, except the unit tests at the end,"
               " which are\n# written by hand and kept as they are; do not edit above them.\n")
UNIT_TESTS_MARK = "\n# ---- unit tests: written by hand; `make catalogue` keeps everything below this line ----\n"


# ---- dbt -------------------------------------------------------------------------------------------


def _dbt_tests(item: Item) -> list:
    tests: list = []
    if not item.nullable:
        tests.append("not_null")
    if item.allowed_values:
        tests.append({"accepted_values": {"arguments": {"values": list(item.allowed_values)}}})
    if item.pattern:
        tests.append({"matches_pattern": {"arguments": {"pattern": item.pattern}}})
    if item.min is not None or item.max is not None:
        tests.append({"within_range": {"arguments": {"min_value": item.min, "max_value": item.max}}})
    if item.type == "decimal" and item.scale is not None:
        tests.append({"max_decimal_places": {"arguments": {"places": item.scale}}})
    if item.warn_min is not None and item.warn_max is not None:
        tests.append(
            {
                "within_range": {
                    "arguments": {"min_value": item.warn_min, "max_value": item.warn_max},
                    "config": {"severity": "warn"},
                }
            }
        )
    tests.extend(item.checks)
    return tests


def _dbt_columns(dataset: Dataset, with_types: bool) -> list[dict]:
    columns = []
    for item in dataset.columns:
        column: dict = {"name": item.name, "description": item.description}
        if with_types:
            column["data_type"] = item.duckdb_type.lower()
        tests = _dbt_tests(item)
        if len(dataset.key) == 1 and dataset.key[0] == item.name:
            tests.insert(0, "unique")
        if tests:
            column["data_tests"] = tests
        columns.append(column)
    return columns


def _dbt_table_tests(dataset: Dataset) -> list:
    groups = [dataset.key] if len(dataset.key) > 1 else []
    groups += list(dataset.unique)
    return [{"unique_combination": {"arguments": {"combination_of_columns": list(group)}}} for group in groups]


def _with_table_tests(entry: dict, dataset: Dataset) -> dict:
    tests = _dbt_table_tests(dataset)
    if tests:
        entry["data_tests"] = tests
    return entry


def _optional_lake_location(dataset: Dataset) -> str:
    """The source location of an optional lake dataset: its files (none is no rows), with its partition column
    read as text where it has one. No braces: dbt-duckdb formats the location with str.format."""
    items = catalogue.load().items
    columns = {item.name: item.duckdb_type for item in dataset.columns}
    columns |= {name: items[name].duckdb_type for name in LAKE_LINEAGE_COLUMNS}
    options = "hive_partitioning = false"
    if dataset.name in LAKE_PARTITIONS:
        columns[LAKE_PARTITIONS[dataset.name]] = "VARCHAR"
        options = "hive_partitioning = true, hive_types_autocast = false"
    typed_nulls = ", ".join(f"NULL::{duckdb_type} AS {name}" for name, duckdb_type in columns.items())
    return (f"(SELECT {', '.join(columns)} FROM (SELECT * FROM read_parquet('{LAKE_LOCATION}/{dataset.name}/**/*.parquet', "
            f"{options}, allow_empty = true) UNION ALL BY NAME SELECT {typed_nulls} WHERE false))")


def dbt_sources() -> str:
    tables = []
    for dataset in map(catalogue.dataset, LAKE_DATASETS):
        entry = {
            "name": dataset.name,
            "description": dataset.description,
            "config": {"external_location": f"{LAKE_LOCATION}/{dataset.name}/**/*.parquet"},
            "columns": _dbt_columns(dataset, with_types=False),
        }
        if dataset.name in OPTIONAL_LAKE_DATASETS:
            entry["config"]["external_location"] = _optional_lake_location(dataset)
        tables.append(_with_table_tests(entry, dataset))
    items = catalogue.load().items
    tables.append({
        "name": "consumption",
        "description": LAKE_CONSUMPTION_DESCRIPTION,
        "config": {"external_location": f"read_parquet('{LAKE_LOCATION}/consumption/**/*.parquet', hive_partitioning = true)"},
        "columns": [{"name": name, "description": description or items[name].description}
                    for name, description in LAKE_CONSUMPTION_COLUMNS.items()],
    })
    document = {
        "version": 2,
        "sources": [{"name": "lake", "description": "The Parquet lake written by `mhhs ingest`.", "tables": tables}],
    }
    return HEADER + yaml.safe_dump(document, sort_keys=False, width=120)


def dbt_standing_sources() -> str:
    """The run's standing data as `mhhs settle` loads it into each partition's DuckDB file (schema standing)."""
    tables = []
    for name in STANDING_TABLES:
        dataset = catalogue.dataset(name)
        tables.append({
            "name": name,
            "description": dataset.description + " The run's own, loaded and validated against the data catalogue by "
                                                 "`mhhs settle`.",
            "columns": [{"name": item.name, "description": item.description} for item in dataset.columns],
        })
    document = {
        "version": 2,
        "sources": [{"name": "standing", "description": "The standing data of the settlement run (schema standing of "
                     "the partition's DuckDB file).", "schema": "standing", "tables": tables}],
    }
    return HEADER + yaml.safe_dump(document, sort_keys=False, width=120)


def dbt_mart_properties(dataset: Dataset, unit_tests: str = "") -> str:
    """A mart's properties YAML: its contract (every column's type and description, enforced when dbt builds
    it) from the catalogue's output dataset, then its unit tests (unit_tests, kept as written by hand)."""
    columns = [{"name": item.name, "description": item.description,
                "data_type": PUBLISHED_TYPES.get((dataset.name, item.name), item.duckdb_type.lower())}
               for item in dataset.columns]
    model = {"name": dataset.name, "description": dataset.description,
             "config": {"contract": {"enforced": True}}, "columns": columns}
    text = yaml.safe_dump({"version": 2, "models": [model]}, sort_keys=False, width=120)
    return MART_HEADER + text + UNIT_TESTS_MARK + unit_tests


def dbt_period_macros() -> str:
    """The number of period columns a day's values are kept in: the most periods a local day can have."""
    slots = int(catalogue.load().items["settlement_period"].max)
    if slots != CONSUMPTION_PERIOD_SLOTS:
        raise ValueError(f"settlement_period is at most {slots} in the catalogue but the lake keeps "
                         f"{CONSUMPTION_PERIOD_SLOTS} period columns (pipelines.reference.lake)")
    return "\n".join([
        "{#- Generated from pipelines/catalogue/catalogue.yml by `make catalogue`; do not edit. -#}",
        "",
        "{#- The most settlement periods a local day can have (the catalogue's settlement_period: at most "
        f"{slots}, at the",
        "    autumn clock change): a day's values are kept in this many period columns (macros/periods.sql). -#}",
        "{% macro period_slots() -%}",
        "{{ return(" + str(slots) + ") }}",
        "{%- endmacro %}",
        "",
    ])


def dbt_seeds() -> str:
    seeds = []
    for name in DEFAULT_DATASETS:
        dataset = catalogue.dataset(name)
        entry = {
            "name": Path(dataset.file).stem,
            "description": dataset.description + " Bundled synthetic default.",
            "config": {"column_types": {item.name: item.duckdb_type for item in dataset.columns}},
            "columns": _dbt_columns(dataset, with_types=False),
        }
        seeds.append(_with_table_tests(entry, dataset))
    return HEADER + yaml.safe_dump({"version": 2, "seeds": seeds}, sort_keys=False, width=120)


def dbt_docs_blocks() -> str:
    blocks = [
        "{% docs " + item.name + " %}\n" + _describe(item) + "\n{% enddocs %}\n"
        for item in catalogue.load().items.values()
    ]
    return "<!-- Generated from pipelines/catalogue/catalogue.yml by `make catalogue`; do not edit. -->\n\n" + "\n".join(
        blocks
    )


# ---- Great Expectations ----------------------------------------------------------------------------


def _expectation(kind: str, meta_rule: str, severity: str = "critical", **kwargs) -> dict:
    return {"type": kind, "kwargs": kwargs, "meta": {"catalogue_rule": meta_rule}, "severity": severity}


def gx_suite(dataset: Dataset) -> dict:
    expectations = [
        _expectation("expect_table_columns_to_match_set", "columns", column_set=dataset.column_names, exact_match=False)
    ]
    for item in dataset.columns:
        column = item.name
        if not item.nullable:
            expectations.append(_expectation("expect_column_values_to_not_be_null", f"{column}.nullable", column=column))
        if item.allowed_values:
            expectations.append(
                _expectation(
                    "expect_column_values_to_be_in_set",
                    f"{column}.allowed_values",
                    column=column,
                    value_set=list(item.allowed_values),
                )
            )
        if item.pattern:
            expectations.append(
                _expectation("expect_column_values_to_match_regex", f"{column}.pattern", column=column, regex=item.pattern)
            )
        if item.min is not None or item.max is not None:
            expectations.append(
                _expectation(
                    "expect_column_values_to_be_between",
                    f"{column}.range",
                    column=column,
                    min_value=item.min,
                    max_value=item.max,
                )
            )
        if item.warn_min is not None and item.warn_max is not None:
            expectations.append(
                _expectation(
                    "expect_column_values_to_be_between",
                    f"{column}.review_band",
                    severity="warning",
                    column=column,
                    min_value=item.warn_min,
                    max_value=item.warn_max,
                )
            )
    if len(dataset.key) == 1:
        expectations.append(_expectation("expect_column_values_to_be_unique", "key", column=dataset.key[0]))
    elif dataset.key:
        expectations.append(
            _expectation("expect_compound_columns_to_be_unique", "key", column_list=list(dataset.key))
        )
    for group in dataset.unique:
        expectations.append(_expectation("expect_compound_columns_to_be_unique", "unique", column_list=list(group)))
    return {
        "name": dataset.name,
        "expectations": expectations,
        "meta": {"generated_from": "pipelines/catalogue/catalogue.yml", "description": dataset.description},
    }


def _expand_period_values(query: str) -> str:
    """MISSING_WITHIN(e, n) and PRESENT_BEYOND(e, n) as tests of the columns kwh_01..kwh_50."""
    periods = range(1, CONSUMPTION_PERIOD_SLOTS + 1)

    def missing(match: re.Match) -> str:
        alias, last = match.groups()
        return "(" + " or ".join(f"({alias}.kwh_{p:02d} is null and {p} <= {last})" for p in periods) + ")"

    def beyond(match: re.Match) -> str:
        alias, last = match.groups()
        return "(" + " or ".join(f"({alias}.kwh_{p:02d} is not null and {p} > {last})" for p in periods) + ")"

    query = re.sub(r"MISSING_WITHIN\((\w+), ([\w.]+)\)", missing, query)
    return re.sub(r"PRESENT_BEYOND\((\w+), ([\w.]+)\)", beyond, query)


def settlement_suite() -> dict:
    expectations = [
        {
            "type": "unexpected_rows_expectation",
            "kwargs": {"unexpected_rows_query": _expand_period_values(rule.query).strip()},
            "meta": {"catalogue_rule": rule.name, "dataset": rule.dataset, "description": rule.description},
            "severity": rule.severity,
            "description": rule.description,
        }
        for rule in catalogue.load().settlement_rules.values()
    ]
    return {
        "name": "settlement",
        "expectations": expectations,
        "meta": {"generated_from": "pipelines/catalogue/catalogue.yml (settlement_rules)",
                 "description": "Rules over a whole settlement run, checked by the gate before publication."},
    }


# ---- data dictionary -------------------------------------------------------------------------------


def _rule(item: Item) -> str:
    parts = []
    if item.allowed_values:
        parts.append("one of " + ", ".join(f"`{v}`" for v in item.allowed_values))
    if item.pattern:
        parts.append(f"matches `{item.pattern}`")
    if item.min is not None and item.max is not None:
        parts.append(f"{item.min} to {item.max}")
    elif item.min is not None:
        parts.append(f"≥ {item.min}")
    elif item.max is not None:
        parts.append(f"≤ {item.max}")
    if item.type == "decimal" and item.scale is not None:
        parts.append(f"at most {item.scale} decimal places")
    if item.warn_min is not None:
        parts.append(f"review outside {item.warn_min} to {item.warn_max}")
    parts.extend(f"check `{name}`" for name in item.checks)
    parts.append("may be empty" if item.nullable else "required")
    return "; ".join(parts)


def _describe(item: Item) -> str:
    unit = f" Unit: {item.unit}." if item.unit else ""
    return f"{item.description}{unit} Rule: {_rule(item)}."


def _test_name(test) -> str:
    if isinstance(test, str):
        return test
    name, spec = next(iter(test.items()))
    return name + (" (warn)" if spec.get("config", {}).get("severity") == "warn" else "")


def quality_rules(item_name: str) -> dict[str, list[str]]:
    """What enforces an item where: ingestion reason codes, dbt tests and GX expectations, each '<dataset>: ...'."""
    from pipelines.catalogue.sql_rules import rules_for

    found: dict[str, list[str]] = {"ingestion": [], "dbt": [], "gx": []}
    for dataset in catalogue.load().datasets.values():
        if item_name not in dataset.column_names:
            continue
        column = dataset.column(item_name)
        if dataset.kind == "input":
            found["ingestion"].append(f"{dataset.name}: " + ", ".join(f"`{r.reason_code}`" for r in rules_for(column)))
        if dataset.name in LAKE_DATASETS or dataset.name in DEFAULT_DATASETS:
            tests = ["unique"] if dataset.key == (item_name,) else []
            tests += [_test_name(t) for t in _dbt_tests(column)]
            tests += [_test_name(t) for t in _dbt_table_tests(dataset)
                      if item_name in next(iter(t.values()))["arguments"]["combination_of_columns"]]
            where = "source lake" if dataset.name in LAKE_DATASETS else "seed"
            found["dbt"].append(f"{dataset.name} ({where}): " + ", ".join(f"`{t}`" for t in tests))
        expectations = [e["type"].removeprefix("expect_") + (" (warning)" if e["severity"] == "warning" else "")
                        for e in gx_suite(dataset)["expectations"]
                        if e["kwargs"].get("column") == item_name or item_name in e["kwargs"].get("column_list", [])]
        found["gx"].append(f"{dataset.name}: " + ", ".join(f"`{e}`" for e in expectations))
    return found


def data_dictionary() -> str:
    cat = catalogue.load()
    used_by: dict[str, list[str]] = {}
    for dataset in [*cat.datasets.values(), *cat.records.values()]:
        for item in dataset.columns:
            used_by.setdefault(item.name, []).append(dataset.name)
    lines = [
        "<!-- Generated from pipelines/catalogue/catalogue.yml by `make catalogue`; do not edit. -->",
        "# Data dictionary",
        "",
        "Every data item is defined once in `pipelines/catalogue/catalogue.yml`. The pandera schemas "
        "(`pipelines/catalogue/pandera_schemas.py`), the dbt column docs and tests "
        "(`dbt_project/models/catalogue/`), the Great Expectations suites (`expectations/suites/`) and this page "
        "are generated from it; a test fails when they drift apart. [Quality rules per item](#quality-rules-per-item) "
        "lists what enforces each rule where: the reason codes ingestion quarantines with, the dbt tests and the "
        "Great Expectations expectations.",
        "",
        "## Data items",
        "",
        "| item | type | unit | rule | description | source | datasets |",
        "|---|---|---|---|---|---|---|",
    ]
    for item in cat.items.values():
        lines.append(
            f"| `{item.name}` | {item.type} | {item.unit or ''} | {_rule(item)} | {item.description} | {item.source} | "
            + ", ".join(used_by.get(item.name, []))
            + " |"
        )
    lines += ["", "## Quality rules per item", "",
              "Ingestion: reason codes of the bulk checks at the boundary ([reason codes](reason_codes.md)). dbt: tests "
              "generated into `dbt_project/models/catalogue/`. Great Expectations: expectations of the generated suites "
              "in `expectations/suites/` (prefix `expect_` left off). Per dataset that holds the item.", "",
              "| item | ingestion | dbt tests | Great Expectations |", "|---|---|---|---|"]
    for item in cat.items.values():
        rules = quality_rules(item.name)
        lines.append(f"| `{item.name}` | " + " | ".join("<br>".join(rules[k]) for k in ("ingestion", "dbt", "gx")) + " |")
    lines += ["", "## Datasets", ""]
    for dataset in cat.datasets.values():
        lines += _dataset_entry(dataset)
    lines += ["## Records", "",
              "What the pipeline keeps of its own work, written by Python: the ingestion log and the two files of a "
              "settlement run's record (published as `settlement_runs`). Their Arrow schemas are built from the "
              "catalogue.", ""]
    for record in cat.records.values():
        lines += _dataset_entry(record)
    return "\n".join(lines)


def _dataset_entry(dataset: Dataset) -> list[str]:
    where = f", file `{dataset.file}`" if dataset.file else ""
    lines = [
        f"### `{dataset.name}` ({dataset.kind}{where})",
        "",
        dataset.description,
        "",
        "Key: " + (", ".join(f"`{c}`" for c in dataset.key) if dataset.key else "none (every row kept)") + ".",
    ]
    for group in dataset.unique:
        lines.append("Also unique: " + ", ".join(f"`{c}`" for c in group) + ".")
    if dataset.newest:
        version, per = dataset.newest
        lines.append(f"Newest wins: for each {', '.join(f'`{c}`' for c in per)}, the rows of the newest `{version}` "
                     "replace all older rows.")
    lines += ["", "| column | type | rule | meaning here |", "|---|---|---|---|"]
    for item in dataset.columns:
        lines.append(f"| `{item.name}` | {item.duckdb_type} | {_rule(item)} | {item.description} |")
    lines.append("")
    return lines


# ---- reason codes, stopping checks ----------------------------------------------------------------


def reason_parameters() -> dict:
    """Values the catalogue's reasons name as {name} that are fixed when ingestion gives them."""
    from pipelines.ingest.reasons import MAX_LINE_BYTES

    return {"max_line_bytes": MAX_LINE_BYTES}


def _code_table(rows: list[tuple[str, str]]) -> list[str]:
    return ["| reason code | reason |", "|---|---|", *(f"| `{code}` | {text} |" for code, text in rows), ""]


def reason_codes() -> str:
    """Every reason code ingestion and settlement can give, and the checks that stop a settlement run: the
    catalogue's item rules (<ITEM>_<RULE>), its reason_codes and its stopping_checks."""
    from pipelines.catalogue.sql_rules import rules_for

    cat = catalogue.load()
    lines = [
        "<!-- Generated from pipelines/catalogue/catalogue.yml by `make catalogue`; do not edit. -->",
        "# Reason codes",
        "",
        "Every row, file or value that ingestion or a settlement run refuses lands in the `quarantine` view with one",
        "of these codes; values settled but worth a look get a review flag. A row is refused for the first rule it",
        "breaks, in catalogue column order. Codes named `<COLUMN>_<RULE>` come from the data catalogue's item",
        "rules, the others from its `reason_codes`; `{name}` stands for what is filled in when the code is given.",
        "",
    ]
    for name in ("consumption", "registrations", "registration_updates", "register_reads"):
        lines += [f"## Ingestion: {name} rows", ""]
        lines += _code_table([(r.reason_code, r.reason) for item in catalogue.dataset(name).columns for r in rules_for(item)])
    parameters = reason_parameters()
    for group in cat.reason_groups.values():
        rows = [(code.code, catalogue.fill(code.reason, parameters)
                 + (f" *(given by no run since {code.retired})*" if code.retired else ""))
                for code in cat.reason_codes.values() if (code.stage, code.group) == (group.stage, group.name)]
        lines += [f"## {group.stage.capitalize()}: {group.title}", "", group.description, ""] + _code_table(rows)
    lines += ["## Settlement: checks that stop a run", "",
              "A settlement partition stops when one of these dbt tests (`dbt_project/tests/settlement/`) returns "
              "rows; the stop message gives its words and the first rows. Where the gate checks the same rule again "
              "over the whole run before publication, the rule is named (`expectations/suites/settlement.json`).", "",
              "| check | stop message | gate rule |", "|---|---|---|"]
    lines += [f"| `{check.name}` | {check.message} | {f'`{check.rule}`' if check.rule else ''} |"
              for check in cat.stopping_checks.values()]
    return "\n".join(lines) + "\n"


# ---- dbt macros holding catalogue rules ------------------------------------------------------------


def dbt_catalogue_macros() -> str:
    """Macros that give dbt the rules defined once in Python: the MPAN check-digit weights, the newest-snapshot
    rule of registrations and the correction identity's tolerance."""
    from pipelines.catalogue.sql_rules import newest_version
    from pipelines.core.mpan import CHECK_WEIGHTS
    from pipelines.reference.registration_history import updates_applied_sql

    tolerance = dict(catalogue.load().settlement_rules["correction_identity"].parameters)["tolerance_kwh"]
    return "\n".join([
        "{#- Generated from pipelines/catalogue/catalogue.yml and pipelines/core/mpan.py by `make catalogue`; do not edit. -#}",
        "",
        "{#- The MPAN core check-digit weights (DOMAIN.md section 7): pipelines.core.mpan.CHECK_WEIGHTS. -#}",
        "{% macro mpan_check_weights() -%}",
        "{{ return(" + str(list(CHECK_WEIGHTS)) + ") }}",
        "{%- endmacro %}",
        "",
        "{#- The newest snapshot date holding each row's MPAN: its rows replace all older ones (CONTRACT.md; the",
        "    catalogue's `newest` rule of registrations). -#}",
        "{% macro registrations_newest_snapshot_date() -%}",
        newest_version(catalogue.dataset("registrations")),
        "{%- endmacro %}",
        "",
        "{#- The current registration history: the rows of the newest snapshot holding each MPAN (newest_snapshot),",
        "    with the registration updates sent after it applied in updated_at order (CONTRACT.md;",
        "    pipelines/reference/registration_history.py, which the warehouse view registrations_current uses too). -#}",
        "{% macro registration_updates_applied(newest_snapshot, updates) -%}",
        updates_applied_sql("{{ newest_snapshot }}", "{{ updates }}"),
        "{%- endmacro %}",
        "",
        "{#- How far the signed corrected volumes of a GSP Group and period may be from its GSP Group Take, in kWh",
        "    (settlement rule correction_identity). -#}",
        "{% macro correction_tolerance_kwh() -%}",
        str(tolerance),
        "{%- endmacro %}",
        "",
    ])


# ---- writing and drift -----------------------------------------------------------------------------


def _kept_unit_tests(path: Path) -> str:
    """The hand-written unit tests at the end of a generated properties YAML (nothing if it has none yet)."""
    return path.read_text().partition(UNIT_TESTS_MARK)[2] if path.exists() else ""


def expected_artefacts(root: Path = PROJECT_ROOT) -> dict[Path, str]:
    """Every generated file (relative to the project root) and the text it must hold."""
    artefacts = {
        Path("dbt_project/models/catalogue/lake_sources.yml"): dbt_sources(),
        Path("dbt_project/models/catalogue/standing_seeds.yml"): dbt_seeds(),
        Path("dbt_project/models/catalogue/catalogue_docs.md"): dbt_docs_blocks(),
        Path("docs/data_dictionary.md"): data_dictionary(),
        Path("docs/reason_codes.md"): reason_codes(),
        Path("dbt_project/macros/catalogue/catalogue_rules.sql"): dbt_catalogue_macros(),
    }
    artefacts[Path("dbt_project/models/catalogue/standing_sources.yml")] = dbt_standing_sources()
    artefacts[Path("dbt_project/macros/catalogue/period_slots.sql")] = dbt_period_macros()
    for name in MART_DATASETS:
        path = Path(f"dbt_project/models/marts/{name}.yml")
        artefacts[path] = dbt_mart_properties(catalogue.dataset(name), _kept_unit_tests(root / path))
    for dataset in catalogue.load().datasets.values():
        artefacts[Path(f"expectations/suites/{dataset.name}.json")] = json.dumps(gx_suite(dataset), indent=2) + "\n"
    artefacts[Path("expectations/suites/settlement.json")] = json.dumps(settlement_suite(), indent=2) + "\n"
    # the JSON Schema of each outbound flow's DIP-style messages (docs/interfaces/<flow>_flow.md)
    from pipelines.catalogue.dip_schema import flow_message_schema, outbound_flows
    for flow in outbound_flows():
        artefacts[Path(f"docs/interfaces/schemas/{flow.schema_file}")] = (
            json.dumps(flow_message_schema(flow.name), indent=2) + "\n")
    return artefacts


def write_artefacts(check_only: bool = False, root: Path = PROJECT_ROOT) -> list[Path]:
    """Write (or with check_only, only compare) every artefact; returns those that differed."""
    return write_generated(expected_artefacts(root), root, check_only)


def write_generated(expected: dict[Path, str], root: Path, check_only: bool) -> list[Path]:
    """Write (or with check_only, only compare) generated files (relative to root); returns those that differed."""
    changed = []
    for relative, text in expected.items():
        path = root / relative
        if not path.exists() or path.read_text() != text:
            changed.append(relative)
            if not check_only:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text)
    return changed
