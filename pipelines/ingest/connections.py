"""DuckDB connections, one per landing file, each spilling to its own folder beside the file's staging."""

import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb

from pipelines.core.resources import duckdb_config
from pipelines.reference.lake import Lake


def connect(lake: Lake, spill_name: str) -> tuple[duckdb.DuckDBPyConnection, Path]:
    """A DuckDB connection for one landing file, and the folder it spills to."""
    spill = lake.staging_dir(spill_name)
    return duckdb.connect(config=duckdb_config(spill, threads=2, preserve_insertion_order=True)), spill


def close(con: duckdb.DuckDBPyConnection, spill: Path) -> None:
    con.close()
    shutil.rmtree(spill, ignore_errors=True)


class FileConnections:
    """The connections of one ingest's landing files, one each, the next always open before the last closes.

    Why: closing a connection frees the memory of a file's work, which takes a noticeable time for a national
    file (docs/benchmarks.md, "Ingestion design notes"), and DuckDB opens no connection while another closes.
    So each file's connection is closed in a background thread once the next file's is open, while the next
    file is ingested. Leaving the context waits for every close.
    """

    def __init__(self, lake: Lake):
        self._lake, self._opened = lake, 0
        self._closing = ThreadPoolExecutor(max_workers=1)
        self._spare = self._open()

    def _open(self) -> tuple[duckdb.DuckDBPyConnection, Path]:
        self._opened += 1
        return connect(self._lake, f"spill-{self._opened}")

    def take(self) -> tuple[duckdb.DuckDBPyConnection, Path]:
        """The open connection, for one file."""
        taken, self._spare = self._spare, None
        return taken

    def close_in_background(self, con: duckdb.DuckDBPyConnection, spill: Path) -> None:
        """A file's connection, done with: the next one is opened, then this one is closed in the background."""
        self._spare = self._open()
        self._closing.submit(close, con, spill)

    def __enter__(self) -> "FileConnections":
        return self

    def __exit__(self, *exception) -> None:
        close(*self._spare)
        self._closing.shutdown(wait=True)
