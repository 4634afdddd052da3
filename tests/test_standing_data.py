import hashlib
import json
import shutil
from datetime import date

import pyarrow as pa
import pytest

from pipelines.core.errors import MhhsError
from pipelines.reference.standing_data import (
    default_distributors,
    default_gsp_groups,
    default_llf,
    default_llfcs,
    load_standing_data,
    read_standing_file,
    write_standing_data,
)
from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.unit

# A standing data directory in the current format with the files --standing-data requires.
SCENARIO_STANDING = PROJECT_ROOT / "tests" / "scenarios" / "plain_day" / "given" / "standing"
REQUIRED = ("llf.csv", "gsp_group_take.csv", "ccc.csv")


def required_files_in(directory):
    for name in REQUIRED:
        shutil.copy(SCENARIO_STANDING / name, directory / name)
    return directory


def test_defaults_hold_the_14_gsp_groups_and_a_full_ccc_table():
    standing = load_standing_data()
    groups = standing.gsp_groups.column("gsp_group_id").to_pylist()
    assert groups == ["_A", "_B", "_C", "_D", "_E", "_F", "_G", "_H", "_J", "_K", "_L", "_M", "_N", "_P"]
    combinations = {
        (r["market_segment"], r["measurement_quantity"], r["actual_estimated"], r["component"])
        for r in standing.ccc.to_pylist()
    }
    # market segment x measurement quantity x actual/estimated x component, each exactly once
    assert len(combinations) == standing.ccc.num_rows == 3 * 2 * 2 * 2
    assert standing.gsp_group_take is None and standing.sources["gsp_group_take"] == "absent"
    assert standing.synthetic and standing.sources["ccc"] == "bundled synthetic default"


def test_default_llf_covers_every_distributor_class_and_local_period_and_is_lower_at_night():
    table = default_llf([date(2026, 3, 29), date(2026, 10, 25)])
    rows = table.to_pylist()
    per_day = {}
    for row in rows:
        per_day.setdefault(row["settlement_date"], set()).add(row["settlement_period"])
    assert {d: len(p) for d, p in per_day.items()} == {date(2026, 3, 29): 46, date(2026, 10, 25): 50}
    distributors, classes = default_distributors().num_rows, default_llfcs().num_rows
    assert (distributors, classes) == (18, 8)  # 14 DNOs and 4 IDNOs; 8 LLFCs
    assert table.num_rows == (46 + 50) * distributors * classes
    d01 = {(r["distributor_id"], r["settlement_period"]): r["llf"] for r in rows
           if r["llfc_id"] == "D01" and r["settlement_date"] == date(2026, 10, 25)}
    assert d01[("10", 1)] < d01[("10", 40)]  # 00:00 local is night, 19:30 local is day
    assert d01[("10", 40)] != d01[("17", 40)]  # DNOs differ
    assert d01[("24", 40)] != d01[("10", 40)]  # an IDNO's D01 is its own, not its host's
    assert all(1 < value < 1.1 for value in d01.values())
    d03 = [r["llf"] for r in rows if r["llfc_id"] == "D03"]
    assert all(value < 1 for value in d03)  # negative losses


def test_a_v1_llf_file_keyed_by_gsp_group_is_refused_saying_what_changed(tmp_path):
    path = tmp_path / "llf.csv"
    path.write_text("gsp_group_id,llfc_id,settlement_date,settlement_period,llf\n_C,D01,2026-11-10,1,1.1\n")
    with pytest.raises(MhhsError) as error:
        read_standing_file(path, "llf")
    message = str(error.value)
    assert str(path) in message and "v1 format" in message and "distributor_id" in message
    assert "first two digits of the MPAN core" in message and "CHANGELOG" in message


