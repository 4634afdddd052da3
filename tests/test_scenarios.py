"""Scenario tests (ARCHITECTURE.md principle 7): tests/scenarios/<name>/ is a business case anyone can read.

    given/registrations/*.csv, given/consumption/*.csv   landing files, ingested with `mhhs ingest given`
    given/standing/*.csv                                  the run's --standing-data (llf.csv, gsp_group_take.csv
                                                          and ccc.csv required; defaults for the others)
    when.yml                                              the command: settlement_date and run_type, or a
                                                          list of runs; a run may name its `dispute` (mhhs
                                                          settle --dispute) and may be expected refused by
                                                          the settlement timetable (`expect: refused`, with
                                                          its `message_matches` and optional `exit_code`):
                                                          nothing recorded or published by it
    then/supplier_volumes.csv, then/gsp_group_correction.csv
                                                          the expected published outputs (CONTRACT columns,
                                                          run_id left out), worked out by hand; a
                                                          settlement_period written `a..b` stands for every
                                                          period from a to b with the same values
    then/report_matches.yml                               optional: patterns (report_matches) the published
                                                          data_quality_report.html must match
    then/review_flags.csv                                 optional: the review flags expected (only the
                                                          columns it lists are compared)
    then/stopped.yml                                      instead: the run must stop (non-zero exit), its
                                                          message must match every pattern, nothing published

Each scenario runs the real command line (pipelines.cli.main) on a data directory in tmp_path. Numbers are
compared to 1e-6; every other column exactly; the rows must match one for one. tests/scenarios/README.md
ties each scenario to its business case.
"""

import csv
import re
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
import yaml

from pipelines import catalogue
from pipelines import cli
from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.scenarios

SCENARIOS = Path(__file__).resolve().parent / "scenarios"
NAMES = sorted(p.name for p in SCENARIOS.iterdir() if (p / "when.yml").is_file())
NUMERIC = {"uncorrected_kwh", "corrected_kwh", "gsp_group_take_kwh", "correction_factor"}
TOLERANCE = 1e-6
OUTPUTS = ("supplier_volumes", "gsp_group_correction")


def load_when(name: str) -> dict:
    return yaml.safe_load((SCENARIOS / name / "when.yml").read_text())


def run_specs(when: dict) -> list[dict]:
    """Every run of when.yml in order: settlement_date, run_type and the optional dispute, expect: refused,
    message_matches and exit_code."""
    runs = when.get("runs") or [{"settlement_date": when["settlement_date"], "run_type": when["run_type"]}]
    return [{**run, "settlement_date": str(run["settlement_date"]), "run_type": str(run["run_type"])} for run in runs]


def runs_of(when: dict) -> list[tuple[str, str]]:
    """The (settlement date, run type) of the runs not expected refused, each once: what they publish."""
    runs = [(run["settlement_date"], run["run_type"]) for run in run_specs(when) if run.get("expect") != "refused"]
    return list(dict.fromkeys(runs))


def recorded_and_published(data_dir: Path) -> dict[str, bytes]:
    """Every run folder's record and every published file, by path: what a refused run must leave alone."""
    paths = [*data_dir.glob("runs/*/*/v*/started.parquet"), *data_dir.glob("outbound/**/*.csv")]
    return {str(path.relative_to(data_dir)): path.read_bytes() for path in paths}


def _periods(text: str) -> list[int]:
    first, _, last = text.partition("..")
    return list(range(int(first), int(last or first) + 1))


def read_expected(path: Path) -> tuple[list[str], list[dict]]:
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        rows = [{**row, "settlement_period": str(p)} for row in reader for p in _periods(row["settlement_period"])]
        return reader.fieldnames, rows


def read_published(paths: list[Path]) -> tuple[list[str], list[dict]]:
    header, rows = None, []
    for path in paths:
        with path.open(newline="") as handle:
            reader = csv.DictReader(handle)
            header = header or reader.fieldnames
            rows += list(reader)
    return header, rows


