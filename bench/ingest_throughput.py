"""Ingest throughput: generate a consumption set (not timed), then time `mhhs ingest` on it.

    .venv/bin/python bench/ingest_throughput.py --mpans 1000000 [--format csv|parquet] [--work DIR]

Prints and writes bench/results/ingest_<mpans>_<format>.json: wall time, values per second, peak memory
of the ingest process, and the machine it ran on. A benchmark, not a test: nothing here asserts a speed.
"""

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

BIN = Path(sys.executable).parent
RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    memory_kb = next(int(line.split()[1]) for line in open("/proc/meminfo") if line.startswith("MemTotal"))
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(memory_kb / 1024**2, 1),
            "python": platform.python_version(), "system": platform.platform()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mpans", type=int, default=1_000_000)
    parser.add_argument("--format", choices=("csv", "parquet"), default="csv")
    parser.add_argument("--work", type=Path, default=None, help="scratch directory (default: a temporary one)")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="mhhs-bench-"))
    landing, data = work / "landing", work / "data"
    shutil.rmtree(landing, ignore_errors=True)
    shutil.rmtree(data, ignore_errors=True)
    subprocess.run(
        [str(BIN / "mhhs"), "generate", "--mpans", str(args.mpans), "--days", "1", "--start", "2026-11-10",
         "--seed", "1", "--format", args.format, "--out", str(landing)],
        check=True, stdout=subprocess.DEVNULL,
    )
    started = time.perf_counter()
    completed = subprocess.run(
        [str(BIN / "mhhs"), "--data-dir", str(data), "ingest", str(landing), "--json"],
        check=True, capture_output=True, text=True,
    )
    wall = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # the largest child: generate or ingest
    summary = json.loads(completed.stdout)
    values = summary["rows_accepted"] + summary["rows_rejected"]
    consumption_values = sum(f["rows_in"] for f in summary["files"] if f["dataset"] == "consumption")
    result = {
        "benchmark": "ingest", "date": date.today().isoformat(), "mpans": args.mpans, "format": args.format,
        "rows_in": values, "consumption_values": consumption_values, "wall_seconds": round(wall, 2),
        "values_per_second": round(values / wall), "peak_memory_gib_of_largest_child": round(peak_kib / 1024**2, 2),
        "machine": machine(),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"ingest_{args.mpans}_{args.format}.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
