"""`mhhs ingest DIR`: landing files into the Parquet lake, refused rows and files into quarantine.

Every landing file is read as text (a typed Parquet column in its own type, checked on its values' text),
checked in bulk in DuckDB against the data catalogue's rules (pipelines.catalogue.sql_rules), and split into
accepted rows and quarantined rows with a reason code; for every file rows in = rows accepted + rows
quarantined, recorded in the ingestion log with the file's SHA-256. A file that cannot be read at all is
kept whole under refused_files/ with its reason.

Consumption lands one row per MPAN-day submission (mpan, quantity, settlement date, data service,
received_at) with the values of up to 50 settlement periods as columns: joins and aggregation over that
shape are about 30 times faster than over one row per period (ARCHITECTURE.md).
"""

import csv
import hashlib
import json
import re
import shutil
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import NamedTuple

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines import catalogue
from pipelines.catalogue.dip_schema import ENVELOPE_FIELDS, PERIOD_FIELDS, message_faults
from pipelines.catalogue.sql_rules import quote_identifier, rules_for, sql_type, typed
from pipelines.core.errors import MhhsError
from pipelines.core.locks import ingestion_lock
from pipelines.core.resources import duckdb_config, memory_limit_bytes
from pipelines.reference.ingestion_log import INGESTION_LOG_COLUMNS
from pipelines.reference.lake import LONDON, Lake

RAW_RECORD_PREVIEW_BYTES = 500
WITHHELD_RECORD = "(withheld: the row is malformed and its file has columns outside the data catalogue)"
# A landing line is about 100 bytes; anything near this is not settlement data and would only cost memory.
MAX_LINE_BYTES = 1024 * 1024
# The first bytes of archive and compressed formats: they are refused, never unpacked.
ARCHIVE_MAGIC = {b"PK\x03\x04": "zip", b"PK\x05\x06": "zip", b"\x1f\x8b": "gzip", b"BZh": "bzip2",
                 b"\xfd7zXZ\x00": "xz", b"7z\xbc\xaf\x27\x1c": "7z", b"Rar!": "rar", b"\x28\xb5\x2f\xfd": "zstd"}
# Landing folders and the formats each accepts.
LANDING_FORMATS = {"registrations": (".csv",), "consumption": (".csv", ".parquet", ".json")}
# The consumption columns that vary between the periods of one MPAN-day submission.
PERIOD_COLUMNS = ("utc_period_start", "kwh", "quality_flag")
_ARROW_TYPES = {"VARCHAR": pa.string(), "BIGINT": pa.int64(), "TIMESTAMPTZ": pa.timestamp("us", tz="UTC")}
INGESTION_LOG_SCHEMA = pa.schema([(name, _ARROW_TYPES[sql]) for name, sql in INGESTION_LOG_COLUMNS.items()])
QUARANTINE_SCHEMA = pa.schema([("source_file", pa.string()), ("row_number", pa.int64()), ("reason_code", pa.string()),
                               ("reason", pa.string()), ("raw_record", pa.string())])
# Memory a consumption row takes while gathered, at most: a 47-million-row day gathers at full speed
# within a 2.3 GiB memory limit (53 bytes a row) and spills within 1.4 GiB.
GATHER_BYTES_PER_ROW = 60
# Columns whose values must agree for two rows with the same key to be plain duplicates: those outside the
# key. The consumption key holds the data service: values from two services never conflict at ingestion,
# which does not know appointments; settlement refuses a service not appointed (DATA_SERVICE_NOT_APPOINTED).
VALUE_COLUMNS = {
    name: [c for c in catalogue.dataset_columns(name) if c not in catalogue.dataset(name).key]
    for name in ("consumption", "registrations")
}

# Reasons that are not a single catalogue item's rule.
FILE_REASONS = {
    "FILE_UNSUPPORTED_TYPE": "the landing folder accepts only {formats} files",
    "FILE_EMPTY": "the file is empty: no header row",
    "FILE_NOT_UTF8": "the file is not UTF-8 text",
    "FILE_NOT_CSV": "the file is not comma-separated text",
    "FILE_MISSING_COLUMNS": "the header lacks required columns {columns}",
    "FILE_DUPLICATE_COLUMNS": "the header names columns more than once: {columns}",
    "FILE_NOT_PARQUET": "the file is not a readable Parquet file",
    "FILE_NOT_JSON": "the file is not JSON (one message, an array of messages or one message per line)",
    "FILE_ARCHIVE": "the file is a {kind} archive or compressed file; archives are never unpacked: land the files themselves",
}
# Files refused before their content is read, for the safety of the data directory (tested in
# tests/test_reliability.py: a committed corpus cannot hold symlinks out of the tree or 1 MiB lines).
UNSAFE_FILE_REASONS = {
    "FILE_UNSAFE_NAME": "the file name holds '..', a path separator or a control character; rename the file",
    "FILE_OUTSIDE_LANDING": "the file is a link to {target}, outside the landing directory; copy the file itself into it",
    "FILE_NOT_REGULAR": "the entry is not a regular file (a device, pipe or socket)",
    "FILE_LINE_TOO_LONG": f"a line is longer than {MAX_LINE_BYTES} bytes, far beyond any landing record",
}
ROW_REASONS = {
    "MALFORMED_ROW": "the row does not have one field per header column",
    "DUPLICATE_ROW": "the same key (consumption: MPAN, quantity, period, data service and received_at) with the same "
    "values came earlier in this file",
    "CONFLICTING_DUPLICATE": "the file holds this key more than once with different values; none of them is used "
    "(consumption: values from different data services never conflict)",
    "EFFECTIVE_TO_BEFORE_FROM": "effective_to_date is before effective_from_date",
    "MESSAGE_BAD_ENVELOPE": "the DIP message lacks its CommonBlock or CustomBlock",
    "MESSAGE_UNSUPPORTED_VERSION": "the DIP message's schema version is not one this system reads",
    "MESSAGE_WITHOUT_PERIODS": "the DIP message carries no periods",
    "MESSAGE_SCHEMA_INVALID": "the DIP message (or this period of it) does not match the message JSON Schema "
    "(docs/interfaces/schemas/dip_consumption_message.schema.json)",
}


@dataclass
class FileResult:
    source_file: str
    dataset: str
    file_sha256: str
    status: str  # ingested | refused | already_ingested
    rows_in: int = 0
    rows_accepted: int = 0
    rows_quarantined: int = 0
    reason_code: str | None = None
    reason: str | None = None
    rejections: dict[str, int] = field(default_factory=dict)


@dataclass
class IngestSummary:
    files: list[FileResult]

    @property
    def refused(self) -> list[FileResult]:
        return [f for f in self.files if f.status == "refused"]

    def as_json(self) -> dict:
        rejections: Counter = Counter()
        for result in self.files:
            rejections.update(result.rejections)
        return {
            "files": [asdict(f) for f in self.files],
            "rows_accepted": sum(f.rows_accepted for f in self.files),
            "rows_rejected": sum(f.rows_quarantined for f in self.files),
            "rejections": dict(sorted(rejections.items())),
        }


class FileRefused(Exception):
    def __init__(self, reason_code: str, reason: str):
        super().__init__(reason)
        self.reason_code = reason_code
        self.reason = reason


class Content(NamedTuple):
    sha256: str
    plain_text: bool  # no double quote and no space anywhere (_csv_source)


def content_of(path: Path) -> Content:
    """The file's SHA-256 and whether it is plain text, in one read (a byte search costs little beside
    the hash)."""
    digest, plain_text = hashlib.sha256(), True
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(block)
            plain_text = plain_text and b'"' not in block and b" " not in block
    return Content(digest.hexdigest(), plain_text)


def sha256_of(path: Path) -> str:
    return content_of(path).sha256


# ---- reading landing files as text rows ------------------------------------------------------------


def _header(path: Path, dataset: catalogue.Dataset) -> dict[str, int]:
    """Position of every catalogue column in the header row; refuses a file whose header cannot serve."""
    with open(path, "rb") as handle:
        head = handle.read(64 * 1024)
    if not head.strip():
        raise FileRefused("FILE_EMPTY", FILE_REASONS["FILE_EMPTY"])
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.start < len(head) - 3:  # not just a character cut at the end of the sample
            raise FileRefused("FILE_NOT_UTF8", FILE_REASONS["FILE_NOT_UTF8"]) from None
    if b"\x00" in head:
        raise FileRefused("FILE_NOT_CSV", FILE_REASONS["FILE_NOT_CSV"])
    first_line = head.split(b"\n", 1)[0].removesuffix(b"\r")
    if b"\r" in first_line:
        raise FileRefused("FILE_NOT_CSV", FILE_REASONS["FILE_NOT_CSV"] + " (lines must end in LF or CRLF)")
    try:
        names = [name.strip() for name in next(csv.reader([first_line.decode("utf-8", "ignore").lstrip("\ufeff")]), [])]
    except csv.Error:
        raise FileRefused("FILE_NOT_CSV", FILE_REASONS["FILE_NOT_CSV"]) from None
    duplicated = sorted({n for n in names if names.count(n) > 1 and n in dataset.column_names})
    if duplicated:
        raise FileRefused("FILE_DUPLICATE_COLUMNS", FILE_REASONS["FILE_DUPLICATE_COLUMNS"].format(columns=", ".join(duplicated)))
    missing = [c for c in dataset.column_names if c not in names]
    if missing:
        code = "FILE_MISSING_COLUMNS" if len(names) > 1 else "FILE_NOT_CSV"
        raise FileRefused(code, FILE_REASONS[code].format(columns=", ".join(missing)))
    return {name: names.index(name) for name in dataset.column_names} | {"__field_count": len(names)}


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


