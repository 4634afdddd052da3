"""Scenario tests (ARCHITECTURE.md principle 7): tests/scenarios/<name>/ is a business case anyone can read.

    given/registrations/*.csv, given/consumption/*.csv   landing files, ingested with `mhhs ingest given`
    given/standing/*.csv                                  the run's --standing-data (defaults where absent)
    when.yml                                              the command: settlement_date and run_type, or a
                                                          list of runs
    then/supplier_volumes.csv, then/gsp_group_correction.csv
                                                          the expected published outputs (CONTRACT columns,
                                                          run_id left out), worked out by hand; a
                                                          settlement_period written `a..b` stands for every
                                                          period from a to b with the same values
    then/stopped.yml                                      instead: the run must stop (non-zero exit), its
                                                          message must match every pattern, nothing published

Each scenario runs the real command line (pipelines.cli.main) on a data directory in tmp_path. Numbers are
compared to 1e-6; every other column exactly; the rows must match one for one. tests/scenarios/README.md
ties each scenario to its business case.
"""

import csv
import re
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
import yaml

from pipelines import catalogue, cli
from tests.conftest import PROJECT_ROOT

SCENARIOS = Path(__file__).resolve().parent / "scenarios"
NAMES = sorted(p.name for p in SCENARIOS.iterdir() if (p / "when.yml").is_file())
NUMERIC = {"uncorrected_kwh", "corrected_kwh", "gsp_group_take_kwh", "correction_factor"}
TOLERANCE = 1e-6
OUTPUTS = ("supplier_volumes", "gsp_group_correction")


def load_when(name: str) -> dict:
    return yaml.safe_load((SCENARIOS / name / "when.yml").read_text())


def runs_of(when: dict) -> list[tuple[str, str]]:
    runs = when.get("runs") or [{"settlement_date": when["settlement_date"], "run_type": when["run_type"]}]
    return [(str(run["settlement_date"]), str(run["run_type"])) for run in runs]


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
    for settlement_date, run_type in runs_of(when):
        code, out, err = run_cli(capsys, "--data-dir", data_dir, "settle", "--date", settlement_date,
                                 "--run-type", run_type, "--standing-data", given / "standing")
        results.append((settlement_date, run_type, code, out, err))

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
    assert not problems, f"{len(problems)} differences:\n" + "\n".join(problems[:40])


def test_every_scenario_has_a_readme_line_and_an_expectation():
    readme = (SCENARIOS / "README.md").read_text()
    for name in NAMES:
        assert f"`{name}`" in readme, f"tests/scenarios/README.md has no line for {name}"
        then = SCENARIOS / name / "then"
        assert (then / "stopped.yml").is_file() or all((then / f"{t}.csv").is_file() for t in OUTPUTS), name


def test_whole_missing_day_expectation_is_the_default_load_shape():
    """then/ of whole_missing_day was worked out from the bundled default load shape (an oracle in Decimal,
    independent of the dbt models): annual consumption 2920 kWh / 365 = 8 kWh a day x shape fraction of the
    local half hour (GMT day: local half hour = period), rounded to 3 decimals; LLF 1.1; all CCC weights 1
    (CF = GSPGT / U)."""
    shape_file = PROJECT_ROOT / "pipelines" / "standing_data" / "defaults" / "load_shape_default.csv"
    with shape_file.open() as handle:
        shape = {int(r["local_half_hour"]): Decimal(r["shape_fraction"]) for r in csv.DictReader(handle)
                 if (r["market_segment"], r["domestic_premises"], r["measurement_quantity"]) == ("S", "Y", "AI")}
    base = SCENARIOS / "whole_missing_day"
    _, volumes = read_expected(base / "then" / "supplier_volumes.csv")
    _, factors = read_expected(base / "then" / "gsp_group_correction.csv")
    with (base / "given" / "standing" / "gsp_group_take.csv").open() as handle:
        takes = {int(r["settlement_period"]): Decimal(r["gsp_group_take_kwh"]) for r in csv.DictReader(handle)}
    assert len(takes) == 48
    for period in range(1, 49):
        estimate = (Decimal(2920) / 365 * shape[period]).quantize(Decimal("0.001"), ROUND_HALF_UP)
        components = {"S01": Decimal("0.5"), "S02": Decimal("0.05"), "S03": estimate, "S04": estimate * Decimal("0.1")}
        total = sum(components.values())
        factor = takes[period] / total
        rows = {r["ccc_id"]: r for r in volumes if r["settlement_period"] == str(period)}
        assert set(rows) == set(components)
        for ccc, volume in components.items():
            assert abs(Decimal(rows[ccc]["uncorrected_kwh"]) - volume) < Decimal("1e-9")
            assert abs(Decimal(rows[ccc]["corrected_kwh"]) - volume * factor) < Decimal("1e-6")
        (row,) = [r for r in factors if r["settlement_period"] == str(period)]
        assert abs(Decimal(row["uncorrected_kwh"]) - total) < Decimal("1e-9")
        assert abs(Decimal(row["correction_factor"]) - factor) < Decimal("1e-6")
