"""`mhhs bench`: the national-scale benchmark harness (docs/benchmarks.md).

Generates N MPANs x D days of landing data (not timed), then times each stage as its own process, as an
operator runs it: `mhhs ingest`, then `mhhs settle` of each day, whose gate runs inside it. A settle run
records how long each of its own steps took (`<run_dir>/timings.json`: dbt build, staging, gate,
publication), and dbt records each model's time. For every stage: wall time, values per second and the
peak memory of its process tree. Results go to `bench/results/<name>.json`; `render_results` turns every
result there into the table and the scale plot of docs/benchmarks.md.
"""

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from html import escape
from pathlib import Path

import pyarrow.parquet as pq

from pipelines.catalogue.dip_schema import outbound_flows
from pipelines.core.errors import MhhsError
from pipelines.core.paths import PROJECT_ROOT
from pipelines.ingest.landing import LANDING_FORMATS
from pipelines.outputs.participants import MANIFEST
from pipelines.settle.publish import PUBLISHED_TABLES

RESULTS_DIR = PROJECT_ROOT / "bench" / "results"
BENCHMARKS_DOC = PROJECT_ROOT / "docs" / "benchmarks.md"
PLOT_FILE = PROJECT_ROOT / "docs" / "bench_scale.svg"
BENCH_START = date(2026, 11, 10)
BENCH_SEED = 1
TABLE_START, TABLE_END = "<!-- bench-table:start -->", "<!-- bench-table:end -->"
_SLOWEST_MODELS = 5
# The aggregation with GSP Group Correction: volumes and losses summed per supplier, then corrected.
AGGREGATION_MODELS = ("int_supplier_period_volumes", "int_gsp_group_correction", "supplier_volumes", "gsp_group_correction")
# The Load Shaping Service's models inside the dbt build (docs/settlement.md, "The Load Shaping Service").
LOAD_SHAPING_MODELS = ("int_load_shape_season", "int_load_shape_actuals", "int_load_shapes_of_the_day",
                       "int_load_shapes", "load_shapes")
# Register reads checked and shaped into half hours with those shapes (docs/settlement.md, "Register reads").
REGISTER_READ_MODELS = ("int_register_reads_checked", "int_register_reads_refused", "int_register_read_days",
                        "int_register_reads_shaped")


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    memory_kb = next(int(line.split()[1]) for line in open("/proc/meminfo") if line.startswith("MemTotal"))
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(memory_kb / 1024**2, 1),
            "python": platform.python_version(), "system": platform.platform()}


def code_version() -> str | None:
    """The commit the benchmark ran (`-dirty` with uncommitted changes), so each result names its code."""
    try:
        described = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=PROJECT_ROOT, capture_output=True,
                                   text=True, timeout=30)
    except OSError:
        return None
    return described.stdout.strip() or None


def _timed(stage: str, command: list[str], log: Path) -> tuple[float, float]:
    """Run one stage (or the floor) as a process (output to `log`); its wall time and the peak memory of its
    process tree."""
    started = time.perf_counter()
    with open(log, "w") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
        # wait4 gives this process tree's own peak memory (RUSAGE_CHILDREN would mix in earlier stages)
        _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise MhhsError(f"`{stage}` failed during the benchmark (output in {log}): "
                        + log.read_text()[-800:].strip())
    return round(wall, 2), round(usage.ru_maxrss / 1024**2, 2)


# The floor: DuckDB reading the day's consumption landing files once and writing them as Parquet, in a process
# of its own like the stages. Machines of this kind differ by up to 2x from day to day, so a stage's time is
# reported beside its ratio to the floor measured in the same run on the same files (DEVELOPERS.md).
_FLOOR_SCRIPT = """
import sys, duckdb
landing, target, fmt = sys.argv[1:4]
reader = f"read_parquet('{landing}/consumption/*.parquet')" if fmt == "parquet" else (
    f"read_csv('{landing}/consumption/*.csv', all_varchar = true)")
duckdb.sql(f"COPY (SELECT * FROM {reader}) TO '{target}' (FORMAT parquet)")
"""