_EVERY_ROW = " IS NOT NULL /* every row */"
_EVERY_PASS = "true /* every pass */"


def _every_row(row_number_sql: str) -> str:
    """The innermost filter of a source: every row, until _only_rows narrows it."""
    return f"({row_number_sql}){_EVERY_ROW}"


def _only_rows(source: str, table: str) -> str:
    """The source restricted to the row numbers in a table, filtered where the rows are read (before any
    field is split out or cast), so picking a few rows costs little more than reading their row ids. A row
    number that is a row id + 1 is matched on the row id itself, which DuckDB fetches by id: five times
    faster than testing every row of a landing table."""
    def only(match: re.Match) -> str:
        row_number = match.group(1)
        if row_number.endswith(" + 1"):
            return f"{row_number.removesuffix(' + 1')} IN (SELECT row_number - 1 FROM {table})"
        return f"({row_number}) IN (SELECT row_number FROM {table})"

    return re.sub(r"\(([^()]*(?:\([^()]*\))?[^()]*)\)" + re.escape(_EVERY_ROW), only, source)


# Kinds of landing line. A blank line (nothing but spaces, no comma) is no row, but counts in the line numbers.
_PLAIN, _QUOTED, _BLANK = 0, 1, 2


def _csv_source(con, path: Path, dataset: catalogue.Dataset, content: Future) -> str:
    """SQL of the file's data rows as text.

    DuckDB reads whole lines in parallel into a table whose rowid keeps file order, so row_number is the
    line number less the header. A line is split at every comma, which is lossless: the line itself is the
    raw_record. Lines holding a double quote are split honouring CSV quoting; one whose quotes do not pair
    up is malformed.
    """
    positions = _header(path, dataset)
    # Lines are stored whole, not their parts: a table of one text column is written several times faster
    # than one of split parts; each pass splits the lines it reads.
    lines_read = (
        f"SELECT line FROM read_csv({_sql_text(str(path))}, columns = {{'line': 'VARCHAR'}}, header = false, skip = 1, "
        f"delim = '\\0', quote = '', escape = '', auto_detect = false, strict_mode = false, max_line_size = {MAX_LINE_BYTES})"
    )
    con.execute(f"CREATE OR REPLACE TEMP TABLE landing_lines AS {lines_read}")
    # Nearly every file is plain text (Content): no line is quoted, and an empty line (read as NULL) is the
    # only blank one. Another is read again, keeping each line's kind, the line without a CR at its end.
    plain_only = content.result().plain_text
    if not plain_only:
        con.execute("DROP TABLE landing_lines")
        con.execute(
            f"CREATE TEMP TABLE landing_lines AS SELECT line, CASE WHEN contains(line, '\"') THEN {_QUOTED} "
            f"WHEN contains(line, ',') OR trim(line) <> '' THEN {_PLAIN} ELSE {_BLANK} END::UTINYINT AS kind FROM ("
            f"SELECT CASE WHEN ends_with(line, '\r') THEN line[:-2] ELSE line END AS line FROM ({lines_read}))"
        )
    quoted_matches = "regexp_extract_all(',' || array_to_string(parts, ','), ',(\"(?:[^\"]|\"\")*\"|[^,\"]*)', 0)"

    def field(position: int) -> str:
        raw = f"fields[{position + 1}]"
        return f"CASE WHEN starts_with({raw}, '\"') THEN replace({raw}[2:-2], '\"\"', '\"') ELSE {raw} END"

    field_count = positions["__field_count"]
    plain_columns = ", ".join(f"fields[{positions[c] + 1}] AS {quote_identifier(c)}" for c in dataset.column_names)
    quoted_columns = ", ".join(f"{field(positions[c])} AS {quote_identifier(c)}" for c in dataset.column_names)
    plain_record, quoted_record = "line", "array_to_string(parts, ',')"
    if dataset.name == "registrations" and field_count > len(dataset.column_names):
        # Registration columns outside the catalogue (an address, a postcode) may identify a person or
        # premises: they never leave ingestion, not even in the quarantine's raw record.
        def record(field_sql) -> str:
            return (f"CASE WHEN len(fields) <> {field_count} THEN {_sql_text(WITHHELD_RECORD)} ELSE concat_ws(',', "
                    + ", ".join(f"coalesce({field_sql(positions[c])}, '')" for c in dataset.column_names) + ") END")
        plain_record, quoted_record = record(lambda p: f"fields[{p + 1}]"), record(field)
    def lines(kind: int) -> str:
        of_kind = " AND line IS NOT NULL" if plain_only else f" AND kind = {kind}"
        return f"SELECT rowid + 1 AS row_number, line FROM landing_lines WHERE {_every_row('rowid + 1')}{of_kind}"

    # Lines without a double quote (nearly all) are split at every comma; the others honour CSV quoting.
    plain = (
        f"SELECT row_number, {plain_record} AS raw_record, len(fields) <> {field_count} AS malformed, "
        f"NULL::VARCHAR AS dip_problem, {plain_columns} "
        f"FROM (SELECT row_number, line, string_split(line, ',') AS fields FROM ({lines(_PLAIN)}))"
    )
    quoted = (
        f"SELECT row_number, {quoted_record} AS raw_record, len(fields) <> {field_count} OR NOT well_quoted AS malformed, "
        f"NULL::VARCHAR AS dip_problem, {quoted_columns} "
        "FROM (SELECT row_number, parts, list_transform(matches, lambda m: m[2:]) AS fields, "
        "length(array_to_string(matches, '')) = length(array_to_string(parts, ',')) + 1 AS well_quoted "
        f"FROM (SELECT row_number, parts, {quoted_matches} AS matches "
        f"FROM (SELECT row_number, string_split(line, ',') AS parts FROM ({lines(_QUOTED)}))))"
    )
    return plain if plain_only else f"{plain} UNION ALL {quoted}"


# Parquet column types read as they are rather than as text: their text (CAST AS VARCHAR) is one per
# value and equal values have equal text, so the rules are checked on the text of each distinct value and
# rows are matched on the value itself (not DOUBLE: -0.0 equals 0.0 but reads differently).
_NATIVE_TYPES = re.compile(r"^(TIMESTAMP WITH TIME ZONE|TIMESTAMP|DATE|DECIMAL\(\d+,\d+\)|U?(TINY|SMALL|BIG)?INT(EGER)?|BOOLEAN)$")


def _parquet_source(con, path: Path, dataset: catalogue.Dataset) -> tuple[str, dict[int, str]]:
    """SQL of the file's rows and the columns read in their own type (index: DuckDB type), not as text."""
    try:
        types = {row[0]: row[1] for row in con.execute(f"DESCRIBE SELECT * FROM read_parquet({_sql_text(str(path))})").fetchall()}
    except duckdb.Error:
        raise FileRefused("FILE_NOT_PARQUET", FILE_REASONS["FILE_NOT_PARQUET"]) from None
    missing = [c for c in dataset.column_names if c not in types]
    if missing:
        raise FileRefused("FILE_MISSING_COLUMNS", FILE_REASONS["FILE_MISSING_COLUMNS"].format(columns=", ".join(missing)))
    native = {n: types[c] for n, c in enumerate(dataset.column_names) if _NATIVE_TYPES.match(types[c])}
    columns = ", ".join(quote_identifier(c) if n in native else f"CAST({quote_identifier(c)} AS VARCHAR) AS {quote_identifier(c)}"
                        for n, c in enumerate(dataset.column_names))
    record = ", ".join(f"{quote_identifier(c)} := {quote_identifier(c)}" for c in dataset.column_names)
    return (
        f"SELECT file_row_number + 1 AS row_number, to_json(struct_pack({record}))::VARCHAR AS raw_record, "
        f"false AS malformed, NULL::VARCHAR AS dip_problem, {columns} "
        f"FROM read_parquet({_sql_text(str(path))}, file_row_number = true) "
        f"WHERE {_every_row('file_row_number + 1')} AND {_EVERY_PASS}"
    ), native


