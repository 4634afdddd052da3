"""One landing file ingested, step by step (docs/ingestion.md): the function a reader follows top-down."""

import hashlib
import shutil
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import duckdb

from pipelines import catalogue
from pipelines.core.errors import InternalError
from pipelines.ingest.check import check_values
from pipelines.ingest.commit import commit
from pipelines.ingest.connections import FileConnections, close, connect
from pipelines.ingest.consumption import ingest_consumption
from pipelines.ingest.identify import Content, content_of, file_id
from pipelines.ingest.quarantine import combine_quarantine
from pipelines.ingest.read import read_rows, refusal_of
from pipelines.ingest.reasons import FileRefused
from pipelines.ingest.refusal import refuse
from pipelines.ingest.registrations import ingest_row_by_row
from pipelines.ingest.summary import FileResult
from pipelines.reference.lake import Lake


def ingest_file(lake: Lake, path: Path, relative: str, dataset_name: str, connections: FileConnections | None = None) -> FileResult:
    """Ingest one landing file, or find it already ingested (same SHA-256).

    1. Identify: the hash runs in a thread beside the DuckDB work, unless the lake already holds a file of
       the same size (which it could be): then the hash comes first and an ingested file is skipped unread.
       A file found ingested only once hashed is discarded before anything is moved into place.
    The file's DuckDB connection comes from `connections` when given, else it is opened for it alone.
    """
    size = path.stat().st_size
    with ThreadPoolExecutor(max_workers=1) as pool:
        content = pool.submit(content_of, path)
        if lake.holds_size(size):
            sha = content.result().sha256
            if lake.is_ingested(file_id(sha)):
                return FileResult(source_file=relative, dataset=dataset_name, file_sha256=sha, status="already_ingested")
        return _ingest_new_file(lake, path, relative, dataset_name, size, content, connections)


def _ingest_new_file(lake: Lake, path: Path, relative: str, dataset_name: str, size: int, content: "Future[Content]",
                     connections: FileConnections | None) -> FileResult:
    """Steps 2 to 6 of a file not known to be ingested; a file that cannot be read is refused whole."""
    dataset = catalogue.dataset(dataset_name)
    key = hashlib.sha256(relative.encode()).hexdigest()[:16]
    staging = lake.staging_dir("pending-" + key)
    result = FileResult(source_file=relative, dataset=dataset_name, file_sha256="", status="ingested")
    con, spill = connections.take() if connections else connect(lake, "spill-" + key)
    try:
        try:
            source = read_rows(con, path, dataset, content)  # 2. read as text
            checks = check_values(con, source, dataset)  # 3. check in bulk
        except duckdb.InvalidInputException as error:
            raise refusal_of(error) from None
        # 4. gather, 5. look again at the few, 6. write (and the quarantine's parts)
        if dataset_name == "consumption":
            result.rows_accepted = ingest_consumption(con, source, checks, dataset, staging, content, relative)
        else:  # registration snapshots and updates, register reads
            result.rows_accepted = ingest_row_by_row(con, source, checks, dataset, staging, content, relative, lake)
        result.rejections = combine_quarantine(con, staging)
        result.rows_quarantined = sum(result.rejections.values())
        result.rows_in = result.rows_accepted + result.rows_quarantined
        if result.rows_in != checks.rows_in:
            raise InternalError(f"{relative}: {checks.rows_in} rows read but {result.rows_in} accounted for; nothing was ingested")
    except FileRefused as refusal:
        shutil.rmtree(staging, ignore_errors=True)
        result.file_sha256 = content.result().sha256
        if lake.is_ingested(file_id(result.file_sha256)):
            result.status = "already_ingested"
            return result
        return refuse(lake, path, relative, result, file_id(result.file_sha256), size, refusal)
    finally:
        if connections:
            connections.close_in_background(con, spill)
        else:
            close(con, spill)
    result.file_sha256 = content.result().sha256
    if lake.is_ingested(file_id(result.file_sha256)):  # the same content under another name, or a file of a size seen before
        shutil.rmtree(staging, ignore_errors=True)
        return FileResult(source_file=relative, dataset=dataset_name, file_sha256=result.file_sha256, status="already_ingested")
    commit(lake, staging, result, file_id(result.file_sha256), size)  # 6. commit: the log entry last
    return result
