"""The rows of a landing file as SQL (step 2), made by a reader (read_csv, read_parquet, read_json) and read
by the later steps whole, in passes (passes.py), or only for some rows (reread.py, registrations.py).

Filters go where the rows are read, before any field is split out or cast, so that picking a few rows or a
pass's rows costs little more than reading their row ids: a reader renders its SQL with the conditions given.
"""

from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class RowIds:
    """How a reader numbers its rows: `row_number` (the line number less the header, the Parquet row, the
    period's place among the messages' periods) is the reader's own row id plus an offset."""

    column: str  # the reader's row id: rowid of the stored lines, file_row_number of a Parquet file
    offset: int

    @property
    def row_number(self) -> str:
        return f"{self.column} + {self.offset}" if self.offset else self.column

    def among(self, table: str) -> str:
        """True for the rows whose row number is in `table`. Tested on the row id itself, so that DuckDB
        fetches those rows by id instead of computing and testing the row number of every row."""
        numbers = f"row_number - {self.offset}" if self.offset else "row_number"
        return f"{self.column} IN (SELECT {numbers} FROM {table})"


@dataclass(frozen=True)
class MpanPass:
    """One of `passes` parts of a file, each holding the rows of the MPANs whose hash falls in it, so that
    every row of an MPAN (each submission, each repeat of a row) is in the same pass."""

    passes: int
    number: int
    trim: bool  # some MPAN is written with surrounding blanks: it is the same MPAN, so it is trimmed first

    def holds(self, mpan: str) -> str:
        if self.trim:
            mpan = f"CASE WHEN {padded(mpan)} THEN trim({mpan}) ELSE {mpan} END"
        return f"hash({mpan}) % {self.passes} = {self.number}"


def padded(text: str) -> str:
    """True when a text has a blank at either end."""
    return f"{text} LIKE ' %' OR {text} LIKE '% '"


def where(conditions: list[str]) -> str:
    """A WHERE clause of the conditions (none: every row)."""
    return f" WHERE {' AND '.join(conditions)}" if conditions else ""


@dataclass(frozen=True)
class Source:
    """A landing file's rows: row_number, raw_record, malformed, dip_problem and the catalogue columns, as
    text or, for `native` columns (index: DuckDB type), in their own type (read_parquet.py)."""

    render: Callable[[list[str]], str]  # the rows' SQL, given conditions on the rows where they are read
    row_ids: RowIds
    native: dict[int, str]
    # The MPAN as the reader holds it, when a pass is best filtered where the rows are read (a Parquet file:
    # only the pass's rows are decoded); otherwise a pass filters the rows the source makes.
    mpan_where_read: str | None = None

    def sql(self, only_rows: str | None = None, mpan_pass: MpanPass | None = None) -> str:
        """The rows, all of them or only those whose row number is in the table `only_rows`, and of one pass."""
        conditions = [self.row_ids.among(only_rows)] if only_rows else []
        if mpan_pass and self.mpan_where_read:
            conditions.append(mpan_pass.holds(self.mpan_where_read))
        rows = self.render(conditions)
        if mpan_pass and not self.mpan_where_read:
            return f"SELECT * FROM ({rows}) WHERE {mpan_pass.holds('mpan_core')}"
        return rows

    @property
    def mpan(self) -> str:
        """The MPAN column of the rows as text."""
        return self.mpan_where_read or "mpan_core"
