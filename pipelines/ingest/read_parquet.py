"""Step 2 for a Parquet file: its rows, a text or floating-point column read as text and a typed column
(timestamp, date, decimal, integer, boolean) read in its own type.

A typed column's text (CAST AS VARCHAR) is one per value and equal values have equal text, so the rules check
the text of each distinct value and rows are matched on the value itself (check.ValueChecks): the file gets
the outcome it would get written as text, without a cast to text and back on every row. Not DOUBLE: -0.0
equals 0.0 but reads differently.
"""

import re
from pathlib import Path

import duckdb

from pipelines import catalogue
from pipelines.ingest.reasons import FileRefused
from pipelines.ingest.source import RowIds, Source, where
from pipelines.ingest.sql import identifier, literal

NATIVE_TYPES = re.compile(r"^(TIMESTAMP WITH TIME ZONE|TIMESTAMP|DATE|DECIMAL\(\d+,\d+\)|U?(TINY|SMALL|BIG)?INT(EGER)?|BOOLEAN)$")


def parquet_source(con, path: Path, dataset: catalogue.Dataset) -> Source:
    """The file's rows; a pass of them is filtered where they are read, so it decodes only its own rows."""
    file = literal(str(path))
    try:
        types = {row[0]: row[1] for row in con.execute(f"DESCRIBE SELECT * FROM read_parquet({file})").fetchall()}
    except duckdb.Error:
        raise FileRefused.because("FILE_NOT_PARQUET") from None
    missing = [c for c in dataset.column_names if c not in types]
    if missing:
        raise FileRefused.because("FILE_MISSING_COLUMNS", columns=", ".join(missing))
    native = {n: types[c] for n, c in enumerate(dataset.column_names) if NATIVE_TYPES.match(types[c])}
    columns = ", ".join(identifier(c) if n in native else f"CAST({identifier(c)} AS VARCHAR) AS {identifier(c)}"
                        for n, c in enumerate(dataset.column_names))
    record = ", ".join(f"{identifier(c)} := {identifier(c)}" for c in dataset.column_names)
    row_ids = RowIds("file_row_number", 1)

    def render(conditions: list[str]) -> str:
        return (
            f"SELECT {row_ids.row_number} AS row_number, to_json(struct_pack({record}))::VARCHAR AS raw_record, "
            f"false AS malformed, NULL::VARCHAR AS dip_problem, {columns} "
            f"FROM read_parquet({file}, file_row_number = true){where(conditions)}"
        )

    return Source(render, row_ids, native, mpan_where_read="CAST(mpan_core AS VARCHAR)")
