"""One partition of a settlement run: `dbt build` of the settlement models (dbt_project/) for some of the run's
GSP Groups, into the partition's own DuckDB file, and what stopped it, in words.

The partition's DuckDB file holds what the build reads besides the lake: the run's standing data (schema
standing) and the run itself (schema settlement_run: its parameters and the landing files it may read). The
models read the run's parameters when they are compiled (dbt_project/macros/run_parameters.sql), not as
`--vars`, so parsing the project does not depend on the run: one parse, saved by dbt as partial_parse.msgpack,
serves every partition of every run of the data directory (DATA_DIR/dbt_parse/, one file per version of the
project; docs/benchmarks.md, "dbt parse cost per partition").
"""

import hashlib
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import duckdb
import yaml

from pipelines import catalogue
from pipelines.core.errors import MhhsError, RunStopped
from pipelines.core.paths import DBT_PROJECT
from pipelines.core.progress import QUIET, Progress
from pipelines.core.resources import memory_limit
from pipelines.reference.lake import Lake
from pipelines.settle.load_shape_history import write_load_shape_history
from pipelines.settle.run import STANDING_TABLES, SettlementRun, run_gsp_groups

DBT_SELECTION = ["path:models/staging", "path:models/intermediate", "path:models/marts", "path:tests/settlement"]
# What each stopping check (dbt_project/tests/settlement/) means, in words for the message.
STOPPING_CHECKS = catalogue.stopping_check_messages()
_SHOWN_ROWS = 5



class PartitionStopped(RunStopped):
    """A partition's stopping checks failed; its result.json says which, finish_run reports them."""


def write_run_inputs(con: duckdb.DuckDBPyConnection, parameters: dict, landing_files: str,
                     data_dir: Path | None = None) -> None:
    """Schema settlement_run of a partition's DuckDB file: the run's parameters (name, value as JSON), which the
    models read when dbt compiles them, the landing files it may read (source settlement_run.landing_files) and
    the published load shapes of other dates in DATA_DIR (source settlement_run.load_shape_history; empty
    without a data directory)."""
    con.execute("CREATE SCHEMA settlement_run")
    con.execute("CREATE TABLE settlement_run.parameters (name VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)")
    con.executemany("INSERT INTO settlement_run.parameters VALUES (?, ?)",
                    [(name, json.dumps(value)) for name, value in parameters.items()])
    con.execute(f"CREATE TABLE settlement_run.landing_files AS SELECT * FROM read_parquet('{landing_files}')")
    write_load_shape_history(con, data_dir, date.fromisoformat(parameters["settlement_date"]))


def run_parameters(run: SettlementRun, gsp_group_ids: list[str] | None, checks_unregistered: bool) -> dict:
    """The parameters the models read with run_parameter(name) (dbt_project/macros/run_parameters.sql)."""
    return {
        "settlement_date": run.settlement_date.isoformat(),
        "run_id": run.run_id,
        "run_type": run.run_type,
        "run_started_at": run.started_at.isoformat(),
        "gsp_group_ids": gsp_group_ids,
        "checks_unregistered": checks_unregistered,
    }


