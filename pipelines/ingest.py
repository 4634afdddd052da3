"""`mhhs ingest DIR`: landing files into the Parquet lake, refused rows and files into quarantine.

Every landing file is read as text, checked in bulk in DuckDB against the data catalogue's rules
(pipelines.catalogue.sql_rules), and split into accepted rows and quarantined rows with a reason code; for
every file rows in = rows accepted + rows quarantined, recorded in the ingestion log with the file's
SHA-256. A file that cannot be read at all is kept whole under refused_files/ with its reason.

Consumption lands one row per MPAN-day submission (mpan, quantity, settlement date, data service,
received_at) with the values of up to 50 settlement periods as columns: joins and aggregation over that
shape are about 30 times faster than over one row per period (ARCHITECTURE.md).
"""

import csv
import hashlib
import io
import json
import shutil
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines import catalogue
from pipelines.catalogue.sql_rules import Rule, quote_identifier, rules_for, typed
from pipelines.errors import MhhsError
from pipelines.lake import LONDON, Lake, period_columns
from pipelines.warehouse import refresh_views

CHUNK_BYTES = 256 * 1024 * 1024
RAW_RECORD_PREVIEW_BYTES = 500
DIP_SCHEMA_VERSIONS = ("1.0",)
# Landing folders and the formats each accepts.
LANDING_FORMATS = {"registrations": (".csv",), "consumption": (".csv", ".parquet", ".json")}
# Columns whose values must agree for two rows with the same key to be plain duplicates.
VALUE_COLUMNS = {
    "consumption": ["kwh", "quality_flag", "data_service_id"],
    "registrations": [c for c in catalogue.dataset_columns("registrations") if c not in catalogue.dataset("registrations").key],
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
}
ROW_REASONS = {
    "MALFORMED_ROW": "the row does not have one field per header column",
    "DUPLICATE_ROW": "the same MPAN, quantity, period and received_at with the same values came earlier in this file",
    "CONFLICTING_DUPLICATE": "the file holds this key more than once with different values; none of them is used",
    "EFFECTIVE_TO_BEFORE_FROM": "effective_to_date is before effective_from_date",
    "MESSAGE_BAD_ENVELOPE": "the DIP message lacks its CommonBlock or CustomBlock",
    "MESSAGE_UNSUPPORTED_VERSION": "the DIP message's schema version is not one this system reads",
    "MESSAGE_WITHOUT_PERIODS": "the DIP message carries no periods",
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


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


# ---- reading landing files as text rows ------------------------------------------------------------


def _header(first_line: str, dataset: catalogue.Dataset) -> dict[str, int]:
    """Position of every required column in the header row; refuses a header that lacks one."""
    names = next(csv.reader([first_line.lstrip("\ufeff")]), [])
    names = [name.strip() for name in names]
    if not any(names):
        raise FileRefused("FILE_EMPTY", FILE_REASONS["FILE_EMPTY"])
    duplicated = sorted({n for n in names if names.count(n) > 1 and n in dataset.column_names})
    if duplicated:
        raise FileRefused("FILE_DUPLICATE_COLUMNS", FILE_REASONS["FILE_DUPLICATE_COLUMNS"].format(columns=", ".join(duplicated)))
    missing = [c for c in dataset.column_names if c not in names]
    if missing:
        code = "FILE_MISSING_COLUMNS" if len(names) > 1 or "," in first_line else "FILE_NOT_CSV"
        reason = FILE_REASONS[code].format(columns=", ".join(missing))
        raise FileRefused(code, reason)
    return {name: names.index(name) for name in dataset.column_names} | {"__field_count": len(names)}


def _csv_line_chunks(path: Path):
    """Yield (first data row number, header line, arrow array of lines), reading about CHUNK_BYTES at a time."""
    header = None
    next_row = 1
    carry = b""
    with open(path, "rb") as handle:
        while True:
            block = handle.read(CHUNK_BYTES)
            data = carry + block
            if not block:
                carry = b""
            else:
                cut = data.rfind(b"\n")
                if cut < 0:
                    carry = data
                    continue
                data, carry = data[: cut + 1], data[cut + 1 :]
            if not data:
                break
            try:
                text = pa.array([data], pa.large_binary()).cast(pa.large_string())
            except pa.ArrowInvalid:
                raise FileRefused("FILE_NOT_UTF8", FILE_REASONS["FILE_NOT_UTF8"]) from None
            if b"\x00" in data:
                raise FileRefused("FILE_NOT_CSV", FILE_REASONS["FILE_NOT_CSV"])
            lines = pc.list_flatten(pc.split_pattern(text, "\n"))
            if data.endswith(b"\n"):
                lines = lines.slice(0, len(lines) - 1)
            lines = pc.utf8_rtrim(lines, characters="\r")
            if header is None:
                header = lines[0].as_py() if len(lines) else ""
                lines = lines.slice(1)
            yield next_row, header, lines
            next_row += len(lines)
            if not block:
                break
    if header is None:
        raise FileRefused("FILE_EMPTY", FILE_REASONS["FILE_EMPTY"])


def _field_sql(position: int) -> str:
    raw = f"fields[{position + 1}]"
    return f"CASE WHEN starts_with({raw}, '\"') THEN replace({raw}[2:-2], '\"\"', '\"') ELSE {raw} END"


def _csv_text_rows(con, lines: pa.Array, first_row: int, positions: dict[str, int], dataset: catalogue.Dataset):
    """A relation of one row per non-blank line: row_number, raw_record, malformed, and every column as text."""
    table = pa.table({"row_number": np.arange(first_row, first_row + len(lines), dtype=np.int64), "raw_record": lines})
    con.register("csv_lines", table)
    split = (
        "CASE WHEN contains(raw_record, '\"') "
        "THEN regexp_extract_all(raw_record, '(?:^|,)(\"(?:[^\"]|\"\")*\"|[^,\"]*)', 1) "
        "ELSE string_split(raw_record, ',') END"
    )
    columns = ", ".join(f"{_field_sql(positions[c])} AS {quote_identifier(c)}" for c in dataset.column_names)
    return con.sql(
        f"SELECT row_number, raw_record, len(fields) <> {positions['__field_count']} AS malformed, {columns} "
        f"FROM (SELECT row_number, raw_record, {split} AS fields FROM csv_lines WHERE trim(raw_record) <> '')"
    )


def _parquet_text_rows(con, path: Path, dataset: catalogue.Dataset):
    try:
        names = [row[0] for row in con.execute("SELECT name FROM parquet_schema(?) WHERE name <> 'schema'", [str(path)]).fetchall()]
    except duckdb.Error:
        raise FileRefused("FILE_NOT_PARQUET", FILE_REASONS["FILE_NOT_PARQUET"]) from None
    missing = [c for c in dataset.column_names if c not in names]
    if missing:
        raise FileRefused("FILE_MISSING_COLUMNS", FILE_REASONS["FILE_MISSING_COLUMNS"].format(columns=", ".join(missing)))
    columns = ", ".join(f"CAST({quote_identifier(c)} AS VARCHAR) AS {quote_identifier(c)}" for c in dataset.column_names)
    record = ", ".join(f"{quote_identifier(c)} := {quote_identifier(c)}" for c in dataset.column_names)
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW parquet_rows AS SELECT file_row_number + 1 AS row_number, "
        f"to_json(struct_pack({record}))::VARCHAR AS raw_record, false AS malformed, {columns} "
        f"FROM read_parquet(?, file_row_number = true)",
        [str(path)],
    )
    return con.sql("SELECT * FROM parquet_rows")