def test_a_users_file_replaces_only_that_default(tmp_path):
    required_files_in(tmp_path)
    (tmp_path / "ccc.csv").write_text(
        "ccc_id,market_segment,measurement_quantity,actual_estimated,component,scaling_weight,notes\n"
        "X1,S,AI,A,C,0.5,extra columns are ignored\n"
    )
    standing = load_standing_data(tmp_path)
    assert standing.ccc.to_pylist() == [
        {"ccc_id": "X1", "market_segment": "S", "measurement_quantity": "AI", "actual_estimated": "A",
         "component": "C", "scaling_weight": 0.5}
    ]
    assert standing.sources["ccc"] == str(tmp_path / "ccc.csv")
    assert standing.sources["gsp_groups"] == "bundled synthetic default"
    assert not standing.synthetic
    assert standing.gsp_groups.num_rows == 14


def test_written_standing_directory_loads_back_with_the_given_take(tmp_path):
    take = pa.table(
        {
            "gsp_group_id": ["_A", "_B"],
            "settlement_date": [date(2026, 10, 25)] * 2,
            "settlement_period": [1, 1],
            "gsp_group_take_kwh": [1234.56789, 99.0],
        }
    )
    write_standing_data(tmp_path, [date(2026, 10, 25)], take)
    standing = load_standing_data(tmp_path)
    written = {name: source for name, source in standing.sources.items() if name != "load_shapes"}
    assert all(source == str(tmp_path / f"{name}.csv") for name, source in written.items())
    assert standing.sources["load_shapes"] == "absent" and standing.load_shapes_or_empty().num_rows == 0  # optional
    assert standing.gsp_group_take.column("gsp_group_take_kwh").to_pylist() == [1234.568, 99.0]
    assert standing.llf.num_rows == 50 * 18 * 8
    assert standing.llf_for([date(2026, 10, 25)]).equals(standing.llf)
    assert standing.ccc.equals(load_standing_data().ccc)


@pytest.mark.parametrize(
    "content, message",
    [
        ("gsp_group_id,settlement_date\n_A,2026-10-25\n", "lacks required columns settlement_period, gsp_group_take_kwh"),
        ("gsp_group_id,settlement_date,settlement_period,gsp_group_take_kwh\n_I,2026-10-25,1,10\n", "isin"),
        ("gsp_group_id,settlement_date,settlement_period,gsp_group_take_kwh\n_A,2026-10-25,51,10\n", "less_than_or_equal_to(50)"),
        ("gsp_group_id,settlement_date,settlement_period,gsp_group_take_kwh\n_A,25/10/2026,1,10\n", "not of the catalogue's type in data rows [1]"),
        ("gsp_group_id,settlement_date,settlement_period,gsp_group_take_kwh\n_A,2026-10-25,1,\n", "not_nullable"),
        ("gsp_group_id,settlement_date,settlement_period,gsp_group_take_kwh\n_A,2026-10-25,1,1\n_A,2026-10-25,1,2\n", "unique"),
        ("gsp_group_id,settlement_date,settlement_period,gsp_group_take_kwh\n_A,2026-10-25,1,1.23456\n", "at most 3 decimal places"),
    ],
)
def test_a_bad_standing_file_stops_with_a_message_naming_the_file_and_rule(tmp_path, content, message):
    path = tmp_path / "gsp_group_take.csv"
    path.write_text(content)
    with pytest.raises(MhhsError) as error:
        read_standing_file(path, "gsp_group_take")
    assert message in str(error.value)
    assert str(path) in str(error.value)


def test_a_file_that_is_not_text_is_refused_clearly(tmp_path):
    required_files_in(tmp_path)
    path = tmp_path / "ccc.csv"
    path.write_bytes(b"\xff\xfe\x00\x01binary\x00\x00")
    with pytest.raises(MhhsError, match="ccc file"):
        load_standing_data(tmp_path)


def test_a_missing_standing_directory_is_refused(tmp_path):
    with pytest.raises(MhhsError, match="does not exist"):
        load_standing_data(tmp_path / "nope")


