"""The data catalogue: every data item and dataset defined once in catalogue.yml.

Everything that describes a column elsewhere (pandera schemas, dbt docs and tests, Great Expectations
suites, the data dictionary) is generated from here.
"""

from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path

import yaml

CATALOGUE_FILE = Path(__file__).with_name("catalogue.yml")
TYPES = ("string", "date", "timestamp", "decimal", "integer")
DATASET_KINDS = ("input", "standing", "output")
SEVERITIES = ("critical", "warning")
_REFINABLE = ("description", "min", "max", "nullable")


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
        if self.type == "decimal":
            return f"DECIMAL(18,{self.scale if self.scale is not None else 3})"
        return {"string": "VARCHAR", "date": "DATE", "timestamp": "TIMESTAMPTZ", "integer": "INTEGER"}[self.type]


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

    @property
    def column_names(self) -> list[str]:
        return [column.name for column in self.columns]

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


@dataclass(frozen=True)
class Catalogue:
    items: dict[str, Item] = field(default_factory=dict)
    datasets: dict[str, Dataset] = field(default_factory=dict)
    settlement_rules: dict[str, SettlementRule] = field(default_factory=dict)


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
    return replace(items[entry], **refinements)


@cache
def load(path: Path = CATALOGUE_FILE) -> Catalogue:
    raw = yaml.safe_load(path.read_text())
    items = {name: _item(name, spec) for name, spec in raw["items"].items()}
    datasets = {}
    for name, spec in raw["datasets"].items():
        if spec.get("kind") not in DATASET_KINDS:
            raise CatalogueError(f"dataset {name}: kind must be one of {DATASET_KINDS}")
        columns = tuple(_column(name, entry, items) for entry in spec["columns"])
        names = [c.name for c in columns]
        for key_column in [*spec["key"], *(c for group in spec.get("unique", []) for c in group)]:
            if key_column not in names:
                raise CatalogueError(f"dataset {name}: key column {key_column} is not one of its columns")
        references = tuple((parent, tuple(cols)) for parent, cols in spec.get("references", {}).items())
        for parent, cols in references:
            parent_columns = [c if isinstance(c, str) else c["item"] for c in raw["datasets"].get(parent, {}).get("columns", [])]
            if not set(cols) <= set(names) & set(parent_columns):
                raise CatalogueError(f"dataset {name}: reference to {parent} on {list(cols)}: columns not in both datasets")
        datasets[name] = Dataset(
            name=name,
            references=references,
            kind=spec["kind"],
            description=spec["description"],
            key=tuple(spec["key"]),
            columns=columns,
            unique=tuple(tuple(group) for group in spec.get("unique", [])),
            file=spec.get("file"),
        )
    rules = {}
    for name, spec in raw.get("settlement_rules", {}).items():
        if spec.get("severity") not in SEVERITIES:
            raise CatalogueError(f"settlement rule {name}: severity must be one of {SEVERITIES}")
        if "{batch}" not in spec.get("query", ""):
            raise CatalogueError(f"settlement rule {name}: the query must read {{batch}}")
        rules[name] = SettlementRule(name=name, **spec)
    return Catalogue(items=items, datasets=datasets, settlement_rules=rules)


def dataset(name: str) -> Dataset:
    return load().datasets[name]


def dataset_columns(name: str) -> list[str]:
    """Column names of a dataset, in the catalogue's order (the order files are written in)."""
    return dataset(name).column_names


def datasets_of_kind(kind: str) -> list[Dataset]:
    return [d for d in load().datasets.values() if d.kind == kind]