def _floor(landing: Path, file_format: str, work_dir: Path) -> float:
    """Seconds the floor took (its output removed after)."""
    target = work_dir / "floor.parquet"
    wall, _ = _timed("floor", [sys.executable, "-c", _FLOOR_SCRIPT, str(landing), str(target), file_format],
                     work_dir / "floor.log")
    target.unlink(missing_ok=True)
    return wall


def _disk_bytes(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.exists() else 0


class _PeakDisk:
    """The most disk a folder takes while the stages run (spill files included), sampled every second."""

    def __init__(self, folder: Path):
        self.folder, self.peak = folder, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while not self._stop.wait(1.0):
            try:
                self.peak = max(self.peak, _disk_bytes(self.folder))
            except FileNotFoundError:  # a file removed while it was being measured
                continue

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _disk_bytes(self.folder))


def _stage(wall: float, values: int, peak_gib: float, **extra) -> dict:
    return {"wall_seconds": wall, "values_per_second": round(values / wall) if wall else None,
            "peak_memory_gib": peak_gib, **extra}


def _model_seconds(nodes: list[dict], names: tuple[str, ...]) -> float:
    return sum(n["execution_time"] for n in nodes
               if n["unique_id"].startswith("model.") and n["unique_id"].split(".")[-1] in names)


def _settle_steps(run_dir: Path) -> tuple[dict, list, dict]:
    """The run's step times, its slowest dbt nodes, and the seconds its aggregation, its load shaping and its
    register read models took (each summed over the partitions)."""
    timings = run_dir / "timings.json"
    steps = json.loads(timings.read_text()) if timings.exists() else {}
    nodes = [node for results in sorted(run_dir.glob("partitions/*/target/run_results.json"))
             for node in json.loads(results.read_text())["results"]]
    models = sorted(((n["unique_id"].split(".")[-1], round(n["execution_time"], 2)) for n in nodes),
                    key=lambda m: -m[1])[:_SLOWEST_MODELS]
    groups = {"aggregation": AGGREGATION_MODELS, "load_shaping": LOAD_SHAPING_MODELS,
              "register_reads": REGISTER_READ_MODELS}
    return steps, models, {group: _model_seconds(nodes, names) for group, names in groups.items()}


def _rows(path: Path) -> int:
    """Data rows of a landing or published file: a Parquet file's from its footer, a CSV file's lines less the
    header (no value in these files spans lines)."""
    if path.suffix == ".parquet":
        return pq.ParquetFile(path).metadata.num_rows
    lines = 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 24):
            lines += chunk.count(b"\n")
    return max(lines - 1, 0)


def interface_sizes(landing: Path, published: Path) -> dict:
    """Files, rows and bytes of each interface of one settlement day: what lands in each landing folder
    (LANDING_FORMATS) and each standing data file, and each table published by the run (CSV and Parquet)."""
    sizes = {"landing": {}, "standing": {}, "published": {}}
    for folder in (*LANDING_FORMATS, "standing"):
        for path in sorted((landing / folder).glob("*")):
            if path.suffix not in (".csv", ".parquet"):
                continue
            if folder == "standing":
                sizes["standing"][path.stem] = {"rows": _rows(path), "bytes": path.stat().st_size}
            else:
                entry = sizes["landing"].setdefault(folder, {"files": 0, "rows": 0, "bytes": 0})
                entry["files"] += 1
                entry["rows"] += _rows(path)
                entry["bytes"] += path.stat().st_size
    for table in (*PUBLISHED_TABLES, "settlement_runs"):
        csv_file, parquet_file = published / f"{table}.csv", published / f"{table}.parquet"
        if parquet_file.exists():
            sizes["published"][table] = {"rows": _rows(parquet_file), "csv_bytes": csv_file.stat().st_size,
                                         "parquet_bytes": parquet_file.stat().st_size}
    return sizes


