"""Settlement time (DOMAIN.md section 4): UTC half hours in, local settlement dates and periods out.

Periods are always built as a sequence of UTC instants; local time is only derived from them, so clock
changes give 46 or 50 periods without any special case.
"""

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")
HALF_HOUR = timedelta(minutes=30)


def local_midnight_utc(settlement_date: date) -> datetime:
    """The UTC instant at which a local settlement date starts."""
    return datetime(settlement_date.year, settlement_date.month, settlement_date.day, tzinfo=LONDON).astimezone(
        timezone.utc
    )


def utc_period_starts(settlement_date: date) -> list[datetime]:
    """UTC start of every settlement period of a local settlement date, in order (46, 48 or 50)."""
    start = local_midnight_utc(settlement_date)
    end = local_midnight_utc(settlement_date + timedelta(days=1))
    count = int((end - start) / HALF_HOUR)
    return [start + i * HALF_HOUR for i in range(count)]


def periods_in_day(settlement_date: date) -> int:
    """46 on the spring clock change, 50 on the autumn one, otherwise 48."""
    return len(utc_period_starts(settlement_date))


def settlement_date_and_period(utc_period_start: datetime) -> tuple[date, int]:
    """Local settlement date and period (1-based, counted in elapsed time) of a UTC period start."""
    if utc_period_start.tzinfo is None:
        raise ValueError("a timestamp without an offset is rejected, not guessed")
    instant = utc_period_start.astimezone(timezone.utc)
    if instant.minute % 30 or instant.second or instant.microsecond:
        raise ValueError(f"{instant.isoformat()} is not on a half-hour boundary")
    settlement_date = instant.astimezone(LONDON).date()
    elapsed = instant - local_midnight_utc(settlement_date)
    return settlement_date, 1 + int(elapsed / HALF_HOUR)
