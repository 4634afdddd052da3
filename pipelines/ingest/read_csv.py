"""Step 2 for a CSV file: its header checked, its lines stored, and its rows as text (source.Source).

DuckDB reads whole lines in parallel into a table whose rowid keeps file order, so row_number is the line
number less the header (blank lines count, as a text editor counts them). A line is split at every comma,
which is lossless: the line itself is the raw_record. Lines holding a double quote are split honouring CSV
quoting; one whose quotes do not pair up is malformed.
"""

import csv
from concurrent.futures import Future
from pathlib import Path
from typing import NamedTuple

from pipelines import catalogue
from pipelines.ingest.identify import Content
from pipelines.ingest.landing import PERSONAL_DATA_FOLDERS
from pipelines.ingest.reasons import FILE_REASONS, MAX_LINE_BYTES, FileRefused
from pipelines.ingest.source import RowIds, Source
from pipelines.ingest.sql import identifier, literal

WITHHELD_RECORD = "(withheld: the row is malformed and its file has columns outside the data catalogue)"
LINES = "landing_lines"


class LineKind:
    """Kinds of landing line, stored beside each line of a file that is not plain text. A blank line (nothing
    but spaces, no comma) is no row, but counts in the line numbers."""

    PLAIN, QUOTED, BLANK = 0, 1, 2


class Header(NamedTuple):
    positions: dict[str, int]  # position of every catalogue column in the header row
    field_count: int  # fields in the header row: a row with another count is malformed


def header(path: Path, dataset: catalogue.Dataset) -> Header:
    """The header row's columns; refuses a file whose header cannot serve."""
    with open(path, "rb") as handle:
        head = handle.read(64 * 1024)
    if not head.strip():
        raise FileRefused.because("FILE_EMPTY")
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.start < len(head) - 3:  # not just a character cut at the end of the sample
            raise FileRefused.because("FILE_NOT_UTF8") from None
    if b"\x00" in head:
        raise FileRefused.because("FILE_NOT_CSV")
    first_line = head.split(b"\n", 1)[0].removesuffix(b"\r")
    if b"\r" in first_line:
        raise FileRefused("FILE_NOT_CSV", FILE_REASONS["FILE_NOT_CSV"] + " (lines must end in LF or CRLF)")
    try:
        names = [name.strip() for name in next(csv.reader([first_line.decode("utf-8", "ignore").lstrip("\ufeff")]), [])]
    except csv.Error:
        raise FileRefused.because("FILE_NOT_CSV") from None
    duplicated = sorted({n for n in names if names.count(n) > 1 and n in dataset.column_names})
    if duplicated:
        raise FileRefused.because("FILE_DUPLICATE_COLUMNS", columns=", ".join(duplicated))
    missing = [c for c in dataset.column_names if c not in names]
    if missing:
        raise FileRefused.because("FILE_MISSING_COLUMNS" if len(names) > 1 else "FILE_NOT_CSV", columns=", ".join(missing))
    return Header({name: names.index(name) for name in dataset.column_names}, len(names))


def store_lines(con, path: Path, content: "Future[Content]") -> tuple[str, bool]:
    """Table landing_lines: the file's lines after the header, whole (a table of one text column is written
    several times faster than one of split parts; each later read splits the lines it reads). Returns the
    table and whether the file is plain text.

    Nearly every file is plain text (identify.Content): no line is quoted, and an empty line (read as NULL) is
    the only blank one, so the lines are stored as they are. Another file is read again, storing each line
    without a CR at its end, and its kind (LineKind).
    """
    lines_read = (
        f"SELECT line FROM read_csv({literal(str(path))}, columns = {{'line': 'VARCHAR'}}, header = false, skip = 1, "
        f"delim = '\\0', quote = '', escape = '', auto_detect = false, strict_mode = false, max_line_size = {MAX_LINE_BYTES})"
    )
    con.execute(f"CREATE OR REPLACE TEMP TABLE {LINES} AS {lines_read}")
    plain_text = content.result().plain_text
    if not plain_text:
        con.execute(f"DROP TABLE {LINES}")
        con.execute(
            f"CREATE TEMP TABLE {LINES} AS SELECT line, CASE WHEN contains(line, '\"') THEN {LineKind.QUOTED} "
            f"WHEN contains(line, ',') OR trim(line) <> '' THEN {LineKind.PLAIN} ELSE {LineKind.BLANK} END::UTINYINT AS kind FROM ("
            f"SELECT CASE WHEN ends_with(line, '\r') THEN line[:-2] ELSE line END AS line FROM ({lines_read}))"
        )
    return LINES, plain_text


