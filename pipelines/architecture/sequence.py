"""The interface sequence diagram: the order of data exchanges in a settlement run, from the Airflow DAGs'
task dependencies (loaded with DagBag) and the dbt lineage of the task that runs the settlement models.

A task runs the dbt models when its callable calls a function of DBT_RUNNER that runs dbt (DBT_FUNCTIONS), imported inside
the task or at the top of the DAG file; the lineage is drawn under the first such task.
"""

import os
import tempfile
import types
from pathlib import Path

from pipelines.architecture.dbt_lineage import Node, generations
from pipelines.architecture.interfaces import Interface
from pipelines.core.paths import DAGS_DIR

DBT_RUNNER = "pipelines.settle.partition"
DBT_FUNCTIONS = ("settle_partition",)  # the functions of DBT_RUNNER that run `dbt build`
# Who sends each consumed interface, as a sequence participant.
SENDERS = {"DS": "Data Services", "REGS": "Registration Service", "ISD": "Industry Standing Data and CDCA"}


def load_dags(dags_dir: Path = DAGS_DIR) -> list:
    """Every DAG in the folder, parsed by Airflow's DagBag; an import error stops the generation."""
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    if "AIRFLOW_HOME" not in os.environ:  # keep Airflow's config and logs out of the user's home
        os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="mhhs-docs-airflow-")
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(dags_dir), safe_mode=False)
    if bag.import_errors:
        raise RuntimeError(f"DAGs in {dags_dir} do not import: {bag.import_errors}")
    return sorted(bag.dags.values(), key=lambda dag: (_consumed_assets(dag) != [], dag.dag_id))


def _asset_names(condition) -> list[str]:
    if condition is None:
        return []
    if hasattr(condition, "objects"):
        return [name for part in condition.objects for name in _asset_names(part)]
    return [condition.name]


def _consumed_assets(dag) -> list[str]:
    return _asset_names(dag.timetable.asset_condition)


def _code_names(code: types.CodeType) -> list[str]:
    names = list(code.co_names)
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            names += _code_names(constant)
    return names


def runs_dbt(task) -> bool:
    """Whether the task's callable runs dbt: it calls a DBT_FUNCTIONS function of DBT_RUNNER, imported inside
    it (`from pipelines.settle.partition import settle_partition`, `from pipelines.settle import partition`
    then `partition.settle_partition(...)`) or bound to a name of the DAG file."""
    function = getattr(task, "python_callable", None)
    if function is None:
        return False
    names = _code_names(function.__code__)
    for name in names:
        value = function.__globals__.get(name)
        if getattr(value, "__module__", None) == DBT_RUNNER and getattr(value, "__name__", None) in DBT_FUNCTIONS:
            return True
    candidates = set(names) | {f"{a}.{b}" for a, b in zip(names, names[1:])}
    return DBT_RUNNER in candidates and any(name in DBT_FUNCTIONS for name in names)


def _id(*parts: str) -> str:
    return "_".join(part.replace(".", "_").replace("-", "_") for part in parts)


def _schedule(dag) -> str:
    assets = _consumed_assets(dag)
    if assets:
        return "on Asset " + ", ".join(assets)
    if dag.schedule is None:
        return "triggered by hand"
    return f"schedule {dag.schedule}" if isinstance(dag.schedule, str) else type(dag.timetable).__name__


def _dbt_block(nodes: dict[str, Node], caller: str) -> list[str]:
    inputs = ", ".join(n for n, node in nodes.items() if node.layer == "input")
    lines = ["    rect rgb(235, 244, 255)", f"    {caller}->>dbt: dbt build (settlement models and checks)",
             f"    Lake->>dbt: {inputs}", "    Standing->>dbt: standing data files (the run's basis data)"]
    for number, generation in enumerate(generations(nodes), start=1):
        lines.append(f"    dbt->>dbt: step {number}: {', '.join(generation)}")
    marts = ", ".join(n for n, node in nodes.items() if node.layer == "marts")
    lines += [f"    dbt-->>{caller}: marts {marts}", "    end"]
    return lines


