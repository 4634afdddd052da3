"""Tables for people (`mhhs sql`, `mhhs ingest`), drawn by DuckDB's own renderer, with a row count under them."""

import duckdb
import pyarrow as pa

MAX_DRAWN_ROWS = 10_000  # the most rows DuckDB draws of a relation


def draw(table: pa.Table, max_rows: int | None = None, unit: str = "row") -> str:
    """The first `max_rows` rows of `table` (all by default, at most MAX_DRAWN_ROWS) drawn by DuckDB, with the
    column types under the names, then `(3 rows)`, or `(40 of 1234 rows)` when not all are shown (`unit`: what
    a row is, e.g. "file")."""
    shown = min(table.num_rows, MAX_DRAWN_ROWS if max_rows is None else min(max_rows, MAX_DRAWN_ROWS))
    with duckdb.connect() as con:
        lines = con.from_arrow(table.slice(0, shown)).preview(max(shown, 1)).split("\n")
    # DuckDB writes a footer of its own under some tables only: the same one under every table instead.
    closing = max(index for index, line in enumerate(lines) if line.startswith("└"))
    count = f"{shown} of {table.num_rows}" if shown < table.num_rows else str(table.num_rows)
    return "\n".join([*lines[: closing + 1], f"({count} {unit if table.num_rows == 1 else unit + 's'})"])
