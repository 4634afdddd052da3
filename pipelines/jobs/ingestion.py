"""`mhhs ingest`: every landing file of a directory ingested into the lake, then the warehouse views refreshed
once so analysts see the new files."""

from pathlib import Path

from pipelines.core.progress import QUIET, Progress
from pipelines.ingest import IngestSummary
from pipelines.ingest import ingest as ingest_into_lake
from pipelines.outputs.warehouse import refresh_views
from pipelines.reference.lake import Lake


def ingest(landing_dir: Path, data_dir: Path, progress: Progress = QUIET) -> IngestSummary:
    summary = ingest_into_lake(landing_dir, data_dir, progress)
    progress.step("refreshing the warehouse views")
    refresh_views(Lake(data_dir))
    return summary