def _dip_messages(text: str) -> list:
    stripped = text.strip()
    if stripped.startswith("["):
        return json.loads(stripped)
    try:
        return [json.loads(stripped)]
    except json.JSONDecodeError:
        return [json.loads(line) for line in stripped.splitlines() if line.strip()]


def _json_text_rows(con, path: Path, dataset: catalogue.Dataset):
    """DIP-style consumption messages (docs/interfaces/dip_consumption.md) flattened to one row per period."""
    try:
        messages = _dip_messages(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError:
        raise FileRefused("FILE_NOT_UTF8", FILE_REASONS["FILE_NOT_UTF8"]) from None
    except json.JSONDecodeError:
        raise FileRefused("FILE_NOT_JSON", FILE_REASONS["FILE_NOT_JSON"]) from None
    rows = {name: [] for name in ["row_number", "raw_record", "problem", *dataset.column_names]}

    def add(record: dict, values: dict, problem: str | None) -> None:
        rows["row_number"].append(len(rows["row_number"]) + 1)
        rows["raw_record"].append(json.dumps(record, sort_keys=True))
        rows["problem"].append(problem)
        for name in dataset.column_names:
            value = values.get(name)
            rows[name].append(None if value is None else str(value))

    for message in messages:
        common = message.get("CommonBlock") if isinstance(message, dict) else None
        custom = message.get("CustomBlock") if isinstance(message, dict) else None
        if not isinstance(common, dict) or not isinstance(custom, dict):
            add({"message": message}, {}, "MESSAGE_BAD_ENVELOPE")
            continue
        s0, s1, m0 = (common.get(k) if isinstance(common.get(k), dict) else {} for k in ("S0", "S1", "M0"))
        envelope = {
            "mpan_core": m0.get("mpanCore"),
            "measurement_quantity": custom.get("measurementQuantity"),
            "data_service_id": s1.get("senderId"),
            "received_at": s1.get("sentAt"),
        }
        problem = None if s0.get("schemaVersion") in DIP_SCHEMA_VERSIONS else "MESSAGE_UNSUPPORTED_VERSION"
        periods = custom.get("periods")
        if not isinstance(periods, list) or not periods:
            add({"CommonBlock": common, "periods": periods}, envelope, "MESSAGE_WITHOUT_PERIODS")
            continue
        for period in periods:
            period = period if isinstance(period, dict) else {}
            values = envelope | {
                "utc_period_start": period.get("utcPeriodStart"),
                "kwh": period.get("kwh"),
                "quality_flag": period.get("qualityFlag"),
            }
            add({"CommonBlock": common, "measurementQuantity": custom.get("measurementQuantity"), "period": period}, values, problem)
    table = pa.table({k: pa.array(v, pa.int64() if k == "row_number" else pa.string()) for k, v in rows.items()})
    con.register("json_rows", table)
    return con.sql("SELECT * EXCLUDE (problem), problem AS dip_problem, false AS malformed FROM json_rows")


# ---- validation ------------------------------------------------------------------------------------


def _extra_rules(dataset: catalogue.Dataset) -> list[Rule]:
    if dataset.name != "registrations":
        return []
    items = {c.name: c for c in dataset.columns}
    return [
        Rule(
            "EFFECTIVE_TO_BEFORE_FROM",
            ROW_REASONS["EFFECTIVE_TO_BEFORE_FROM"],
            f"{typed(items['effective_to_date'])} < {typed(items['effective_from_date'])}",
        )
    ]


def _reason_sql(dataset: catalogue.Dataset, has_dip_problem: bool) -> tuple[str, str]:
    rules = [Rule("MALFORMED_ROW", ROW_REASONS["MALFORMED_ROW"], "malformed")]
    rules += [rule for item in dataset.columns for rule in rules_for(item)] + _extra_rules(dataset)
    code_cases = " ".join(f"WHEN {r.broken_when} THEN '{r.reason_code}'" for r in rules)
    reason_cases = " ".join(f"WHEN '{r.reason_code}' THEN '{r.reason.replace(chr(39), chr(39) * 2)}'" for r in rules)
    code = f"CASE {code_cases} END"
    if has_dip_problem:
        code = f"coalesce(dip_problem, {code})"
        reason_cases += " " + " ".join(
            f"WHEN '{c}' THEN '{ROW_REASONS[c]}'" for c in ("MESSAGE_BAD_ENVELOPE", "MESSAGE_UNSUPPORTED_VERSION", "MESSAGE_WITHOUT_PERIODS")
        )
    return code, f"CASE reason_code {reason_cases} END"


def _validate(con, text_rows, dataset: catalogue.Dataset, staging: Path, chunk: int, source_file: str, has_dip_problem=False):
    """Write the chunk's accepted rows (typed) and quarantined rows (with reasons) to staging Parquet."""
    code_sql, reason_sql = _reason_sql(dataset, has_dip_problem)
    con.register("text_rows", text_rows)
    con.execute(f"CREATE OR REPLACE TEMP TABLE checked AS SELECT *, {code_sql} AS reason_code FROM text_rows")
    typed_columns = ", ".join(f"{typed(item)} AS {quote_identifier(item.name)}" for item in dataset.columns)
    derived = ""
    if dataset.name == "consumption":
        local_date = f"timezone('{LONDON}', utc_period_start)::DATE"
        derived = (
            f", {local_date} AS settlement_date, "
            f"1 + (epoch(utc_period_start) - epoch(timezone('{LONDON}', {local_date}::TIMESTAMP)))::BIGINT // 1800 "
            "AS settlement_period"
        )
    con.execute(
        f"COPY (SELECT *{derived} FROM (SELECT row_number, raw_record, {typed_columns} FROM checked WHERE reason_code IS NULL)) "
        f"TO '{staging / f'accepted_{chunk:05d}.parquet'}' (FORMAT parquet)"
    )
    con.execute(
        f"COPY (SELECT '{source_file.replace(chr(39), chr(39) * 2)}' AS source_file, row_number, reason_code, "
        f"{reason_sql} AS reason, raw_record FROM checked WHERE reason_code IS NOT NULL) "
        f"TO '{staging / f'quarantine_{chunk:05d}.parquet'}' (FORMAT parquet)"
    )
    con.execute("DROP TABLE checked")


def _split_duplicates(con, dataset: catalogue.Dataset, staging: Path, source_file: str) -> None:
    """Move repeated keys of the file to quarantine: exact repeats after the first, conflicting ones all."""
    key = list(dataset.key)
    values = VALUE_COLUMNS[dataset.name]
    key_sql = ", ".join(quote_identifier(c) for c in key)
    con.execute(f"CREATE OR REPLACE TEMP VIEW accepted_all AS SELECT * FROM read_parquet('{staging}/accepted_*.parquet')")
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE repeated AS SELECT {key_sql}, min(row_number) AS first_row, "
        f"count(DISTINCT ({', '.join(quote_identifier(c) for c in values)})) AS variants "
        f"FROM accepted_all GROUP BY {key_sql} HAVING count(*) > 1"
    )
    join = " AND ".join(f"a.{quote_identifier(c)} IS NOT DISTINCT FROM r.{quote_identifier(c)}" for c in key)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE duplicate_rows AS SELECT a.row_number, "
        "CASE WHEN r.variants > 1 THEN 'CONFLICTING_DUPLICATE' ELSE 'DUPLICATE_ROW' END AS reason_code "
        f"FROM accepted_all a JOIN repeated r ON {join} WHERE r.variants > 1 OR a.row_number <> r.first_row"
    )
    if con.execute("SELECT count(*) FROM duplicate_rows").fetchall()[0][0] == 0:
        return
    con.execute(
        f"COPY (SELECT '{source_file.replace(chr(39), chr(39) * 2)}' AS source_file, a.row_number, d.reason_code, "
        f"CASE d.reason_code WHEN 'DUPLICATE_ROW' THEN '{ROW_REASONS['DUPLICATE_ROW']}' "
        f"ELSE '{ROW_REASONS['CONFLICTING_DUPLICATE']}' END AS reason, a.raw_record "
        f"FROM accepted_all a JOIN duplicate_rows d USING (row_number)) TO '{staging / 'quarantine_duplicates.parquet'}' (FORMAT parquet)"
    )
    con.execute(
        f"COPY (SELECT * FROM accepted_all WHERE row_number NOT IN (SELECT row_number FROM duplicate_rows)) "
        f"TO '{staging / 'accepted_deduplicated.parquet'}' (FORMAT parquet)"
    )
    for part in staging.glob("accepted_0*.parquet"):
        part.unlink()


