"""One partition of a settlement run: `dbt build` of the settlement models (dbt_project/) for some of the run's
GSP Groups, into the partition's own DuckDB file, and what stopped it, in words."""

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from pipelines.core.errors import MhhsError
from pipelines.core.paths import DBT_PROJECT
from pipelines.core.resources import memory_limit
from pipelines.reference.lake import Lake
from pipelines.settle.run import STANDING_TABLES, SettlementRun, run_gsp_groups

DBT_SELECTION = ["path:models/staging", "path:models/intermediate", "path:models/marts", "path:tests/settlement"]

# What each stopping check means, in words for the message.
STOPPING_CHECKS = {
    "assert_line_loss_factor_for_every_period": "no line loss factor (llf.csv) for distributor, LLFC and period",
    "assert_gsp_group_take_for_every_period": "no GSP Group Take (gsp_group_take.csv) for GSP Group and period",
    "assert_gsp_group_correction_possible": "GSP Group Correction impossible: W = 0 but GSP Group Take differs from U",
    "assert_ccc_for_every_volume": "no CCC in ccc.csv for market segment, quantity, actual/estimated, component",
    "assert_corrected_volumes_add_up_to_gsp_group_take": "corrected volumes do not add up to GSP Group Take",
    "assert_every_expected_period_has_a_value": "periods left without a value after estimation",
    "assert_mpan_cores_pass_check_digit": "MPAN cores with a wrong check digit reached settlement",
    "assert_one_registration_in_force": "registration rows of one MPAN and quantity overlap on the settlement date",
}
_SHOWN_ROWS = 5



class PartitionStopped(MhhsError):
    """A partition's stopping checks failed; its result.json says which, finish_run reports them."""


def _run_dbt(run: SettlementRun, folder: Path, database: Path, partition_vars: dict) -> subprocess.CompletedProcess:
    variables = {
        "settlement_date": run.settlement_date.isoformat(),
        "run_id": run.run_id,
        "run_type": run.run_type,
        "run_started_at": run.started_at.isoformat(),
        "lake_dir": str(Lake(run.data_dir).root),
        "ingestion_log": str(run.run_dir / "basis" / "landing_files.parquet"),
        **partition_vars,
    }
    env = {**os.environ, "MHHS_WAREHOUSE": str(database), "MHHS_MEMORY_LIMIT": memory_limit(),
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    return subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), "build", "--select", *DBT_SELECTION, "--exclude", "test_type:unit",
         "--vars", json.dumps(variables),
         "--profiles-dir", str(DBT_PROJECT), "--project-dir", str(DBT_PROJECT),
         "--target-path", str(folder / "target"), "--log-path", str(folder / "logs")],
        cwd=DBT_PROJECT, env=env, capture_output=True, text=True,
    )


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


def settle_partition(run: SettlementRun, gsp_group_ids: list[str] | None = None) -> Path:
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
    with duckdb.connect(str(database)) as con:
        con.execute("CREATE SCHEMA standing")
        for table in STANDING_TABLES:
            con.execute(f"CREATE TABLE standing.{table} AS SELECT * FROM read_parquet('{run.run_dir / 'standing' / f'{table}.parquet'}')")
    # Submissions of MPANs registered in no GSP Group belong to no group: the partition holding the run's
    # first group checks them, so they are refused exactly once.
    checks_unregistered = gsp_group_ids is None or groups[0] in gsp_group_ids
    started = time.perf_counter()
    completed = _run_dbt(run, folder, database, {"gsp_group_ids": gsp_group_ids, "checks_unregistered": checks_unregistered})
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