def _dip_messages(text: str) -> list:
    stripped = text.strip()
    if stripped.startswith("["):
        return json.loads(stripped)
    try:
        return [json.loads(stripped)]
    except json.JSONDecodeError:
        return [json.loads(line) for line in stripped.splitlines() if line.strip()]


def _envelope_values(message: dict) -> dict:
    """The consumption columns the message's envelope carries (a block that is not an object gives none)."""
    values = {}
    for path, column in ENVELOPE_FIELDS.items():
        node = message
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        values[column] = node
    return values


def _json_source(con, path: Path, dataset: catalogue.Dataset) -> str:
    """DIP-style consumption messages (docs/interfaces/dip_consumption.md) flattened to one row per period."""
    content = path.read_bytes()
    if not content.strip():
        raise FileRefused("FILE_EMPTY", "the file is empty")
    try:
        messages = _dip_messages(content.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise FileRefused("FILE_NOT_UTF8", FILE_REASONS["FILE_NOT_UTF8"]) from None
    except (json.JSONDecodeError, RecursionError):
        raise FileRefused("FILE_NOT_JSON", FILE_REASONS["FILE_NOT_JSON"]) from None
    rows = {name: [] for name in ["row_number", "raw_record", "dip_problem", *dataset.column_names]}

    def add(record: dict, values: dict, problem: str | None) -> None:
        rows["row_number"].append(len(rows["row_number"]) + 1)
        rows["raw_record"].append(json.dumps(record, sort_keys=True))
        rows["dip_problem"].append(problem)
        for name in dataset.column_names:
            value = values.get(name)
            rows[name].append(None if value is None else str(value))

    for message in messages if isinstance(messages, list) else [messages]:
        whole, period_faults = message_faults(message)
        if whole == "MESSAGE_BAD_ENVELOPE":
            add({"message": message}, {}, whole)
            continue
        common, custom = message["CommonBlock"], message["CustomBlock"]
        envelope = _envelope_values(message)
        if whole == "MESSAGE_WITHOUT_PERIODS":
            add({"CommonBlock": common, "periods": custom.get("periods")}, envelope, whole)
            continue
        for index, period in enumerate(custom["periods"]):
            fields = period if isinstance(period, dict) else {}
            values = envelope | {column: fields.get(name) for name, column in PERIOD_FIELDS.items()}
            record = {"CommonBlock": common, "measurementQuantity": custom.get("measurementQuantity"), "period": period}
            add(record, values, whole or period_faults.get(index))
    table = pa.table({k: pa.array(v, pa.int64() if k == "row_number" else pa.string()) for k, v in rows.items()})
    con.register("json_rows", table)
    return (
        "SELECT row_number, raw_record, false AS malformed, dip_problem, * EXCLUDE (row_number, raw_record, dip_problem) "
        f"FROM json_rows WHERE {_every_row('row_number')}"
    )


# ---- validation ------------------------------------------------------------------------------------
#
# Rules are checked on each column's distinct values (a day of 48 million rows has about 50 distinct
# period starts and a million distinct MPANs), giving a small table of refused values per column; rows
# then only probe those tables. A row is refused for the first rule it breaks, in catalogue order.


def _reason_texts(dataset: catalogue.Dataset) -> dict[str, str]:
    texts = {rule.reason_code: rule.reason for item in dataset.columns for rule in rules_for(item)}
    return texts | ROW_REASONS


def _derived_sql(dataset: catalogue.Dataset, item: catalogue.Item) -> str:
    """Columns derived from a typed value, computed once per distinct value: the local settlement date
    and period of a UTC period start (DOMAIN.md section 4)."""
    if (dataset.name, item.name) != ("consumption", "utc_period_start"):
        return ""
    local_date = f"timezone('{LONDON}', typed_value)::DATE"
    return (
        f", {local_date} AS settlement_date, (1 + (epoch(typed_value) - "
        f"epoch(timezone('{LONDON}', {local_date}::TIMESTAMP)))::BIGINT // 1800)::UTINYINT AS settlement_period"
    )


@dataclass
class ValueChecks:
    rows_in: int
    refused_columns: set[int]  # columns with at least one refused value
    padded_columns: set[int]  # text columns with a value that has surrounding blanks
    native: dict[int, str]  # columns the source reads in their own type (index: DuckDB type), not as text

    def value(self, n: int, column: str) -> str:
        """SQL of the value column n is checked and matched by: its text (NULL as ''), or a native value."""
        return column if n in self.native else f"coalesce({column}, '')"

    def matches(self, n: int, column: str, value: str) -> str:
        """SQL matching a row's column n to a `value` of its checks' tables (refused_<n>, typed_<n>)."""
        return f"{column} IS NOT DISTINCT FROM {value}" if n in self.native else f"coalesce({column}, '') = {value}"


def _value_checks(con, source: str, dataset: catalogue.Dataset, columns: list[int], native: dict[int, str]) -> ValueChecks:
    """Rows in, and the value checks (_check_column) of the given columns on their distinct values in the
    source; the other columns are checked later, on distinct values of a smaller table."""
    checks = ValueChecks(0, set(), set(), native)
    values = ", ".join(f"{checks.value(n, quote_identifier(dataset.columns[n].name))} AS c{n}" for n in columns)
    flags = ", ".join(f"grouping(c{n}) AS g{n}" for n in columns)
    sets = ", ".join(f"(c{n})" for n in columns)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE distinct_values AS SELECT *, count(*) AS occurrences, {flags} "
        f"FROM (SELECT {values} FROM ({source})) GROUP BY GROUPING SETS ({sets})"
    )
    # each row holds one value of every column: the occurrences of one column's values add up to the rows
    checks.rows_in = con.execute(f"SELECT coalesce(sum(occurrences), 0) FROM distinct_values WHERE g{columns[0]} = 0").fetchall()[0][0]
    for n in columns:
        _check_column(con, checks, dataset, n, f"SELECT c{n} AS v FROM distinct_values WHERE g{n} = 0")
    return checks


def _check_column(con, checks: ValueChecks, dataset: catalogue.Dataset, n: int, distinct_values: str) -> None:
    """Table refused_<n> (refused values of column n with their reason) and, for a date or timestamp
    column, typed_<n> (typed value of every accepted distinct value), from SQL of its distinct values v
    (checks.value: text, or a native value, whose text the rules read)."""
    item = dataset.columns[n]
    cases = " ".join(f"WHEN {rule.broken_when} THEN '{rule.reason_code}'" for rule in rules_for(item, "trimmed", trimmed=True))
    reason = f"CASE {cases} END" if cases else "NULL::VARCHAR"
    text = "coalesce(CAST(v AS VARCHAR), '')" if n in checks.native else "v"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE distinct_{n} AS SELECT v, text, {reason} AS reason_code FROM ("
        f"SELECT v, text, NULLIF(TRIM(text), '') AS trimmed FROM (SELECT v, {text} AS text FROM ({distinct_values})))"
    )
    con.execute(f"CREATE OR REPLACE TEMP TABLE refused_{n} AS SELECT v, reason_code FROM distinct_{n} WHERE reason_code IS NOT NULL")
    refused, padded = con.execute(
        f"SELECT (SELECT count(*) FROM refused_{n}), (SELECT count(*) FROM distinct_{n} WHERE text <> trim(text))"
    ).fetchall()[0]
    if refused:
        checks.refused_columns.add(n)
    if padded:
        checks.padded_columns.add(n)
    if item.type in ("date", "timestamp"):
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE typed_{n} AS SELECT *{_derived_sql(dataset, item)} FROM ("
            f"SELECT v, {typed(item, 'text')} AS typed_value FROM distinct_{n} WHERE reason_code IS NULL)"
        )
    con.execute(f"DROP TABLE distinct_{n}")


def _extra_rules(dataset: catalogue.Dataset) -> list[tuple[str, str]]:
    """Rules across columns, as (reason code, SQL over the typed columns t_<name>)."""
    if dataset.name == "registrations":
        return [("EFFECTIVE_TO_BEFORE_FROM", "t_effective_to_date < t_effective_from_date")]
    return []


