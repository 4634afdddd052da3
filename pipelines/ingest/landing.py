"""The landing directory: which entries are landing files, and which must not be read at all."""

import re
from pathlib import Path

from pipelines.ingest.reasons import FileRefused

# Landing folders and the formats each accepts.
LANDING_FORMATS = {"registrations": (".csv",), "consumption": (".csv", ".parquet", ".json")}

_UNSAFE_NAME = re.compile(r"\.\.|[/\\\x00-\x1f\x7f]")


def landing_files(landing_dir: Path) -> list[tuple[Path, str]]:
    """Every entry directly under DIR/registrations/ and DIR/consumption/ except folders and hidden files,
    registrations first, in name order."""
    found = []
    for dataset_name in ("registrations", "consumption"):
        folder = landing_dir / dataset_name
        if folder.is_dir():
            found += [(p, dataset_name) for p in sorted(folder.iterdir())
                      if not p.name.startswith(".") and not (p.is_dir() and not p.is_symlink())]
    return found


def unsafe(path: Path, landing_dir: Path) -> FileRefused | None:
    """Why an entry of a landing folder must not be read, if it must not: only regular files that really
    live inside the landing directory are read, so no landing entry can make ingestion read or copy a
    file from elsewhere."""
    if _UNSAFE_NAME.search(path.name):
        return FileRefused.because("FILE_UNSAFE_NAME")
    resolved = path.resolve()
    if not resolved.is_relative_to(landing_dir.resolve()):
        return FileRefused.because("FILE_OUTSIDE_LANDING", target=str(resolved))
    if not resolved.is_file():
        return FileRefused.because("FILE_NOT_REGULAR")
    return None
