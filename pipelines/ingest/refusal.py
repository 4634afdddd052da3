"""Whole files refused: a file that cannot be read is kept under refused_files/<file id>/ and recorded as one
quarantined record with its reason; an unsafe landing entry is recorded without being read at all."""

import hashlib
import shutil
from pathlib import Path

from pipelines.ingest.commit import write_log
from pipelines.ingest.identify import file_id as id_of
from pipelines.ingest.landing import PERSONAL_DATA_FOLDERS
from pipelines.ingest.quarantine import quarantine_whole_file
from pipelines.ingest.reasons import FileRefused
from pipelines.ingest.summary import FileResult
from pipelines.reference.lake import Lake

RAW_RECORD_PREVIEW_BYTES = 500


def refuse(lake: Lake, path: Path, relative: str, result: FileResult, file_id: str, size: int, refusal: FileRefused) -> FileResult:
    """Keep the whole file with its reason; it counts as one quarantined record."""
    staging = lake.staging_dir(file_id)
    kept = lake.refused_files / file_id / path.name
    kept.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, staging / path.name)
    lake.move_into_place(staging / path.name, kept)
    with open(path, "rb") as handle:
        preview = handle.read(RAW_RECORD_PREVIEW_BYTES)
    if result.dataset in PERSONAL_DATA_FOLDERS:  # its rows may hold personal data: show only the header line
        preview = preview.split(b"\n", 1)[0]
    preview = preview.decode("utf-8", errors="replace")
    result.status, result.reason_code, result.reason = "refused", refusal.reason_code, refusal.reason
    result.rows_in = result.rows_quarantined = 1
    result.rows_accepted = 0
    result.rejections = {refusal.reason_code: 1}
    quarantine_whole_file(lake, staging, file_id, relative, refusal, preview)
    lake.record_size(size)
    write_log(lake, result, file_id, staging)
    shutil.rmtree(staging, ignore_errors=True)
    return result


def unsafe_id(relative: str, refusal: FileRefused) -> str:
    """The identity of an unsafe entry, which is never read to hash it: the hash of its name and reason."""
    return hashlib.sha256(f"{relative}\0{refusal.reason_code}\0{refusal.reason}".encode()).hexdigest()


def refuse_unsafe(lake: Lake, relative: str, dataset_name: str, refusal: FileRefused) -> FileResult:
    """Record an unsafe entry without reading it; a rerun finds it already recorded."""
    sha = unsafe_id(relative, refusal)
    file_id = id_of(sha)
    if lake.is_ingested(file_id):
        return FileResult(source_file=relative, dataset=dataset_name, file_sha256=sha, status="already_ingested")
    result = FileResult(source_file=relative, dataset=dataset_name, file_sha256=sha, status="refused",
                        rows_in=1, rows_quarantined=1, reason_code=refusal.reason_code, reason=refusal.reason,
                        rejections={refusal.reason_code: 1})
    staging = lake.staging_dir(file_id)
    quarantine_whole_file(lake, staging, file_id, relative, refusal, None)
    write_log(lake, result, file_id, staging)
    shutil.rmtree(staging, ignore_errors=True)
    return result
