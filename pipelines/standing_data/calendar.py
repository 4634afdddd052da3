"""The settlement calendar: working days and which (run type, settlement date) pairs are due on a day."""

from dataclasses import dataclass
from datetime import date, timedelta

from pipelines.errors import MhhsError
from pipelines.standing_data import StandingData, load_standing_data

ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class SettlementCalendar:
    """Run types with their working-day offsets (None = ad hoc) and the bank holidays to skip."""

    working_days_after: dict[str, int | None]
    bank_holidays: frozenset[date]

    @classmethod
    def from_standing_data(cls, standing: StandingData | None = None) -> "SettlementCalendar":
        standing = standing or load_standing_data()
        offsets = {
            row["run_type"]: row["working_days_after"] for row in standing.settlement_calendar.to_pylist()
        }
        holidays = frozenset(standing.bank_holidays.column("date").to_pylist())
        return cls(working_days_after=offsets, bank_holidays=holidays)

    def is_working_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self.bank_holidays

    def add_working_days(self, day: date, working_days: int) -> date:
        """The n-th working day after `day` (n = 0: `day` itself if working, else the next working day)."""
        if working_days < 0:
            raise ValueError("working_days must not be negative")
        current = day
        if working_days == 0:
            while not self.is_working_day(current):
                current += ONE_DAY
            return current
        remaining = working_days
        while remaining:
            current += ONE_DAY
            if self.is_working_day(current):
                remaining -= 1
        return current

    def due_date(self, run_type: str, settlement_date: date) -> date | None:
        """The day a run type is due for a settlement date; None for ad hoc runs."""
        offset = self._offset(run_type)
        return None if offset is None else self.add_working_days(settlement_date, offset)

    def due_runs(self, day: date) -> list[tuple[str, date]]:
        """Every (run type, settlement date) due on `day`, in calendar order then date order.

        Nothing is due on a non-working day; the first working day after a weekend or bank holiday picks
        up every settlement date whose due day fell in the gap.
        """
        if not self.is_working_day(day):
            return []
        due = []
        for run_type, offset in self.working_days_after.items():
            if offset is None:
                continue
            # due_date is non-decreasing in the settlement date: walk back from the latest candidate.
            settlement_date = day
            while self.add_working_days(settlement_date, offset) > day:
                settlement_date -= ONE_DAY
            dates = []
            while self.add_working_days(settlement_date, offset) == day:
                dates.append(settlement_date)
                settlement_date -= ONE_DAY
            due.extend((run_type, d) for d in sorted(dates))
        return due

    def _offset(self, run_type: str) -> int | None:
        if run_type not in self.working_days_after:
            known = ", ".join(self.working_days_after)
            raise MhhsError(f"unknown run type {run_type!r}; the settlement calendar has {known}")
        return self.working_days_after[run_type]
