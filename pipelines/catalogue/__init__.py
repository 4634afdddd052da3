"""The data catalogue: every data item and dataset defined once in catalogue.yml, with the pipeline's own
records, the reason codes, the checks that stop a settlement run and the rules the gate checks.

Everything that describes a column elsewhere (pandera schemas, Arrow schemas, dbt docs and tests, Great
Expectations suites, the data dictionary) is generated from here, with the one type map below.
"""

import re
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path

import yaml

CATALOGUE_FILE = Path(__file__).with_name("catalogue.yml")
DATASET_KINDS = ("input", "standing", "output")
RECORD_KIND = "record"  # the records section: what the pipeline keeps of its own work (not published)
SEVERITIES = ("critical", "warning")
REASON_STAGES = ("ingestion", "settlement")
_REFINABLE = ("description", "allowed_values", "min", "max", "nullable")
DECIMAL_PRECISION = 18
DEFAULT_SCALE = 3


@dataclass(frozen=True)
class TypeMapping:
    """How one catalogue type is held by each tool. `{scale}` stands for a decimal item's scale."""

    duckdb: str  # DuckDB SQL type
    arrow: tuple  # pyarrow type: the factory's name and its arguments
    pandas: str  # pandas dtype that pandera casts to: every integer nullable 64-bit, decimals as floats
    json_schema: str | list[str]  # JSON Schema type (decimals travel as strings, which keep their digits)


# The one type map: every tool's type for a catalogue type is read from here (a test fails on another map).
TYPE_MAP = {
    "string": TypeMapping("VARCHAR", ("string",), "str", "string"),
    "date": TypeMapping("DATE", ("date32",), "date", "string"),
    "timestamp": TypeMapping("TIMESTAMPTZ", ("timestamp", "us", "UTC"), "datetime64[us, UTC]", "string"),
    "decimal": TypeMapping(f"DECIMAL({DECIMAL_PRECISION},{{scale}})", ("decimal128", DECIMAL_PRECISION, "{scale}"),
                           "float64", ["string", "number"]),
    "integer": TypeMapping("INTEGER", ("int32",), "Int64", "integer"),
    "bigint": TypeMapping("BIGINT", ("int64",), "Int64", "integer"),  # counts and row numbers
}
TYPES = tuple(TYPE_MAP)
NUMERIC_TYPES = ("decimal", "integer", "bigint")


def duckdb_type_of(type_name: str, scale: int | None = None) -> str:
    return TYPE_MAP[type_name].duckdb.format(scale=DEFAULT_SCALE if scale is None else scale)


def arrow_type_of(type_name: str, scale: int | None = None):
    """The pyarrow type (pyarrow is imported only here, when first asked for)."""
    import pyarrow

    factory, *arguments = TYPE_MAP[type_name].arrow
    scale = DEFAULT_SCALE if scale is None else scale
    return getattr(pyarrow, factory)(*(scale if argument == "{scale}" else argument for argument in arguments))


@dataclass(frozen=True)
class Item:
    name: str
    description: str
    type: str
    source: str
    unit: str | None = None
    pattern: str | None = None
    allowed_values: tuple[str, ...] | None = None
    min: float | None = None
    max: float | None = None
    warn_min: float | None = None
    warn_max: float | None = None
    scale: int | None = None
    nullable: bool = False
    checks: tuple[str, ...] = ()

    @property
    def duckdb_type(self) -> str:
        return duckdb_type_of(self.type, self.scale)

    @property
    def arrow_type(self):
        return arrow_type_of(self.type, self.scale)

    @property
    def pandas_dtype(self) -> str:
        return TYPE_MAP[self.type].pandas


@dataclass(frozen=True)
class Dataset:
    name: str
    kind: str
    description: str
    key: tuple[str, ...]
    columns: tuple[Item, ...]
    unique: tuple[tuple[str, ...], ...] = ()
    file: str | None = None
    # (parent dataset, columns) declared in the catalogue; most references are found from the keys instead.
    references: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # (version column, columns of the entity): the rows of an entity's newest version replace all older rows
    newest: tuple[str, tuple[str, ...]] | None = None
    # Governance (docs/architecture/data_standards.md): the market role that owns the data (a role key of
    # pipelines.architecture.market) and how long it is kept.
    owner: str | None = None
    retention: str | None = None

    @property
    def column_names(self) -> list[str]:
        return [column.name for column in self.columns]

    def arrow_schema(self):
        """The dataset as an Arrow schema (every field nullable, as Parquet written from Arrow is)."""
        import pyarrow

        return pyarrow.schema([(column.name, column.arrow_type) for column in self.columns])

    def column(self, name: str) -> Item:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"{self.name} has no column {name}")


