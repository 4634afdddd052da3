"""The encodings of a gathered submission (gather.py), named once: the reread, the mending of suspects and
the lake write all read them through these functions.

A submission carries, beside its list of kWh values, one list `value_rows` of numbers that each pack a
value's row number and settlement period, and two bit masks of its periods. Each function returns SQL.
"""

PACKING_BASE = 64
"""The base of a packed number, row_number * 64 + period. A day has at most 50 periods (0 stands for a period
not known), so 64 (6 bits) holds any of them, and a packed number parts with `%` and `//`."""


def packed_row(row_number: str, period: str) -> str:
    """A value's row number and period as one number, `row_number * 64 + period` (period 0 when not known).

    Why: a submission gathers the values' row numbers and periods beside its values, and one list aggregate
    of BIGINTs costs less than two lists (docs/benchmarks.md, "Ingestion design notes"). The row number
    finds a row again (reread.py); the period places the value in its lake column (write.py).
    """
    return f"({row_number} * {PACKING_BASE} + coalesce({period}, 0))"


def period_of(packed: str) -> str:
    """The period of a packed number (BIGINT)."""
    return f"({packed} % {PACKING_BASE})"


def row_number_of(packed: str) -> str:
    """The row number of a packed number."""
    return f"({packed} // {PACKING_BASE})"


def periods_of(packed_list: str) -> str:
    """A list of packed numbers as the list of their periods, typed like the lake's periods (UTINYINT)."""
    return f"list_transform({packed_list}, lambda v: {period_of('v')}::UTINYINT)"


def row_numbers_of(packed_list: str) -> str:
    """A list of packed numbers as the list of their row numbers."""
    return f"list_transform({packed_list}, lambda v: {row_number_of('v')})"


NO_PERIODS = "0::UBIGINT"
"""The empty period mask."""


def period_bit(period: str) -> str:
    """The bit of a period in a period mask: bit p for period p, in a UBIGINT (50 periods fit in 64 bits).

    Why a mask: a submission's periods present (`period_mask`) and estimated (`estimated_mask`, written to the
    lake, where settlement reads it the same way) are tested and combined with one integer operation each,
    rather than a search of a list.
    """
    return f"1::UBIGINT << {period}"


def mask_of(periods: str) -> str:
    """The period mask of a non-empty list of periods."""
    return f"list_reduce(list_transform({periods}, lambda p: {period_bit('p')}), lambda a, b: a | b)"


def holds_period(mask: str, period: str) -> str:
    """True when the mask holds the period."""
    return f"({mask} >> {period}) & 1 = 1"


def lacks_period(mask: str, period: str) -> str:
    """True when the mask does not hold the period."""
    return f"({mask} >> {period}) & 1 = 0"


def repeats_a_period(period_mask: str, period_count: str) -> str:
    """True when a submission holds some period more than once: its mask has fewer bits than it has values.
    That is how a key sent twice in one file shows (reread.find_suspects)."""
    return f"bit_count({period_mask}) < {period_count}"