# ---- writing the lake ------------------------------------------------------------------------------


def _write_consumption(con, staging: Path, file_id: str, sha: str, source_file: str) -> list[tuple[Path, Path]]:
    """Pivot accepted rows to one row per MPAN-day submission, one Parquet file per settlement date."""
    kwh = ", ".join(f"max(kwh) FILTER (WHERE settlement_period = {p}) AS kwh_{p:02d}" for p in range(1, 51))
    flags = ", ".join(f"max(quality_flag) FILTER (WHERE settlement_period = {p}) AS flag_{p:02d}" for p in range(1, 51))
    out = staging / "consumption"
    con.execute(
        "COPY (SELECT mpan_core, measurement_quantity, settlement_date, data_service_id, received_at, "
        f"count(*)::SMALLINT AS period_count, {kwh}, {flags}, '{sha}' AS file_sha256, "
        f"'{source_file.replace(chr(39), chr(39) * 2)}' AS source_file "
        f"FROM read_parquet('{staging}/accepted_*.parquet') "
        "GROUP BY ALL ORDER BY settlement_date, mpan_core, measurement_quantity, received_at, data_service_id) "
        f"TO '{out}' (FORMAT parquet, PARTITION_BY (settlement_date), FILENAME_PATTERN '{file_id}_{{i}}')"
    )
    return [(part, Path("consumption") / part.parent.name / f"{file_id}.parquet") for part in sorted(out.glob("*/*.parquet"))]


