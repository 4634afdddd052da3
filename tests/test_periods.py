from datetime import date, datetime, timedelta, timezone

import pytest

from pipelines.core.periods import periods_in_day, settlement_date_and_period, utc_period_starts

pytestmark = pytest.mark.unit

UTC = timezone.utc


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_spring_clock_change_day_has_46_periods_starting_at_utc_midnight():
    starts = utc_period_starts(date(2026, 3, 29))
    assert len(starts) == 46
    assert starts[0] == utc("2026-03-29T00:00:00")
    assert starts[-1] == utc("2026-03-29T22:30:00")  # 23:30 BST


def test_autumn_clock_change_day_has_50_periods_starting_the_evening_before_in_utc():
    starts = utc_period_starts(date(2026, 10, 25))
    assert len(starts) == 50
    assert starts[0] == utc("2026-10-24T23:00:00")  # local midnight BST
    assert starts[-1] == utc("2026-10-25T23:30:00")


@pytest.mark.parametrize(
    "instant, expected",
    [
        ("2026-03-29T00:00:00", (date(2026, 3, 29), 1)),  # 00:00 GMT
        ("2026-03-29T00:30:00", (date(2026, 3, 29), 2)),
        ("2026-03-29T01:00:00", (date(2026, 3, 29), 3)),  # 02:00 BST: the clocks skipped an hour, periods did not
        ("2026-03-29T22:30:00", (date(2026, 3, 29), 46)),
        ("2026-03-29T23:00:00", (date(2026, 3, 30), 1)),
        ("2026-10-24T22:30:00", (date(2026, 10, 24), 48)),
        ("2026-10-24T23:00:00", (date(2026, 10, 25), 1)),
        ("2026-10-25T00:00:00", (date(2026, 10, 25), 3)),  # 01:00 BST
        ("2026-10-25T01:00:00", (date(2026, 10, 25), 5)),  # 01:00 GMT, the repeated hour
        ("2026-10-25T23:30:00", (date(2026, 10, 25), 50)),
        ("2026-06-01T12:00:00", (date(2026, 6, 1), 27)),  # 13:00 BST
        ("2026-12-01T12:00:00", (date(2026, 12, 1), 25)),
    ],
)
def test_utc_instant_to_local_settlement_date_and_period(instant, expected):
    assert settlement_date_and_period(utc(instant)) == expected


def test_offsets_other_than_utc_are_converted_not_ignored():
    bst = timezone(timedelta(hours=1))
    assert settlement_date_and_period(datetime(2026, 10, 25, 1, 0, tzinfo=bst)) == (date(2026, 10, 25), 3)


def test_timestamps_without_offset_or_off_boundary_are_refused():
    with pytest.raises(ValueError, match="offset"):
        settlement_date_and_period(datetime(2026, 10, 25, 1, 0))
    with pytest.raises(ValueError, match="half-hour"):
        settlement_date_and_period(utc("2026-10-25T01:15:00"))


def test_every_period_of_several_years_round_trips_and_utc_days_have_48():
    day = date(2024, 1, 1)
    counts = {}
    previous_end = None
    while day < date(2028, 1, 1):
        starts = utc_period_starts(day)
        counts[len(starts)] = counts.get(len(starts), 0) + 1
        if previous_end is not None:
            assert starts[0] == previous_end  # days tile the UTC time line with no gap or overlap
        previous_end = starts[-1] + timedelta(minutes=30)
        for period, start in enumerate(starts, start=1):
            assert settlement_date_and_period(start) == (day, period)
        day += timedelta(days=1)
    assert counts == {46: 4, 50: 4, 48: 1461 - 8}
    assert periods_in_day(date(2027, 3, 28)) == 46 and periods_in_day(date(2027, 10, 31)) == 50
