"""`mhhs settle` end to end on the committed sample: what is published, the correction identity checked
independently of the code under test, runs that must stop, and run versions as immutable records."""

import csv
import hashlib
import json
import shutil
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pytest

from pipelines import catalogue
from pipelines import cli
from pipelines.core.errors import ExitCode
from pipelines.core.periods import LONDON, utc_period_starts
from tests.conftest import PROJECT_ROOT, SAMPLE_DAY

pytestmark = pytest.mark.integration

SAMPLE = PROJECT_ROOT / "sample_data" / "landing"
MPAN = "1200012345679"
DAY = SAMPLE_DAY  # 2026-10-25, the autumn clock change: the day the shared settled_sample settles (tests/conftest.py)


def ingest_once(tmp_path_factory, name: str, landing: Path) -> Path:
    """A data directory with `landing` ingested (a module fixture: tests work on copies of it)."""
    data_dir = tmp_path_factory.mktemp(name) / "data"
    assert cli.main(["--data-dir", str(data_dir), "ingest", str(landing)]) == 0
    return data_dir


def copy_of(data_dir: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "data"
    shutil.copytree(data_dir, copy)
    return copy


@pytest.fixture
def data_dir(ingested_sample, tmp_path):
    """A copy of the sample ingested once per session (tests/conftest.py), nothing settled yet."""
    return copy_of(ingested_sample, tmp_path)


def settle(capsys, data_dir: Path, standing: Path = SAMPLE / "standing", day: str = DAY, run_type: str = "SF"):
    capsys.readouterr()
    code = cli.main(["--data-dir", str(data_dir), "settle", "--date", day, "--run-type", run_type,
                     "--standing-data", str(standing)])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_published_outputs_have_the_contract_columns_and_every_period(settled_sample):
    published = settled_sample / "outbound" / "SF" / DAY
    for table in ("supplier_volumes", "gsp_group_correction", "settlement_runs"):
        rows = read_csv(published / f"{table}.csv")
        assert list(rows[0]) == catalogue.dataset_columns(table)
        if table == "settlement_runs":
            assert [(r["run_id"], r["version"], r["status"]) for r in rows] == [(f"SF-{DAY}-v1", "1", "succeeded")]
            assert rows[0]["succeeded_at"] > rows[0]["started_at"]
            continue
        assert {int(r["settlement_period"]) for r in rows} == set(range(1, 51))  # the autumn clock change
        assert {r["run_id"] for r in rows} == {f"SF-{DAY}-v1"}
        assert (published / f"{table}.parquet").exists()


def test_corrected_volumes_add_up_to_gsp_group_take_and_the_factor_follows_the_formula(settled_sample):
    published = settled_sample / "outbound" / "SF" / DAY
    take = {(r["gsp_group_id"], int(r["settlement_period"])): float(r["gsp_group_take_kwh"])
            for r in read_csv(SAMPLE / "standing" / "gsp_group_take.csv") if r["settlement_date"] == DAY}
    weights = {r["ccc_id"]: float(r["scaling_weight"]) for r in read_csv(SAMPLE / "standing" / "ccc.csv")}
    corrected, uncorrected, weighted = defaultdict(float), defaultdict(float), defaultdict(float)
    for row in read_csv(published / "supplier_volumes.csv"):
        key = (row["gsp_group_id"], int(row["settlement_period"]))
        sign = 1 if row["measurement_quantity"] == "AI" else -1
        corrected[key] += sign * float(row["corrected_kwh"])
        uncorrected[key] += sign * float(row["uncorrected_kwh"])
        weighted[key] += sign * float(row["uncorrected_kwh"]) * weights[row["ccc_id"]]
    factors = {(r["gsp_group_id"], int(r["settlement_period"])): r for r in read_csv(published / "gsp_group_correction.csv")}
    assert set(corrected) == set(factors) and len(factors) == 14 * 50
    for key, total in corrected.items():
        assert total == pytest.approx(take[key], abs=0.001), key
        row = factors[key]
        assert float(row["gsp_group_take_kwh"]) == take[key]
        assert float(row["uncorrected_kwh"]) == pytest.approx(uncorrected[key], abs=1e-5)
        expected_factor = 1 + (take[key] - uncorrected[key]) / weighted[key]
        # the published volumes are rounded to 6 decimals, so W recomputed from them differs slightly
        assert float(row["correction_factor"]) == pytest.approx(expected_factor, rel=1e-4), key


def test_every_energised_registered_mpan_counts_in_every_period(settled_sample):
    basis = settled_sample / "runs" / "SF" / DAY / "v1" / "basis"
    energised = duckdb.execute(
        f"SELECT count(*) FROM '{basis / 'registrations_in_force.parquet'}' WHERE energisation_status = 'E'"
    ).fetchall()[0][0]
    per_period = defaultdict(int)
    ccc_component = {r["ccc_id"]: r["component"] for r in read_csv(SAMPLE / "standing" / "ccc.csv")}
    for row in read_csv(settled_sample / "outbound" / "SF" / DAY / "supplier_volumes.csv"):
        if ccc_component[row["ccc_id"]] == "C":
            per_period[int(row["settlement_period"])] += int(row["mpan_count"])
    assert set(per_period.values()) == {energised} and energised > 150


def test_a_missing_gsp_group_take_stops_the_run_naming_group_and_period(data_dir, capsys, tmp_path):
    standing = tmp_path / "standing"
    shutil.copytree(SAMPLE / "standing", standing)
    rows = read_csv(standing / "gsp_group_take.csv")
    kept = [r for r in rows if not (r["gsp_group_id"] == "_C" and r["settlement_date"] == DAY and r["settlement_period"] == "7")]
    assert len(kept) == len(rows) - 1
    with open(standing / "gsp_group_take.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(kept)
    code, _, err = settle(capsys, data_dir, standing)
    assert code != 0
    assert "GSP Group Take" in err and "gsp_group_id=_C, settlement_period=7" in err
    assert not (data_dir / "outbound").exists()
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True,
                        config={"file_search_path": str(data_dir)}) as con:
        assert con.execute("SELECT status FROM settlement_runs").fetchall() == [("failed",)]
        assert con.execute("SELECT count(*) FROM supplier_volumes").fetchall() == [(0,)]


def test_without_any_gsp_group_take_the_run_does_not_start(data_dir, capsys, tmp_path):
    standing = tmp_path / "standing"
    shutil.copytree(SAMPLE / "standing", standing)
    (standing / "gsp_group_take.csv").unlink()
    code, _, err = settle(capsys, data_dir, standing)
    assert code == ExitCode.BAD_INPUT and "lacks gsp_group_take.csv" in err and "nothing was settled" in err
    assert not (data_dir / "runs").exists()


def test_without_standing_data_the_run_stops_saying_the_bundled_set_is_synthetic_and_has_no_take(data_dir, capsys):
    capsys.readouterr()
    code = cli.main(["--data-dir", str(data_dir), "settle", "--date", DAY, "--run-type", "SF"])
    err = capsys.readouterr().err
    assert code == ExitCode.STOPPED and "synthetic standing data: for trying the project, never for real settlement" in err
    assert "no GSP Group Take" in err and "--standing-data DIR" in err
    assert not (data_dir / "runs").exists()


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--date", DAY, "--run-type", "XX"], "unknown run type 'XX'"),
        (["--date", "2026-11-01", "--run-type", "SF"], "no consumption ingested for settlement date 2026-11-01"),
    ],
)
def test_bad_arguments_are_refused_with_a_message(data_dir, capsys, arguments, message):
    capsys.readouterr()
    code = cli.main(["--data-dir", str(data_dir), "settle", *arguments, "--standing-data", str(SAMPLE / "standing")])
    err = capsys.readouterr().err
    assert code != 0 and message in err and "Traceback" not in err