def _write_registrations(con, staging: Path, file_id: str, sha: str, source_file: str) -> list[tuple[Path, Path]]:
    out = staging / "registrations"
    columns = ", ".join(quote_identifier(c) for c in catalogue.dataset_columns("registrations"))
    con.execute(
        f"COPY (SELECT {columns}, row_number, '{sha}' AS file_sha256, '{source_file.replace(chr(39), chr(39) * 2)}' AS source_file "
        f"FROM read_parquet('{staging}/accepted_*.parquet') ORDER BY row_number) "
        f"TO '{out}' (FORMAT parquet, PARTITION_BY (snapshot_date), WRITE_PARTITION_COLUMNS true, FILENAME_PATTERN '{file_id}_{{i}}')"
    )
    return [(part, Path("registrations") / part.parent.name / f"{file_id}.parquet") for part in sorted(out.glob("*/*.parquet"))]


def _count(con, pattern: str) -> int:
    return con.execute(f"SELECT count(*) FROM read_parquet('{pattern}')").fetchall()[0][0]


def _quarantine_counts(con, pattern: str) -> dict[str, int]:
    rows = con.execute(f"SELECT reason_code, count(*) FROM read_parquet('{pattern}') GROUP BY 1 ORDER BY 1").fetchall()
    return dict(rows)


