"""Property-based tests (hypothesis) of settlement time, the MPAN check digit and the landing-file parsers.
The correction identity and estimation are checked through the real dbt SQL in tests/test_reliability.py."""

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from pipelines import catalogue
from pipelines.core.mpan import CHECK_WEIGHTS, check_digit, check_digits, is_valid_mpan_core
from pipelines.core.periods import LONDON, periods_in_day, settlement_date_and_period, utc_period_starts
from pipelines.ingest import _derived_sql, _ingest_file
from pipelines.reference.lake import Lake
from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.unit

UTC = timezone.utc
FIRST_DAY, LAST_DAY = date(2024, 1, 1), date(2031, 12, 31)  # eight years, leap years and 16 clock changes
SAMPLE_CONSUMPTION = PROJECT_ROOT / "sample_data" / "landing" / "consumption" / "consumption_2026-10-25.csv"
SAMPLE_REGISTRATIONS = PROJECT_ROOT / "sample_data" / "landing" / "registrations" / "registrations_2026-10-23.csv"
DIP_EXAMPLE = PROJECT_ROOT / "docs" / "interfaces" / "examples" / "dip_message_array.json"


def last_sunday(year: int, month: int) -> date:
    day = date(year, month + 1, 1) - timedelta(days=1)
    return day - timedelta(days=(day.weekday() + 1) % 7)


# ---- UTC <-> local periods ----------------------------------------------------------------------------


def test_every_day_of_eight_years_has_its_periods_in_order_and_each_maps_back_to_itself():
    day = FIRST_DAY
    while day <= LAST_DAY:
        starts = utc_period_starts(day)
        expected = 46 if day == last_sunday(day.year, 3) else 50 if day == last_sunday(day.year, 10) else 48
        assert len(starts) == periods_in_day(day) == expected, day
        assert starts[0].astimezone(LONDON).replace(tzinfo=None) == datetime(day.year, day.month, day.day)
        assert all(later - earlier == timedelta(minutes=30) for earlier, later in zip(starts, starts[1:]))
        assert [settlement_date_and_period(s) for s in starts] == [(day, p) for p in range(1, expected + 1)]
        next_day = day + timedelta(days=1)
        assert starts[-1] + timedelta(minutes=30) == utc_period_starts(next_day)[0] if next_day <= LAST_DAY else True
        day = next_day


def test_ingestion_sql_derives_the_same_local_date_and_period_as_python_for_every_half_hour_of_eight_years():
    """Ingestion derives settlement date and period in DuckDB (ICU): the same answer as pipelines.core.periods
    for all 140,000 half hours."""
    item = next(i for i in catalogue.dataset("consumption").columns if i.name == "utc_period_start")
    derived = _derived_sql(catalogue.dataset("consumption"), item)
    with duckdb.connect() as con:
        rows = con.execute(
            f"SELECT typed_value{derived} FROM (SELECT unnest(generate_series(TIMESTAMPTZ '{FIRST_DAY} 00:00:00+00', "
            f"TIMESTAMPTZ '{LAST_DAY} 23:30:00+00', INTERVAL 30 MINUTE)) AS typed_value)"
        ).fetchall()
    assert len(rows) > 140_000
    for instant, settlement_date, period in rows:
        assert (settlement_date, period) == settlement_date_and_period(instant), instant


