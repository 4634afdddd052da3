"""Step 2, read as text: a landing file's rows (source.Source) from the reader of its format, after the checks
that refuse a whole file for its name or its first bytes."""

from concurrent.futures import Future
from pathlib import Path

import duckdb

from pipelines import catalogue
from pipelines.ingest.identify import Content
from pipelines.ingest.landing import LANDING_FORMATS
from pipelines.ingest.read_csv import csv_source
from pipelines.ingest.read_json import json_source
from pipelines.ingest.read_parquet import parquet_source
from pipelines.ingest.reasons import FileRefused
from pipelines.ingest.source import Source

# The first bytes of archive and compressed formats: they are refused, never unpacked.
ARCHIVE_MAGIC = {b"PK\x03\x04": "zip", b"PK\x05\x06": "zip", b"\x1f\x8b": "gzip", b"BZh": "bzip2",
                 b"\xfd7zXZ\x00": "xz", b"7z\xbc\xaf\x27\x1c": "7z", b"Rar!": "rar", b"\x28\xb5\x2f\xfd": "zstd"}


def read_rows(con, path: Path, dataset: catalogue.Dataset, content: "Future[Content]") -> Source:
    """The file's rows (text columns, except a Parquet file's typed ones)."""
    suffix = path.suffix.lower()
    if suffix not in LANDING_FORMATS[dataset.name]:
        raise FileRefused.because("FILE_UNSUPPORTED_TYPE", formats=", ".join(LANDING_FORMATS[dataset.name]))
    with open(path, "rb") as handle:
        head = handle.read(8)
    for magic, kind in ARCHIVE_MAGIC.items():  # an archive under an accepted name
        if head.startswith(magic):
            raise FileRefused.because("FILE_ARCHIVE", kind=kind)
    if suffix == ".csv":
        return csv_source(con, path, dataset, content)
    if suffix == ".parquet":
        return parquet_source(con, path, dataset)
    return json_source(con, path, dataset)


def refusal_of(error: duckdb.InvalidInputException) -> FileRefused:
    """The refusal of a file DuckDB could not read as its format (found while reading or checking it)."""
    message = str(error).lower()
    if "maximum line size" in message:
        return FileRefused.because("FILE_LINE_TOO_LONG")
    if "unicode" in message or "utf-8" in message:
        return FileRefused.because("FILE_NOT_UTF8")
    return FileRefused.because("FILE_NOT_CSV")
