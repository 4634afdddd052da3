"""`mhhs settle` and the Airflow settlement DAG's last step: a settlement run gated, reported and published,
or stopped with its reason; the warehouse views refreshed either way.

A run is start_run (pipelines.settle.run), then settle_partition (pipelines.settle.partition) for partitions
covering its GSP Groups once each, then finish_run here, which reads the partitions together, gates them with
Great Expectations (pipelines.quality.gate) and publishes (pipelines.settle.publish).
"""

import json
import time
from datetime import date, datetime, timezone
from pathlib import Path

from pipelines.core import validation
from pipelines.core.errors import MhhsError
from pipelines.outputs.warehouse import refresh_views
from pipelines.quality import gate
from pipelines.quality.gate import GateResult
from pipelines.quality.report import write_report
from pipelines.reference.lake import Lake
from pipelines.settle.partition import PartitionStopped, partition_problems, settle_partition
from pipelines.settle.publish import combine, publish, stage
from pipelines.settle.run import SettlementRun, claim_settlement_date, failed_dir, finished_status, record_finished, start_run


def _stop(run: SettlementRun, lake: Lake, problems: list[str], gate_result: GateResult | None) -> MhhsError:
    """Record the stopped run, write its report under DATA_DIR/failed/ and say what stopped it."""
    report = write_report(run, lake, gate_result, failed_dir(lake.data_dir, run), stopped_by=problems)
    record_finished(run, "failed", datetime.now(timezone.utc), " | ".join(problems))
    refresh_views(lake)
    return MhhsError(f"settlement run {run.run_id} stopped, nothing was published: " + "; ".join(problems)
                     + f". Report: {report}")


def finish_run(run: SettlementRun, checker: gate.GateProcess | None = None) -> SettlementRun:
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
        raise MhhsError(f"settlement run {run.run_id} stopped, nothing was published: {reason}")
    checker = checker or gate.GateProcess(lake.data_dir, run.run_dir, run.run_id)
    try:
        problems, partitions = partition_problems(run)
        if problems:
            raise _stop(run, lake, problems, None)
        timings = {"dbt_build": round(sum(json.loads((p / "result.json").read_text()).get("dbt_seconds", 0)
                                          for p in partitions), 2)}
        succeeded_at = datetime.now(timezone.utc)
        started = time.perf_counter()
        with combine(run, partitions) as con:
            staged = stage(run, con, succeeded_at)
        timings["stage"] = round(time.perf_counter() - started, 2)
        started = time.perf_counter()
        gate_result = checker.result()
        timings["gate"] = round(time.perf_counter() - started, 2)
    finally:
        checker.cancel()
    started = time.perf_counter()
    if not gate_result.passed:
        failed = [f"{rule.name} ({rule.unexpected_count} unexpected)" for rule in gate_result.failed]
        raise _stop(run, lake, ["data-quality gate failed: " + ", ".join(failed)], gate_result)
    write_report(run, lake, gate_result, staged)
    publish(run)
    timings["publish"] = round(time.perf_counter() - started, 2)
    (run.run_dir / "timings.json").write_text(json.dumps(timings, indent=2) + "\n")
    record_finished(run, "succeeded", succeeded_at)
    refresh_views(lake)
    return run


def settle(data_dir: Path, settlement_date: date, run_type: str, standing_dir: Path | None = None,
           out_dir: Path | None = None, dispute_reference: str | None = None) -> SettlementRun:
    """A whole run in one process: one partition holding every GSP Group, one run of the date at a time."""
    settlement_date, run_type = validation.settlement_date(settlement_date), validation.run_type(run_type)
    with claim_settlement_date(data_dir, settlement_date, run_type):
        run = start_run(data_dir, settlement_date, run_type, standing_dir, out_dir, dispute_reference)
        checker = gate.GateProcess(run.data_dir, run.run_dir, run.run_id)
        try:
            settle_partition(run)
        except PartitionStopped:
            pass  # finish_run records the run as stopped and raises, naming what is missing
        except BaseException:
            checker.cancel()
            raise
        return finish_run(run, checker)
