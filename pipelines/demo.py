"""`mhhs demo`: the main job on sample data, start to finish.

Today the job is generating the synthetic landing files; each capability that lands extends it until it
runs the whole settlement.
"""

import shutil
from datetime import date
from pathlib import Path

from pipelines.generate import generate

DEMO_MPANS = 200
DEMO_DAYS = 2
DEMO_START = date(2026, 10, 24)  # includes the autumn clock change: 50 settlement periods on 2026-10-25
DEMO_SEED = 7


def demo(data_dir: Path) -> int:
    landing = Path(data_dir) / "landing"
    if landing.exists():
        shutil.rmtree(landing)  # the demo owns this folder; a rerun starts clean
    summary = generate(
        out_dir=landing, mpans=DEMO_MPANS, days=DEMO_DAYS, start=DEMO_START, seed=DEMO_SEED, file_format="csv", fault_rates={}
    )
    print(f"Generated {DEMO_MPANS} MPANs x {DEMO_DAYS} settlement days from {DEMO_START} (seed {DEMO_SEED}).")
    print(f"  consumption files:  {landing / 'consumption'}")
    print(f"  registrations:      {landing / 'registrations'}")
    print(f"  standing data:      {landing / 'standing'}")
    print(f"  generation summary: {landing / 'generation_manifest.json'}")
    for key in ("consumption_rows", "registration_rows"):
        if key in summary:
            print(f"  {key.replace('_', ' ')}: {summary[key]}")
    return 0