def participant_sizes(root: Path) -> dict:
    """Rows and bytes (CSV + JSON) per recipient of each kind of participant, from the manifests of a run's
    published participants' folder: fewest, median, most, total."""
    def spread(numbers: list[int]) -> dict:
        return {"min": min(numbers), "median": statistics.median(numbers), "max": max(numbers), "total": sum(numbers)}

    sizes = {}
    for flow in outbound_flows():
        manifests = [json.loads(p.read_text()) for p in sorted((root / flow.recipient).rglob(MANIFEST))]
        if not manifests:
            continue
        sizes[flow.recipient] = {
            "recipients": len(manifests),
            "rows": spread([m["files"][0]["rows"] for m in manifests]),
            "csv_bytes": spread([m["files"][0]["bytes"] for m in manifests]),
            "json_bytes": spread([m["files"][1]["bytes"] for m in manifests]),
        }
    return sizes


def run_bench(mpans: int, days: int, file_format: str, work_dir: Path, name: str | None = None) -> dict:
    mhhs = str(Path(sys.executable).parent / "mhhs")
    code = code_version()
    landing, data = work_dir / "landing", work_dir / "data"
    shutil.rmtree(work_dir, ignore_errors=True)
    work_dir.mkdir(parents=True)
    generate_wall, _ = _timed("generate", [mhhs, "generate", "--mpans", str(mpans), "--days", str(days), "--start",
                            BENCH_START.isoformat(), "--seed", str(BENCH_SEED), "--format", file_format,
                            "--out", str(landing)], work_dir / "generate.log")
    manifest = json.loads((landing / "generation_manifest.json").read_text())
    values = manifest["consumption_rows"]
    floor_seconds = _floor(landing, file_format, work_dir)
    with _PeakDisk(data) as disk:
        ingest_wall, ingest_peak = _timed("ingest", [mhhs, "--data-dir", str(data), "ingest", str(landing)],
                                          work_dir / "ingest.log")
        stages = {"ingest": _stage(ingest_wall, values, ingest_peak)}
        settle_walls, settle_peaks, steps, gate_seconds = [], [], {}, 0.0
        model_groups = {"aggregation": 0.0, "load_shaping": 0.0, "register_reads": 0.0}
        for day in range(days):
            settlement_date = (BENCH_START + timedelta(days=day)).isoformat()
            wall, peak = _timed("settle", [mhhs, "--data-dir", str(data), "settle", "--date", settlement_date,
                                           "--run-type", "SF", "--standing-data", str(landing / "standing")],
                                work_dir / f"settle_{settlement_date}.log")
            settle_walls.append(wall)
            settle_peaks.append(peak)
            day_steps, models, day_groups = _settle_steps(data / "runs" / "SF" / settlement_date / "v1")
            for step, seconds in day_steps.items():
                steps[step] = round(steps.get(step, 0) + seconds, 2)
            gate_seconds += day_steps.get("gate", 0.0)
            for group, seconds in day_groups.items():
                model_groups[group] += seconds
    # what each interface carries and each kind of participant receives for one day (the first)
    published = data / "outbound" / "SF" / BENCH_START.isoformat()
    sizes = interface_sizes(landing, published)
    sizes["participants"] = participant_sizes(published / "participants")
    settle_wall = round(sum(settle_walls), 2)
    stages["settle"] = _stage(settle_wall, values, max(settle_peaks), steps=steps, slowest_models=models)
    stages["gate"] = _stage(round(gate_seconds, 2), values, None,
                            note="inside settle: the wait for the gate after the outputs are staged")
    stages["aggregation"] = _stage(round(model_groups["aggregation"], 2), values, None,
                                   note="inside the dbt build: " + ", ".join(AGGREGATION_MODELS))
    # what the contract v2 services cost inside settle, as a share of it (issues 20 and 21: at most 10% each)
    for group, names in (("load_shaping", LOAD_SHAPING_MODELS), ("register_reads", REGISTER_READ_MODELS)):
        seconds = round(model_groups[group], 2)
        stages[group] = _stage(seconds, values, None,
                               share_of_settle=round(seconds / settle_wall, 4) if settle_wall else None,
                               note="inside the dbt build, summed over partitions: " + ", ".join(names))
    participants = steps.get("participants", 0.0)
    stages["participants"] = _stage(participants, values, None,
                                    share_of_settle=round(participants / settle_wall, 4) if settle_wall else None,
                                    note="inside settle: every participant's folder cut, written and hashed")
    result = {
        "name": name or f"{mpans}_{days}d_{file_format}",
        "date": date.today().isoformat(),
        "mpans": mpans, "days": days, "format": file_format, "values": values,
        "not_timed": {"generate_seconds": generate_wall, "landing_bytes": _disk_bytes(landing)},
        "stages": stages,
        "end_to_end_seconds": round(ingest_wall + settle_wall, 2),
        "end_to_end_values_per_second": round(values / (ingest_wall + settle_wall)),
        "floor": {"seconds": floor_seconds,
                  "what": "DuckDB reading the consumption landing files once and writing them as Parquet",
                  "ingest_ratio": round(ingest_wall / floor_seconds, 2),
                  "settle_ratio": round(settle_wall / floor_seconds, 2),
                  "end_to_end_ratio": round((ingest_wall + settle_wall) / floor_seconds, 2)},
        "sizes": sizes,
        "disk_bytes": {"lake": _disk_bytes(data / "lake"), "runs": _disk_bytes(data / "runs"),
                       "warehouse": _disk_bytes(data / "warehouse.duckdb"), "peak_while_running": disk.peak},
        "machine": machine(),
        "code": code,
    }
    return result