def test_gsp_group_distributor_ids_are_the_mpan_prefixes():
    groups = {r["gsp_group_id"]: r["distributor_id"] for r in default_gsp_groups().to_pylist()}
    assert groups["_A"] == "10" and groups["_C"] == "12" and groups["_P"] == "17"
    assert len(set(groups.values())) == 14


@pytest.mark.parametrize("missing", REQUIRED)
def test_a_standing_directory_without_a_required_file_is_refused_naming_it(tmp_path, missing):
    required_files_in(tmp_path)
    (tmp_path / missing).unlink()
    with pytest.raises(MhhsError) as error:
        load_standing_data(tmp_path)
    message = str(error.value)
    assert f"lacks {missing}:" in message
    assert "llf.csv, gsp_group_take.csv, ccc.csv are required" in message and "nothing was settled" in message


def test_an_empty_standing_directory_names_every_required_file(tmp_path):
    with pytest.raises(MhhsError, match="lacks llf.csv, gsp_group_take.csv, ccc.csv:"):
        load_standing_data(tmp_path)


def test_the_record_names_each_file_used_with_its_source_and_sha256(tmp_path):
    required_files_in(tmp_path)
    (tmp_path / "bank_holidays.csv").write_text("date\n2026-12-25\n")
    standing = load_standing_data(tmp_path)
    record = json.loads(standing.record(["llf", "gsp_group_take", "ccc", "gsp_groups", "bank_holidays"]))
    assert record["synthetic"] is False
    by_file = {f["file"]: f for f in record["files"]}
    assert list(by_file) == sorted(["llf.csv", "gsp_group_take.csv", "ccc.csv", "gsp_groups.csv", "bank_holidays.csv"])
    for name in (*REQUIRED, "bank_holidays.csv"):  # the user's files: their path and the SHA-256 of their bytes
        assert by_file[name]["source"] == str((tmp_path / name).resolve())
        assert by_file[name]["sha256"] == hashlib.sha256((tmp_path / name).read_bytes()).hexdigest()
    defaults = PROJECT_ROOT / "pipelines" / "reference" / "standing_data" / "defaults"
    assert by_file["gsp_groups.csv"] == {  # absent from the directory: the bundled default, said so
        "file": "gsp_groups.csv", "source": "bundled synthetic default",
        "sha256": hashlib.sha256((defaults / "gsp_groups.csv").read_bytes()).hexdigest()}


def test_without_a_directory_the_record_says_the_set_is_synthetic():
    record = json.loads(load_standing_data().record(["llf", "gsp_group_take", "ccc"]))
    assert record["synthetic"] is True
    by_file = {f["file"]: f for f in record["files"]}
    assert set(by_file) == {"llf.csv", "ccc.csv"}  # no GSP Group Take: it has no default
    assert all(f["source"].startswith("bundled synthetic default") for f in record["files"])
    assert by_file["llf.csv"]["sha256"] is None  # expanded for the run's date: no file


def test_the_bundled_season_is_the_generators_model():
    """load_shape_season.csv is written from pipelines.synthetic.generate.seasonal_day_weights: the default season
    is the same synthetic model the generator draws consumption from (docs/settlement.md)."""
    from pipelines.synthetic.generate import seasonal_day_weights

    bundled = load_standing_data().load_shape_season.to_pylist()
    model = seasonal_day_weights().to_pylist()
    key = ("market_segment", "domestic_premises", "measurement_quantity", "month", "day_of_month")
    assert sorted(bundled, key=lambda r: [r[k] for k in key]) == sorted(model, key=lambda r: [r[k] for k in key])
    assert len(model) == 12 * 366
    domestic = {(r["month"], r["day_of_month"]): r["working_day_weight"] for r in model
                if (r["market_segment"], r["domestic_premises"], r["measurement_quantity"]) == ("S", "Y", "AI")}
    assert domestic[(1, 15)] > 1.2 and domestic[(7, 15)] < 0.8
