from datetime import date

import pytest

from pipelines.errors import MhhsError
from pipelines.standing_data.calendar import SettlementCalendar


@pytest.fixture(scope="module")
def calendar():
    return SettlementCalendar.from_standing_data()


def test_weekends_and_england_and_wales_bank_holidays_are_not_working_days(calendar):
    assert calendar.is_working_day(date(2026, 11, 27))  # Friday
    assert not calendar.is_working_day(date(2026, 11, 28))  # Saturday
    assert not calendar.is_working_day(date(2026, 8, 31))  # summer bank holiday
    assert not calendar.is_working_day(date(2026, 12, 28))  # Boxing Day substitute (26th is a Saturday)
    assert calendar.is_working_day(date(2026, 12, 29))


def test_adding_working_days_skips_weekends_and_holidays(calendar):
    assert calendar.add_working_days(date(2026, 11, 27), 1) == date(2026, 11, 30)
    assert calendar.add_working_days(date(2026, 12, 24), 1) == date(2026, 12, 29)
    assert calendar.add_working_days(date(2026, 12, 24), 2) == date(2026, 12, 30)
    assert calendar.add_working_days(date(2026, 11, 28), 0) == date(2026, 11, 30)
    assert calendar.add_working_days(date(2026, 11, 27), 0) == date(2026, 11, 27)


def test_default_run_types_and_offsets_come_from_the_standing_data(calendar):
    assert calendar.working_days_after == {"II": 1, "SF": 5, "R1": 18, "R2": 37, "R3": 58, "RF": 83, "DF": None}
    assert calendar.due_date("SF", date(2026, 11, 20)) == date(2026, 11, 27)
    assert calendar.due_date("DF", date(2026, 11, 20)) is None
    with pytest.raises(MhhsError, match="unknown run type 'XX'"):
        calendar.due_date("XX", date(2026, 11, 20))


def test_nothing_is_due_on_a_non_working_day(calendar):
    assert calendar.due_runs(date(2026, 11, 28)) == []
    assert calendar.due_runs(date(2026, 12, 25)) == []


def test_monday_picks_up_the_weekend_settlement_dates(calendar):
    due = calendar.due_runs(date(2026, 11, 30))
    assert [d for run, d in due if run == "II"] == [date(2026, 11, 27), date(2026, 11, 28), date(2026, 11, 29)]
    assert [d for run, d in due if run == "SF"] == [date(2026, 11, 23)]


def test_after_christmas_every_date_whose_run_fell_in_the_holiday_is_due(calendar):
    due = calendar.due_runs(date(2026, 12, 29))
    assert [d for run, d in due if run == "II"] == [date(2026, 12, d) for d in (24, 25, 26, 27, 28)]
    assert [d for run, d in due if run == "SF"] == [date(2026, 12, 18), date(2026, 12, 19), date(2026, 12, 20)]


def test_every_settlement_date_is_due_exactly_once_per_run_type(calendar):
    seen: dict[tuple[str, date], int] = {}
    day = date(2026, 1, 1)
    while day <= date(2027, 12, 31):
        for key in calendar.due_runs(day):
            seen[key] = seen.get(key, 0) + 1
        day = date.fromordinal(day.toordinal() + 1)
    assert set(seen.values()) == {1}
    for settlement_date in (date(2026, 6, d) for d in range(1, 31)):
        for run_type in ("II", "SF", "R1", "R2", "R3", "RF"):
            assert (run_type, settlement_date) in seen
            assert calendar.due_date(run_type, settlement_date) > settlement_date


def test_a_user_calendar_and_holidays_replace_the_defaults(tmp_path):
    from pipelines.standing_data import load_standing_data

    (tmp_path / "settlement_calendar.csv").write_text("run_type,working_days_after\nSF,2\nRF,10\n")
    (tmp_path / "bank_holidays.csv").write_text("date\n2026-12-01\n")
    calendar = SettlementCalendar.from_standing_data(load_standing_data(tmp_path))
    assert calendar.working_days_after == {"SF": 2, "RF": 10}
    assert not calendar.is_working_day(date(2026, 12, 1))
    assert calendar.is_working_day(date(2026, 12, 25))  # the user's list replaced the default one
    due = calendar.due_runs(date(2026, 12, 2))
    # Friday, Saturday and Sunday all reach their second working day on Wednesday, past the holiday
    assert [d for run, d in due if run == "SF"] == [date(2026, 11, 27), date(2026, 11, 28), date(2026, 11, 29)]
    assert {run for run, _ in due} == {"SF", "RF"}
