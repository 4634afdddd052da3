"""AC-based estimation against the generator's ground truth: for the 15th of each month, generate a clean day
(no faults), and compare every MPAN's true day total (and half-hour values) with what an estimate from its
annual consumption (AC) would give, before and after seasonal estimation:

    before   AC / 365 spread by the default day shape (the flat rule of contract v1)
    after    AC x load_shape_kwh / annual_total_kwh from the bundled default shape and season (contract v2,
             dbt model int_estimation_load_shapes: default day x the date's day weight, working or not /
             the day weights of the 365 days ending on the date)

    .venv/bin/python bench/estimation_error.py [--mpans 5000] [--year 2026] [--work DIR]

Prints and writes bench/results/estimation_error.json: per month and category (domestic import, non-domestic
import, unmetered, export), the mean true day total, the mean absolute error (MAE) of the day total and of
the half-hour values, before and after. A measurement, not a test: nothing here asserts an error.
"""

import argparse
import json
import shutil
import sys
import tempfile
from datetime import date
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipelines.synthetic.generate import generate  # noqa: E402
from pipelines.reference.standing_data import DEFAULTS_DIR  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
CATEGORY = """case
    when r.measurement_quantity = 'AE' then 'export'
    when r.market_segment = 'U' then 'unmetered'
    when r.domestic_premises = 'Y' then 'domestic import'
    else 'non-domestic import' end"""


def measure(landing: Path, day: date) -> list[dict]:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"""
        create table truth as
        select mpan_core, measurement_quantity,
               (utc_period_start::timestamptz at time zone 'Europe/London') as local_start, kwh::double as kwh
        from read_csv('{landing}/consumption/*.csv', all_varchar = true)
        where utc_period_start like '%Z'""")
    con.execute(f"""
        create table registrations as
        select distinct on (mpan_core, measurement_quantity) *
        from read_csv('{landing}/registrations/*.csv', all_varchar = true)
        order by mpan_core, measurement_quantity, snapshot_date desc""")
    con.execute(f"create table shape as select * from read_csv('{DEFAULTS_DIR}/load_shape_default.csv')")
    con.execute(f"create table holidays as select * from read_csv('{DEFAULTS_DIR}/bank_holidays.csv')")
    con.execute(f"""
        create table weights as
        select d.day::date as day, s.market_segment, s.domestic_premises, s.measurement_quantity,
               case when isodow(d.day) <= 5 and d.day::date not in (select date from holidays)
                    then s.working_day_weight else s.non_working_day_weight end as day_weight
        from range(date '{day}' - interval 364 day, date '{day}' + interval 1 day, interval 1 day) as d(day)
        join read_csv('{DEFAULTS_DIR}/load_shape_season.csv') as s
            on s.month = month(d.day) and s.day_of_month = day(d.day)""")
    rows = con.execute(f"""
        with year as (
            select market_segment, domestic_premises, measurement_quantity, sum(day_weight) as year_weight
            from weights group by all
        ),
        values as (
            select {CATEGORY} as category, t.mpan_core, t.kwh,
                   r.annual_consumption_kwh::double / 365 * sh.shape_fraction as before_kwh,
                   r.annual_consumption_kwh::double * sh.shape_fraction * s.day_weight / y.year_weight as after_kwh
            from truth as t
            join registrations as r using (mpan_core, measurement_quantity)
            join shape as sh on sh.market_segment = r.market_segment and sh.domestic_premises = r.domestic_premises
                and sh.measurement_quantity = r.measurement_quantity
                and sh.local_half_hour = 1 + hour(t.local_start) * 2 + minute(t.local_start) // 30
            join weights as s on s.market_segment = r.market_segment and s.domestic_premises = r.domestic_premises
                and s.measurement_quantity = r.measurement_quantity and s.day = date '{day}'
            join year as y on y.market_segment = r.market_segment and y.domestic_premises = r.domestic_premises
                and y.measurement_quantity = r.measurement_quantity
            where r.energisation_status = 'E' and r.consent_granularity = 'HH'
        ),
        days as (
            select category, mpan_core, sum(kwh) as kwh, sum(before_kwh) as before_kwh, sum(after_kwh) as after_kwh,
                   avg(abs(before_kwh - kwh)) as before_period_error, avg(abs(after_kwh - kwh)) as after_period_error
            from values group by all
        )
        select category, count(*) as mpan_days, avg(kwh) as mean_day_kwh,
               avg(abs(before_kwh - kwh)) as before_day_mae_kwh, avg(abs(after_kwh - kwh)) as after_day_mae_kwh,
               avg(before_kwh) / avg(kwh) as before_bias, avg(after_kwh) / avg(kwh) as after_bias,
               avg(before_period_error) as before_period_mae_kwh, avg(after_period_error) as after_period_mae_kwh
        from days group by all order by category""").fetchall()
    columns = [d[0] for d in con.description]
    return [dict(zip(columns, row)) for row in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mpans", type=int, default=5000)
    parser.add_argument("--year", type=int, default=2026)
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args()
    work = Path(args.work or tempfile.mkdtemp(prefix="mhhs-estimation-"))
    results = []
    for month in range(1, 13):
        day = date(args.year, month, 15)
        landing = work / f"landing-{day}"
        shutil.rmtree(landing, ignore_errors=True)
        generate(landing, args.mpans, 1, day, seed=month, fault_rates={"all": 0})
        for row in measure(landing, day):
            results.append({"settlement_date": day.isoformat(), **row})
            print(f"{day} {row['category']:<20} true {row['mean_day_kwh']:8.3f} kWh/day  day MAE before "
                  f"{row['before_day_mae_kwh']:7.3f} after {row['after_day_mae_kwh']:7.3f}  bias before "
                  f"{row['before_bias']:.2f} after {row['after_bias']:.2f}")
        shutil.rmtree(landing)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "estimation_error.json"
    out.write_text(json.dumps({"mpans": args.mpans, "year": args.year, "results": results}, indent=2) + "\n")
    print(f"written: {out}")


if __name__ == "__main__":
    main()
