"""The data flows to each market participant (CONTRACT.md v2; pipelines/outputs/participants.py), through real
`mhhs ingest` and `mhhs settle` runs:

* a scenario worked by hand (tests/scenarios/unregistered_mpan's landing files, plus a file of rows ingestion
  refuses from two data services): DUoS volumes, BM Unit volumes and each data service's rejections;
* properties over generated days (`mhhs generate`, a few seeds, 20 to 60 MPANs, faults raised so that every kind of
  refusal occurs), each settled once and reused: no folder holds a row of another participant of its kind, the
  suppliers' files together are supplier_volumes, no MPAN core reaches a supplier or the SAA, every manifest's
  SHA-256 and row counts match its files, every JSON message validates against its generated schema and holds the
  CSV's rows, net BM Unit volumes add up to GSP Group Take, DUoS volumes add up to the settled values.
"""

import csv
import json
import re
import shutil
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.catalogue.dip_schema import RECIPIENT_ITEMS, flow_validator, outbound_flows
from pipelines.core.atomic import file_sha256
from pipelines.outputs.participants import MANIFEST
from tests.conftest import PROJECT_ROOT, _mhhs

pytestmark = pytest.mark.integration

SCENARIO = PROJECT_ROOT / "tests" / "scenarios" / "unregistered_mpan"
DAY = "2026-11-10"
GENERATED_DAY = "2026-10-25"  # the autumn clock change: 50 periods
SEEDS_AND_SIZES = [(11, 20), (12, 40), (13, 60)]
FAULTS = ["negative_values=0.01", "bad_check_digits=0.01", "wrong_data_service=0.01", "absurd_values=0.01",
          "malformed_rows=0.01", "unregistered_mpans=0.05"]
TOLERANCE = Decimal("0.001")  # the catalogue's correction tolerance (settlement rule correction_identity)
FLOWS = {flow.recipient: flow for flow in outbound_flows()}

# Rows ingestion refuses, from two data services, header in an order of its own (the quarantine keeps the line,
# not the header). Row 3 is about another date, so this run does not report it.
FAULTY_FILE = """data_service_id,received_at,mpan_core,measurement_quantity,utc_period_start,kwh,quality_flag
SDSA,2026-11-11T01:00:00Z,1200012345679,AI,2026-11-10T05:00:00Z,-1.000,A
SDSB,2026-11-11T01:00:00Z,1200012345670,AI,2026-11-10T06:00:00Z,0.300,A
SDSB,2026-11-13T01:00:00Z,1200012345688,AI,2026-11-12T05:00:00Z,-2.000,A
SDSB,2026-11-11T01:00:00Z,1200012345688,AI,2026-11-10T05:10:00Z,0.300,A
"""


def read_csv(path: Path) -> list[dict]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def participants(data_dir: Path, day: str) -> Path:
    return data_dir / "outbound" / "SF" / day / "participants"


