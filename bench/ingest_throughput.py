"""Ingest throughput: generate a settlement day (not timed), then time `mhhs ingest` on the day's
consumption set alone (the ingestion issue's measure) and on the whole landing directory (the registration
snapshots too), each into an empty lake, `--repeat` times each (default 3), taking turns. Just before each
run the floor is timed (`mhhs bench`'s: DuckDB reading the consumption landing files once and writing
Parquet, pipelines.bench.runner), so that every run is reported beside its ratio to a floor that met the
same load: of wall times, and of CPU times (user + system), which depend less on what else the machine runs.

    .venv/bin/python bench/ingest_throughput.py --mpans 1000000 [--format csv|parquet] [--repeat N] [--work DIR]
        [--measure consumption_set|landing_directory] [--code DIR --code DIR ...] [--reuse-landing]

Prints and writes bench/results/ingest_<mpans>_<format>.json: for each measure the median run by its ratio
to the floor (its wall and CPU time, values per second, ratios and the peak memory of its ingest process),
every run's wall time, floor and ratios, and the machine. The median, because one run on a shared 2-core
machine varies by several per cent. With `--code` (two or more source trees, e.g. a copy of the code before
a change and the working tree), `mhhs ingest` runs each tree's package in turn (PYTHONPATH=DIR), the order
alternating from round to round, and the result goes to bench/results/ingest_<mpans>_<format>_by_code.json.
A benchmark, not a test: nothing here asserts a speed.
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

from pipelines.bench.runner import _floor

BIN = Path(sys.executable).parent
RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    memory_kb = next(int(line.split()[1]) for line in open("/proc/meminfo") if line.startswith("MemTotal"))
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(memory_kb / 1024**2, 1),
            "python": platform.python_version(), "system": platform.platform()}


def timed_ingest(landing: Path, data: Path, code: Path | None = None) -> dict:
    """One `mhhs ingest` of `landing` into an empty lake `data` (with the package of the tree `code` when
    given): its summary, wall time and peak memory."""
    shutil.rmtree(data, ignore_errors=True)
    environment = os.environ | {"PYTHONPATH": str(code)} if code else None
    started = time.perf_counter()
    process = subprocess.Popen([str(BIN / "mhhs"), "--data-dir", str(data), "ingest", str(landing), "--json"],
                               stdout=subprocess.PIPE, text=True, env=environment)
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)  # this process's own peak memory, not the generator's
    wall = time.perf_counter() - started
    exit_code = os.waitstatus_to_exitcode(status)
    if exit_code:
        raise SystemExit(f"mhhs ingest {landing} failed with exit code {exit_code}")
    summary = json.loads(output)
    values = summary["rows_accepted"] + summary["rows_rejected"]
    return {"rows_in": values, "wall_seconds": round(wall, 2), "values_per_second": round(values / wall),
            "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2), "peak_memory_gib": round(usage.ru_maxrss / 1024**2, 2)}


def timed_floor(landing: Path, file_format: str, work: Path) -> dict:
    """The floor (pipelines.bench.runner's, run as its own process): its wall time and CPU time."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = _floor(landing, file_format, work)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return {"wall_seconds": wall, "cpu_seconds": round(cpu, 2)}


def summarised(timed: list[dict]) -> dict:
    """The median run of a measure (by its ratio to the floor), with every run's wall time and ratios."""
    median = sorted(timed, key=lambda run: run["floor_ratio"])[len(timed) // 2]
    return median | {"runs": len(timed), "wall_seconds_of_each_run": [run["wall_seconds"] for run in timed],
                     "floor_seconds_of_each_run": [run["floor_seconds"] for run in timed],
                     "cpu_seconds_of_each_run": [run["cpu_seconds"] for run in timed],
                     "floor_cpu_seconds_of_each_run": [run["floor_cpu_seconds"] for run in timed],
                     "floor_ratio_of_each_run": [run["floor_ratio"] for run in timed],
                     "cpu_floor_ratio_of_each_run": [run["cpu_floor_ratio"] for run in timed]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mpans", type=int, default=1_000_000)
    parser.add_argument("--format", choices=("csv", "parquet"), default="csv")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each measure; the median is reported")
    parser.add_argument("--work", type=Path, default=None, help="scratch directory (default: a temporary one)")
    parser.add_argument("--measure", choices=("consumption_set", "landing_directory"), action="append", default=None,
                        help="time only this measure (default: both)")
    parser.add_argument("--code", type=Path, action="append", default=None,
                        help="a source tree whose package `mhhs ingest` runs; give two or more to compare them")
    parser.add_argument("--reuse-landing", action="store_true", help="keep the day already generated under --work")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="mhhs-bench-"))
    landing, data = work / "landing", work / "data"
    if not (args.reuse_landing and landing.is_dir()):
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
    measures = {name: directory for name, directory in {"consumption_set": consumption_only, "landing_directory": landing}.items()
                if name in (args.measure or ("consumption_set", "landing_directory"))}
    codes = [code.resolve() for code in args.code] if args.code else [None]
    runs = {code: {name: [] for name in measures} for code in codes}
    for round_number in range(args.repeat):
        for code in codes if round_number % 2 == 0 else codes[::-1]:
            for name, directory in measures.items():
                floor = timed_floor(landing, args.format, work)  # just before the run, so both meet the same load
                run = timed_ingest(directory, data, code)
                runs[code][name].append(run | {"floor_seconds": floor["wall_seconds"], "floor_cpu_seconds": floor["cpu_seconds"],
                                               "floor_ratio": round(run["wall_seconds"] / floor["wall_seconds"], 2),
                                               "cpu_floor_ratio": round(run["cpu_seconds"] / floor["cpu_seconds"], 2)})
    result = {"benchmark": "ingest", "date": date.today().isoformat(), "mpans": args.mpans, "format": args.format,
              "floor": "DuckDB reading the consumption landing files once and writing them as Parquet, timed just "
                       "before each run"}
    if args.code:
        result["codes"] = {str(code): {name: summarised(timed) for name, timed in by_measure.items()}
                           for code, by_measure in runs.items()}
    else:
        result |= {name: summarised(timed) for name, timed in runs[None].items()}
    result["machine"] = machine()
    RESULTS.mkdir(exist_ok=True)
    suffix = "_by_code" if args.code else ""
    (RESULTS / f"ingest_{args.mpans}_{args.format}{suffix}.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