def test_a_rerun_is_a_new_version_and_publishes_the_same_volumes(settled_sample_copy, capsys):
    data_dir = settled_sample_copy  # v1 settled by the shared fixture
    first = (data_dir / "runs" / "SF" / DAY / "v1" / "published" / "supplier_volumes.csv").read_bytes()
    assert settle(capsys, data_dir)[0] == 0
    second = (data_dir / "runs" / "SF" / DAY / "v2" / "published" / "supplier_volumes.csv").read_bytes()
    # the earlier run's record and outputs are left as they were
    assert (data_dir / "runs" / "SF" / DAY / "v1" / "published" / "supplier_volumes.csv").read_bytes() == first
    assert second.replace(b"-v2,", b"-v1,") == first
    assert (data_dir / "outbound" / "SF" / DAY / "supplier_volumes.csv").read_bytes() == second
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True,
                        config={"file_search_path": str(data_dir)}) as con:
        assert con.execute("SELECT run_id, version, status FROM settlement_runs ORDER BY version").fetchall() == [
            (f"SF-{DAY}-v1", 1, "succeeded"), (f"SF-{DAY}-v2", 2, "succeeded")]
        assert con.execute("SELECT run_id FROM latest_settlement_runs").fetchall() == [(f"SF-{DAY}-v2",)]
        changes = con.execute("SELECT count(*), max(abs(change_kwh)) FROM run_comparison WHERE previous_run_id IS NOT NULL").fetchall()
        assert changes[0][0] > 0 and changes[0][1] == 0


