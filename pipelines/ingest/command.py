"""The entry points: `mhhs ingest DIR` (every landing file of a directory), and the DAG's one file at a time."""

from pathlib import Path

from pipelines.core.errors import MhhsError
from pipelines.core.locks import ingestion_lock
from pipelines.core.progress import QUIET, Progress
from pipelines.ingest.connections import FileConnections
from pipelines.ingest.file import ingest_file
from pipelines.ingest.identify import file_id, sha256_of
from pipelines.ingest.landing import LANDING_FORMATS, landing_files, unsafe
from pipelines.ingest.refusal import refuse_unsafe, unsafe_id
from pipelines.ingest.summary import FileResult, IngestSummary
from pipelines.reference.lake import Lake


def ingest(landing_dir: Path, data_dir: Path, progress: Progress = QUIET) -> IngestSummary:
    """Ingest every landing file of `landing_dir` into the lake of `data_dir`, one file at a time."""
    landing_dir = Path(landing_dir)
    if not landing_dir.is_dir():
        raise MhhsError(f"landing directory {landing_dir} does not exist")
    files = landing_files(landing_dir)
    if not files:
        folders = ", ".join(f"{name}/" for name in LANDING_FORMATS)
        raise MhhsError(f"no landing files under {landing_dir}/ in any of its folders {folders}")
    lake = Lake(data_dir)
    lake.create()
    with ingestion_lock(lake.data_dir):
        lake.discard_staging()
        results = []
        with FileConnections(lake) as connections:  # left only once every connection is closed
            for number, (path, name) in enumerate(files, start=1):
                relative = f"{name}/{path.name}"
                progress.step(f"ingest {number}/{len(files)}: {relative}")
                refusal = unsafe(path, landing_dir)
                results.append(refuse_unsafe(lake, relative, name, refusal) if refusal
                               else ingest_file(lake, path, relative, name, connections))
    return IngestSummary(results)


def ingest_landing_file(landing_dir: Path, relative: str, data_dir: Path) -> FileResult:
    """Ingest one landing file (`relative` to `landing_dir`, directly under one of the landing folders).

    The same commit as `mhhs ingest`: its rows count only once its ingestion log entry exists, and a file
    already ingested is skipped; an unsafe entry is refused unread. Ingestions of one lake take turns (they
    share its staging area); refresh the warehouse views once after (pipelines.outputs.warehouse.refresh_views).
    """
    landing_dir = Path(landing_dir)
    path = landing_dir / relative
    dataset_name = Path(relative).parts[0]
    if dataset_name not in LANDING_FORMATS or len(Path(relative).parts) != 2:
        raise MhhsError(f"{relative} is not a landing file directly under one of {landing_dir}'s folders "
                        f"{', '.join(f'{name}/' for name in LANDING_FORMATS)}")
    lake = Lake(data_dir)
    with ingestion_lock(lake.data_dir):
        lake.create()
        refusal = unsafe(path, landing_dir)
        return refuse_unsafe(lake, relative, dataset_name, refusal) if refusal else ingest_file(lake, path, relative, dataset_name)


def pending_landing_files(landing_dir: Path, data_dir: Path) -> list[str]:
    """Landing files (relative to `landing_dir`) whose content the lake has not ingested yet."""
    landing_dir = Path(landing_dir)
    if not landing_dir.is_dir():
        raise MhhsError(f"landing directory {landing_dir} does not exist")
    lake = Lake(data_dir)
    pending = []
    for path, _ in landing_files(landing_dir):
        relative = str(path.relative_to(landing_dir))
        refusal = unsafe(path, landing_dir)
        # an unsafe entry is never read, not even to hash it: it is known by its name and reason
        if not lake.is_ingested(file_id(unsafe_id(relative, refusal) if refusal else sha256_of(path))):
            pending.append(relative)
    return pending


def lake_partitions(data_dir: Path, result: FileResult) -> list[str]:
    """The lake partitions a landing file's rows went to, e.g. consumption/settlement_date=2026-10-25."""
    lake = Lake(data_dir)
    return sorted(str(part.parent.relative_to(lake.root))
                  for part in lake.root.glob(f"{result.dataset}/*/{file_id(result.file_sha256)}*.parquet"))
