"""The dbt project's lineage, read from the manifest `dbt parse` writes (target/manifest.json)."""

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pipelines import catalogue
from pipelines.core.errors import MhhsError
from pipelines.core.paths import PROJECT_ROOT

DBT_PROJECT = PROJECT_ROOT / "dbt_project"
LAYERS = ("input", "staging", "intermediate", "marts")
ANALYST_FOLDER = "analyst"


@dataclass(frozen=True)
class Node:
    name: str
    layer: str  # one of LAYERS
    parents: tuple[str, ...]
    dataset: str | None  # the catalogue dataset the node holds or reads, if any
    description: str


def _dbt(command: list[str], target: Path) -> dict:
    """Run a dbt command on the project into target (against a scratch warehouse) and return its manifest."""
    with tempfile.TemporaryDirectory() as scratch:
        env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
               "MHHS_WAREHOUSE": str(Path(scratch) / "docs.duckdb")}
        completed = subprocess.run(
            [str(Path(sys.executable).parent / "dbt"), *command, "--profiles-dir", ".", "--target-path", str(target),
             "--log-path", str(Path(scratch) / "logs")],
            cwd=DBT_PROJECT, env=env, capture_output=True, text=True,
        )
        if completed.returncode != 0:
            raise MhhsError(f"dbt {' '.join(command)} failed: " + (completed.stdout + completed.stderr)[-2000:])
        return json.loads((target / "manifest.json").read_text())


def parse_manifest() -> dict:
    """The manifest of `dbt parse` (no database needed)."""
    with tempfile.TemporaryDirectory() as scratch:
        return _dbt(["parse"], Path(scratch) / "target")


def build_docs_site(target: Path) -> dict:
    """The dbt docs site as one offline page, target/static_index.html; returns the manifest it was built from."""
    target.mkdir(parents=True, exist_ok=True)
    return _dbt(["docs", "generate", "--static"], target.resolve())


def _staging_input(model_name: str) -> str | None:
    """The catalogue dataset a staging model reads straight from the lake or the standing schema, by the
    naming rule stg_<source>__<entity> (ARCHITECTURE.md principle 3): <entity> is, or starts with, its name."""
    entity = model_name.partition("__")[2]
    names = sorted(catalogue.load().datasets, key=len, reverse=True)
    return next((name for name in names if entity == name or entity.startswith(name + "_")), None)


def lineage(manifest: dict) -> dict[str, Node]:
    """Every model, with the inputs (lake source, standing data, or a dataset a staging model reads
    directly) as nodes of the layer `input`, keyed by name."""
    nodes: dict[str, Node] = {}
    datasets = catalogue.load().datasets
    for source in manifest["sources"].values():
        name = f"{source['source_name']}.{source['name']}"
        nodes[name] = Node(name, "input", (), source["name"] if source["name"] in datasets else None, source["description"])
    # The analysts' warehouse views (models/analyst/) are documented in the dbt docs but are no step of settlement.
    by_id = {uid: node for uid, node in manifest["nodes"].items()
             if node["resource_type"] == "model" and node["fqn"][1] != ANALYST_FOLDER}
    for uid, node in by_id.items():
        layer = node["fqn"][1] if len(node["fqn"]) > 2 else "marts"
        parents = []
        for parent in node["depends_on"]["nodes"]:
            if parent in by_id:
                parents.append(by_id[parent]["name"])
            elif parent in manifest["sources"]:
                source = manifest["sources"][parent]
                parents.append(f"{source['source_name']}.{source['name']}")
        dataset = node["name"] if node["name"] in datasets else None
        # a staging model holds the catalogue dataset of the source it reads (lake.consumption, standing.llf, ...)
        read = [manifest["sources"][parent]["name"] for parent in node["depends_on"]["nodes"]
                if parent in manifest["sources"] and manifest["sources"][parent]["name"] in datasets]
        if layer == "staging" and len(read) == 1:
            dataset = read[0]
        if layer == "staging" and not parents and (read := _staging_input(node["name"])):
            source_name = node["name"].removeprefix("stg_").partition("__")[0]
            input_name = f"{source_name}.{read}"
            nodes.setdefault(input_name, Node(input_name, "input", (), read, datasets[read].description))
            parents.append(input_name)
            dataset = read
        nodes[node["name"]] = Node(node["name"], layer, tuple(sorted(parents)), dataset, node.get("description", ""))
    return dict(sorted(nodes.items()))


def generations(nodes: dict[str, Node]) -> list[list[str]]:
    """Models in build order: each generation depends only on earlier ones (inputs excluded)."""
    depth: dict[str, int] = {}

    def level(name: str) -> int:
        if name not in depth:
            node = nodes[name]
            depth[name] = 0 if node.layer == "input" else 1 + max((level(p) for p in node.parents), default=0)
        return depth[name]

    models = [n for n, node in nodes.items() if node.layer != "input"]
    count = max((level(n) for n in models), default=0)
    return [sorted(n for n in models if level(n) == g) for g in range(1, count + 1)]