def _write_log(lake: Lake, result: FileResult, file_id: str, target_dir: Path) -> None:
    """The ingestion log entry: written last, it makes the file's lake rows visible."""
    con = duckdb.connect()
    record = asdict(result) | {"rejections": json.dumps(result.rejections, sort_keys=True),
                               "ingested_at": datetime.now(timezone.utc), "file_id": file_id}
    con.register("entry", pa.Table.from_pylist([record]))
    temporary = target_dir / f"{file_id}.parquet"
    con.execute(f"COPY (SELECT * FROM entry) TO '{temporary}' (FORMAT parquet)")
    lake.move_into_place(temporary, lake.log_entry(file_id))


def _ingest_file(lake: Lake, path: Path, relative: str, dataset_name: str) -> FileResult:
    sha = sha256_of(path)
    file_id = sha[:16]
    result = FileResult(source_file=relative, dataset=dataset_name, file_sha256=sha, status="ingested")
    if lake.is_ingested(file_id):
        result.status = "already_ingested"
        return result
    dataset = catalogue.dataset(dataset_name)
    staging = lake.staging_dir(file_id)
    con = duckdb.connect(config={"threads": 2, "preserve_insertion_order": False, "temp_directory": str(staging / "spill")})
    try:
        suffix = path.suffix.lower()
        if suffix not in LANDING_FORMATS[dataset_name]:
            raise FileRefused(
                "FILE_UNSUPPORTED_TYPE", FILE_REASONS["FILE_UNSUPPORTED_TYPE"].format(formats=", ".join(LANDING_FORMATS[dataset_name]))
            )
        if suffix == ".csv":
            positions = None
            for chunk, (first_row, header, lines) in enumerate(_csv_line_chunks(path)):
                positions = positions or _header(header, dataset)
                _validate(con, _csv_text_rows(con, lines, first_row, positions, dataset), dataset, staging, chunk, relative)
        elif suffix == ".parquet":
            _validate(con, _parquet_text_rows(con, path, dataset), dataset, staging, 0, relative)
        else:
            _validate(con, _json_text_rows(con, path, dataset), dataset, staging, 0, relative, has_dip_problem=True)
        _split_duplicates(con, dataset, staging, relative)
        result.rows_accepted = _count(con, f"{staging}/accepted_*.parquet")
        result.rejections = _quarantine_counts(con, f"{staging}/quarantine_*.parquet")
        result.rows_quarantined = sum(result.rejections.values())
        result.rows_in = result.rows_accepted + result.rows_quarantined
        writer = _write_consumption if dataset_name == "consumption" else _write_registrations
        moves = writer(con, staging, file_id, sha, relative) if result.rows_accepted else []
        con.execute(
            f"COPY (SELECT * FROM read_parquet('{staging}/quarantine_*.parquet') ORDER BY row_number) "
            f"TO '{staging / 'quarantine.parquet'}' (FORMAT parquet)"
        )
        moves.append((staging / "quarantine.parquet", Path("quarantine") / f"{file_id}.parquet"))
    except FileRefused as refusal:
        con.close()
        return _refuse(lake, path, relative, result, file_id, refusal)
    finally:
        con.close()
    for source, target in moves:
        lake.move_into_place(source, lake.root / target)
    _write_log(lake, result, file_id, staging)
    shutil.rmtree(staging, ignore_errors=True)
    return result