def _text(title: str) -> str:
    return title.replace("`", "")


def sequence_diagram(dags: list, nodes: dict[str, Node], found: list[Interface]) -> str:
    consumed = [i for i in found if i.direction == "consumed"]
    produced = [i for i in found if i.direction == "produced" and i.in_code]
    dbt_tasks = [(dag, task) for dag in dags for task in dag.topological_sort() if runs_dbt(task)]
    lines = ["sequenceDiagram"]
    lines += [f"    participant {key} as {SENDERS[key]}" for key in dict.fromkeys(i.sender for i in consumed)]
    lines += ["    participant Landing as landing directory", "    participant Standing as standing data directory"]
    tasks = {}
    for dag in dags:
        for task in dag.topological_sort():
            tasks[(dag.dag_id, task.task_id)] = _id(dag.dag_id, task.task_id)
            lines.append(f"    participant {tasks[(dag.dag_id, task.task_id)]} as {dag.dag_id}.{task.task_id}")
    if not dbt_tasks:
        lines.append("    participant Settle as mhhs settle")
    lines += ["    participant Lake as Parquet lake", "    participant dbt as dbt on DuckDB",
              "    participant Out as published outputs"]
    for interface in consumed:
        folder = "Landing" if interface.location.startswith("`DIR/") else "Standing"
        lines.append(f"    {interface.sender}->>{folder}: {_text(interface.title)}")
    if not dags:
        lines.append("    Landing->>Lake: mhhs ingest (no DAG in dags/ yet)")
    for dag in dags:
        order = dag.topological_sort()
        lines.append(f"    Note over {tasks[(dag.dag_id, order[0].task_id)]}: DAG {dag.dag_id} ({_schedule(dag)})")
        for task in order:
            here = tasks[(dag.dag_id, task.task_id)]
            mapped = " (mapped, one instance per item)" if task.is_mapped else ""
            for asset in _consumed_assets(dag) if not task.upstream_task_ids else []:
                lines.append(f"    Lake->>{here}: Asset {asset} updated{mapped}")
            for upstream in sorted(task.upstream_task_ids):
                lines.append(f"    {tasks[(dag.dag_id, upstream)]}->>{here}: {upstream} done{mapped}")
            if dbt_tasks and (dag, task) == dbt_tasks[0]:
                lines += _dbt_block(nodes, here)
            for asset in _asset_names_of_outlets(task):
                lines.append(f"    {here}->>Lake: Asset {asset}")
    if dbt_tasks:
        dag = dbt_tasks[-1][0]  # its last task gates and publishes
        publisher = tasks[(dag.dag_id, dag.topological_sort()[-1].task_id)]
    else:
        publisher = "Settle"
        lines += _dbt_block(nodes, publisher)
    for interface in produced:
        lines.append(f"    {publisher}->>Out: {_text(interface.title)} (to {interface.receiver})")
    return "\n".join(lines)


def _asset_names_of_outlets(task) -> list[str]:
    return [outlet.name for outlet in task.outlets if hasattr(outlet, "uri")]


def page(dags: list, nodes: dict[str, Node], found: list[Interface]) -> str:
    listed = ", ".join(f"`{dag.dag_id}`" for dag in dags) or "none yet (`dags/` holds no DAG)"
    return "\n".join([
        "<!-- Generated from dags/ (Airflow DagBag), the dbt manifest and pipelines/ by `make docs`; do not edit. -->",
        "# Internal sequence diagram: Airflow DAGs and dbt",
        "",
        "Inside this system (the exchanges between market participants are on the "
        "[interface sequence diagrams](interface_sequences.md)). "
        "The order of data exchanges in a settlement run: the files the market sends (the consumed interfaces), "
        "then every task of the Airflow DAGs in dependency order (a DAG scheduled on an Asset follows the DAG "
        "that emits it), the dbt models the settlement task builds, generation by generation (each depends "
        "only on earlier ones), and the published outputs.",
        "",
        f"DAGs: {listed}.",
        "",
        "```mermaid",
        sequence_diagram(dags, nodes, found),
        "```",
        "",
    ])
