"""Data governance per dataset, generated from the data catalogue: the market role that owns each dataset and how
long it is kept (the catalogue's `owner:` and `retention:`), its lineage (where it comes from and where it goes:
the interfaces of the code and the dbt lineage) and its quality rules (the data dictionary, the generated Great
Expectations suite and the settlement rules the gate checks on it)."""

import re

from pipelines import catalogue
from pipelines.architecture.catalogue_artefacts import _dataset_entry
from pipelines.architecture.dbt_lineage import Node
from pipelines.architecture.interfaces import Interface
from pipelines.architecture.market import ROLES


def anchor(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading."""
    text = heading.lstrip("#").strip().replace("`", "").lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def dictionary_link(dataset: catalogue.Dataset) -> str:
    return f"../data_dictionary.md#{anchor(_dataset_entry(dataset)[0])}"


def readers(name: str, nodes: dict[str, Node]) -> list[str]:
    """The dbt models that read the dataset: a staging model reading it directly, or any model whose parent is
    the dataset's source."""
    sources = {key for key, node in nodes.items() if node.layer == "input" and node.dataset == name}
    return [key for key, node in nodes.items() if node.layer != "input"
            and ((node.layer == "staging" and node.dataset == name) or sources & set(node.parents))]


def comes_from(dataset: catalogue.Dataset, nodes: dict[str, Node], found: list[Interface]) -> str:
    owner = ROLES[dataset.owner].name if dataset.owner in ROLES else "?"
    consumed = [i for i in found if i.direction == "consumed" and i.dataset == dataset.name]
    if consumed:
        return f"{owner}: " + ", ".join(f"[{i.location}](../interfaces/{i.name}.md)" for i in consumed)
    if dataset.kind == "standing":
        return f"{owner}: standing data file `{dataset.file}` ([standing data files](../interfaces/standing_data_files.md))"
    node = nodes.get(dataset.name)
    if node is not None:
        return f"dbt model `{dataset.name}` from " + ", ".join(f"`{p}`" for p in node.parents)
    produced = [i for i in found if i.name == dataset.name]
    return f"{owner}: " + (", ".join(i.produced_by for i in produced) or "this system")


def goes_to(dataset: catalogue.Dataset, nodes: dict[str, Node], found: list[Interface]) -> str:
    if dataset.kind in ("input", "standing"):
        models = readers(dataset.name, nodes)
        return ("dbt " + ", ".join(f"`{m}`" for m in models)) if models else "no dbt model: `mhhs settle` reads it (pipelines/reference/standing_data/)"
    produced = [i for i in found if i.direction == "produced" and i.name == dataset.name]
    return ", ".join(f"{ROLES[i.receiver].name} ([{i.location}](../interfaces/{i.name}.md))" for i in produced) or "the warehouse"


def quality_rules(dataset: catalogue.Dataset) -> str:
    rules = [f"[column rules]({dictionary_link(dataset)})",
             f"suite [`{dataset.name}.json`](../../expectations/suites/{dataset.name}.json)"]
    settlement = [r.name for r in catalogue.load().settlement_rules.values() if r.dataset == dataset.name]
    if settlement:
        rules.append("settlement rules " + ", ".join(f"`{name}`" for name in settlement))
    return "<br>".join(rules)


def section(nodes: dict[str, Node], found: list[Interface]) -> list[str]:
    lines = [
        "## Governance per dataset",
        "",
        "Each dataset of the data catalogue with the market role that owns the data (a role of the "
        "[market model](market_model.md)), how long it is kept, where it comes from and where it goes, and the "
        "quality rules that check it. Owner and retention are the catalogue's `owner:` and `retention:` "
        "(`pipelines/catalogue/catalogue.yml`); lineage comes from the interfaces of the code and the dbt "
        "manifest. A dataset without an owner of the market model or a retention fails "
        "`tests/test_architecture.py`. Nothing in the system deletes data yet: retention is the minimum the "
        "settlement timetable needs, and purging after it is the operator's.",
        "",
        "| dataset | kind | owner | retention | comes from | goes to | quality rules |",
        "|---|---|---|---|---|---|---|",
    ]
    for dataset in catalogue.load().datasets.values():
        owner = ROLES[dataset.owner].name if dataset.owner in ROLES else f"**unknown: {dataset.owner}**"
        lines.append(f"| [`{dataset.name}`]({dictionary_link(dataset)}) | {dataset.kind} | {owner} | "
                     f"{dataset.retention or '**none**'} | {comes_from(dataset, nodes, found)} | "
                     f"{goes_to(dataset, nodes, found)} | {quality_rules(dataset)} |")
    lines.append("")
    return lines
