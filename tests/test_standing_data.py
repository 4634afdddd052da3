from datetime import date

import pyarrow as pa
import pytest

from pipelines.errors import MhhsError
from pipelines.standing_data import (
    default_gsp_groups,
    default_llf,
    load_standing_data,
    read_standing_file,
    write_standing_data,
)


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


def test_default_llf_covers_every_group_class_and_local_period_and_is_lower_at_night():
    table = default_llf([date(2026, 3, 29), date(2026, 10, 25)])
    rows = table.to_pylist()
    per_day = {}
    for row in rows:
        per_day.setdefault(row["settlement_date"], set()).add(row["settlement_period"])
    assert {d: len(p) for d, p in per_day.items()} == {date(2026, 3, 29): 46, date(2026, 10, 25): 50}
    assert table.num_rows == (46 + 50) * 14 * 7
    d01 = {(r["gsp_group_id"], r["settlement_period"]): r["llf"] for r in rows
           if r["llfc_id"] == "D01" and r["settlement_date"] == date(2026, 10, 25)}
    assert d01[("_A", 1)] < d01[("_A", 40)]  # 00:00 local is night, 19:30 local is day
    assert d01[("_A", 40)] != d01[("_P", 40)]  # groups differ
    assert all(1 < value < 1.1 for value in d01.values())


def test_a_users_file_replaces_only_that_default(tmp_path):
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
    assert standing.sources["gsp_groups"] == "bundled default"
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
    assert all(source == str(tmp_path / f"{name}.csv") for name, source in standing.sources.items())
    assert standing.gsp_group_take.column("gsp_group_take_kwh").to_pylist() == [1234.568, 99.0]
    assert standing.llf.num_rows == 50 * 14 * 7
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
