"""The named encodings of ingestion (pipelines/ingest/encoding.py, source.py), each checked in DuckDB."""

import duckdb
import pytest

from pipelines.ingest.encoding import (
    PACKING_BASE,
    holds_period,
    lacks_period,
    mask_of,
    packed_row,
    period_bit,
    period_of,
    periods_of,
    repeats_a_period,
    row_number_of,
    row_numbers_of,
)
from pipelines.ingest.source import MpanPass, RowIds

pytestmark = pytest.mark.unit


def value(sql: str):
    with duckdb.connect() as con:
        return con.execute(f"SELECT {sql}").fetchall()[0][0]


@pytest.mark.parametrize("row_number", [1, 2, 63, 64, 47_000_000, 1_500_000_000_000])
@pytest.mark.parametrize("period", [None, 1, 2, 46, 48, 50])
def test_a_packed_row_gives_back_its_row_number_and_period(row_number, period):
    packed = packed_row(f"{row_number}::BIGINT", "NULL::UTINYINT" if period is None else f"{period}::UTINYINT")
    assert value(row_number_of(packed)) == row_number
    assert value(period_of(packed)) == (period or 0)  # a period not known packs as 0
    assert 50 < PACKING_BASE


def test_lists_of_packed_rows_give_their_periods_and_row_numbers_in_order():
    packed = [packed_row(f"{row}::BIGINT", str(period)) for row, period in ((7, 3), (5, 1), (9, 50))]
    as_list = f"[{', '.join(packed)}]"
    assert value(periods_of(as_list)) == [3, 1, 50]
    assert value(row_numbers_of(as_list)) == [7, 5, 9]
    with duckdb.connect() as con:
        assert con.execute(f"SELECT typeof({periods_of(as_list)})").fetchall()[0][0] == "UTINYINT[]"


def test_a_period_mask_holds_bit_p_for_period_p():
    mask = mask_of("[1, 3, 50]::UTINYINT[]")
    assert value(mask) == (1 << 1) | (1 << 3) | (1 << 50)
    assert value(period_bit("50")) == 1 << 50
    assert [value(holds_period(mask, str(p))) for p in (1, 2, 3, 49, 50)] == [True, False, True, False, True]
    assert [value(lacks_period(mask, str(p))) for p in (1, 2, 3, 49, 50)] == [False, True, False, True, False]


def test_a_submission_repeats_a_period_when_its_mask_has_fewer_bits_than_values():
    mask = mask_of("[1, 2, 2]::UTINYINT[]")
    assert value(repeats_a_period(mask, "3")) is True
    assert value(repeats_a_period(mask, "2")) is False


def test_rows_picked_by_row_id_are_the_rows_of_those_numbers():
    with duckdb.connect() as con:
        con.execute("CREATE TABLE lines AS SELECT 'line ' || i AS line FROM range(100) t(i)")
        con.execute("CREATE TABLE wanted AS SELECT unnest([1, 50, 100]) AS row_number")
        ids = RowIds("rowid", 1)
        picked = con.execute(f"SELECT {ids.row_number} AS row_number, line FROM lines WHERE {ids.among('wanted')} ORDER BY 1").fetchall()
    assert picked == [(1, "line 0"), (50, "line 49"), (100, "line 99")]


def test_every_row_of_an_mpan_falls_in_one_pass_and_a_padded_mpan_with_it():
    mpans = ["1200012345679", " 1200012345679", "1200012345679 ", "2000012345672", "1400012345678"]
    with duckdb.connect() as con:
        con.execute("CREATE TABLE rows AS SELECT unnest(?) AS mpan_core", [mpans])
        passes = [{row[0] for row in con.execute(f"SELECT mpan_core FROM rows WHERE {MpanPass(3, n, trim=True).holds('mpan_core')}").fetchall()}
                  for n in range(3)]
    assert sorted(m for found in passes for m in found) == sorted(mpans)
    assert sum(1 for found in passes if {" 1200012345679", "1200012345679 ", "1200012345679"} <= found) == 1
