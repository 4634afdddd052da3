"""Step 1, identify: a landing file's SHA-256 is its identity (its first 16 hex digits name everything it
produces), and a file whose ingestion log entry exists is already ingested. The same read finds whether a
file is plain text, which lets step 2 store a CSV file's lines as they are (read_csv.store_lines)."""

import hashlib
from pathlib import Path
from typing import NamedTuple


class Content(NamedTuple):
    sha256: str
    plain_text: bool  # no double quote and no space anywhere (read_csv.store_lines)


def content_of(path: Path) -> Content:
    """The file's SHA-256 and whether it is plain text, in one read: a byte search costs little beside the
    hash, and the hash runs in a thread beside DuckDB's reading of the file (file.ingest_file)."""
    digest, plain_text = hashlib.sha256(), True
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(block)
            plain_text = plain_text and b'"' not in block and b" " not in block
    return Content(digest.hexdigest(), plain_text)


def sha256_of(path: Path) -> str:
    return content_of(path).sha256


def file_id(sha256: str) -> str:
    """The name of everything a file produces: lake files, quarantine, log entry, refused copy."""
    return sha256[:16]