def _checked_rows(dataset: catalogue.Dataset, source: str, checks: ValueChecks, typed_values: bool = True) -> str:
    """SQL of every row with its reason_code (NULL = accepted) and every column typed as t_<name>.

    Only columns with a refused value are joined to their refused values, and text is trimmed only in
    columns that have padded values: on clean data a row costs no more than its casts.
    """
    joins, reasons, typed_columns = [], ["NULL::VARCHAR"], []
    for n, item in enumerate(dataset.columns):
        column = f"s.{quote_identifier(item.name)}"
        if n in checks.refused_columns:
            joins.append(f"LEFT JOIN refused_{n} r{n} ON {checks.matches(n, column, f'r{n}.v')}")
            reasons.append(f"r{n}.reason_code")
        if not typed_values:
            continue
        if item.type in ("date", "timestamp"):
            joins.append(f"LEFT JOIN typed_{n} y{n} ON {column} = y{n}.v")
            typed_columns.append(f"y{n}.typed_value AS t_{item.name}")
            if _derived_sql(dataset, item):
                typed_columns.append(f"y{n}.settlement_date, y{n}.settlement_period")
        else:
            typed_columns.append(f"{_typed_text(dataset, checks, n, column)} AS t_{item.name}")
    typed_sql = "".join(", " + column for column in typed_columns)
    rows = (
        f"SELECT s.row_number, s.raw_record, CASE WHEN s.malformed THEN 'MALFORMED_ROW' "
        f"ELSE coalesce(s.dip_problem, {', '.join(reasons)}) END AS reason_code{typed_sql} "
        f"FROM ({source}) s {' '.join(joins)}"
    )
    extra = _extra_rules(dataset)
    if not extra:
        return rows
    cases = " ".join(f"WHEN {sql} THEN '{code}'" for code, sql in extra)
    return f"SELECT * REPLACE (coalesce(reason_code, CASE {cases} END) AS reason_code) FROM ({rows})"


def _quarantine_rows(con, checked: str, dataset: catalogue.Dataset, source_file: str, target: Path) -> None:
    reasons = " ".join(f"WHEN '{code}' THEN {_sql_text(text)}" for code, text in _reason_texts(dataset).items())
    con.execute(
        f"COPY (SELECT {_sql_text(source_file)} AS source_file, row_number, reason_code, CASE reason_code {reasons} END AS reason, "
        f"raw_record FROM ({checked}) WHERE reason_code IS NOT NULL ORDER BY row_number) TO '{target}' (FORMAT parquet)"
    )


def _duplicates(con, candidates: str, dataset: catalogue.Dataset) -> None:
    """Table duplicate_rows(row_number, reason_code) among accepted candidate rows sharing the dataset's key:
    exact repeats after the first are DUPLICATE_ROW; a key with differing values is CONFLICTING_DUPLICATE."""
    key = ", ".join(f"t_{c}" for c in dataset.key)
    values = ", ".join(f"t_{c}" for c in VALUE_COLUMNS[dataset.name])
    con.execute(
        "CREATE OR REPLACE TEMP TABLE duplicate_rows AS SELECT row_number, "
        "CASE WHEN variants > 1 THEN 'CONFLICTING_DUPLICATE' ELSE 'DUPLICATE_ROW' END AS reason_code FROM ("
        f"SELECT row_number, count(DISTINCT ({values})) OVER (PARTITION BY {key}) AS variants, "
        f"min(row_number) OVER (PARTITION BY {key}) AS first_row, count(*) OVER (PARTITION BY {key}) AS copies "
        f"FROM ({candidates})) WHERE copies > 1 AND (variants > 1 OR row_number <> first_row)"
    )


def _write_duplicates(con, raw_records: str, source_file: str, target: Path) -> None:
    """duplicate_rows into quarantine, with their raw records from `raw_records` (row_number, raw_record)."""
    con.execute(
        f"COPY (SELECT {_sql_text(source_file)} AS source_file, d.row_number, d.reason_code, CASE d.reason_code "
        f"WHEN 'DUPLICATE_ROW' THEN {_sql_text(ROW_REASONS['DUPLICATE_ROW'])} "
        f"ELSE {_sql_text(ROW_REASONS['CONFLICTING_DUPLICATE'])} END AS reason, r.raw_record "
        f"FROM duplicate_rows d JOIN (SELECT row_number, raw_record FROM ({raw_records})) r USING (row_number) "
        f"ORDER BY d.row_number) TO '{target}' (FORMAT parquet)"
    )


# ---- writing the lake ------------------------------------------------------------------------------

# A submission: one data service's values of an MPAN-day sent at one moment. It holds the whole key of the
# consumption dataset but its period, so values of two submissions never meet as duplicates.
_SUBMISSION = "t_mpan_core, t_measurement_quantity, settlement_date, t_data_service_id, t_received_at"


def _submission_aggregates(kwh: str, quality_flag: str, period: str, row_number: str) -> str:
    """SQL of the aggregates that make a submission of its rows: the periods present as a bit mask,
    estimated ones as another, the values in a list and, in a list beside it, each value's row number and
    period as one number (row_number * 64 + period, 0 for a period not known: _PERIODS, _ROW_NUMBERS), which
    gathers 48 million rows faster than two lists; the first row number names the submission."""
    return (
        f"count(*) AS period_count, bit_or(1::UBIGINT << {period}) AS period_mask, "
        f"bit_or(CASE WHEN {quality_flag} = 'E' THEN 1::UBIGINT << {period} ELSE 0::UBIGINT END) AS estimated_mask, "
        f"list({kwh}) AS kwh_values, list({row_number} * 64 + coalesce({period}, 0)) AS value_rows, "
        f"min({row_number}) AS first_row"
    )


def _period_of(value_row: str) -> str:
    """SQL of the period of an element of value_rows (_submission_aggregates)."""
    return f"({value_row} % 64)::UTINYINT"


# A submission's periods and row numbers, in the order of its values.
_PERIODS = f"list_transform(value_rows, lambda v: {_period_of('v')})"
_ROW_NUMBERS = "list_transform(value_rows, lambda v: v // 64)"


def _pivot(rows: str) -> str:
    """One row per MPAN-day submission of accepted rows (_submission_aggregates)."""
    aggregates = _submission_aggregates("t_kwh", "t_quality_flag", "settlement_period", "row_number")
    return f"SELECT {_SUBMISSION}, {aggregates} FROM ({rows}) WHERE reason_code IS NULL GROUP BY ALL"


def _row_checked_columns(dataset: catalogue.Dataset) -> list[int]:
    """Columns checked on every row. A consumption column that is the same for every period of a
    submission is checked once per submission instead, after the rows are gathered (_gather_submissions)."""
    if dataset.name == "consumption":
        return [n for n, item in enumerate(dataset.columns) if item.name in PERIOD_COLUMNS]
    return list(range(len(dataset.columns)))


def _submission_columns(dataset: catalogue.Dataset) -> list[int]:
    period_columns = _row_checked_columns(dataset)
    return [n for n in range(len(dataset.columns)) if n not in period_columns]


def _typed_text(dataset: catalogue.Dataset, checks: ValueChecks, n: int, column: str) -> str:
    """Typed value of a column that is not a date or timestamp (those are looked up in typed_<n>)."""
    item = dataset.columns[n]
    if checks.native.get(n) == sql_type(item):
        return column
    if n in checks.native:
        return f"TRY_CAST(NULLIF(TRIM(CAST({column} AS VARCHAR)), '') AS {sql_type(item)})"
    if n in checks.padded_columns:
        return typed(item)
    # no value has surrounding blanks: trimming each of 48 million values would change none
    if item.type == "string":
        return f"NULLIF({column}, '')"
    return f"TRY_CAST(NULLIF({column}, '') AS {sql_type(item)})"


