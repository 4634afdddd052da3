"""Step 6's quarantine: a file's refused rows, each with its reason code, its reason and its raw record, in
one Parquet file per landing file (lake/quarantine/<file id>.parquet), written in parts while the file is
ingested and combined before the commit."""

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pipelines import catalogue
from pipelines.ingest.reasons import ROW_REASONS, FileRefused, reason_texts
from pipelines.ingest.sql import literal
from pipelines.reference.lake import Lake

QUARANTINE_SCHEMA = catalogue.dataset("quarantine").arrow_schema()
# Parts in the file's staging folder, each in row order; QUARANTINE is their union.
RULES_PART, DUPLICATES_PART = "quarantine_rules.parquet", "quarantine_duplicates.parquet"
QUARANTINE = "quarantine.parquet"


def quarantine_refused_rows(con, checked: str, dataset: catalogue.Dataset, source_file: str, staging: Path) -> Path:
    """The rows of `checked` (check.checked_rows) that have a reason_code, into the part RULES_PART."""
    target = staging / RULES_PART
    reasons = " ".join(f"WHEN '{code}' THEN {literal(text)}" for code, text in reason_texts(dataset).items())
    con.execute(
        f"COPY (SELECT {literal(source_file)} AS source_file, row_number, reason_code, CASE reason_code {reasons} END AS reason, "
        f"raw_record FROM ({checked}) WHERE reason_code IS NOT NULL ORDER BY row_number) TO {literal(str(target))} (FORMAT parquet)"
    )
    return target


def quarantine_duplicates(con, duplicates: str, raw_records: str, source_file: str, staging: Path) -> Path:
    """The table `duplicates` (row_number, reason_code: duplicates.find_duplicates, updates.find_reused_update_ids)
    into the part DUPLICATES_PART, with raw records from `raw_records` (SQL of row_number, raw_record)."""
    target = staging / DUPLICATES_PART
    reasons = " ".join(f"WHEN '{code}' THEN {literal(text)}" for code, text in ROW_REASONS.items())
    con.execute(
        f"COPY (SELECT {literal(source_file)} AS source_file, d.row_number, d.reason_code, CASE d.reason_code "
        f"{reasons} END AS reason, r.raw_record "
        f"FROM {duplicates} d JOIN (SELECT row_number, raw_record FROM ({raw_records})) r USING (row_number) "
        f"ORDER BY d.row_number) TO {literal(str(target))} (FORMAT parquet)"
    )
    return target


def combine_quarantine(con, staging: Path) -> dict[str, int]:
    """The parts into one file, QUARANTINE; returns the rows quarantined by reason code."""
    parts = sorted(staging.glob("quarantine_*.parquet"))
    if not parts:
        return {}
    files = "[" + ", ".join(literal(str(p)) for p in parts) + "]"
    rejections = dict(con.execute(f"SELECT reason_code, count(*) FROM read_parquet({files}) GROUP BY 1 ORDER BY 1").fetchall())
    # each part is in row order already: they are not sorted together
    con.execute(f"COPY (SELECT * FROM read_parquet({files})) TO {literal(str(staging / QUARANTINE))} (FORMAT parquet)")
    return rejections


def quarantine_whole_file(lake: Lake, staging: Path, file_id: str, relative: str, refusal: FileRefused,
                          raw_record: str | None) -> None:
    """The quarantine record of a whole refused file (no row number), moved into place."""
    record = {"source_file": relative, "row_number": None, "reason_code": refusal.reason_code, "reason": refusal.reason,
              "raw_record": raw_record}
    pq.write_table(pa.Table.from_pylist([record], schema=QUARANTINE_SCHEMA), staging / QUARANTINE)
    lake.move_into_place(staging / QUARANTINE, lake.quarantine / f"{file_id}.parquet")
