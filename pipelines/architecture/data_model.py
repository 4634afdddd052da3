"""The logical data model: entities and keys from the data catalogue, relationships from shared keys,
where each entity lives and how the warehouse derives it from the dbt manifest."""

from pipelines import catalogue
from pipelines.architecture.dbt_lineage import LAYERS, Node
from pipelines.catalogue import Dataset

# Where a dataset lives when the dbt manifest does not say (it is written by Python, not by dbt).
WRITTEN_BY_PYTHON = {
    "input": "lake (Parquet, written by `mhhs ingest`)",
    "standing": "standing data (CSV, read by `mhhs settle` into the run's `standing` schema)",
    "output": "warehouse view over the runs' published Parquet (`pipelines/outputs/warehouse.py`)",
}


def references(dataset: Dataset) -> list[tuple[str, tuple[str, ...]]]:
    """(parent dataset, columns) for every reference: the catalogue's declared `references`, and every other
    dataset whose whole key the dataset holds: a code table (one-column key), or a dataset of another kind
    (two standing tables keyed by GSP Group and period are peers, not parent and child)."""
    found = list(dataset.references)
    columns = set(dataset.column_names)
    for parent in catalogue.load().datasets.values():
        if parent.name == dataset.name or not parent.key or not set(parent.key) <= columns:
            continue
        if len(parent.key) == 1 or parent.kind != dataset.kind:
            found.append((parent.name, parent.key))
    return sorted(set(found))


def _attribute(dataset: Dataset, name: str, foreign: set[str]) -> str:
    item = dataset.column(name)
    keys = [k for k, on in (("PK", name in dataset.key), ("FK", name in foreign)) if on]
    unit = f' "{item.unit}"' if item.unit else ""
    return f"        {item.type} {name}{' ' + ', '.join(keys) if keys else ''}{unit}"


def er_diagram() -> str:
    lines = ["erDiagram"]
    datasets = catalogue.load().datasets.values()
    for dataset in datasets:
        foreign = {c for _, cols in references(dataset) for c in cols}
        lines.append(f"    {dataset.name} {{")
        lines += [_attribute(dataset, name, foreign) for name in dataset.column_names]
        lines.append("    }")
    for dataset in datasets:
        for parent, columns in references(dataset):
            whole_key = set(columns) == set(catalogue.dataset(parent).key)
            link = "||--o{" if whole_key else "}o--o{"
            lines.append(f'    {parent} {link} {dataset.name} : "{", ".join(columns)}"')
    return "\n".join(lines)


def lineage_diagram(nodes: dict[str, Node]) -> str:
    lines = ["flowchart LR"]
    for layer in LAYERS:
        lines.append(f"    subgraph {layer}")
        lines += [f'        {_node_id(n)}["{n}"]' for n, node in nodes.items() if node.layer == layer]
        lines.append("    end")
    for name, node in nodes.items():
        lines += [f"    {_node_id(parent)} --> {_node_id(name)}" for parent in node.parents]
    return "\n".join(lines)


def _node_id(name: str) -> str:
    return name.replace(".", "__")


def _location(dataset: Dataset, nodes: dict[str, Node]) -> str:
    held = [n for n, node in nodes.items() if node.dataset == dataset.name]
    if dataset.kind == "output" and dataset.name in nodes:
        return f"warehouse: dbt model `{dataset.name}` ({nodes[dataset.name].layer}), published per run"
    readers = ", ".join(f"`{n}`" for n in held if nodes[n].layer != "input")
    return WRITTEN_BY_PYTHON[dataset.kind] + (f"; read by dbt model {readers}" if readers else "")


def page(nodes: dict[str, Node]) -> str:
    datasets = catalogue.load().datasets.values()
    lines = [
        "<!-- Generated from pipelines/catalogue/catalogue.yml and the dbt manifest by `make docs`; do not edit. -->",
        "# Logical data model",
        "",
        "Entities are the data catalogue's datasets with their columns and keys (PK). A dataset refers to "
        "another (FK) when it holds the other's whole key (one to many), or where the catalogue declares a "
        "reference on part of a key (many to many, e.g. consumption to the registration history of its MPAN). "
        "Types and units are the catalogue's; the full rules are in the [data dictionary](../data_dictionary.md).",
        "",
        "```mermaid",
        er_diagram(),
        "```",
        "",
        "## Where each entity lives",
        "",
        "| entity | kind | key | lives in |",
        "|---|---|---|---|",
    ]
    for dataset in datasets:
        key = ", ".join(f"`{c}`" for c in dataset.key) or "none (every row kept)"
        lines.append(f"| `{dataset.name}` | {dataset.kind} | {key} | {_location(dataset, nodes)} |")
    unlisted = sorted(n for n, node in nodes.items() if node.layer == "marts" and node.dataset is None)
    if unlisted:
        lines += ["", "Marts not (yet) in the data catalogue, so without columns here: "
                  + ", ".join(f"`{n}`" for n in unlisted) + "."]
    lines += [
        "",
        "## How the warehouse derives them (dbt lineage)",
        "",
        "From the dbt manifest (`dbt parse`): inputs (the lake source, standing data and the lake's consumption "
        "partitions that staging models read directly), then staging, intermediate and mart models. The "
        "browsable dbt docs site is built by `make docs` under `DATA_DIR/docs/dbt/`.",
        "",
        "```mermaid",
        lineage_diagram(nodes),
        "```",
        "",
    ]
    return "\n".join(lines)
