"""Step 6's commit: a file's staged outputs moved into place with atomic renames, then its ingestion log
entry written last. The warehouse views read only rows of files that have a log entry, so an interrupted
ingest leaves nothing visible and a rerun completes the work (stale staging is discarded)."""

import json
import shutil
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.ingest.quarantine import QUARANTINE
from pipelines.ingest.summary import FileResult
from pipelines.reference.ingestion_log import INGESTION_LOG_SCHEMA
from pipelines.reference.lake import Lake


def write_log(lake: Lake, result: FileResult, file_id: str, staging: Path) -> None:
    """The ingestion log entry: written last, it makes the file's lake rows visible. Written by Arrow, not
    DuckDB: no DuckDB connection opens while the file's own closes (connections.FileConnections)."""
    record = asdict(result) | {"rejections": json.dumps(result.rejections, sort_keys=True),
                               "ingested_at": datetime.now(timezone.utc), "file_id": file_id}
    temporary = staging / f"{file_id}.parquet"
    pq.write_table(pa.Table.from_pylist([record], schema=INGESTION_LOG_SCHEMA), temporary)
    lake.move_into_place(temporary, lake.log_entry(file_id))


def commit(lake: Lake, staging: Path, result: FileResult, file_id: str, size: int) -> None:
    """The staged lake files and quarantine moved into place, the file's size recorded, its log entry written."""
    moves = [(part, Path(result.dataset) / part.parent.name / part.name)
             for part in sorted((staging / result.dataset).glob("*/*.parquet"))]
    if (staging / QUARANTINE).exists():
        moves.append((staging / QUARANTINE, Path("quarantine") / f"{file_id}.parquet"))
    for staged, target in moves:
        lake.move_into_place(staged, lake.root / target)
    lake.record_size(size)
    write_log(lake, result, file_id, staging)
    shutil.rmtree(staging, ignore_errors=True)
