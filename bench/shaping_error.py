"""Shaping error of register reads against the generator's ground truth: for one day a month (the 15th by
default), generate a clean landing directory (no faults), ingest it and settle the day with the real `mhhs`
(SF, the generated standing data), then compare what settlement derived from each register read (basis data
`consumption_after_estimation.parquet` of the run, the periods whose `register_read_mask` bit is set) with the
MPAN's true half-hourly values (`truth/register_read_truth.parquet` of the landing directory).

    .venv/bin/python bench/shaping_error.py [--mpans 2000] [--year 2026] [--day 15] [--months 1 ... 12] [--work DIR]

A date that has not ended yet cannot be settled: the same day of the year before is measured instead. Prints
and writes bench/results/shaping_error.json (after every month, so an interrupted run keeps what it measured):
per month and consent kind (D daily, M monthly), the MPAN days compared, the mean true day total, the mean
absolute error (MAE) of the half-hour values and of the day totals (also as a share of the mean true half hour
and day), and the bias (mean settled / mean true). A daily read is the day's true total, so its day-total error
is the rounding of the shaped values only; a monthly read's day total depends on how the shapes share the month
between its days. A measurement, not a test: nothing here asserts an error.
"""

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from datetime import date, datetime, timezone
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipelines.reference.lake import period_columns  # noqa: E402
from pipelines.synthetic.generate import MANIFEST_FILE, generate  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def mhhs(*arguments: str) -> None:
    """The installed command, as an operator runs it (its exit status checked)."""
    command = [str(Path(sys.executable).with_name("mhhs")), *arguments]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")


def measure(basis: Path, truth: Path, day: date) -> list[dict]:
    """MAE of the derived half-hour values and day totals, per consent kind, against the truth of the day."""
    con = duckdb.connect()
    unpivot = " union all ".join(
        f"select mpan_core, measurement_quantity, {p} as settlement_period, {column} as kwh "
        f"from basis where (register_read_mask >> {p}) & 1 = 1"
        for p, column in enumerate(period_columns("kwh"), start=1))
    con.execute(f"create view basis as select * from read_parquet('{basis}')")
    con.execute(f"create table derived as {unpivot}")
    con.execute(f"""create table truth as select mpan_core, measurement_quantity, settlement_period::integer as
        settlement_period, kwh, consent_granularity
        from read_parquet('{truth}') where settlement_date = date '{day}'""")
    missing = con.execute("""select count(*) from truth anti join derived
        using (mpan_core, measurement_quantity, settlement_period)""").fetchall()[0][0]
    rows = con.execute("""
        with pairs as (
            select t.consent_granularity, t.mpan_core, t.kwh as true_kwh, d.kwh as settled_kwh
            from truth as t
            join derived as d using (mpan_core, measurement_quantity, settlement_period)
        ),
        days as (
            select consent_granularity, mpan_core, sum(true_kwh) as true_kwh, sum(settled_kwh) as settled_kwh,
                   avg(abs(settled_kwh - true_kwh)) as period_error, count(*) as periods
            from pairs group by all
        )
        select consent_granularity, count(*) as mpan_days, sum(periods) as half_hours,
               avg(true_kwh) as mean_true_day_kwh, avg(period_error) as period_mae_kwh,
               avg(period_error) / (sum(true_kwh) / sum(periods)) as period_mae_share,
               avg(abs(settled_kwh - true_kwh)) as day_mae_kwh,
               avg(abs(settled_kwh - true_kwh)) / avg(true_kwh) as day_mae_share,
               avg(settled_kwh) / avg(true_kwh) as bias
        from days group by all order by consent_granularity""").fetchall()
    columns = [d[0] for d in con.description]
    return [{**dict(zip(columns, row)), "true_half_hours_without_derived_value": missing} for row in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mpans", type=int, default=2000)
    parser.add_argument("--year", type=int, default=2026)
    parser.add_argument("--day", type=int, default=15)
    parser.add_argument("--months", type=int, nargs="+", default=list(range(1, 13)))
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args()
    work = Path(args.work or tempfile.mkdtemp(prefix="mhhs-shaping-"))
    results = []
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "shaping_error.json"
    today = datetime.now(timezone.utc).date()
    for month in args.months:
        day = date(args.year, month, args.day)
        if day >= today:  # not ended yet (settlement refuses it): the year before
            day = day.replace(year=day.year - 1)
        landing, data_dir = work / f"landing-{day}", work / f"data-{day}"
        shutil.rmtree(landing, ignore_errors=True)
        shutil.rmtree(data_dir, ignore_errors=True)
        generate(landing, args.mpans, 1, day, seed=month, fault_rates={"all": 0})
        manifest = json.loads((landing / MANIFEST_FILE).read_text())
        mhhs("--data-dir", str(data_dir), "ingest", str(landing))
        mhhs("--data-dir", str(data_dir), "settle", "--date", day.isoformat(), "--run-type", "SF",
             "--standing-data", str(landing / "standing"))
        basis = data_dir / "runs" / "SF" / day.isoformat() / "v1" / "basis" / "consumption_after_estimation.parquet"
        for row in measure(basis, landing / manifest["truth"]["register_read_truth"], day):
            results.append({"settlement_date": day.isoformat(), **row})
            print(f"{day} {row['consent_granularity']}  {row['mpan_days']:4d} MPAN days  true "
                  f"{row['mean_true_day_kwh']:7.3f} kWh/day  half-hour MAE {row['period_mae_kwh']:.4f} "
                  f"({row['period_mae_share']:.1%})  day MAE "
                  f"{row['day_mae_kwh']:.3f} ({row['day_mae_share']:.1%})  bias {row['bias']:.3f}")
        shutil.rmtree(landing)
        shutil.rmtree(data_dir)
        out.write_text(json.dumps({"mpans": args.mpans, "year": args.year, "day_of_month": args.day,
                                   "results": results}, indent=2) + "\n")
    print(f"written: {out}")


if __name__ == "__main__":
    main()
