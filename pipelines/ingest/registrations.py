"""Steps 3 to 6 for the datasets checked row by row (registration snapshots and updates, and register reads,
register_reads.py): every row checked and typed, duplicates told apart among the repeated keys only, and the
accepted rows written to the lake. The raw records of a national snapshot are gigabytes: only refused rows' and
duplicates' are read."""

from concurrent.futures import Future
from pathlib import Path

from pipelines import catalogue
from pipelines.ingest.check import ValueChecks, checked_rows
from pipelines.ingest.duplicates import find_duplicates
from pipelines.ingest.identify import Content
from pipelines.ingest.quarantine import quarantine_duplicates, quarantine_refused_rows
from pipelines.ingest.source import Source
from pipelines.ingest.sql import row_count
from pipelines.ingest.updates import find_reused_update_ids
from pipelines.ingest.write import LAKE_PARTITIONS, write_rows
from pipelines.reference.lake import Lake

ACCEPTED = "accepted"


def ingest_row_by_row(con, source: Source, checks: ValueChecks, dataset: catalogue.Dataset, staging: Path,
                         content: "Future[Content]", source_file: str, lake: Lake) -> int:
    """The file's accepted rows into the lake (staging), its refused rows into quarantine parts; returns the
    rows accepted. A registration update whose update_id is already taken is told apart from the first it met
    (updates.find_reused_update_ids) instead of by the duplicate rules."""
    checked = checked_rows(dataset, source.sql(), checks)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {ACCEPTED} AS SELECT * EXCLUDE (raw_record) FROM ({checked}) WHERE reason_code IS NULL")
    if row_count(con, ACCEPTED) < checks.rows_in:
        quarantine_refused_rows(con, checked, dataset, source_file, staging)
    if dataset.name == "registration_updates":
        refused = find_reused_update_ids(con, ACCEPTED, dataset, lake)
    else:
        # the window that tells duplicates apart runs only over keys held more than once (a grouped count)
        key = ", ".join(f"t_{c}" for c in dataset.key)
        refused = find_duplicates(
            con, f"SELECT * FROM {ACCEPTED} SEMI JOIN (SELECT {key} FROM {ACCEPTED} GROUP BY ALL HAVING count(*) > 1) USING ({key})",
            dataset,
        )
    if row_count(con, refused):
        quarantine_duplicates(con, refused, source.sql(only_rows=refused), source_file, staging)
        con.execute(f"DELETE FROM {ACCEPTED} WHERE row_number IN (SELECT row_number FROM {refused})")
    return write_rows(con, ACCEPTED, dataset, LAKE_PARTITIONS[dataset.name], staging, content, source_file)
