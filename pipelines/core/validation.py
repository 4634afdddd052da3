"""Checks of user-given parameters (CLI arguments, Airflow DAG params) before they reach a query or a path."""

import re
from datetime import date

from pipelines.core.errors import MhhsError

# Run types name folders (runs/<run type>/) and appear in SQL: letters and digits only.
RUN_TYPE_PATTERN = re.compile(r"[A-Z][A-Z0-9]{1,3}")


def settlement_date(value: str | date) -> date:
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise MhhsError(f"{value!r} is not a date in the form YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise MhhsError(f"{value!r} is not a date in the form YYYY-MM-DD") from None


def run_type(value: str) -> str:
    if not isinstance(value, str) or not RUN_TYPE_PATTERN.fullmatch(value):
        raise MhhsError(f"{value!r} is not a run type: 2 to 4 capital letters or digits, such as SF or R1")
    return value


# A trading dispute's reference is kept in the run record: printable, no control characters or commas.
DISPUTE_REFERENCE_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._/:#-]{0,63}")


def dispute_reference(value: str) -> str:
    if not isinstance(value, str) or not DISPUTE_REFERENCE_PATTERN.fullmatch(value.strip()):
        raise MhhsError(f"{value!r} is not a dispute reference: 1 to 64 letters, digits, spaces or . _ / : # -, "
                        "beginning with a letter or digit, e.g. TD-2027-0042")
    return value.strip()
