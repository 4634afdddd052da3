"""The settlement calendar: working days, which (run type, settlement date) pairs are due on a day, and the
order of the timetable's run types with the rules that follow from it (docs/settlement.md, "The timetable").
"""

from dataclasses import dataclass
from datetime import date, timedelta

from pipelines.core.errors import MhhsError, RunRefused
from pipelines.reference.standing_data import StandingData, load_standing_data

ONE_DAY = timedelta(days=1)
# Final Reconciliation freezes a settlement date: after it only a Dispute Final, which names its dispute, may
# settle the date again.
FINAL_RUN_TYPE = "RF"
DISPUTE_RUN_TYPE = "DF"


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

    @property
    def order(self) -> list[str]:
        """The run types in timetable order: by working days after the settlement date, ad hoc runs (DF, no
        offset) last, run types with the same offset in the order of the file."""
        position = {run_type: index for index, run_type in enumerate(self.working_days_after)}
        return sorted(self.working_days_after, key=lambda run_type: (
            self.working_days_after[run_type] is None, self.working_days_after[run_type] or 0, position[run_type]))

    def later_run_types(self, run_type: str) -> list[str]:
        """The run types after `run_type` in the timetable."""
        self._offset(run_type)
        order = self.order
        return order[order.index(run_type) + 1:]

    def check_run_allowed(self, run_type: str, settlement_date: date, succeeded: set[str],
                          dispute_reference: str | None = None) -> None:
        """Refuse (RunRefused) a run the timetable does not allow, given the run types that have already
        succeeded for the settlement date:

        * a run type is refused once a later run type of the timetable has succeeded for the date (no SF
          after R1 or RF: a date's figures only move forward);
        * after RF only DF may settle the date (its data is frozen);
        * DF is only for an upheld dispute and must name it (`dispute_reference`); a dispute reference on any
          other run type is a mistake (MhhsError).

        Not enforced: a run type before its due date (docs/settlement.md says why)."""
        later = [other for other in self.later_run_types(run_type) if other in succeeded]
        if run_type == DISPUTE_RUN_TYPE:
            if not dispute_reference:
                raise RunRefused(
                    f"a {DISPUTE_RUN_TYPE} (Dispute Final) run of {settlement_date} needs the reference of the upheld "
                    f"dispute it settles: add --dispute REF (Airflow: the dispute_reference param); nothing was started")
        elif dispute_reference:
            raise MhhsError(f"a dispute reference is only for a {DISPUTE_RUN_TYPE} (Dispute Final) run, not {run_type}; "
                            "nothing was started")
        reasons = []
        if later:
            reasons.append(f"a later run type of the settlement timetable ({', '.join(later)}) has already succeeded "
                           f"for that date, and runs follow the timetable ({' -> '.join(self.order)})")
        if run_type != DISPUTE_RUN_TYPE and FINAL_RUN_TYPE in succeeded:
            reasons.append(f"its Final Reconciliation ({FINAL_RUN_TYPE}) has succeeded, which freezes the date's data: "
                           f"only a {DISPUTE_RUN_TYPE} run with --dispute REF may settle it again")
        if reasons:
            raise RunRefused(f"{run_type} refused for {settlement_date}: " + "; and ".join(reasons)
                             + "; nothing was started")

    def _offset(self, run_type: str) -> int | None:
        if run_type not in self.working_days_after:
            known = ", ".join(self.working_days_after)
            raise MhhsError(f"unknown run type {run_type!r}; the settlement calendar has {known}")
        return self.working_days_after[run_type]
