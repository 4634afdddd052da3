"""`mhhs demo`: the main job on sample data, start to finish.

Generate synthetic landing files, ingest them into the lake, settle each day. The data-quality gate and
its report join it when they land. Contract v2 inputs are in it too: domestic customers with daily or monthly
consent send register reads instead of half-hourly consumption (settlement shapes them into half hours), and a
few registration changes come as registration updates.
"""

import json
import shutil
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

from pipelines.ingest import render_summary
from pipelines.jobs.ingestion import ingest
from pipelines.jobs.settlement import settle
from pipelines.reference.lake import Lake
from pipelines.synthetic.generate import MANIFEST_FILE, generate

DEMO_MPANS = 200
DEMO_DAYS = 2
DEMO_START = date(2026, 10, 24)  # includes the autumn clock change: 50 settlement periods on 2026-10-25
DEMO_SEED = 7


def demo(data_dir: Path) -> int:
    data_dir = Path(data_dir)
    landing = data_dir / "landing"
    lake = Lake(data_dir)
    # The demo owns these folders: a rerun starts clean.
    for owned in (landing, lake.root, lake.refused_files, *(lake.data_dir / name for name in
                                                           ("runs", "outbound", "failed", "data_docs", "gx"))):
        shutil.rmtree(owned, ignore_errors=True)
    lake.warehouse.unlink(missing_ok=True)
    generate(out_dir=landing, mpans=DEMO_MPANS, days=DEMO_DAYS, start=DEMO_START, seed=DEMO_SEED, file_format="csv", fault_rates={})
    manifest = json.loads((landing / MANIFEST_FILE).read_text())
    reads, consent = manifest["register_read_rows"], manifest["population"]["consent_granularity"]
    print(f"1. Generated {DEMO_MPANS} MPANs x {DEMO_DAYS} settlement days from {DEMO_START} (seed {DEMO_SEED}) with injected faults")
    print(f"   landing files: {landing}  (ground truth: {landing / MANIFEST_FILE})")
    print(f"   register reads: {reads['daily']} daily, {reads['monthly']} monthly, from the {consent['D']} daily- and "
          f"{consent['M']} monthly-consent MPANs (no half-hourly consumption from them)")
    print(f"   registration updates: {manifest['registration_update_rows']} (changes inside the window sent after "
          "the older snapshot)")
    summary = ingest(landing, data_dir)
    print("2. Ingested them into the lake; refused rows are quarantined with a reason code:")
    print("   " + render_summary(summary).replace("\n", "\n   "))
    accepted, rejected = Counter(), Counter()
    for result in summary.files:
        accepted[result.dataset] += result.rows_accepted
        rejected[result.dataset] += result.rows_quarantined
    print(f"   of them register reads: {accepted['register_reads']} accepted, {rejected['register_reads']} rejected; "
          f"registration updates: {accepted['registration_updates']} accepted, "
          f"{rejected['registration_updates']} rejected")
    print("3. Settled each day (run type SF) with the generated standing data:")
    runs = []
    for day in range(DEMO_DAYS):
        run = settle(data_dir, DEMO_START + timedelta(days=day), "SF", landing / "standing")
        runs.append(run)
        published = run.out_dir / run.run_type / run.settlement_date.isoformat()
        print(f"   {run.run_id}: {published}  (auditors: {published / 'data_quality_report.html'})")
    print("Outputs:")
    print(f"   Parquet lake:      {lake.root}")
    print(f"   settlement runs:   {lake.data_dir / 'runs'}  (each run's record, basis data and dbt work database)")
    print(f"   Data Docs:         {lake.data_dir / 'data_docs' / 'index.html'}  (every quality rule of every run)")
    print(f"   DuckDB warehouse:  {lake.warehouse}  (analysts' views: docs/analysts.md)")
    print(f'   query it read-only: mhhs --data-dir {lake.data_dir} sql "SELECT * FROM latest_run_by_day"')
    basis = runs[0].run_dir / "basis" / "consumption_after_estimation.parquet"
    print(f"   shaped register reads: {basis}")
    print(f"                      (register_read_mask bit p set: period p derived from a read; "
          f"true values: {landing / manifest['truth']['register_read_truth']})")
    return 0