def test_a_settlement_date_that_has_not_ended_is_refused(tmp_path, capsys):
    today = datetime.now(LONDON).date()
    landing = tmp_path / "landing"
    (landing / "registrations").mkdir(parents=True)
    (landing / "consumption").mkdir()
    (landing / "registrations" / "registrations.csv").write_text(
        ",".join(catalogue.dataset_columns("registrations")) + "\n"
        f"{today - timedelta(days=30)},{MPAN},AI,2020-01-01,,SUPA,SDSA,_C,D01,S,E,Y,HH,3650,\n"
    )
    first = utc_period_starts(today)[0]
    (landing / "consumption" / "consumption.csv").write_text(
        ",".join(catalogue.dataset_columns("consumption")) + "\n"
        f"{MPAN},AI,{first:%Y-%m-%dT%H:%M:%SZ},0.500,A,SDSA,{datetime.now(timezone.utc):%Y-%m-%dT%H:%M:%SZ}\n"
    )
    standing = tmp_path / "standing"
    standing.mkdir()
    shutil.copy(PROJECT_ROOT / "pipelines" / "reference" / "standing_data" / "defaults" / "ccc.csv", standing / "ccc.csv")
    llf_row = {"distributor_id": "12", "gsp_group_id": "_C", "llfc_id": "D01", "llf": "1.1"}
    (standing / "llf.csv").write_text(
        ",".join(catalogue.dataset_columns("llf")) + "\n"
        + "".join(",".join({**llf_row, "settlement_date": str(today), "settlement_period": str(p)}[c]
                           for c in catalogue.dataset_columns("llf")) + "\n"
                  for p in range(1, len(utc_period_starts(today)) + 1)))
    (standing / "gsp_group_take.csv").write_text(
        "gsp_group_id,settlement_date,settlement_period,gsp_group_take_kwh\n"
        + "".join(f"_C,{today},{p},0.660\n" for p in range(1, len(utc_period_starts(today)) + 1))
    )
    data_dir = tmp_path / "data"
    assert cli.main(["--data-dir", str(data_dir), "ingest", str(landing)]) == 0
    capsys.readouterr()
    code = cli.main(["--data-dir", str(data_dir), "settle", "--date", today.isoformat(), "--run-type", "II",
                     "--standing-data", str(standing)])
    err = capsys.readouterr().err
    assert code != 0, "a run of a settlement date that has not ended was settled and published"
    assert f"settlement date {today} has not ended yet" in err
    assert not (data_dir / "outbound" / "II" / today.isoformat()).exists()


# ---- the run record (contract v2): dispute reference, data cut-off, standing data; the timetable's rules ----

SCENARIO = PROJECT_ROOT / "tests" / "scenarios" / "plain_day" / "given"  # one MPAN pair of _C on 2026-11-10
SCENARIO_DAY = "2026-11-10"


@pytest.fixture(scope="module")
def scenario_ingested(tmp_path_factory):
    return ingest_once(tmp_path_factory, "scenario", SCENARIO)


@pytest.fixture
def scenario_data(scenario_ingested, tmp_path):
    return copy_of(scenario_ingested, tmp_path)