def csv_source(con, path: Path, dataset: catalogue.Dataset, content: "Future[Content]") -> Source:
    """The file's data rows as text, split from its stored lines."""
    columns = header(path, dataset)
    lines, plain_only = store_lines(con, path, content)
    row_ids = RowIds("rowid", 1)
    positions, field_count = columns.positions, columns.field_count
    quoted_matches = "regexp_extract_all(',' || array_to_string(parts, ','), ',(\"(?:[^\"]|\"\")*\"|[^,\"]*)', 0)"

    def field(position: int) -> str:
        raw = f"fields[{position + 1}]"
        return f"CASE WHEN starts_with({raw}, '\"') THEN replace({raw}[2:-2], '\"\"', '\"') ELSE {raw} END"

    plain_columns = ", ".join(f"fields[{positions[c] + 1}] AS {identifier(c)}" for c in dataset.column_names)
    quoted_columns = ", ".join(f"{field(positions[c])} AS {identifier(c)}" for c in dataset.column_names)
    plain_record, quoted_record = "line", "array_to_string(parts, ',')"
    if dataset.name in PERSONAL_DATA_FOLDERS and field_count > len(dataset.column_names):
        # Registration columns outside the catalogue (an address, a postcode) may identify a person or
        # premises: they never leave ingestion, not even in the quarantine's raw record.
        def record(field_sql) -> str:
            return (f"CASE WHEN len(fields) <> {field_count} THEN {literal(WITHHELD_RECORD)} ELSE concat_ws(',', "
                    + ", ".join(f"coalesce({field_sql(positions[c])}, '')" for c in dataset.column_names) + ") END")
        plain_record, quoted_record = record(lambda p: f"fields[{p + 1}]"), record(field)

    def render(conditions: list[str]) -> str:
        def lines_of(kind: int) -> str:
            of_kind = "line IS NOT NULL" if plain_only else f"kind = {kind}"
            return f"SELECT {row_ids.row_number} AS row_number, line FROM {lines} WHERE {' AND '.join([*conditions, of_kind])}"

        # Lines without a double quote (nearly all) are split at every comma; the others honour CSV quoting.
        plain = (
            f"SELECT row_number, {plain_record} AS raw_record, len(fields) <> {field_count} AS malformed, "
            f"NULL::VARCHAR AS dip_problem, {plain_columns} "
            f"FROM (SELECT row_number, line, string_split(line, ',') AS fields FROM ({lines_of(LineKind.PLAIN)}))"
        )
        if plain_only:
            return plain
        quoted = (
            f"SELECT row_number, {quoted_record} AS raw_record, len(fields) <> {field_count} OR NOT well_quoted AS malformed, "
            f"NULL::VARCHAR AS dip_problem, {quoted_columns} "
            "FROM (SELECT row_number, parts, list_transform(matches, lambda m: m[2:]) AS fields, "
            "length(array_to_string(matches, '')) = length(array_to_string(parts, ',')) + 1 AS well_quoted "
            f"FROM (SELECT row_number, parts, {quoted_matches} AS matches "
            f"FROM (SELECT row_number, string_split(line, ',') AS parts FROM ({lines_of(LineKind.QUOTED)}))))"
        )
        return f"{plain} UNION ALL {quoted}"

    return Source(render, row_ids, native={})