def _gather_submissions(con, source: str, checks: ValueChecks, dataset: catalogue.Dataset) -> None:
    """View submission_rows: one row per MPAN-day submission, or per group of refused rows (`refused`),
    gathered in one pass over the file.

    Rows are grouped by their submission columns as received (text, or typed Parquet values); those columns
    are then checked and typed on the distinct submissions (a million) instead of on every row (48 million).
    Here a row is only found refused or not: its reason, the first rule it breaks in catalogue order, is
    taken when refused rows are read again (_checked_rows).
    """
    period_columns = _row_checked_columns(dataset)
    submission_columns = _submission_columns(dataset)
    names = {n: dataset.columns[n].name for n in range(len(dataset.columns))}
    period_start = next(n for n in period_columns if names[n] == "utc_period_start")
    # One lookup of the period start gives its settlement date and period, or its reason to refuse it.
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE period_starts AS SELECT v, NULL::VARCHAR AS reason_code, settlement_date, "
        f"settlement_period FROM typed_{period_start} UNION ALL SELECT v, reason_code, NULL, NULL FROM refused_{period_start}"
    )
    kwh_column = dataset.column_names.index("kwh")
    looked_up = {period_start: "y"}  # columns looked up whole (their table's alias), not only for refusals
    if kwh_column in checks.native:
        kwh = _typed_text(dataset, checks, kwh_column, "kwh")
    else:
        # so does one lookup of a kWh text give its value or its reason: cheaper than casting every row
        refused = kwh_column in checks.refused_columns
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE kwh_texts AS SELECT v, {'r.reason_code' if refused else 'NULL::VARCHAR AS reason_code'}, "
            f"{typed(dataset.columns[kwh_column], 'v')} AS typed_value FROM (SELECT c{kwh_column} AS v FROM distinct_values "
            f"WHERE g{kwh_column} = 0) d{f' LEFT JOIN refused_{kwh_column} r USING (v)' if refused else ''}"
        )
        looked_up[kwh_column], kwh = "k", "k.typed_value"
    joins = [f"LEFT JOIN refused_{n} r{n} ON {checks.matches(n, f's.{quote_identifier(names[n])}', f'r{n}.v')}"
             for n in period_columns if n in checks.refused_columns and n not in looked_up]
    joins.append(f"LEFT JOIN period_starts y ON {checks.matches(period_start, 's.utc_period_start', 'y.v')}")
    if kwh_column in looked_up:
        joins.append(f"LEFT JOIN kwh_texts k ON {checks.matches(kwh_column, 's.kwh', 'k.v')}")
    period_reasons = [looked_up.get(n, f"r{n}") + ".reason_code" for n in period_columns if n in checks.refused_columns]
    # an unreadable row (malformed, or a DIP message fault) has no submission columns to gather by
    unreadable = "(s.malformed OR s.dip_problem IS NOT NULL)"
    keys = ", ".join(f"CASE WHEN NOT {unreadable} THEN s.{quote_identifier(names[n])} END AS {quote_identifier(names[n])}"
                     for n in submission_columns)
    quality_flag = _typed_text(dataset, checks, dataset.column_names.index("quality_flag"), "quality_flag")
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE gathered AS SELECT {unreadable} AS unreadable, "
        f"NOT {unreadable} AND ({' OR '.join(f'{r} IS NOT NULL' for r in period_reasons) or 'false'}) AS period_refused, "
        f"{keys}, y.settlement_date, {_submission_aggregates(kwh, quality_flag, 'y.settlement_period', 's.row_number')} "
        f"FROM ({source}) s {' '.join(joins)} GROUP BY ALL"
    )
    for n in submission_columns:
        column = quote_identifier(names[n])
        _check_column(con, checks, dataset, n, f"SELECT DISTINCT {checks.value(n, column)} AS v FROM gathered WHERE NOT unreadable")
    joins, reasons, typed_columns = [], ["NULL::VARCHAR"], []
    for n in submission_columns:
        item = dataset.columns[n]
        column = f"g.{quote_identifier(item.name)}"
        if n in checks.refused_columns:
            joins.append(f"LEFT JOIN refused_{n} r{n} ON {checks.matches(n, column, f'r{n}.v')}")
            reasons.append(f"r{n}.reason_code")
        if item.type in ("date", "timestamp"):
            joins.append(f"LEFT JOIN typed_{n} y{n} ON {column} = y{n}.v")
            typed_columns.append(f"y{n}.typed_value AS t_{item.name}")
        else:
            typed_columns.append(f"{_typed_text(dataset, checks, n, column)} AS t_{item.name}")
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW submission_rows AS SELECT g.unreadable OR g.period_refused "
        f"OR coalesce({', '.join(reasons)}) IS NOT NULL AS refused, "
        f"{', '.join(typed_columns)}, g.settlement_date, g.period_count, g.period_mask, g.estimated_mask, g.kwh_values, "
        f"g.value_rows, g.first_row FROM gathered g {' '.join(joins)}"
    )