def write_result(result: dict, results_dir: Path = RESULTS_DIR) -> Path:
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / f"bench_{result['name']}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    return path


# ---- docs/benchmarks.md: the table and the scale plot ----------------------------------------------


def load_results(results_dir: Path = RESULTS_DIR) -> list[dict]:
    results = [json.loads(p.read_text()) for p in sorted(results_dir.glob("bench_*.json"))]
    return sorted(results, key=lambda r: (r["format"], r["mpans"], r["days"]))


def _share(stages: dict, stage: str) -> str:
    if stage not in stages:
        return "not recorded"
    return f"{stages[stage]['wall_seconds']} s ({100 * stages[stage]['share_of_settle']:.1f}%)"


def _cpu(machine: dict) -> str:
    """The processor's family (AMD EPYC, Intel Xeon), not its full name: what tells two machines apart."""
    name = machine.get("cpu", "")
    for family in ("AMD EPYC", "Intel(R) Xeon(R)"):
        if family in name:
            return family.replace("(R)", "")
    return name or "processor not recorded"


def results_table(results: list[dict]) -> str:
    lines = ["| MPANs | days | landing | values | ingest | settle (gate inside) | gate | end to end | values/s end to end "
             "| aggregation with correction, values/s | load shaping; register reads; participants' flows (share of settle) "
             "| peak memory ingest / settle | lake + runs on disk (most while running) "
             "| floor; end to end / floor | measured on |",
             "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---|---|---:|---:|---|"]
    for r in results:
        s = r["stages"]
        disk = (r["disk_bytes"]["lake"] + r["disk_bytes"]["runs"] + r["disk_bytes"]["warehouse"]) / 1024**3
        aggregation = s.get("aggregation", {}).get("values_per_second")
        peak = r["disk_bytes"].get("peak_while_running")
        peak_disk = f" ({peak / 1024**3:.1f} GiB)" if peak else ""
        floor = f"{r['floor']['seconds']} s; {r['floor']['end_to_end_ratio']}x" if r.get("floor") else "not measured"
        lines.append(
            f"| {r['mpans']:,} | {r['days']} | {r['format']} | {r['values']:,} | {s['ingest']['wall_seconds']} s "
            f"| {s['settle']['wall_seconds']} s | {s['gate']['wall_seconds']} s | {r['end_to_end_seconds']} s "
            f"| {r['end_to_end_values_per_second']:,} | {f'{aggregation:,}' if aggregation else 'not recorded'} "
            f"| {_share(s, 'load_shaping')}; {_share(s, 'register_reads')}; {_share(s, 'participants')} "
            f"| {s['ingest']['peak_memory_gib']} / "
            f"{s['settle']['peak_memory_gib']} GiB | {disk:.2f} GiB{peak_disk} | {floor} | {r['date']}, {_cpu(r['machine'])}, "
            f"{r['machine']['cores']} cores, {r['machine']['memory_gib']} GiB |")
    return "\n".join(lines)


