"""Imports run one way through the layers of pipelines.layers, and no module imports itself back round a cycle."""

import ast
from pathlib import Path

import pytest

from pipelines.layers import LAYERS, PEERS_APART, TOOLS

pytestmark = pytest.mark.unit

PACKAGE = Path(__file__).resolve().parents[1] / "pipelines"
RANK = {layer: index for index, (layer, _) in enumerate(LAYERS)}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in PACKAGE.rglob("*.py")}


def imports_of(path: Path) -> set[str]:
    """The pipelines modules a module imports, at its top or inside a function: `from a.b import c` is the
    module a.b.c where that is a module, else a.b."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("pipelines")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("pipelines"):
            for alias in node.names:
                child = f"{node.module}.{alias.name}"
                found.add(child if child in MODULES else node.module)
    return found


GRAPH = {name: imports_of(path) - {name} for name, path in MODULES.items()}


def owner(module: str) -> tuple[str, int] | None:
    """(the package prefix, the rank) of the layer or tool a module belongs to."""
    for layer, packages in LAYERS:
        for package in packages:
            if module == package or module.startswith(package + "."):
                return package, RANK[layer]
    for package, cap in TOOLS.items():
        if module == package or module.startswith(package + "."):
            return package, RANK[cap] + 0.5  # a tool may import up to its cap, and no layer imports a tool
    return None


def test_every_module_belongs_to_a_layer_or_a_tool():
    unplaced = [name for name in MODULES if owner(name) is None and name not in ("pipelines", "pipelines.layers")]
    assert unplaced == []


def test_imports_run_one_way_through_the_layers():
    upward = []
    for name, imported in GRAPH.items():
        if owner(name) is None:
            continue
        package, rank = owner(name)
        for target in imported:
            if owner(target) is None:
                continue
            target_package, target_rank = owner(target)
            if target_package != package and target_rank > rank:
                upward.append(f"{name} imports {target}")
    assert upward == []


@pytest.mark.parametrize("first,second", PEERS_APART)
def test_peer_stages_do_not_import_each_other(first, second):
    crossing = [f"{name} imports {target}" for name, imported in GRAPH.items() for target in imported
                for a, b in ((first, second), (second, first))
                if (name == a or name.startswith(a + ".")) and (target == b or target.startswith(b + "."))]
    assert crossing == []


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, found, counter = {}, {}, [], set(), [], [0]

    def visit(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in graph:
                continue
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle():
    assert cycles(GRAPH) == []


def test_the_cycle_finder_finds_a_cycle_and_the_layer_check_an_upward_import():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert owner("pipelines.core.errors")[1] < owner("pipelines.settle.run")[1] < owner("pipelines.jobs.settlement")[1]
