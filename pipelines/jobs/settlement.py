"""`mhhs settle` and the Airflow settlement DAG's last step: a settlement run gated, reported and published,
or stopped with its reason; the warehouse views refreshed either way.

A run is start_run (pipelines.settle.run), then settle_partition (pipelines.settle.partition) for partitions
covering its GSP Groups once each, then finish_run here, which reads the partitions together, gates them with
Great Expectations (pipelines.quality.gate) and publishes (pipelines.settle.publish).
"""

import json
import time
from contextlib import ExitStack
from datetime import date, datetime, timezone
from pathlib import Path

from pipelines.core import validation
from pipelines.core.atomic import group_readable, open_to_group, set_published_modes
from pipelines.core.errors import OutOfMemory, RunStopped
from pipelines.core.progress import QUIET, Progress
from pipelines.outputs.participants import PARTICIPANTS_DIR, run_facts, write_participant_flows
from pipelines.outputs.warehouse import refresh_views
from pipelines.quality import gate
from pipelines.quality.gate import GateResult
from pipelines.quality.report import REPORT_NAME, write_report
from pipelines.reference.lake import Lake
from pipelines.settle.partition import PartitionStopped, partition_problems, settle_partition
from pipelines.settle.publish import combine, publish, stage
from pipelines.settle.run import (RunOwner, SettlementRun, claim_settlement_date, failed_dir, finished_status, heartbeat,
                                  record_finished, start_run)


GATE_RESULT = "gate_result.json"


def _stop(run: SettlementRun, lake: Lake, problems: list[str],
          gate_result: GateResult | None) -> RunStopped | OutOfMemory:
    """Record the stopped run, write its report under DATA_DIR/failed/ and say what stopped it."""
    report = write_report(run, lake, gate_result, failed_dir(lake.data_dir, run), stopped_by=problems)
    if group_readable():  # auditors read a stopped run's report as they read a published one
        set_published_modes(report.parent, True)
        open_to_group(report.parent, lake.data_dir / "failed", lake.data_dir)
    record_finished(run, "failed", datetime.now(timezone.utc), " | ".join(problems))
    refresh_views(lake)
    message = (f"settlement run {run.run_id} stopped, nothing was published: " + "; ".join(problems)
               + f". Report: {report}")
    if any("Out of Memory Error" in problem for problem in problems):  # DuckDB's words, in dbt's output
        return OutOfMemory(message + ". Raise MHHS_MEMORY_LIMIT and settle again")
    return RunStopped(message)


def _record_gate_result(run: SettlementRun, gate_result: GateResult, report: Path) -> None:
    """The gate's outcome in the run's record (GATE_RESULT): its rule count, the critical rules that failed, the
    warnings (non-critical rules that failed) and the report, for `mhhs settle`'s summary and anyone after."""
    def rules(results):
        return [{"rule": r.name, "unexpected_count": r.unexpected_count, "observed": r.observed} for r in results]

    outcome = {"passed": gate_result.passed, "rules": len(gate_result.rules), "failed": rules(gate_result.failed),
               "warnings": rules(gate_result.warnings), "report": str(report)}
    (run.run_dir / GATE_RESULT).write_text(json.dumps(outcome, indent=2) + "\n")


def gate_outcome(run: SettlementRun) -> dict | None:
    """What _record_gate_result kept for the run, or None when its gate did not run."""
    path = run.run_dir / GATE_RESULT
    return json.loads(path.read_text()) if path.exists() else None