def _key(row: dict, columns: list[str]) -> tuple:
    return tuple(row[c] if c != "settlement_period" else int(row[c]) for c in columns if c not in NUMERIC)


def compare(table: str, expected: list[dict], published: list[dict], columns: list[str]) -> list[str]:
    """Differences between expected and published rows, in words (empty when they agree)."""
    problems = []
    by_key = {}
    for row in published:
        key = _key(row, columns)
        if key in by_key:
            problems.append(f"{table}: published twice: {key}")
        by_key[key] = row
    seen = set()
    for row in expected:
        key = _key(row, columns)
        if key in seen:
            problems.append(f"{table}: then/ lists twice: {key}")
        seen.add(key)
        actual = by_key.get(key)
        if actual is None:
            problems.append(f"{table}: missing row {key}")
            continue
        for column in sorted(NUMERIC & set(columns)):
            want, got = row[column], actual[column]
            if (want == "") != (got == "") or (want != "" and abs(float(want) - float(got)) > TOLERANCE):
                problems.append(f"{table}: {key} {column} expected {want or 'empty'}, published {got or 'empty'}")
    for key in sorted(set(by_key) - seen, key=str):
        problems.append(f"{table}: unexpected row {key}: {by_key[key]}")
    return problems


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


@pytest.mark.parametrize("name", NAMES)
def test_scenario(name, tmp_path, capsys):
    scenario = SCENARIOS / name
    given, then = scenario / "given", scenario / "then"
    when = load_when(name)
    assert when.get("command") == "settle", "only settle scenarios are supported"
    data_dir, out_dir = tmp_path / "data", tmp_path / "data" / "outbound"

    code, out, err = run_cli(capsys, "--data-dir", data_dir, "ingest", given)
    assert code == 0, f"mhhs ingest given exited {code}: {err}"

    stopped = then / "stopped.yml"
    results = []
    for run in run_specs(when):
        settlement_date, run_type = run["settlement_date"], run["run_type"]
        dispute = ["--dispute", str(run["dispute"])] if run.get("dispute") else []
        before = recorded_and_published(data_dir)
        code, out, err = run_cli(capsys, "--data-dir", data_dir, "settle", "--date", settlement_date,
                                 "--run-type", run_type, "--standing-data", given / "standing", *dispute)
        if run.get("expect") == "refused":
            assert code != 0, f"the {run_type} run of {settlement_date} should have been refused; it said: {out}{err}"
            assert code == run.get("exit_code", code), f"refused with exit {code}, not {run['exit_code']}: {err}"
            missing = [p for p in run.get("message_matches", []) if not re.search(p, err)]
            assert not missing, f"message {err!r} does not match {missing}"
            assert recorded_and_published(data_dir) == before, "a refused run recorded or published something"
            continue
        results.append((settlement_date, run_type, code, out, err))
        if code == 0:  # the run record keeps the dispute reference (DF), empty for any other run
            with (out_dir / run_type / settlement_date / "settlement_runs.csv").open(newline="") as handle:
                (record,) = list(csv.DictReader(handle))
            assert record["dispute_reference"] == str(run.get("dispute") or ""), record

    if stopped.is_file():
        patterns = yaml.safe_load(stopped.read_text())["message_matches"]
        for settlement_date, run_type, code, out, err in results:
            assert code != 0, f"the {run_type} run of {settlement_date} should have stopped; it said: {out}{err}"
            missing = [p for p in patterns if not re.search(p, err)]
            assert not missing, f"message {err!r} does not match {missing}"
            assert not (out_dir / run_type / settlement_date).exists(), "a stopped run published outputs"
        return

    for settlement_date, run_type, code, out, err in results:
        assert code == 0, f"mhhs settle --date {settlement_date} --run-type {run_type} exited {code}: {err}"
    problems = []
    for table in OUTPUTS:
        contract = catalogue.dataset_columns(table)
        header, published = read_published([out_dir / t / d / f"{table}.csv" for d, t in runs_of(when)])
        assert sorted(header) == sorted(contract), f"{table}.csv columns {header} differ from the contract {contract}"
        columns, expected = read_expected(then / f"{table}.csv")
        assert sorted(columns) == sorted(c for c in contract if c != "run_id"), f"then/{table}.csv columns {columns}"
        problems += compare(table, expected, published, columns)
    if (then / "report_matches.yml").is_file():
        # optional: patterns the published data-quality report of every run must match
        patterns = yaml.safe_load((then / "report_matches.yml").read_text())["report_matches"]
        for settlement_date, run_type in runs_of(when):
            report = (out_dir / run_type / settlement_date / "data_quality_report.html").read_text()
            problems += [f"report of {run_type} {settlement_date} does not match {p!r}" for p in patterns
                         if not re.search(p, report)]
    if (then / "review_flags.csv").is_file():
        # optional: the review flags expected, compared on the columns then/ lists
        _, published = read_published([out_dir / t / d / "review_flags.csv" for d, t in runs_of(when)])
        with (then / "review_flags.csv").open(newline="") as handle:
            reader = csv.DictReader(handle)
            columns, expected = reader.fieldnames, list(reader)
        problems += compare("review_flags", expected, published, columns)
    assert not problems, f"{len(problems)} differences:\n" + "\n".join(problems[:40])