@dataclass(frozen=True)
class SettlementRule:
    """A rule over a whole run (completeness, identities, consistency) that the gate checks in SQL."""

    name: str
    dataset: str
    severity: str
    description: str
    query: str
    parameters: tuple[tuple[str, float], ...] = ()  # named values the description and query hold as {name}


@dataclass(frozen=True)
class ReasonCode:
    """A code a row, file or value is refused or flagged with, and its words ({name}: filled in where given)."""

    code: str
    reason: str
    stage: str  # ingestion | settlement
    group: str  # e.g. rows, files, unsafe_files; refusals, review_flags
    retired: str | None = None  # the version since which nothing gives it (older runs' records still hold it)


@dataclass(frozen=True)
class ReasonGroup:
    stage: str
    name: str
    title: str  # what the group's codes refuse or flag, in a few words
    description: str  # what happens to what they refuse, and where they are found


@dataclass(frozen=True)
class StoppingCheck:
    """A dbt singular test (dbt_project/tests/settlement/<name>.sql) that stops a settlement partition."""

    name: str
    message: str  # what it means, in the stop message
    rule: str | None = None  # the settlement rule the gate checks again over the whole run, if any


@dataclass(frozen=True)
class Catalogue:
    items: dict[str, Item] = field(default_factory=dict)
    datasets: dict[str, Dataset] = field(default_factory=dict)
    settlement_rules: dict[str, SettlementRule] = field(default_factory=dict)
    records: dict[str, Dataset] = field(default_factory=dict)
    reason_codes: dict[str, ReasonCode] = field(default_factory=dict)
    reason_groups: dict[tuple[str, str], ReasonGroup] = field(default_factory=dict)  # by (stage, group)
    stopping_checks: dict[str, StoppingCheck] = field(default_factory=dict)


class CatalogueError(ValueError):
    pass


def _item(name: str, spec: dict) -> Item:
    unknown = set(spec) - set(Item.__dataclass_fields__)
    if unknown:
        raise CatalogueError(f"item {name}: unknown fields {sorted(unknown)}")
    if spec.get("type") not in TYPES:
        raise CatalogueError(f"item {name}: type must be one of {TYPES}")
    for required in ("description", "source"):
        if not spec.get(required):
            raise CatalogueError(f"item {name}: {required} is required")
    values = dict(spec)
    if "allowed_values" in values:
        values["allowed_values"] = tuple(str(v) for v in values["allowed_values"])
    values["checks"] = tuple(values.get("checks", ()))
    return Item(name=name, **values)


def _column(dataset: str, entry, items: dict[str, Item]) -> Item:
    refinements = {}
    if isinstance(entry, dict):
        refinements = {k: v for k, v in entry.items() if k != "item"}
        entry = entry.get("item")
        if set(refinements) - set(_REFINABLE):
            raise CatalogueError(f"dataset {dataset}: a column may refine only {_REFINABLE}")
    if entry not in items:
        raise CatalogueError(f"dataset {dataset}: column {entry!r} is not a catalogue item")
    if "allowed_values" in refinements:
        refinements["allowed_values"] = tuple(str(v) for v in refinements["allowed_values"])
    return replace(items[entry], **refinements)


def _dataset(name: str, spec: dict, kind: str, items: dict[str, Item], raw_datasets: dict) -> Dataset:
    columns = tuple(_column(name, entry, items) for entry in spec["columns"])
    names = [c.name for c in columns]
    for key_column in [*spec["key"], *(c for group in spec.get("unique", []) for c in group)]:
        if key_column not in names:
            raise CatalogueError(f"dataset {name}: key column {key_column} is not one of its columns")
    references = tuple((parent, tuple(cols)) for parent, cols in spec.get("references", {}).items())
    for parent, cols in references:
        parent_columns = [c if isinstance(c, str) else c["item"] for c in raw_datasets.get(parent, {}).get("columns", [])]
        if not set(cols) <= set(names) & set(parent_columns):
            raise CatalogueError(f"dataset {name}: reference to {parent} on {list(cols)}: columns not in both datasets")
    newest = None
    if "newest" in spec:
        newest = (spec["newest"]["version"], tuple(spec["newest"]["per"]))
        if not {newest[0], *newest[1]} <= set(names):
            raise CatalogueError(f"dataset {name}: newest names columns it does not have")
    return Dataset(
        name=name,
        references=references,
        kind=kind,
        description=spec["description"],
        key=tuple(spec["key"]),
        columns=columns,
        unique=tuple(tuple(group) for group in spec.get("unique", [])),
        file=spec.get("file"),
        newest=newest,
        owner=spec.get("owner"),
        retention=spec.get("retention"),
    )


