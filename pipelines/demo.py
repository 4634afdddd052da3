"""`mhhs demo`: the main job on sample data, start to finish.

Today that is generating synthetic landing files and ingesting them into the lake; each capability that
lands extends it until it runs the whole settlement.
"""

import shutil
from datetime import date
from pathlib import Path

from pipelines.generate import generate
from pipelines.ingest import ingest, render_summary
from pipelines.lake import Lake

DEMO_MPANS = 200
DEMO_DAYS = 2
DEMO_START = date(2026, 10, 24)  # includes the autumn clock change: 50 settlement periods on 2026-10-25
DEMO_SEED = 7


def demo(data_dir: Path) -> int:
    data_dir = Path(data_dir)
    landing = data_dir / "landing"
    lake = Lake(data_dir)
    # The demo owns these folders: a rerun starts clean.
    for owned in (landing, lake.root, lake.refused_files):
        shutil.rmtree(owned, ignore_errors=True)
    lake.warehouse.unlink(missing_ok=True)
    generate(out_dir=landing, mpans=DEMO_MPANS, days=DEMO_DAYS, start=DEMO_START, seed=DEMO_SEED, file_format="csv", fault_rates={})
    print(f"1. Generated {DEMO_MPANS} MPANs x {DEMO_DAYS} settlement days from {DEMO_START} (seed {DEMO_SEED}) with injected faults")
    print(f"   landing files: {landing}  (ground truth: {landing / 'generation_manifest.json'})")
    summary = ingest(landing, data_dir)
    print("2. Ingested them into the lake; refused rows are quarantined with a reason code:")
    print("   " + render_summary(summary).replace("\n", "\n   "))
    print("Outputs:")
    print(f"   Parquet lake:      {lake.root}")
    print(f"   DuckDB warehouse:  {lake.warehouse}  (views: consumption_values, consumption_submissions,")
    print("                      registrations_current, registrations_history, quarantine, ingestion_log)")
    print(f"   query it read-only, e.g. with Python: duckdb.connect('{lake.warehouse}', read_only=True)")
    return 0