def _passes(con, source: str, rows_in: int) -> list[str]:
    """The file's rows as one or more passes (SQL each): as many as keep each pass's gathered submissions
    within DuckDB's memory limit, so a national day is never gathered by spilling to disk.

    Every row of an MPAN falls in the same pass, so each submission and every repeat of a row is gathered
    whole within one pass. An MPAN written with surrounding blanks is the same MPAN: only when the file
    holds one is the text trimmed (that costs as much as the hash). A Parquet file is filtered where it is
    read, before any other column is decoded.
    """
    limit = con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
    passes = max(1, -(-rows_in * GATHER_BYTES_PER_ROW // memory_limit_bytes(limit)))
    if passes == 1:
        return [source]
    def padded(column: str) -> str:
        return f"{column} LIKE ' %' OR {column} LIKE '% '"

    inner = _EVERY_PASS in source
    mpan = "CAST(mpan_core AS VARCHAR)" if inner else "mpan_core"
    if con.execute(f"SELECT count(*) FROM ({source}) WHERE {padded(mpan)}").fetchall()[0][0]:
        mpan = f"CASE WHEN {padded(mpan)} THEN trim({mpan}) ELSE {mpan} END"
    belongs = [f"hash({mpan}) % {passes} = {number}" for number in range(passes)]
    if inner:
        return [source.replace(_EVERY_PASS, condition) for condition in belongs]
    return [f"SELECT * FROM ({source}) WHERE {condition}" for condition in belongs]


def _ingest_consumption(con, source: str, checks: ValueChecks, dataset, staging: Path, content: Future, source_file: str) -> int:
    """Consumption rows gathered per MPAN-day submission into the lake; returns the rows accepted.

    A file too large to gather within the memory limit is gathered in several passes, each writing its
    own lake file. Refused rows and suspected duplicates of every pass are read again together, once.
    """
    sources = _passes(con, source, checks.rows_in)
    passes = len(sources)
    con.execute("CREATE OR REPLACE TEMP TABLE suspect_numbers (row_number BIGINT, first_row BIGINT)")
    con.execute("CREATE OR REPLACE TEMP TABLE reread_numbers (row_number BIGINT)")
    accepted = 0
    for number, rows in enumerate(sources):
        _gather_submissions(con, rows, checks, dataset)
        if passes > 1:
            _keep_submission_checks(con, dataset, number)
        _find_rereads(con, number)
        if passes > 1:  # written now: the next pass replaces the gathered submissions
            con.execute(f"CREATE OR REPLACE TEMP VIEW submissions AS {_CLEAN_SUBMISSIONS}")
            accepted += _write_consumption(con, staging, content.result().sha256, source_file, f"_{number}", "gathered")
    regathered = _reread(con, source, checks, dataset, staging, source_file, passes)
    if passes == 1:
        union = " UNION ALL BY NAME SELECT * FROM regathered" if regathered else ""
        con.execute(f"CREATE OR REPLACE TEMP VIEW submissions AS {_CLEAN_SUBMISSIONS}{union}")
        accepted += _write_consumption(con, staging, content.result().sha256, source_file, "", "gathered")
    elif regathered:
        con.execute("CREATE OR REPLACE TEMP VIEW submissions AS SELECT * FROM regathered")
        accepted += _write_consumption(con, staging, content.result().sha256, source_file, f"_{passes}", "regathered")
    return accepted


# Accepted submissions of the gathered pass with no suspected repeat among their rows (those with one are
# mended, or gathered again, after the re-read). A submission is known by its first row number.
_CLEAN_SUBMISSIONS = "SELECT * FROM accepted_submissions WHERE first_row NOT IN (SELECT first_row FROM pass_suspect_groups)"


def _mask_of(periods: str) -> str:
    """SQL of the bit mask (bit p for period p) of a non-empty list of periods."""
    return f"list_reduce(list_transform({periods}, lambda p: 1::UBIGINT << p), lambda a, b: a | b)"


def _find_rereads(con, number: int) -> None:
    """Adds the gathered pass's refused rows and suspected repeats to reread_numbers (suspects also to
    suspect_numbers, their submissions to suspect_submissions).

    A repeated key (MPAN, quantity, period, data service and received_at) shows as a period held twice
    within a submission: only the rows of those periods are suspects; they are checked again one by one in
    the same read as the refused rows, and their submissions are mended by dropping the repeats found. Two
    submissions with the same typed columns are one submission written two ways (e.g. a padded MPAN): all
    their rows are suspects, gathered again by their typed values. Submissions of two data services never
    make suspects: their values never conflict (VALUE_COLUMNS), whatever periods they share.
    """
    con.execute("CREATE OR REPLACE TEMP VIEW accepted_submissions AS SELECT * EXCLUDE (refused) FROM submission_rows WHERE NOT refused")
    con.execute(
        "CREATE OR REPLACE TEMP TABLE pass_suspect_groups AS "
        # one submission written two ways: every row of each is a suspect
        f"WITH written_two_ways AS (SELECT first_row, 0::UBIGINT AS suspect_mask, true AS whole FROM accepted_submissions "
        f"SEMI JOIN (SELECT {_SUBMISSION} FROM accepted_submissions GROUP BY ALL HAVING count(*) > 1) USING ({_SUBMISSION})), "
        # periods held twice within one submission: equal neighbours once its periods are sorted
        f"repeated AS (SELECT first_row, {_mask_of('list_filter(sorted, lambda p, i: i > 1 AND p = sorted[i - 1])')} "
        "AS suspect_mask, false AS whole FROM ("
        f"SELECT first_row, list_sort({_PERIODS}) AS sorted FROM accepted_submissions "
        "WHERE bit_count(period_mask) < period_count)) "
        "SELECT first_row, bit_or(suspect_mask) AS suspect_mask, bool_or(whole) AS whole "
        "FROM (SELECT * FROM written_two_ways UNION ALL SELECT * FROM repeated) GROUP BY first_row "
        "HAVING bit_or(suspect_mask) <> 0 OR bool_or(whole)"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE pass_suspect_submissions AS SELECT s.*, g.suspect_mask, g.whole "
        "FROM accepted_submissions s JOIN pass_suspect_groups g USING (first_row)"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE pass_suspects AS SELECT unnest(list_transform(CASE WHEN whole THEN value_rows "
        f"ELSE list_filter(value_rows, lambda v: (suspect_mask >> {_period_of('v')}) & 1 = 1) END, lambda v: v // 64)) AS row_number, "
        "first_row FROM pass_suspect_submissions"
    )
    verb = "CREATE OR REPLACE TEMP TABLE suspect_submissions AS" if number == 0 else "INSERT INTO suspect_submissions"
    con.execute(f"{verb} SELECT * FROM pass_suspect_submissions")
    con.execute("INSERT INTO suspect_numbers SELECT row_number, first_row FROM pass_suspects")
    con.execute(
        f"INSERT INTO reread_numbers SELECT unnest({_ROW_NUMBERS}) FROM submission_rows WHERE refused "
        "UNION ALL SELECT row_number FROM pass_suspects"
    )


def _check_tables(dataset: catalogue.Dataset, columns: list[int]) -> list[str]:
    """The tables _check_column makes for these columns: refused_<n>, and typed_<n> for a date or timestamp."""
    tables = []
    for n in columns:
        tables.append(f"refused_{n}")
        if dataset.columns[n].type in ("date", "timestamp"):
            tables.append(f"typed_{n}")
    return tables


def _keep_submission_checks(con, dataset: catalogue.Dataset, number: int) -> None:
    """Adds pass `number`'s checks of the submission columns (refused_<n>, typed_<n>) to kept_<table>, which
    the re-read of every pass's rows uses."""
    for table in _check_tables(dataset, _submission_columns(dataset)):
        verb = f"CREATE OR REPLACE TEMP TABLE kept_{table} AS" if number == 0 else f"INSERT INTO kept_{table}"
        con.execute(f"{verb} SELECT * FROM {table}")


def _reread(con, source: str, checks: ValueChecks, dataset, staging: Path, source_file: str, passes: int) -> bool:
    """Checks the rows in reread_numbers one by one into quarantine, tells the suspects' repeats apart and
    makes table regathered: the suspect submissions without their repeats; returns whether it was made."""
    if not con.execute("SELECT count(*) FROM reread_numbers").fetchall()[0][0]:
        return False
    rows = _only_rows(source, "reread_numbers")
    if passes > 1:  # each pass checked only its own submissions' columns: the rows read again need every pass's
        for table in _check_tables(dataset, _submission_columns(dataset)):
            con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT DISTINCT * FROM kept_{table}")
    # one read of the file gives the refused rows, the suspects and the raw records of both
    con.execute(f"CREATE OR REPLACE TEMP TABLE reread AS {_checked_rows(dataset, rows, checks)}")
    if con.execute("SELECT count(*) FROM reread WHERE reason_code IS NOT NULL").fetchall()[0][0]:
        _quarantine_rows(con, "SELECT * FROM reread", dataset, source_file, staging / "quarantine_rules.parquet")
    if not con.execute("SELECT count(*) FROM suspect_numbers").fetchall()[0][0]:
        return False
    con.execute(
        "CREATE OR REPLACE TEMP TABLE suspect_rows AS SELECT r.* EXCLUDE (raw_record), n.first_row FROM reread r "
        "JOIN suspect_numbers n USING (row_number) WHERE r.reason_code IS NULL"
    )
    _duplicates(con, "SELECT * FROM suspect_rows", dataset)
    if con.execute("SELECT count(*) FROM duplicate_rows").fetchall()[0][0]:
        _write_duplicates(con, "SELECT row_number, raw_record FROM reread", source_file, staging / "quarantine_duplicates.parquet")
    written_two_ways = _pivot(
        "SELECT * FROM suspect_rows WHERE first_row IN (SELECT first_row FROM suspect_submissions WHERE whole) "
        "AND row_number NOT IN (SELECT row_number FROM duplicate_rows)"
    )
    # the other suspect submissions keep the positions (`kept`) of every row that is not a repeat
    kept_periods = f"list_transform(kept_rows, lambda v: {_period_of('v')})"
    mended = (
        "SELECT * EXCLUDE (suspect_mask, whole, kept, removed, kept_rows, kept_mask) REPLACE ("
        "list_select(kwh_values, kept) AS kwh_values, kept_rows AS value_rows, list_min(kept_rows) // 64 AS first_row, "
        "len(kept) AS period_count, kept_mask AS period_mask, estimated_mask & kept_mask AS estimated_mask) "
        f"FROM (SELECT *, {_mask_of(kept_periods)} AS kept_mask "
        "FROM (SELECT *, list_select(value_rows, kept) AS kept_rows FROM (SELECT *, list_filter(range(1, len(value_rows) + 1), "
        "lambda i: NOT list_contains(coalesce(removed, []), value_rows[i] // 64)) AS kept FROM suspect_submissions "
        "LEFT JOIN (SELECT first_row, list(row_number) AS removed FROM suspect_rows SEMI JOIN duplicate_rows USING (row_number) "
        "GROUP BY ALL) USING (first_row) WHERE NOT whole) WHERE len(kept) > 0))"
    )
    con.execute(f"CREATE OR REPLACE TEMP TABLE regathered AS {written_two_ways} UNION ALL BY NAME {mended}")
    return True


def _write_consumption(con, staging: Path, sha: str, source_file: str, part: str, gathered: str) -> int:
    """The view `submissions` into one lake file per settlement date (named with the pass's `part`);
    returns the rows (periods) accepted, counted in the files written. The dates are looked up in the
    table the submissions were `gathered` in (the view is costly to evaluate; a date left with no
    submission gives no file)."""
    file_id = sha[:16]
    # a submission's rows usually come in period order: then period p is value p + shift (1 - its first
    # period), found without a search; only a period present out of that order is searched for, in the
    # periods listed once for a submission that does not begin at period 1 (a restatement, mostly)
    def value(p: int) -> str:
        at = f"{p} + shift"
        return (f"CASE WHEN value_rows[{at}] % 64 = {p} THEN kwh_values[{at}] WHEN (period_mask >> {p}) & 1 = 0 THEN NULL "
                f"WHEN periods IS NOT NULL THEN kwh_values[list_position(periods, {p})] "
                f"ELSE kwh_values[list_position({_PERIODS}, {p})] END AS kwh_{p:02d}")

    kwh = ", ".join(value(p) for p in range(1, 51))
    dates = con.execute(f"SELECT DISTINCT settlement_date FROM {gathered} WHERE settlement_date IS NOT NULL ORDER BY 1").fetchall()
    files = []
    for (settlement_date,) in dates:
        target = staging / "consumption" / f"settlement_date={settlement_date.isoformat()}" / f"{file_id}{part}.parquet"
        target.parent.mkdir(parents=True, exist_ok=True)
        written = con.execute(
            "COPY (SELECT t_mpan_core AS mpan_core, t_measurement_quantity AS measurement_quantity, "
            "t_data_service_id AS data_service_id, t_received_at AS received_at, period_count::SMALLINT AS period_count, "
            f"estimated_mask, {kwh}, {_sql_text(sha)} AS file_sha256, {_sql_text(source_file)} AS source_file "
            f"FROM (SELECT *, 1 - value_rows[1] % 64 AS shift, CASE WHEN value_rows[1] % 64 <> 1 THEN {_PERIODS} END AS periods "
            "FROM submissions "
            f"WHERE settlement_date = DATE '{settlement_date.isoformat()}') "
            "ORDER BY mpan_core, measurement_quantity, received_at, data_service_id) "
            f"TO '{target}' (FORMAT parquet)"
        ).fetchall()[0][0]
        if written:
            files.append(target)
        else:
            target.unlink()
    if not files:
        return 0
    return con.execute(f"SELECT sum(period_count) FROM read_parquet([{', '.join(_sql_text(str(f)) for f in files)}])").fetchall()[0][0]


def _ingest_registrations(con, source: str, checks: ValueChecks, dataset, staging: Path, content: Future, source_file: str) -> int:
    checked = _checked_rows(dataset, source, checks)
    # the raw records of a national snapshot are gigabytes: only those of duplicates are read, again
    con.execute(f"CREATE OR REPLACE TEMP TABLE accepted AS SELECT * EXCLUDE (raw_record) FROM ({checked}) WHERE reason_code IS NULL")
    if con.execute("SELECT count(*) FROM accepted").fetchall()[0][0] < checks.rows_in:
        _quarantine_rows(con, checked, dataset, source_file, staging / "quarantine_rules.parquet")
    # the window that tells duplicates apart runs only over keys held more than once (a grouped count)
    key = ", ".join(f"t_{c}" for c in dataset.key)
    _duplicates(con, f"SELECT * FROM accepted SEMI JOIN (SELECT {key} FROM accepted GROUP BY ALL HAVING count(*) > 1) USING ({key})", dataset)
    if con.execute("SELECT count(*) FROM duplicate_rows").fetchall()[0][0]:
        _write_duplicates(con, _only_rows(source, "duplicate_rows"), source_file, staging / "quarantine_duplicates.parquet")
        con.execute("DELETE FROM accepted WHERE row_number IN (SELECT row_number FROM duplicate_rows)")
    columns = ", ".join(f"t_{c} AS {quote_identifier(c)}" for c in dataset.column_names)
    sha = content.result().sha256
    file_id = sha[:16]
    rows = f"SELECT {columns}, row_number, {_sql_text(sha)} AS file_sha256, {_sql_text(source_file)} AS source_file FROM accepted"
    snapshot_dates = con.execute("SELECT DISTINCT t_snapshot_date FROM accepted").fetchall()
    if len(snapshot_dates) == 1:
        # one snapshot, as a snapshot file usually is: a plain COPY into its partition writes it in half the
        # time a partitioned COPY takes
        target = staging / "registrations" / f"snapshot_date={snapshot_dates[0][0].isoformat()}" / f"{file_id}_0.parquet"
        target.parent.mkdir(parents=True)
        con.execute(f"COPY ({rows} ORDER BY row_number) TO '{target}' (FORMAT parquet)")
    else:
        con.execute(
            f"COPY ({rows} ORDER BY row_number) TO '{staging / 'registrations'}' "
            f"(FORMAT parquet, PARTITION_BY (snapshot_date), WRITE_PARTITION_COLUMNS true, FILENAME_PATTERN '{file_id}_{{i}}')"
        )
    return con.execute("SELECT count(*) FROM accepted").fetchall()[0][0]


def _write_log(lake: Lake, result: FileResult, file_id: str, target_dir: Path) -> None:
    """The ingestion log entry: written last, it makes the file's lake rows visible. Written by Arrow, not
    DuckDB: no DuckDB connection opens while the file's own closes (_FileConnections)."""
    record = asdict(result) | {"rejections": json.dumps(result.rejections, sort_keys=True),
                               "ingested_at": datetime.now(timezone.utc), "file_id": file_id}
    temporary = target_dir / f"{file_id}.parquet"
    pq.write_table(pa.Table.from_pylist([record], schema=INGESTION_LOG_SCHEMA), temporary)
    lake.move_into_place(temporary, lake.log_entry(file_id))


def _source(con, path: Path, dataset: catalogue.Dataset, content: Future) -> tuple[str, dict[int, str]]:
    """SQL of the file's rows (text columns, except the native ones) and its native columns (index: type)."""
    suffix = path.suffix.lower()
    if suffix not in LANDING_FORMATS[dataset.name]:
        formats = ", ".join(LANDING_FORMATS[dataset.name])
        raise FileRefused("FILE_UNSUPPORTED_TYPE", FILE_REASONS["FILE_UNSUPPORTED_TYPE"].format(formats=formats))
    with open(path, "rb") as handle:
        head = handle.read(8)
    for magic, kind in ARCHIVE_MAGIC.items():  # an archive under an accepted name
        if head.startswith(magic):
            raise FileRefused("FILE_ARCHIVE", FILE_REASONS["FILE_ARCHIVE"].format(kind=kind))
    if suffix == ".csv":
        return _csv_source(con, path, dataset, content), {}
    if suffix == ".parquet":
        return _parquet_source(con, path, dataset)
    return _json_source(con, path, dataset), {}


def _ingest_file(lake: Lake, path: Path, relative: str, dataset_name: str, connections: "_FileConnections | None" = None) -> FileResult:
    """Ingest one landing file, or find it already ingested (same SHA-256).

    Hashing a 3 GB file takes seconds, so it runs beside the DuckDB work unless the lake already holds a
    file of the same size (which it could be): then the hash comes first and an ingested file is skipped
    unread. A file found ingested only once hashed is discarded before anything is moved into place.
    The file's DuckDB connection comes from `connections` when given, else it is opened for it alone.
    """
    size = path.stat().st_size
    with ThreadPoolExecutor(max_workers=1) as pool:
        content = pool.submit(content_of, path)
        if lake.holds_size(size):
            sha = content.result().sha256
            if lake.is_ingested(sha[:16]):
                return FileResult(source_file=relative, dataset=dataset_name, file_sha256=sha, status="already_ingested")
        return _ingest_new_file(lake, path, relative, dataset_name, size, content, connections)


def _connect(lake: Lake, spill_name: str) -> tuple[duckdb.DuckDBPyConnection, Path]:
    """A DuckDB connection for one landing file, and the folder it spills to (beside the file's staging)."""
    spill = lake.staging_dir(spill_name)
    return duckdb.connect(config=duckdb_config(spill, threads=2, preserve_insertion_order=True)), spill


def _close(con: duckdb.DuckDBPyConnection, spill: Path) -> None:
    con.close()
    shutil.rmtree(spill, ignore_errors=True)


class _FileConnections:
    """The DuckDB connections of one ingest's landing files, one each. Each is closed in the background once
    the next is open: closing frees a national file's gigabytes (about half a second), and DuckDB opens no
    connection while another closes."""

    def __init__(self, lake: Lake):
        self._lake, self._opened = lake, 0
        self._closing = ThreadPoolExecutor(max_workers=1)
        self._spare = self._open()

    def _open(self) -> tuple[duckdb.DuckDBPyConnection, Path]:
        self._opened += 1
        return _connect(self._lake, f"spill-{self._opened}")

    def take(self) -> tuple[duckdb.DuckDBPyConnection, Path]:
        taken, self._spare = self._spare, None
        return taken

    def give_back(self, con: duckdb.DuckDBPyConnection, spill: Path) -> None:
        self._spare = self._open()
        self._closing.submit(_close, con, spill)

    def __enter__(self) -> "_FileConnections":
        return self

    def __exit__(self, *exception) -> None:
        _close(*self._spare)
        self._closing.shutdown(wait=True)


def _ingest_new_file(lake: Lake, path: Path, relative: str, dataset_name: str, size: int, content: Future,
                     connections: _FileConnections | None) -> FileResult:
    dataset = catalogue.dataset(dataset_name)
    key = hashlib.sha256(relative.encode()).hexdigest()[:16]
    staging = lake.staging_dir("pending-" + key)
    result = FileResult(source_file=relative, dataset=dataset_name, file_sha256="", status="ingested")
    con, spill = connections.take() if connections else _connect(lake, "spill-" + key)
    try:
        try:
            source, native = _source(con, path, dataset, content)
            checks = _value_checks(con, source, dataset, _row_checked_columns(dataset), native)
        except duckdb.InvalidInputException as error:
            if "maximum line size" in str(error).lower():
                raise FileRefused("FILE_LINE_TOO_LONG", UNSAFE_FILE_REASONS["FILE_LINE_TOO_LONG"]) from None
            if "unicode" in str(error).lower() or "utf-8" in str(error).lower():
                raise FileRefused("FILE_NOT_UTF8", FILE_REASONS["FILE_NOT_UTF8"]) from None
            raise FileRefused("FILE_NOT_CSV", FILE_REASONS["FILE_NOT_CSV"]) from None
        rows_in = checks.rows_in
        ingest_rows = _ingest_consumption if dataset_name == "consumption" else _ingest_registrations
        result.rows_accepted = ingest_rows(con, source, checks, dataset, staging, content, relative)
        parts = sorted(staging.glob("quarantine_*.parquet"))
        if parts:
            files = "[" + ", ".join(_sql_text(str(p)) for p in parts) + "]"
            result.rejections = dict(
                con.execute(f"SELECT reason_code, count(*) FROM read_parquet({files}) GROUP BY 1 ORDER BY 1").fetchall()
            )
            # each part is in row order already; sorting them together spilled at national scale
            con.execute(f"COPY (SELECT * FROM read_parquet({files})) TO '{staging / 'quarantine.parquet'}' (FORMAT parquet)")
        result.rows_quarantined = sum(result.rejections.values())
        result.rows_in = result.rows_accepted + result.rows_quarantined
        if result.rows_in != rows_in:
            raise MhhsError(f"{relative}: {rows_in} rows read but {result.rows_in} accounted for; nothing was ingested")
    except FileRefused as refusal:
        shutil.rmtree(staging, ignore_errors=True)
        result.file_sha256 = content.result().sha256
        if lake.is_ingested(result.file_sha256[:16]):
            result.status = "already_ingested"
            return result
        return _refuse(lake, path, relative, result, result.file_sha256[:16], size, refusal)
    finally:
        if connections:
            connections.give_back(con, spill)
        else:
            _close(con, spill)
    result.file_sha256 = content.result().sha256
    file_id = result.file_sha256[:16]
    if lake.is_ingested(file_id):  # the same content under another name, or a file of a size seen before
        shutil.rmtree(staging, ignore_errors=True)
        return FileResult(source_file=relative, dataset=dataset_name, file_sha256=result.file_sha256, status="already_ingested")
    moves = [(part, Path(dataset_name) / part.parent.name / part.name) for part in sorted((staging / dataset_name).glob("*/*.parquet"))]
    if (staging / "quarantine.parquet").exists():
        moves.append((staging / "quarantine.parquet", Path("quarantine") / f"{file_id}.parquet"))
    for source_part, target in moves:
        lake.move_into_place(source_part, lake.root / target)
    lake.record_size(size)
    _write_log(lake, result, file_id, staging)
    shutil.rmtree(staging, ignore_errors=True)
    return result


def _quarantine_file(lake: Lake, staging: Path, file_id: str, relative: str, refusal: FileRefused, raw_record: str | None) -> None:
    """The quarantine record of a whole refused file (no row number)."""
    record = {"source_file": relative, "row_number": None, "reason_code": refusal.reason_code, "reason": refusal.reason,
              "raw_record": raw_record}
    pq.write_table(pa.Table.from_pylist([record], schema=QUARANTINE_SCHEMA), staging / "quarantine.parquet")
    lake.move_into_place(staging / "quarantine.parquet", lake.quarantine / f"{file_id}.parquet")


def _refuse(lake: Lake, path: Path, relative: str, result: FileResult, file_id: str, size: int, refusal: FileRefused) -> FileResult:
    """Keep the whole file with its reason; it counts as one quarantined record."""
    staging = lake.staging_dir(file_id)
    kept = lake.refused_files / file_id / path.name
    kept.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, staging / path.name)
    lake.move_into_place(staging / path.name, kept)
    with open(path, "rb") as handle:
        preview = handle.read(RAW_RECORD_PREVIEW_BYTES)
    if result.dataset == "registrations":  # its rows may hold personal data: show only the header line
        preview = preview.split(b"\n", 1)[0]
    preview = preview.decode("utf-8", errors="replace")
    result.status, result.reason_code, result.reason = "refused", refusal.reason_code, refusal.reason
    result.rows_in = result.rows_quarantined = 1
    result.rows_accepted = 0
    result.rejections = {refusal.reason_code: 1}
    _quarantine_file(lake, staging, file_id, relative, refusal, preview)
    lake.record_size(size)
    _write_log(lake, result, file_id, staging)
    shutil.rmtree(staging, ignore_errors=True)
    return result


_UNSAFE_NAME = re.compile(r"\.\.|[/\\\x00-\x1f\x7f]")


def _unsafe(path: Path, landing_dir: Path) -> FileRefused | None:
    """Why an entry of a landing folder must not be read, if it must not: only regular files that really
    live inside the landing directory are read, so no landing entry can make ingestion read or copy a
    file from elsewhere."""
    if _UNSAFE_NAME.search(path.name):
        return FileRefused("FILE_UNSAFE_NAME", UNSAFE_FILE_REASONS["FILE_UNSAFE_NAME"])
    resolved = path.resolve()
    if not resolved.is_relative_to(landing_dir.resolve()):
        return FileRefused("FILE_OUTSIDE_LANDING", UNSAFE_FILE_REASONS["FILE_OUTSIDE_LANDING"].format(target=resolved))
    if not resolved.is_file():
        return FileRefused("FILE_NOT_REGULAR", UNSAFE_FILE_REASONS["FILE_NOT_REGULAR"])
    return None


def landing_files(landing_dir: Path) -> list[tuple[Path, str]]:
    """Every entry directly under DIR/registrations/ and DIR/consumption/ except folders and hidden files,
    registrations first, in name order."""
    found = []
    for dataset_name in ("registrations", "consumption"):
        folder = landing_dir / dataset_name
        if folder.is_dir():
            found += [(p, dataset_name) for p in sorted(folder.iterdir())
                      if not p.name.startswith(".") and not (p.is_dir() and not p.is_symlink())]
    return found


def _unsafe_id(relative: str, refusal: FileRefused) -> str:
    return hashlib.sha256(f"{relative}\0{refusal.reason_code}\0{refusal.reason}".encode()).hexdigest()


def _refuse_unsafe(lake: Lake, relative: str, dataset_name: str, refusal: FileRefused) -> FileResult:
    """Record an unsafe entry without reading it: its id is the hash of its name and reason, so a rerun
    finds it already recorded."""
    sha = _unsafe_id(relative, refusal)
    file_id = sha[:16]
    if lake.is_ingested(file_id):
        return FileResult(source_file=relative, dataset=dataset_name, file_sha256=sha, status="already_ingested")
    result = FileResult(source_file=relative, dataset=dataset_name, file_sha256=sha, status="refused",
                        rows_in=1, rows_quarantined=1, reason_code=refusal.reason_code, reason=refusal.reason,
                        rejections={refusal.reason_code: 1})
    staging = lake.staging_dir(file_id)
    _quarantine_file(lake, staging, file_id, relative, refusal, None)
    _write_log(lake, result, file_id, staging)
    shutil.rmtree(staging, ignore_errors=True)
    return result


def pending_landing_files(landing_dir: Path, data_dir: Path) -> list[str]:
    """Landing files (relative to `landing_dir`) whose content the lake has not ingested yet."""
    landing_dir = Path(landing_dir)
    if not landing_dir.is_dir():
        raise MhhsError(f"landing directory {landing_dir} does not exist")
    lake = Lake(data_dir)
    pending = []
    for path, _ in landing_files(landing_dir):
        relative = str(path.relative_to(landing_dir))
        refusal = _unsafe(path, landing_dir)
        # an unsafe entry is never read, not even to hash it: it is known by its name and reason
        file_id = _unsafe_id(relative, refusal)[:16] if refusal else sha256_of(path)[:16]
        if not lake.is_ingested(file_id):
            pending.append(relative)
    return pending


def ingest_landing_file(landing_dir: Path, relative: str, data_dir: Path) -> FileResult:
    """Ingest one landing file (`relative` to `landing_dir`, under consumption/ or registrations/).

    The same commit as `mhhs ingest`: its rows count only once its ingestion log entry exists, and a file
    already ingested is skipped; an unsafe entry is refused unread. Ingestions of one lake take turns (they
    share its staging area); refresh the warehouse views once after (pipelines.outputs.warehouse.refresh_views).
    """
    landing_dir = Path(landing_dir)
    path = landing_dir / relative
    dataset_name = Path(relative).parts[0]
    if dataset_name not in ("consumption", "registrations") or len(Path(relative).parts) != 2:
        raise MhhsError(f"{relative} is not a landing file under {landing_dir}/consumption/ or registrations/")
    lake = Lake(data_dir)
    with ingestion_lock(lake.data_dir):
        lake.create()
        refusal = _unsafe(path, landing_dir)
        return _refuse_unsafe(lake, relative, dataset_name, refusal) if refusal else _ingest_file(lake, path, relative, dataset_name)


def lake_partitions(data_dir: Path, result: FileResult) -> list[str]:
    """The lake partitions a landing file's rows went to, e.g. consumption/settlement_date=2026-10-25."""
    lake = Lake(data_dir)
    file_id = result.file_sha256[:16]
    return sorted(str(part.parent.relative_to(lake.root)) for part in lake.root.glob(f"{result.dataset}/*/{file_id}*.parquet"))


def ingest(landing_dir: Path, data_dir: Path) -> IngestSummary:
    """Ingest every landing file of `landing_dir` into the lake of `data_dir`, one file at a time."""
    landing_dir = Path(landing_dir)
    if not landing_dir.is_dir():
        raise MhhsError(f"landing directory {landing_dir} does not exist")
    files = landing_files(landing_dir)
    if not files:
        raise MhhsError(f"no landing files under {landing_dir}/consumption/ or {landing_dir}/registrations/")
    lake = Lake(data_dir)
    lake.create()
    with ingestion_lock(lake.data_dir):
        lake.discard_staging()
        results = []
        with _FileConnections(lake) as connections:  # left only once every connection is closed
            for path, name in files:
                relative = f"{name}/{path.name}"
                refusal = _unsafe(path, landing_dir)
                results.append(_refuse_unsafe(lake, relative, name, refusal) if refusal
                               else _ingest_file(lake, path, relative, name, connections))
    return IngestSummary(results)


def render_summary(summary: IngestSummary) -> str:
    data = summary.as_json()
    lines = [f"{'file':<60} {'status':<17} {'rows in':>10} {'accepted':>10} {'rejected':>10}"]
    for f in summary.files:
        lines.append(f"{f.source_file:<60} {f.status:<17} {f.rows_in:>10} {f.rows_accepted:>10} {f.rows_quarantined:>10}")
    lines.append(f"accepted {data['rows_accepted']} rows, rejected {data['rows_rejected']}")
    for code, count in data["rejections"].items():
        lines.append(f"  {code:<40} {count:>10}")
    return "\n".join(lines)