@pytest.mark.unit
def test_every_scenario_has_a_readme_line_and_an_expectation():
    readme = (SCENARIOS / "README.md").read_text()
    for name in NAMES:
        assert f"`{name}`" in readme, f"tests/scenarios/README.md has no line for {name}"
        then = SCENARIOS / name / "then"
        assert (then / "stopped.yml").is_file() or all((then / f"{t}.csv").is_file() for t in OUTPUTS), name


def coverage_cases() -> list[tuple[str, list[str]]]:
    """The business cases of tests/scenarios/COVERAGE.md's table with the scenarios each names."""
    cases = []
    for line in (SCENARIOS / "COVERAGE.md").read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if not line.startswith("|") or cells[0] == "area" or not cells[0].strip("-: "):
            continue
        cases.append((cells[1], re.findall(r"`([^`]+)`", cells[-1])))
    return cases


@pytest.mark.unit
def test_every_business_case_has_a_scenario_and_every_scenario_a_business_case():
    cases = coverage_cases()
    assert len(cases) >= 25, "tests/scenarios/COVERAGE.md lost its table"
    named = {name for _, names in cases for name in names}
    assert [case for case, names in cases if not names] == [], "business cases without a scenario"
    assert sorted(named - set(NAMES)) == [], "COVERAGE.md names scenario folders that do not exist (or have no when.yml)"
    assert sorted(set(NAMES) - named) == [], "scenarios that cover no business case of COVERAGE.md"


def default_annual_consumption_share(settlement_date: date, local_half_hour: int,
                                     category: tuple[str, str, str] = ("S", "Y", "AI")) -> Decimal:
    """The share of annual consumption the bundled default load shape gives a local half hour of a date (an
    oracle in Decimal, independent of the dbt models): the default day's shape fraction x the date's day
    weight / the day weights of the 365 days ending on the date, each day's weight its working-day or its
    non-working-day weight (weekends and bank holidays)."""
    defaults = PROJECT_ROOT / "pipelines" / "reference" / "standing_data" / "defaults"
    with (defaults / "load_shape_default.csv").open() as handle:
        shape = {int(r["local_half_hour"]): Decimal(r["shape_fraction"]) for r in csv.DictReader(handle)
                 if (r["market_segment"], r["domestic_premises"], r["measurement_quantity"]) == category}
    with (defaults / "load_shape_season.csv").open() as handle:
        season = {(int(r["month"]), int(r["day_of_month"])): r for r in csv.DictReader(handle)
                  if (r["market_segment"], r["domestic_premises"], r["measurement_quantity"]) == category}
    with (defaults / "bank_holidays.csv").open() as handle:
        holidays = {date.fromisoformat(r["date"]) for r in csv.DictReader(handle)}

    def weight(day: date) -> Decimal:
        working = day.weekday() < 5 and day not in holidays
        return Decimal(season[(day.month, day.day)]["working_day_weight" if working else "non_working_day_weight"])

    year = sum(weight(settlement_date - timedelta(days=k)) for k in range(365))
    return shape[local_half_hour] * weight(settlement_date) / year