half_hours = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 12, 31)).map(
    lambda t: t.replace(minute=30 * (t.minute // 30), second=0, microsecond=0, tzinfo=UTC))


@settings(max_examples=500, deadline=None)
@given(instant=half_hours)
def test_property_a_utc_half_hour_is_the_start_of_the_period_it_maps_to(instant):
    settlement_date, period = settlement_date_and_period(instant)
    assert 1 <= period <= periods_in_day(settlement_date)
    assert utc_period_starts(settlement_date)[period - 1] == instant


@given(instant=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)).filter(
    lambda t: t.minute % 30 or t.second or t.microsecond))
def test_property_an_instant_off_the_half_hour_is_refused(instant):
    with pytest.raises(ValueError):
        settlement_date_and_period(instant.replace(tzinfo=UTC))


# ---- the MPAN core check digit ------------------------------------------------------------------------

twelve_digits = st.text(alphabet="0123456789", min_size=12, max_size=12)


@settings(max_examples=500)
@given(first_twelve=twelve_digits, wrong=st.integers(1, 9))
def test_property_exactly_one_last_digit_makes_a_valid_mpan_core(first_twelve, wrong):
    digit = check_digit(first_twelve)
    assert digit == sum(int(d) * w for d, w in zip(first_twelve, CHECK_WEIGHTS)) % 11 % 10
    assert is_valid_mpan_core(first_twelve + str(digit))
    assert not is_valid_mpan_core(first_twelve + str((digit + wrong) % 10))
    assert check_digits([int(first_twelve)])[0] == digit  # the vectorised form agrees


@given(first_twelve=twelve_digits, position=st.integers(0, 11), other=st.integers(1, 9))
def test_property_changing_one_digit_is_caught_unless_the_sums_differ_by_exactly_10_mod_11(first_twelve, position, other):
    """A single wrong digit changes the weighted sum mod 11 (no weight is a multiple of 11); only the
    residues 0 and 10 share a check digit."""
    changed = first_twelve[:position] + str((int(first_twelve[position]) + other) % 10) + first_twelve[position + 1:]
    original = sum(int(d) * w for d, w in zip(first_twelve, CHECK_WEIGHTS)) % 11
    altered = sum(int(d) * w for d, w in zip(changed, CHECK_WEIGHTS)) % 11
    assert altered != original
    if {original, altered} != {0, 10}:
        assert not is_valid_mpan_core(changed + str(check_digit(first_twelve)))


# ---- parsers: random and truncated bytes are quarantined, never an uncaught exception ------------------


@pytest.fixture(scope="module")
def samples(tmp_path_factory) -> dict[str, bytes]:
    folder = tmp_path_factory.mktemp("samples")
    consumption = b"\n".join(SAMPLE_CONSUMPTION.read_bytes().splitlines()[:60]) + b"\n"
    (folder / "c.csv").write_bytes(consumption)
    with duckdb.connect() as con:
        con.execute(f"COPY (SELECT * FROM read_csv('{folder / 'c.csv'}', all_varchar = true)) TO '{folder / 'c.parquet'}' (FORMAT parquet)")
    return {
        "consumption.csv": consumption,
        "consumption.parquet": (folder / "c.parquet").read_bytes(),
        "consumption.json": DIP_EXAMPLE.read_bytes(),
        "registrations.csv": b"\n".join(SAMPLE_REGISTRATIONS.read_bytes().splitlines()[:30]) + b"\n",
    }


@pytest.fixture(scope="module")
def lake(tmp_path_factory) -> Lake:
    lake = Lake(tmp_path_factory.mktemp("fuzz") / "data")
    lake.create()
    return lake


def ingest_bytes(lake: Lake, tmp_path: Path, kind: str, content: bytes):
    dataset, suffix = kind.split(".")
    path = tmp_path / f"landing.{suffix}"
    path.write_bytes(content)
    result = _ingest_file(lake, path, f"{dataset}/landing.{suffix}", dataset)
    assert result.status in ("ingested", "refused", "already_ingested")
    if result.status == "refused":
        assert result.reason_code and result.reason and result.rejections == {result.reason_code: 1}
    if result.status != "already_ingested":
        assert result.rows_in == result.rows_accepted + result.rows_quarantined == result.rows_accepted + sum(result.rejections.values())
    return result


KINDS = ["consumption.csv", "consumption.parquet", "consumption.json", "registrations.csv"]
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.mark.integration
@FUZZ
@given(kind=st.sampled_from(KINDS), cut=st.floats(0, 1))
@example(kind="consumption.parquet", cut=0.5)  # a Parquet file cut in half
@example(kind="consumption.json", cut=0.3)  # JSON cut inside a message
def test_property_a_truncated_landing_file_is_ingested_or_refused_never_a_crash(samples, lake, tmp_path, kind, cut):
    content = samples[kind]
    ingest_bytes(lake, tmp_path, kind, content[: int(len(content) * cut)])


@pytest.mark.integration
@FUZZ
@given(kind=st.sampled_from(KINDS), noise=st.binary(max_size=3000))
def test_property_random_bytes_are_refused_or_quarantined_never_a_crash(lake, tmp_path, kind, noise):
    ingest_bytes(lake, tmp_path, kind, noise)


csv_noise = st.text(alphabet=st.sampled_from(list(',"\n\r 0123456789.-:TZAEISabc_\t;\'\\') + ["\u00e9", "\ufeff", "\x00"]),
                    max_size=600)


@pytest.mark.integration
@FUZZ
@given(kind=st.sampled_from(["consumption.csv", "registrations.csv"]), body=csv_noise, keep=st.integers(0, 40))
def test_property_a_valid_header_with_garbled_rows_is_quarantined_row_by_row(samples, lake, tmp_path, kind, body, keep):
    """Some real rows, then text made of CSV's own characters (quotes, commas, blank lines, BOMs)."""
    lines = samples[kind].splitlines(keepends=True)
    ingest_bytes(lake, tmp_path, kind, b"".join(lines[: keep + 1]) + body.encode("utf-8"))
