import shutil
from datetime import date

import pytest

from pipelines.core.errors import MhhsError, RunRefused
from pipelines.reference.standing_data.calendar import SettlementCalendar
from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.unit

# A standing data directory holding the files --standing-data requires (llf.csv, gsp_group_take.csv, ccc.csv).
REQUIRED_STANDING = PROJECT_ROOT / "tests" / "scenarios" / "plain_day" / "given" / "standing"


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
    # the MHHS timetable (docs/settlement.md): II, SF, R1 about 1.5 months, RF about 4 months, DF ad hoc; no R2, R3
    assert calendar.working_days_after == {"II": 4, "SF": 5, "R1": 32, "RF": 84, "DF": None}
    assert calendar.order == ["II", "SF", "R1", "RF", "DF"]
    assert calendar.due_date("SF", date(2026, 11, 20)) == date(2026, 11, 27)
    assert calendar.due_date("DF", date(2026, 11, 20)) is None
    with pytest.raises(MhhsError, match="unknown run type 'XX'"):
        calendar.due_date("XX", date(2026, 11, 20))


def test_nothing_is_due_on_a_non_working_day(calendar):
    assert calendar.due_runs(date(2026, 11, 28)) == []
    assert calendar.due_runs(date(2026, 12, 25)) == []


def test_a_run_type_picks_up_the_weekend_settlement_dates_on_one_working_day(calendar):
    weekend = [date(2026, 11, 27), date(2026, 11, 28), date(2026, 11, 29)]  # Friday, Saturday, Sunday
    # II, 4 working days after: Friday's 4th is Thursday 3 December, and so are Saturday's and Sunday's
    assert [d for run, d in calendar.due_runs(date(2026, 12, 3)) if run == "II"] == weekend
    # SF, 5 working days after: Friday 4 December
    assert [d for run, d in calendar.due_runs(date(2026, 12, 4)) if run == "SF"] == weekend
    monday = calendar.due_runs(date(2026, 11, 30))
    assert [d for run, d in monday if run == "II"] == [date(2026, 11, 24)]
    assert [d for run, d in monday if run == "SF"] == [date(2026, 11, 23)]


def test_after_christmas_every_date_whose_run_fell_in_the_holiday_is_due(calendar):
    # working days: Thursday 24 December, then Tuesday 29 (25 and 28 are bank holidays), 30, 31, Monday 4 January
    # (1 January is one): the 4th working day after each of 24 to 28 December is 4 January, the 5th is 5 January
    holiday = [date(2026, 12, d) for d in (24, 25, 26, 27, 28)]
    assert [d for run, d in calendar.due_runs(date(2027, 1, 4)) if run == "II"] == holiday
    assert [d for run, d in calendar.due_runs(date(2027, 1, 4)) if run == "SF"] == [date(2026, 12, 23)]
    assert [d for run, d in calendar.due_runs(date(2027, 1, 5)) if run == "SF"] == holiday


def test_every_settlement_date_is_due_exactly_once_per_run_type(calendar):
    seen: dict[tuple[str, date], int] = {}
    day = date(2026, 1, 1)
    while day <= date(2027, 12, 31):
        for key in calendar.due_runs(day):
            seen[key] = seen.get(key, 0) + 1
        day = date.fromordinal(day.toordinal() + 1)
    assert set(seen.values()) == {1}
    for settlement_date in (date(2026, 6, d) for d in range(1, 31)):
        for run_type in ("II", "SF", "R1", "RF"):
            assert (run_type, settlement_date) in seen
            assert calendar.due_date(run_type, settlement_date) > settlement_date


def test_a_user_calendar_and_holidays_replace_the_defaults(tmp_path):
    from pipelines.reference.standing_data import load_standing_data

    for name in ("llf.csv", "gsp_group_take.csv", "ccc.csv"):  # required with a directory
        shutil.copy(REQUIRED_STANDING / name, tmp_path / name)
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


def test_the_timetable_order_is_by_working_days_with_ad_hoc_runs_last_whatever_the_file_order(tmp_path):
    from pipelines.reference.standing_data import load_standing_data

    for name in ("llf.csv", "gsp_group_take.csv", "ccc.csv"):
        shutil.copy(REQUIRED_STANDING / name, tmp_path / name)
    (tmp_path / "settlement_calendar.csv").write_text("run_type,working_days_after\nDF,\nRF,84\nII,4\nR2,50\nSF,5\nR1,32\n")
    calendar = SettlementCalendar.from_standing_data(load_standing_data(tmp_path))
    assert calendar.order == ["II", "SF", "R1", "R2", "RF", "DF"]
    assert calendar.later_run_types("R1") == ["R2", "RF", "DF"]
    assert calendar.later_run_types("DF") == []


@pytest.mark.parametrize("run_type, succeeded, dispute", [
    ("II", set(), None),
    ("SF", {"II"}, None),
    ("SF", {"SF"}, None),  # a rerun of the same run type: a new version
    ("RF", {"II", "SF", "R1"}, None),
    ("RF", set(), None),  # no run type needs its predecessors, nor waits for its due date
    ("DF", {"RF"}, "TD-2026-0042"),
    ("DF", {"RF", "DF"}, "TD-2026-0043"),  # a second dispute
])
def test_a_run_type_is_allowed_while_no_later_one_has_succeeded(calendar, run_type, succeeded, dispute):
    calendar.check_run_allowed(run_type, date(2026, 11, 10), succeeded, dispute)


@pytest.mark.parametrize("run_type, succeeded, message", [
    ("SF", {"R1"}, r"SF refused for 2026-11-10: a later run type of the settlement timetable \(R1\) has already succeeded"),
    ("II", {"SF", "R1"}, r"\(SF, R1\) has already succeeded"),
    ("R1", {"RF"}, r"\(RF\) has already succeeded .* Final Reconciliation \(RF\) has succeeded, which freezes"),
    ("RF", {"RF"}, r"RF refused for 2026-11-10: its Final Reconciliation \(RF\) has succeeded, which freezes the date's "
                   r"data: only a DF run with --dispute REF may settle it again; nothing was started"),
    ("SF", {"DF"}, r"\(DF\) has already succeeded"),
])
def test_a_run_type_is_refused_once_a_later_one_has_succeeded_and_after_rf_only_df_may_settle(calendar, run_type,
                                                                                               succeeded, message):
    with pytest.raises(RunRefused, match=message) as refused:
        calendar.check_run_allowed(run_type, date(2026, 11, 10), succeeded)
    assert refused.value.exit_code == 5


def test_df_needs_its_dispute_reference_and_no_other_run_type_takes_one(calendar):
    with pytest.raises(RunRefused, match=r"DF \(Dispute Final\) run of 2026-11-10 needs the reference of the upheld "
                                         r"dispute it settles: add --dispute REF"):
        calendar.check_run_allowed("DF", date(2026, 11, 10), {"RF"}, None)
    with pytest.raises(MhhsError, match=r"a dispute reference is only for a DF \(Dispute Final\) run, not RF") as error:
        calendar.check_run_allowed("RF", date(2026, 11, 10), set(), "TD-2026-0042")
    assert not isinstance(error.value, RunRefused)