def whole_missing_day_expectation() -> tuple[dict, dict]:
    """then/ of whole_missing_day, worked out from the bundled default load shape and season: SUPB's MPAN
    (annual consumption 2920 kWh) sent nothing on 2026-11-10 (GMT: local half hour = period), so each period
    gets 2920 x the default share, rounded to 3 decimals; SUPA's MPAN sent 0.5 kWh actual every period; LLF
    1.1; all CCC weights 1 (CF = GSPGT / U). Returns the expected volumes per (period, CCC) and the factor
    per period."""
    base = SCENARIOS / "whole_missing_day"
    with (base / "given" / "standing" / "gsp_group_take.csv").open() as handle:
        takes = {int(r["settlement_period"]): Decimal(r["gsp_group_take_kwh"]) for r in csv.DictReader(handle)}
    volumes, factors = {}, {}
    for period in range(1, 49):
        estimate = (2920 * default_annual_consumption_share(date(2026, 11, 10), period)).quantize(
            Decimal("0.001"), ROUND_HALF_UP)
        components = {"S01": Decimal("0.5"), "S02": Decimal("0.05"), "S03": estimate, "S04": estimate * Decimal("0.1")}
        total = sum(components.values())
        factors[period] = (takes[period], total, takes[period] / total)
        for ccc, volume in components.items():
            volumes[(period, ccc)] = (volume, volume * takes[period] / total)
    return volumes, factors


@pytest.mark.unit
def test_whole_missing_day_expectation_is_the_seasonal_default_load_shape():
    volumes, factors = whole_missing_day_expectation()
    base = SCENARIOS / "whole_missing_day"
    _, published = read_expected(base / "then" / "supplier_volumes.csv")
    _, published_factors = read_expected(base / "then" / "gsp_group_correction.csv")
    assert len(published) == len(volumes) and len(published_factors) == len(factors) == 48
    for row in published:
        volume, corrected = volumes[(int(row["settlement_period"]), row["ccc_id"])]
        assert abs(Decimal(row["uncorrected_kwh"]) - volume) < Decimal("1e-9")
        assert abs(Decimal(row["corrected_kwh"]) - corrected) < Decimal("1e-6")
    for row in published_factors:
        take, total, factor = factors[int(row["settlement_period"])]
        assert abs(Decimal(row["uncorrected_kwh"]) - total) < Decimal("1e-9")
        assert abs(Decimal(row["correction_factor"]) - factor) < Decimal("1e-6")


@pytest.mark.unit
def test_the_default_load_shape_carries_the_season():
    """DOMAIN.md section 5: a winter day of a domestic customer gets more than AC / 365, a summer day less;
    solar export the other way round."""
    def day_share(day, category=("S", "Y", "AI")):
        return sum(default_annual_consumption_share(day, h, category) for h in range(1, 49))
    flat = Decimal(1) / 365
    assert day_share(date(2026, 1, 15)) > Decimal("1.15") * flat
    assert day_share(date(2026, 7, 15)) < Decimal("0.85") * flat
    assert day_share(date(2026, 1, 15), ("S", "Y", "AE")) < Decimal("0.5") * flat
    assert day_share(date(2026, 7, 15), ("S", "Y", "AE")) > Decimal("1.5") * flat
