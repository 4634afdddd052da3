"""Ingest throughput: generate a settlement day (not timed), then time `mhhs ingest` on the day's
consumption set alone (the ingestion issue's measure) and on the whole landing directory (the registration
snapshots too), each into an empty lake, `--repeat` times each (default 3), taking turns.

    .venv/bin/python bench/ingest_throughput.py --mpans 1000000 [--format csv|parquet] [--repeat N] [--work DIR]

Prints and writes bench/results/ingest_<mpans>_<format>.json: for each measure the median run (its wall
time, values per second and the peak memory of its ingest process), every run's wall time, and the
machine. The median, because one run on a shared 2-core machine varies by several per cent. A benchmark,
not a test: nothing here asserts a speed.
"""

import argparse
import json
import os
import platform
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


def timed_ingest(landing: Path, data: Path) -> dict:
    """One `mhhs ingest` of `landing` into an empty lake `data`: its summary, wall time and peak memory."""
    shutil.rmtree(data, ignore_errors=True)
    started = time.perf_counter()
    process = subprocess.Popen([str(BIN / "mhhs"), "--data-dir", str(data), "ingest", str(landing), "--json"],
                               stdout=subprocess.PIPE, text=True)
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)  # this process's own peak memory, not the generator's
    wall = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    if code:
        raise SystemExit(f"mhhs ingest {landing} failed with exit code {code}")
    summary = json.loads(output)
    values = summary["rows_accepted"] + summary["rows_rejected"]
    return {"rows_in": values, "wall_seconds": round(wall, 2), "values_per_second": round(values / wall),
            "peak_memory_gib": round(usage.ru_maxrss / 1024**2, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mpans", type=int, default=1_000_000)
    parser.add_argument("--format", choices=("csv", "parquet"), default="csv")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each measure; the median is reported")
    parser.add_argument("--work", type=Path, default=None, help="scratch directory (default: a temporary one)")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="mhhs-bench-"))
    landing, data = work / "landing", work / "data"
    shutil.rmtree(landing, ignore_errors=True)
    subprocess.run(
        [str(BIN / "mhhs"), "generate", "--mpans", str(args.mpans), "--days", "1", "--start", "2026-11-10",
         "--seed", "1", "--format", args.format, "--out", str(landing)],
        check=True, stdout=subprocess.DEVNULL,
    )
    os.sync()  # the generated gigabytes reach the disk before the clock starts, not while it runs
    consumption_only = work / "consumption_only"  # the same files, linked: the consumption set alone
    shutil.rmtree(consumption_only, ignore_errors=True)
    (consumption_only / "consumption").mkdir(parents=True)
    for path in sorted((landing / "consumption").iterdir()):
        os.link(path, consumption_only / "consumption" / path.name)
    measures = {"consumption_set": consumption_only, "landing_directory": landing}
    runs = {name: [] for name in measures}
    for _ in range(args.repeat):
        for name, directory in measures.items():
            runs[name].append(timed_ingest(directory, data))
    result = {"benchmark": "ingest", "date": date.today().isoformat(), "mpans": args.mpans, "format": args.format}
    for name, timed in runs.items():
        median = sorted(timed, key=lambda run: run["wall_seconds"])[len(timed) // 2]
        result[name] = median | {"runs": len(timed), "wall_seconds_of_each_run": [run["wall_seconds"] for run in timed]}
    result["machine"] = machine()
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"ingest_{args.mpans}_{args.format}.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