def _project_version() -> str:
    """A digest of what a parse of the dbt project depends on besides the run: dbt's version and the project's
    files (its seeds included). A saved parse is reused only by the same version of the project."""
    project = yaml.safe_load((DBT_PROJECT / "dbt_project.yml").read_text())
    folders = [DBT_PROJECT / folder for key in ("model-paths", "macro-paths", "test-paths", "seed-paths")
               for folder in project[key]]
    files = [DBT_PROJECT / "dbt_project.yml", DBT_PROJECT / "profiles.yml",
             *sorted(path for folder in folders for path in folder.rglob("*") if path.is_file())]
    digest = hashlib.sha256(importlib.metadata.version("dbt-core").encode())
    for path in files:
        digest.update(str(path.relative_to(DBT_PROJECT)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def _saved_parse(run: SettlementRun) -> Path:
    """Where the data directory keeps dbt's parse of this version of the project for every partition's build."""
    return run.data_dir / "dbt_parse" / f"{_project_version()}.msgpack"


def _reuse_parse(saved: Path, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    try:
        shutil.copyfile(saved, target / "partial_parse.msgpack")
    except FileNotFoundError:
        pass  # the first build of this version of the project parses it whole


def _keep_parse(saved: Path, target: Path) -> None:
    """Keep the parse dbt wrote (a whole parse, when there was none to reuse or dbt found it stale) for the
    next partitions; written aside and renamed, so partitions building at once never read half a file."""
    parsed = target / "partial_parse.msgpack"
    if not parsed.exists() or (saved.exists() and saved.read_bytes() == parsed.read_bytes()):
        return
    saved.parent.mkdir(parents=True, exist_ok=True)
    aside = saved.with_name(f"{saved.stem}.{os.getpid()}.tmp")
    shutil.copyfile(parsed, aside)
    os.replace(aside, saved)
    for older in saved.parent.glob("*.msgpack"):
        if older != saved:
            older.unlink(missing_ok=True)  # the parse of an earlier version of the project


# A line of dbt's output saying a node finished ("14 of 36 OK created sql table model main.x .... [OK in 2.1s]"),
# without its colour codes and time: a progress line for each, but for views, which take no time.
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_NODE_DONE = re.compile(r"\b(\d+) of (\d+) (?!START\b)(.+?) \.{2,} \[(.+)\]\s*$")


def _report_dbt_line(line: str, progress: Progress) -> None:
    done = _NODE_DONE.search(_ANSI.sub("", line))
    if done and " view model " not in done.group(3):
        node = done.group(3).split()[-1].removeprefix("main.")
        progress.step(f"dbt build {done.group(1)}/{done.group(2)}: {node} ({done.group(4)})")


def _run_dbt(run: SettlementRun, folder: Path, database: Path,
             progress: Progress = QUIET) -> subprocess.CompletedProcess:
    """`dbt build` of the partition, run in its folder: the profile names the DuckDB file by its name in the
    folder, so the profile, like the vars (the lake only), is the same for every partition and the saved parse
    holds for all of them. Its output is read as it comes, for a progress line per node built or tested."""
    env = {**os.environ, "MHHS_WAREHOUSE": database.name, "MHHS_MEMORY_LIMIT": memory_limit(),
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    saved, target = _saved_parse(run), folder / "target"
    _reuse_parse(saved, target)
    command = [str(Path(sys.executable).parent / "dbt"), "build", "--select", *DBT_SELECTION,
               "--exclude", "test_type:unit", "--vars", json.dumps({"lake_dir": str(Lake(run.data_dir).root)}),
               "--profiles-dir", str(DBT_PROJECT), "--project-dir", str(DBT_PROJECT),
               "--target-path", str(target), "--log-path", str(folder / "logs")]
    output = []
    with subprocess.Popen(command, cwd=folder, env=env, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT) as dbt:
        try:
            for line in dbt.stdout:
                output.append(line)
                _report_dbt_line(line, progress)
        except BaseException:
            dbt.kill()  # as subprocess.run does: no dbt left building after its caller gave up
            raise
    _keep_parse(saved, target)
    return subprocess.CompletedProcess(command, dbt.returncode, "".join(output), "")


def _dbt_errors(output: str) -> list[str]:
    """dbt's own error lines (a compilation error, say), without colour codes and timestamps."""
    lines = [re.sub(r"\x1b\[[0-9;]*m|^\d\d:\d\d:\d\d\s+", "", line).strip() for line in output.splitlines()]
    errors = []
    for index, line in enumerate(lines):
        if re.search(r"\b(Compilation|Parsing|Runtime|Database|Dependency) Error\b", line):
            detail = next((text for text in lines[index + 1:index + 4] if text), "")
            errors.append(f"{line} {detail}".strip())
    return errors[:_SHOWN_ROWS]


def _failures(folder: Path, database: Path, output: str) -> list[str]:
    """What stopped a partition, in words, from dbt's run results and the failing rows it stored."""
    results_file = folder / "target" / "run_results.json"
    if not results_file.exists():
        return _dbt_errors(output) or ["dbt did not run; see " + str(folder / "dbt_output.txt")]
    problems = []
    with duckdb.connect(str(database), read_only=True) as con:
        for result in json.loads(results_file.read_text())["results"]:
            if result["status"] not in ("fail", "error"):
                continue
            name = result["unique_id"].split(".")[2]
            words = STOPPING_CHECKS.get(name, name)
            if result["status"] == "error":
                message = " ".join(line.strip() for line in str(result.get("message", "")).splitlines()[:3])
                problems.append(f"{words}: {message}")
                continue
            try:
                rows = con.execute(f"SELECT * FROM dbt_test__audit.{name} LIMIT {_SHOWN_ROWS}").fetchall()
                columns = [d[0] for d in con.description]
                shown = "; ".join(", ".join(f"{c}={v}" for c, v in zip(columns, row)) for row in rows)
            except duckdb.Error:
                shown = ""
            problems.append(f"{words} ({result.get('failures')} rows){': ' + shown if shown else ''}")
    return problems or _dbt_errors(output) or ["dbt failed; see " + str(folder / "dbt_output.txt")]


def settle_partition(run: SettlementRun, gsp_group_ids: list[str] | None = None, progress: Progress = QUIET) -> Path:
    """Settle the run's GSP Groups `gsp_group_ids` (None: every group) into the partition's own DuckDB file.

    Safe to repeat: a partition starts again from nothing. Raises PartitionStopped naming what is missing
    when a stopping check fails; the partition's result.json records it for finish_run either way.
    """
    groups = run_gsp_groups(run)
    if gsp_group_ids is not None:
        gsp_group_ids = sorted(set(gsp_group_ids))
        unknown = [group for group in gsp_group_ids if group not in groups]
        if not gsp_group_ids or unknown:
            raise MhhsError(f"a partition needs GSP Groups of the run's standing data ({', '.join(groups)}); "
                            f"got {', '.join(unknown) or 'none'}")
    name = "all" if gsp_group_ids is None else "-".join(gsp_group_ids)
    folder = run.partitions_dir / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    database = folder / "work.duckdb"
    # Submissions of MPANs registered in no GSP Group belong to no group: the partition holding the run's
    # first group checks them, so they are refused exactly once.
    checks_unregistered = gsp_group_ids is None or groups[0] in gsp_group_ids
    with duckdb.connect(str(database)) as con:
        con.execute("CREATE SCHEMA standing")
        for table in STANDING_TABLES:
            con.execute(f"CREATE TABLE standing.{table} AS SELECT * FROM read_parquet('{run.run_dir / 'standing' / f'{table}.parquet'}')")
        write_run_inputs(con, run_parameters(run, gsp_group_ids, checks_unregistered),
                         str(run.run_dir / "basis" / "landing_files.parquet"), run.data_dir)
    started = time.perf_counter()
    progress.step(f"dbt build: partition {name} ({len(gsp_group_ids or groups)} GSP Groups)")
    completed = _run_dbt(run, folder, database, progress)
    output = completed.stdout + completed.stderr
    (folder / "dbt_output.txt").write_text(output)
    problems = _failures(folder, database, output) if completed.returncode != 0 else []
    result = {"gsp_group_ids": gsp_group_ids or groups, "problems": problems,
              "dbt_seconds": round(time.perf_counter() - started, 2)}
    temporary = folder / "result.json.tmp"
    temporary.write_text(json.dumps(result, indent=2))
    os.replace(temporary, folder / "result.json")
    if problems:
        raise PartitionStopped(f"settlement run {run.run_id}, GSP Groups {', '.join(result['gsp_group_ids'])} "
                               "stopped: " + "; ".join(problems))
    return folder


def partition_problems(run: SettlementRun) -> tuple[list[str], list[Path]]:
    """What stops the run from its partitions' results, and the partitions it would publish from."""
    groups = run_gsp_groups(run)
    problems: list[str] = []
    covered: list[str] = []
    folders = sorted(path for path in run.partitions_dir.glob("*") if path.is_dir()) if run.partitions_dir.is_dir() else []
    for folder in folders:
        result_file = folder / "result.json"
        if not result_file.exists():
            problems.append(f"partition {folder.name} did not finish")
            continue
        result = json.loads(result_file.read_text())
        covered += result["gsp_group_ids"]
        problems += [problem for problem in result["problems"] if problem not in problems]
    missing = [group for group in groups if group not in covered]
    twice = sorted({group for group in covered if covered.count(group) > 1})
    if missing:
        problems.append(f"GSP Groups {', '.join(missing)} were not settled")
    if twice:
        problems.append(f"GSP Groups {', '.join(twice)} were settled in more than one partition")
    return problems, folders