def mhhs_settle(capsys, data_dir: Path, run_type: str, *extra: str, standing: Path | None = SCENARIO / "standing"):
    capsys.readouterr()
    code = cli.main(["--data-dir", str(data_dir), "settle", "--date", SCENARIO_DAY, "--run-type", run_type,
                     *(["--standing-data", str(standing)] if standing else []), *extra])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def test_the_run_record_holds_its_data_cut_off_and_the_standing_files_with_their_sha256(scenario_data, capsys):
    code, out, err = mhhs_settle(capsys, scenario_data, "SF")
    assert code == 0, err
    assert "synthetic" not in out + err
    (record,) = read_csv(scenario_data / "outbound" / "SF" / SCENARIO_DAY / "settlement_runs.csv")
    assert list(record) == catalogue.dataset_columns("settlement_runs")
    assert record["dispute_reference"] == ""
    started, cut_off, succeeded = (datetime.fromisoformat(record[c]) for c in ("started_at", "data_cut_off", "succeeded_at"))
    assert started <= cut_off <= succeeded
    run_dir = scenario_data / "runs" / "SF" / SCENARIO_DAY / "v1"
    ingested = duckdb.execute(f"SELECT max(ingested_at) FROM '{run_dir / 'basis' / 'landing_files.parquet'}'").fetchone()[0]
    assert ingested <= cut_off  # every landing file the run used was ingested before its cut-off
    standing = json.loads(record["standing_data"])
    assert standing["synthetic"] is False
    by_file = {f["file"]: f for f in standing["files"]}
    for name in ("llf.csv", "gsp_group_take.csv", "ccc.csv"):
        path = SCENARIO / "standing" / name
        assert by_file[name] == {"file": name, "source": str(path.resolve()),
                                 "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
    # files the directory does not hold: the bundled default, named so, with the SHA-256 of the bundled file
    defaults = PROJECT_ROOT / "pipelines" / "reference" / "standing_data" / "defaults"
    for name in ("gsp_groups.csv", "settlement_calendar.csv", "bank_holidays.csv"):
        assert by_file[name] == {"file": name, "source": "bundled synthetic default",
                                 "sha256": hashlib.sha256((defaults / name).read_bytes()).hexdigest()}
    with duckdb.connect(str(scenario_data / "warehouse.duckdb"), read_only=True,
                        config={"file_search_path": str(scenario_data)}) as con:
        row = con.execute("SELECT dispute_reference, data_cut_off, standing_data::JSON->>'synthetic' FROM settlement_runs").fetchone()
    assert row == (None, cut_off, "false")
    report = (scenario_data / "outbound" / "SF" / SCENARIO_DAY / "data_quality_report.html").read_text()
    assert "<h2>Standing data</h2>" in report and by_file["llf.csv"]["sha256"] in report
    assert "never for real settlement" not in report


def test_refused_runs_exit_5_and_leave_no_record_and_dispute_is_kept_for_df(scenario_data, capsys):
    assert mhhs_settle(capsys, scenario_data, "R1")[0] == 0
    code, _, err = mhhs_settle(capsys, scenario_data, "SF")
    assert code == 5 and "SF refused for 2026-11-10: a later run type of the settlement timetable (R1)" in err
    code, _, err = mhhs_settle(capsys, scenario_data, "DF")
    assert code == 5 and "needs the reference of the upheld dispute it settles: add --dispute REF" in err
    assert sorted(p.relative_to(scenario_data / "runs").as_posix() for p in (scenario_data / "runs").glob("*/*/v*")) == [
        f"R1/{SCENARIO_DAY}/v1"]  # the refused runs left no record
    assert not (scenario_data / "outbound" / "SF").exists() and not (scenario_data / "outbound" / "DF").exists()
    code, out, err = mhhs_settle(capsys, scenario_data, "DF", "--dispute", "TD-2026-0042")
    assert code == 0, err
    assert "(dispute TD-2026-0042)" in out
    (record,) = read_csv(scenario_data / "outbound" / "DF" / SCENARIO_DAY / "settlement_runs.csv")
    assert record["dispute_reference"] == "TD-2026-0042"
    assert "settling dispute TD-2026-0042" in (scenario_data / "outbound" / "DF" / SCENARIO_DAY / "data_quality_report.html").read_text()


@pytest.mark.parametrize("arguments, message", [
    (["--run-type", "SF", "--dispute", "TD-1"], "--dispute is only for a DF (Dispute Final) run, not SF"),
    (["--run-type", "DF", "--dispute", "bad\nreference"], "is not a dispute reference"),
])
def test_a_dispute_reference_on_another_run_type_or_malformed_is_a_usage_error(tmp_path, capsys, arguments, message):
    with pytest.raises(SystemExit) as usage:
        cli.main(["--data-dir", str(tmp_path / "data"), "settle", "--date", SCENARIO_DAY, *arguments])
    assert usage.value.code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "data").exists()


def test_a_run_on_the_bundled_synthetic_set_says_so_in_its_output_record_and_report(scenario_data, capsys, monkeypatch):
    """The bundled set has no GSP Group Take, so `mhhs settle` without --standing-data stops (tested above);
    here one is added to it so the run gets through and its labels can be checked."""
    from pipelines.settle import run as settle_module
    from pipelines.reference.standing_data import load_standing_data, read_standing_file

    def synthetic_with_a_take(directory):
        assert directory is None
        standing = load_standing_data(None)
        standing.gsp_group_take = read_standing_file(SCENARIO / "standing" / "gsp_group_take.csv", "gsp_group_take")
        return standing

    monkeypatch.setattr(settle_module, "load_standing_data", synthetic_with_a_take)
    code, out, err = mhhs_settle(capsys, scenario_data, "SF", standing=None)
    assert code == 0, err
    warning = "synthetic standing data: for trying the project, never for real settlement"
    assert f"WARNING: {warning}" in err and warning in out
    (record,) = read_csv(scenario_data / "outbound" / "SF" / SCENARIO_DAY / "settlement_runs.csv")
    standing = json.loads(record["standing_data"])
    assert standing["synthetic"] is True
    assert {f["file"] for f in standing["files"]} >= {"llf.csv", "ccc.csv", "gsp_groups.csv"}
    assert all(f["source"].startswith("bundled synthetic default") for f in standing["files"])
    report = (scenario_data / "outbound" / "SF" / SCENARIO_DAY / "data_quality_report.html").read_text()
    assert 'class="status synthetic"' in report and "Synthetic standing data: for trying the project, never for real settlement" in report