def scale_plot(results: list[dict]) -> str:
    """Wall time of each stage against values per run, log-log, as a self-contained SVG."""
    import math

    width, height, pad = 640, 360, 60
    points = [r for r in results if r["values"] > 0 and r["end_to_end_seconds"] > 0]
    if not points:
        return ""
    series = {"ingest": "#4a78b5", "settle": "#e3a33b", "gate": "#5aa05a", "end to end": "#b33"}

    def seconds(r: dict, stage: str) -> float:
        return r["end_to_end_seconds"] if stage == "end to end" else r["stages"][stage]["wall_seconds"]

    xs = [math.log10(r["values"]) for r in points]
    ys = [math.log10(max(seconds(r, s), 0.1)) for r in points for s in series]
    x_low, x_high = math.floor(min(xs)), math.ceil(max(xs)) + (1 if min(xs) == max(xs) else 0)
    y_low, y_high = math.floor(min(ys)), math.ceil(max(ys)) + (1 if min(ys) == max(ys) else 0)

    def x(value: float) -> float:
        return pad + (width - 2 * pad) * (math.log10(value) - x_low) / (x_high - x_low)

    def y(value: float) -> float:
        return height - pad - (height - 2 * pad) * (math.log10(max(value, 0.1)) - y_low) / (y_high - y_low)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">',
             f'<text x="{width / 2}" y="18" text-anchor="middle" font-size="13">Wall time against values per '
             f'settlement run (log-log)</text>']
    for power in range(x_low, x_high + 1):
        parts.append(f'<line x1="{x(10**power):.1f}" y1="{pad}" x2="{x(10**power):.1f}" y2="{height - pad}" stroke="#ddd"/>'
                     f'<text x="{x(10**power):.1f}" y="{height - pad + 16}" text-anchor="middle">1e{power}</text>')
    for power in range(y_low, y_high + 1):
        parts.append(f'<line x1="{pad}" y1="{y(10**power):.1f}" x2="{width - pad}" y2="{y(10**power):.1f}" stroke="#ddd"/>'
                     f'<text x="{pad - 6}" y="{y(10**power) + 4:.1f}" text-anchor="end">{10**power:g} s</text>')
    parts.append(f'<text x="{width / 2}" y="{height - 20}" text-anchor="middle">half-hourly values</text>')
    for index, (stage, colour) in enumerate(series.items()):
        line = sorted((x(r["values"]), y(seconds(r, stage))) for r in points)
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="'
                     + " ".join(f"{a:.1f},{b:.1f}" for a, b in line) + '"/>')
        parts += [f'<circle cx="{a:.1f}" cy="{b:.1f}" r="3" fill="{colour}"/>' for a, b in line]
        parts.append(f'<rect x="{pad + 10 + index * 110}" y="30" width="10" height="10" fill="{colour}"/>'
                     f'<text x="{pad + 24 + index * 110}" y="39">{escape(stage)}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def render_results(results_dir: Path = RESULTS_DIR, doc: Path = BENCHMARKS_DOC, plot: Path = PLOT_FILE) -> None:
    """Rewrite the generated table in docs/benchmarks.md and the plot beside it from bench/results/."""
    results = load_results(results_dir)
    text = doc.read_text()
    if TABLE_START not in text:
        raise MhhsError(f"{doc} has no {TABLE_START} marker for the benchmark table")
    before, rest = text.split(TABLE_START, 1)
    after = rest.split(TABLE_END, 1)[1]
    doc.write_text(f"{before}{TABLE_START}\n{results_table(results)}\n{TABLE_END}{after}")
    plot.write_text(scale_plot(results))