def _refuse(lake: Lake, path: Path, relative: str, result: FileResult, file_id: str, refusal: FileRefused) -> FileResult:
    """Keep the whole file with its reason; it counts as one quarantined record."""
    staging = lake.staging_dir(file_id)
    kept = lake.refused_files / file_id / path.name
    kept.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, staging / path.name)
    lake.move_into_place(staging / path.name, kept)
    preview = path.open("rb").read(RAW_RECORD_PREVIEW_BYTES).decode("utf-8", errors="replace")
    result.status, result.reason_code, result.reason = "refused", refusal.reason_code, refusal.reason
    result.rows_in = result.rows_quarantined = 1
    result.rows_accepted = 0
    result.rejections = {refusal.reason_code: 1}
    con = duckdb.connect()
    con.register(
        "refused",
        pa.table({"source_file": [relative], "row_number": pa.array([None], pa.int64()), "reason_code": [refusal.reason_code],
                  "reason": [refusal.reason], "raw_record": [preview]}),
    )
    con.execute(f"COPY (SELECT * FROM refused) TO '{staging / 'quarantine.parquet'}' (FORMAT parquet)")
    lake.move_into_place(staging / "quarantine.parquet", lake.quarantine / f"{file_id}.parquet")
    _write_log(lake, result, file_id, staging)
    shutil.rmtree(staging, ignore_errors=True)
    return result


def landing_files(landing_dir: Path) -> list[tuple[Path, str]]:
    """Every file directly under DIR/registrations/ and DIR/consumption/, registrations first, in name order."""
    found = []
    for dataset_name in ("registrations", "consumption"):
        folder = landing_dir / dataset_name
        if folder.is_dir():
            found += [(p, dataset_name) for p in sorted(folder.iterdir()) if p.is_file() and not p.name.startswith(".")]
    return found


def ingest(landing_dir: Path, data_dir: Path) -> IngestSummary:
    landing_dir = Path(landing_dir)
    if not landing_dir.is_dir():
        raise MhhsError(f"landing directory {landing_dir} does not exist")
    files = landing_files(landing_dir)
    if not files:
        raise MhhsError(f"no landing files under {landing_dir}/consumption/ or {landing_dir}/registrations/")
    lake = Lake(data_dir)
    lake.create()
    lake.discard_staging()
    results = [_ingest_file(lake, path, str(path.relative_to(landing_dir)), name) for path, name in files]
    refresh_views(lake)
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