def fill(text: str, parameters: dict) -> str:
    """`text` with each {name} given in `parameters` replaced by its value (other braces are left alone)."""
    return re.sub(r"\{(\w+)\}", lambda m: str(parameters[m[1]]) if m[1] in parameters else m[0], text)


def _settlement_rule(name: str, spec: dict) -> SettlementRule:
    unknown = set(spec) - {"dataset", "severity", "description", "query", "parameters"}
    if unknown:
        raise CatalogueError(f"settlement rule {name}: unknown fields {sorted(unknown)}")
    if spec.get("severity") not in SEVERITIES:
        raise CatalogueError(f"settlement rule {name}: severity must be one of {SEVERITIES}")
    if "{batch}" not in spec.get("query", ""):
        raise CatalogueError(f"settlement rule {name}: the query must read {{batch}}")
    parameters = spec.get("parameters", {})
    return SettlementRule(name=name, dataset=spec["dataset"], severity=spec["severity"],
                          description=fill(spec["description"], parameters), query=fill(spec["query"], parameters),
                          parameters=tuple(parameters.items()))


def _reason_codes(raw: dict) -> tuple[dict[str, ReasonCode], dict[tuple[str, str], ReasonGroup]]:
    codes: dict[str, ReasonCode] = {}
    groups: dict[tuple[str, str], ReasonGroup] = {}
    for stage, stage_groups in raw.items():
        if stage not in REASON_STAGES:
            raise CatalogueError(f"reason codes: stage {stage} is not one of {REASON_STAGES}")
        for group, spec in stage_groups.items():
            groups[(stage, group)] = ReasonGroup(stage, group, spec["title"], spec["description"])
            for code, entry in spec["codes"].items():
                entry = entry if isinstance(entry, dict) else {"reason": entry}
                if code in codes:
                    raise CatalogueError(f"reason code {code} is defined twice")
                if not re.fullmatch(r"[A-Z][A-Z0-9_]+", code):
                    raise CatalogueError(f"reason code {code} is not upper case with underscores")
                codes[code] = ReasonCode(code=code, reason=entry["reason"], stage=stage, group=group,
                                         retired=str(entry["retired"]) if entry.get("retired") else None)
    return codes, groups


@cache
def load(path: Path = CATALOGUE_FILE) -> Catalogue:
    raw = yaml.safe_load(path.read_text())
    items = {name: _item(name, spec) for name, spec in raw["items"].items()}
    datasets = {}
    for name, spec in raw["datasets"].items():
        if spec.get("kind") not in DATASET_KINDS:
            raise CatalogueError(f"dataset {name}: kind must be one of {DATASET_KINDS}")
        datasets[name] = _dataset(name, spec, spec["kind"], items, raw["datasets"])
    records = {}
    for name, spec in raw.get("records", {}).items():
        if name in datasets or "kind" in spec:
            raise CatalogueError(f"record {name}: a record has no kind and is not also a dataset")
        records[name] = _dataset(name, spec, RECORD_KIND, items, raw["datasets"])
    rules = {name: _settlement_rule(name, spec) for name, spec in raw.get("settlement_rules", {}).items()}
    codes, groups = _reason_codes(raw.get("reason_codes", {}))
    checks = {}
    for name, spec in raw.get("stopping_checks", {}).items():
        if spec.get("rule") is not None and spec["rule"] not in rules:
            raise CatalogueError(f"stopping check {name}: {spec['rule']} is not a settlement rule")
        checks[name] = StoppingCheck(name=name, message=spec["message"], rule=spec.get("rule"))
    return Catalogue(items=items, datasets=datasets, settlement_rules=rules, records=records, reason_codes=codes,
                     reason_groups=groups, stopping_checks=checks)


def dataset(name: str) -> Dataset:
    return load().datasets[name]


def record(name: str) -> Dataset:
    """One of the pipeline's records (the ingestion log, a settlement run's started and finished files)."""
    return load().records[name]


def reasons(stage: str, group: str, **parameters) -> dict[str, str]:
    """{code: reason} of one group of reason codes, in catalogue order, with the `parameters` filled in."""
    if (stage, group) not in load().reason_groups:
        raise KeyError(f"no reason codes {stage}.{group} in the catalogue")
    return {code.code: fill(code.reason, parameters) for code in load().reason_codes.values()
            if (code.stage, code.group) == (stage, group)}


def stopping_check_messages() -> dict[str, str]:
    """{dbt singular test: what it means} for the settlement stopping checks."""
    return {check.name: check.message for check in load().stopping_checks.values()}


def dataset_columns(name: str) -> list[str]:
    """Column names of a dataset, in the catalogue's order (the order files are written in)."""
    return dataset(name).column_names


def datasets_of_kind(kind: str) -> list[Dataset]:
    return [d for d in load().datasets.values() if d.kind == kind]