def finish_run(run: SettlementRun, checker: gate.GateProcess | None = None,
               progress: Progress = QUIET) -> SettlementRun:
    """Gate and publish the run from its partitions, or record why it stopped; finished.parquet is written
    last. `checker` is a gate process started earlier (so GX loads while dbt builds), else one starts here.

    Safe to repeat: a finished run is not finished again (a stopped one raises its reason again).
    """
    lake = Lake(run.data_dir)
    finished = finished_status(run)
    if finished is not None:
        if checker is not None:
            checker.cancel()
        status, reason = finished
        if status == "succeeded":
            return run
        raise RunStopped(f"settlement run {run.run_id} stopped, nothing was published: {reason}")
    checker = checker or gate.GateProcess(lake.data_dir, run.run_dir, run.run_id)
    try:
        problems, partitions = partition_problems(run)
        if problems:
            raise _stop(run, lake, problems, None)
        timings = {"dbt_build": round(sum(json.loads((p / "result.json").read_text()).get("dbt_seconds", 0)
                                          for p in partitions), 2)}
        succeeded_at = datetime.now(timezone.utc)
        started = time.perf_counter()
        progress.step("staging the outputs")
        with combine(run, partitions) as con:
            staged = stage(run, con, succeeded_at)
            timings["stage"] = round(time.perf_counter() - started, 2)
            # cut per recipient into staged/ before the gate, so they are published whole with the rest
            started = time.perf_counter()
            progress.step("cutting the data flows to each market participant")
            write_participant_flows(con, run.run_dir, run.data_dir,
                                    run_facts(run.run_id, run.run_type, run.settlement_date, succeeded_at),
                                    staged / PARTICIPANTS_DIR)
            timings["participants"] = round(time.perf_counter() - started, 2)
        started = time.perf_counter()
        progress.step("data-quality gate: waiting for Great Expectations")
        gate_result = checker.result()
        timings["gate"] = round(time.perf_counter() - started, 2)
    finally:
        checker.cancel()
    started = time.perf_counter()
    warnings = len(gate_result.warnings)
    progress.step(f"data-quality gate: {len(gate_result.rules)} rules, {len(gate_result.failed)} failed, "
                  f"{warnings} {'warning' if warnings == 1 else 'warnings'}")
    if not gate_result.passed:
        failed = [f"{rule.name} ({rule.unexpected_count} unexpected)" for rule in gate_result.failed]
        _record_gate_result(run, gate_result, failed_dir(lake.data_dir, run) / REPORT_NAME)
        raise _stop(run, lake, ["data-quality gate failed: " + ", ".join(failed)], gate_result)
    write_report(run, lake, gate_result, staged)
    out = run.out_dir / run.run_type / run.settlement_date.isoformat()
    progress.step(f"publishing to {out}")
    publish(run)
    _record_gate_result(run, gate_result, out / REPORT_NAME)
    timings["publish"] = round(time.perf_counter() - started, 2)
    (run.run_dir / "timings.json").write_text(json.dumps(timings, indent=2) + "\n")
    record_finished(run, "succeeded", succeeded_at)
    refresh_views(lake)
    return run


def settle(data_dir: Path, settlement_date: date, run_type: str, standing_dir: Path | None = None,
           out_dir: Path | None = None, dispute_reference: str | None = None,
           progress: Progress = QUIET) -> SettlementRun:
    """A whole run in one process: one partition holding every GSP Group, one run of the date at a time. This
    process owns the run (owner.json, a heartbeat every HEARTBEAT_SECONDS) and holds the date's claim throughout:
    another run of the date, by hand or by Airflow, refuses meanwhile, and this one refuses while another's
    owner is alive (pipelines.settle.run)."""
    owner = RunOwner.this_process()
    settlement_date, run_type = validation.settlement_date(settlement_date), validation.run_type(run_type)
    with ExitStack() as stack:
        stack.enter_context(claim_settlement_date(data_dir, settlement_date, run_type, owner))
        progress.step(f"settle {run_type} {settlement_date}: checking the inputs and loading the standing data")
        run = start_run(data_dir, settlement_date, run_type, standing_dir, out_dir, dispute_reference, owner)
        stack.enter_context(heartbeat([run.run_dir], owner))
        progress.step(f"run {run.run_id} started")
        checker = gate.GateProcess(run.data_dir, run.run_dir, run.run_id)
        try:
            settle_partition(run, progress=progress)
        except PartitionStopped:
            pass  # finish_run records the run as stopped and raises, naming what is missing
        except BaseException:
            checker.cancel()
            raise
        return finish_run(run, checker, progress)