@pytest.fixture(scope="module")
def scenario_day(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("participants_scenario")
    landing = root / "landing"
    shutil.copytree(SCENARIO / "given", landing, ignore=shutil.ignore_patterns("standing"))
    (landing / "consumption" / "consumption_2026-11-10_faults.csv").write_text(FAULTY_FILE)
    data_dir = root / "data"
    _mhhs("--data-dir", data_dir, "ingest", landing)
    _mhhs("--data-dir", data_dir, "settle", "--date", DAY, "--run-type", "SF", "--standing-data",
          SCENARIO / "given" / "standing")
    return data_dir


def test_duos_volumes_by_hand(scenario_day):
    """Distributor 12 (both registered MPANs begin 12): every period SUPA's 1200012345679 sends 0.500 and SUPB's
    1200012345688 0.250 kWh, actual, LLFC D01, import: one A row each with mpan_count 1, before losses (LLF 1.1
    is not applied). The unregistered 1200098765433 (also 12...) was refused: it counts nowhere. No other
    distributor has an MPAN, so no other folder."""
    root = participants(scenario_day, DAY)
    assert sorted(p.name for p in (root / "distributor").iterdir()) == ["12"]
    rows = read_csv(root / "distributor" / "12" / "duos_volumes.csv")
    expected = [{"run_id": "SF-2026-11-10-v1", "settlement_date": DAY, "settlement_period": str(period),
                 "distributor_id": "12", "llfc_id": "D01", "supplier_id": supplier, "measurement_quantity": "AI",
                 "actual_estimated": "A", "mpan_count": "1", "kwh": kwh}
                for period in range(1, 49) for supplier, kwh in (("SUPA", "0.500"), ("SUPB", "0.250"))]
    assert rows == expected


def test_bm_unit_volumes_by_hand_add_up_to_gsp_group_take(scenario_day):
    """plain_day's correction: CF = 1.2. SUPA's base BM Unit 2__CSUPA000 imports (0.5 + 0.05 losses) x 1.2 = 0.66,
    SUPB's 2__CSUPB000 (0.25 + 0.025) x 1.2 = 0.33 a period; nothing exported, so net = import; 0.66 + 0.33 =
    0.99, the GSP Group Take of _C in every period. The SAA's file holds all of bm_unit_volumes."""
    out = scenario_day / "outbound" / "SF" / DAY
    published = read_csv(out / "bm_unit_volumes.csv")
    assert read_csv(participants(scenario_day, DAY) / "saa" / "bm_unit_volumes.csv") == published
    expected = [(str(period), bm_unit, Decimal(kwh), Decimal(0), Decimal(kwh))
                for period in range(1, 49) for bm_unit, kwh in (("2__CSUPA000", "0.66"), ("2__CSUPB000", "0.33"))]
    assert [(r["settlement_period"], r["bm_unit_id"], Decimal(r["import_kwh"]), Decimal(r["export_kwh"]),
             Decimal(r["net_kwh"])) for r in published] == expected
    take = {r["settlement_period"]: Decimal(r["gsp_group_take_kwh"]) for r in read_csv(out / "gsp_group_correction.csv")}
    for period in take:
        assert abs(sum(Decimal(r["net_kwh"]) for r in published if r["settlement_period"] == period) - take[period]) <= TOLERANCE


def test_a_data_service_gets_exactly_its_refused_values(scenario_day):
    """SDSA: ingestion refused its row 1 of the faults file (kwh -1.000, KWH_BELOW_MIN) and the run refused the 48
    values it sent for the unregistered 1200098765433 (NOT_REGISTERED, no landing row number: the run refuses
    values). SDSB, not appointed to anything, sent rows 2 (bad check digit) and 4 (05:10 is no half hour); its
    row 3 is about 2026-11-12, another date's run. Nobody else has a folder but the appointed SDSA and SDSB."""
    root = participants(scenario_day, DAY)
    assert sorted(p.name for p in (root / "data_service").iterdir()) == ["SDSA", "SDSB"]
    faults = "consumption/consumption_2026-11-10_faults.csv"
    unregistered = "consumption/consumption_2026-11-10_unregistered.csv"
    sdsa = [(r["source_file"], r["row_number"], r["reason_code"], r["mpan_core"], r["utc_period_start"])
            for r in read_csv(root / "data_service" / "SDSA" / "rejections.csv")]
    assert sdsa == [(faults, "1", "KWH_BELOW_MIN", "1200012345679", "2026-11-10T05:00:00Z")] + [
        (unregistered, "", "NOT_REGISTERED", "1200098765433", f"2026-11-10T{h // 2:02d}:{30 * (h % 2):02d}:00Z")
        for h in range(48)]
    sdsb = [(r["source_file"], r["row_number"], r["reason_code"], r["mpan_core"], r["utc_period_start"])
            for r in read_csv(root / "data_service" / "SDSB" / "rejections.csv")]
    assert sdsb == [(faults, "2", "MPAN_CORE_CHECK_DIGIT", "1200012345670", "2026-11-10T06:00:00Z"),
                    (faults, "4", "UTC_PERIOD_START_NOT_HALF_HOUR", "1200012345688", "2026-11-10T05:10:00Z")]
    assert all(r["reason"] for r in read_csv(root / "data_service" / "SDSB" / "rejections.csv"))


# ---- properties over generated days ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def generated_days(tmp_path_factory) -> list[Path]:
    days = []
    for seed, mpans in SEEDS_AND_SIZES:
        root = tmp_path_factory.mktemp(f"participants_seed{seed}")
        fault_args = [arg for fault in FAULTS for arg in ("--fault-rate", fault)]
        _mhhs("generate", "--mpans", mpans, "--days", 1, "--start", GENERATED_DAY, "--seed", seed,
              "--out", root / "landing", *fault_args)
        _mhhs("--data-dir", root / "data", "ingest", root / "landing")
        _mhhs("--data-dir", root / "data", "settle", "--date", GENERATED_DAY, "--run-type", "SF",
              "--standing-data", root / "landing" / "standing")
        days.append(root / "data")
    return days


def folders_of(root: Path, kind: str) -> list[Path]:
    return [root / kind] if kind == "saa" else sorted((root / kind).iterdir())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(day=st.integers(0, len(SEEDS_AND_SIZES) - 1), kind=st.sampled_from(sorted(RECIPIENT_ITEMS)), pick=st.integers(0, 10_000))
def test_property_a_folder_holds_only_its_recipients_rows_listed_in_its_manifest(generated_days, day, kind, pick):
    data_dir = generated_days[day]
    root = participants(data_dir, GENERATED_DAY)
    folders = folders_of(root, kind)
    folder = folders[pick % len(folders)]
    flow = FLOWS[kind]
    rows = read_csv(folder / flow.csv_file)
    # only its own rows
    if kind in ("supplier", "distributor"):
        assert {r[RECIPIENT_ITEMS[kind]] for r in rows} <= {folder.name}
    if kind == "data_service":
        assert {(r["source_file"], r["mpan_core"], r["utc_period_start"]) for r in rows} <= sent_by(data_dir, folder.name)
    # no MPAN core where none belongs
    if kind in ("supplier", "saa"):
        assert not re.search(r"(?<![0-9])[0-9]{13}(?![0-9])", (folder / flow.csv_file).read_text())
        assert not re.search(r"(?<![0-9])[0-9]{13}(?![0-9])", (folder / flow.json_file).read_text())
    # the manifest: every file, its rows and SHA-256
    manifest = json.loads((folder / MANIFEST).read_text())
    assert manifest["recipient_id"] == ("SAA" if kind == "saa" else folder.name)
    assert manifest["run_id"] == "SF-2026-10-25-v1" and manifest["settlement_date"] == GENERATED_DAY
    assert sorted(p.name for p in folder.iterdir()) == sorted([MANIFEST, flow.csv_file, flow.json_file])
    for entry in manifest["files"]:
        assert entry["sha256"] == file_sha256(folder / entry["file"])
        assert entry["rows"] == len(rows)
    # the JSON message: valid against the flow's schema, the CSV's rows in the CSV's order
    message = json.loads((folder / flow.json_file).read_text())
    assert list(flow_validator(flow.name).iter_errors(message)) == []
    assert message["CommonBlock"]["A0"] == [{"recipientRole": kind, "recipientId": manifest["recipient_id"]}]
    assert [{k: "" if v is None else str(v) for k, v in row.items()} for row in message["CustomBlock"]["rows"]] == rows


def sent_by(data_dir: Path, data_service_id: str) -> set[tuple]:
    """Everything the data service sent that was refused, from the run's refused values and the lake's quarantine
    (raw CSV lines split by the generator's header): (source file, MPAN core, period start as sent)."""
    run = data_dir / "runs" / "SF" / GENERATED_DAY / "v1"
    with duckdb.connect() as con:
        refused = {(f, m, p) for f, m, p in con.execute(
            "SELECT source_file, mpan_core, strftime(timezone('UTC', utc_period_start), '%Y-%m-%dT%H:%M:%SZ') "
            f"FROM read_parquet('{run / 'published' / 'quarantine.parquet'}') WHERE data_service_id = ?",
            [data_service_id]).fetchall()}
        lines = con.execute(f"SELECT source_file, raw_record FROM read_parquet('{data_dir / 'lake' / 'quarantine'}/*.parquet')").fetchall() \
            if list((data_dir / "lake" / "quarantine").glob("*.parquet")) else []
    header = ["mpan_core", "measurement_quantity", "utc_period_start", "kwh", "quality_flag", "data_service_id", "received_at"]
    for source_file, line in lines:
        fields = dict(zip(header, line.split(",")))
        if fields.get("data_service_id") == data_service_id:
            refused.add((source_file, fields.get("mpan_core"), fields.get("utc_period_start")))
    return refused


def test_the_suppliers_files_together_are_supplier_volumes(generated_days):
    for data_dir in generated_days:
        root = participants(data_dir, GENERATED_DAY)
        published = read_csv(data_dir / "outbound" / "SF" / GENERATED_DAY / "supplier_volumes.csv")
        together = [row for folder in folders_of(root, "supplier") for row in read_csv(folder / "supplier_volumes.csv")]
        key = lambda r: tuple(r.values())  # noqa: E731
        assert sorted(together, key=key) == sorted(published, key=key)
        assert {r["supplier_id"] for r in published} == {f.name for f in folders_of(root, "supplier")}


def test_duos_volumes_add_up_to_the_settled_values_and_net_bm_unit_volumes_to_gsp_group_take(generated_days):
    """Independent of the flows' SQL: the settled values of the run's basis data summed per distributor (the
    first two digits of the core), period and quantity equal the distributors' files; the SAA's net volumes per
    GSP Group and period equal the GSP Group Take within the correction tolerance."""
    for data_dir in generated_days:
        root = participants(data_dir, GENERATED_DAY)
        basis = data_dir / "runs" / "SF" / GENERATED_DAY / "v1" / "basis" / "consumption_after_estimation.parquet"
        with duckdb.connect() as con:
            settled = con.execute(
                f"UNPIVOT (SELECT left(mpan_core, 2) AS d, measurement_quantity AS q, COLUMNS('^kwh_[0-9]+$') "
                f"FROM read_parquet('{basis}')) ON COLUMNS('^kwh_[0-9]+$') INTO NAME p VALUE kwh").fetchall()
        expected: dict[tuple, Decimal] = {}
        for distributor, quantity, period, kwh in settled:
            key = (distributor, quantity, int(period[4:]))
            expected[key] = expected.get(key, Decimal(0)) + kwh
        observed: dict[tuple, Decimal] = {}
        for folder in folders_of(root, "distributor"):
            for r in read_csv(folder / "duos_volumes.csv"):
                key = (r["distributor_id"], r["measurement_quantity"], int(r["settlement_period"]))
                observed[key] = observed.get(key, Decimal(0)) + Decimal(r["kwh"])
        assert observed == expected
        take = {(r["gsp_group_id"], r["settlement_period"]): Decimal(r["gsp_group_take_kwh"])
                for r in read_csv(data_dir / "outbound" / "SF" / GENERATED_DAY / "gsp_group_correction.csv")}
        net: dict[tuple, Decimal] = {}
        for r in read_csv(root / "saa" / "bm_unit_volumes.csv"):
            key = (r["gsp_group_id"], r["settlement_period"])
            net[key] = net.get(key, Decimal(0)) + Decimal(r["net_kwh"])
        assert take, "no GSP Group Take"
        for key, kwh in take.items():
            assert abs(net.get(key, Decimal(0)) - kwh) <= TOLERANCE, key


def test_the_top_manifest_counts_every_rejection_and_names_every_folder(generated_days):
    for data_dir in generated_days:
        root = participants(data_dir, GENERATED_DAY)
        top = json.loads((root / MANIFEST).read_text())
        assert top["folders"] == sorted(str(p.parent.relative_to(root)) for p in root.rglob(MANIFEST) if p.parent != root)
        for flow in outbound_flows():
            files = [folder / flow.csv_file for folder in folders_of(root, flow.recipient)]
            assert top["flows"][flow.name]["rows"] == sum(len(read_csv(f)) for f in files)
            assert top["flows"][flow.name]["recipients"] == len(files)
