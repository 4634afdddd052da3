"""What cutting the data flows to each market participant costs (pipelines/outputs/participants.py), against
the settle it is part of: generate N MPANs for one day (not timed), ingest it, settle it as an operator does
(`mhhs settle`, timed as a process, its own steps in the run's timings.json: `participants` is the cut), then
cut the flows again from the settled run with each writing strategy (one COPY per recipient, or one
COPY ... PARTITION_BY per flow), each timed in this process on the same relations. Also the size of what each
kind of participant receives (rows and bytes per folder) and the floor of docs/benchmarks.md (DuckDB reading the
landing files once and writing them as Parquet), so the figures compare across machines.

    .venv/bin/python bench/participant_flows.py --mpans 1000000
"""

import json
import shutil
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from pipelines.bench.runner import (BENCH_SEED, BENCH_START, RESULTS_DIR, _floor, _timed, code_version, machine,
                                    participant_sizes)
from pipelines.outputs.participants import STRATEGIES, run_facts, write_participant_flows
from pipelines.settle.partition import partition_problems
from pipelines.settle.publish import combine
from pipelines.settle.run import open_run


def bench_participant_flows(mpans: int, work_dir: Path) -> dict:
    mhhs = str(Path(sys.executable).parent / "mhhs")
    landing, data = work_dir / "landing", work_dir / "data"
    shutil.rmtree(work_dir, ignore_errors=True)
    work_dir.mkdir(parents=True)
    day = BENCH_START.isoformat()
    _timed("generate", [mhhs, "generate", "--mpans", str(mpans), "--days", "1", "--start", day, "--seed",
                        str(BENCH_SEED), "--format", "parquet", "--out", str(landing)], work_dir / "generate.log")
    floor = _floor(landing, "parquet", work_dir)
    _timed("ingest", [mhhs, "--data-dir", str(data), "ingest", str(landing)], work_dir / "ingest.log")
    settle_wall, settle_peak = _timed("settle", [mhhs, "--data-dir", str(data), "settle", "--date", day, "--run-type",
                                                 "SF", "--standing-data", str(landing / "standing")],
                                      work_dir / "settle.log")
    run = open_run(data / "runs" / "SF" / day / "v1", data / "outbound")
    steps = json.loads((run.run_dir / "timings.json").read_text())
    _, partitions = partition_problems(run)
    facts = run_facts(run.run_id, run.run_type, run.settlement_date, datetime.now(timezone.utc))
    strategies = {}
    for strategy in STRATEGIES:
        target = work_dir / f"cut_{strategy}"
        with combine(run, partitions) as con:
            started = time.perf_counter()
            write_participant_flows(con, run.run_dir, data, facts, target, strategy)
            strategies[strategy] = round(time.perf_counter() - started, 2)
    published = data / "outbound" / "SF" / day / "participants"
    return {
        "name": f"participant_flows_{mpans}",
        "date": datetime.now(timezone.utc).date().isoformat(),
        "mpans": mpans,
        "settle_seconds": settle_wall,
        "settle_peak_memory_gib": settle_peak,
        "settle_steps": steps,
        "participants_in_settle_seconds": steps.get("participants"),
        "participants_share_of_settle": round(steps.get("participants", 0) / settle_wall, 3),
        "strategies_seconds": strategies,
        "sizes": participant_sizes(published),
        "floor": {"seconds": floor, "what": "DuckDB reading the consumption landing files once and writing them as Parquet",
                  "participants_ratio": round(steps.get("participants", 0) / floor, 2),
                  "settle_ratio": round(settle_wall / floor, 2)},
        "machine": machine(),
        "code": code_version(),
    }


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mpans", type=int, default=1_000_000)
    parser.add_argument("--work-dir", type=Path, default=Path("data") / "bench" / "participant_flows")
    parser.add_argument("--keep", action="store_true", help="keep the generated and settled data")
    args = parser.parse_args(argv)
    result = bench_participant_flows(args.mpans, args.work_dir)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{result['name']}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    if not args.keep:
        shutil.rmtree(args.work_dir, ignore_errors=True)
    print(json.dumps(result, indent=2))
    print(f"result: {path}")
