"""The landing directory: which entries are landing files, and which must not be read at all."""

import re
from pathlib import Path

from pipelines.ingest.reasons import FileRefused

# Landing folders and the formats each accepts, in the order a landing directory is ingested (registration data
# first; the order decides nothing about the outcome: each file is committed on its own).
LANDING_FORMATS = {"registrations": (".csv",), "registration_updates": (".csv",),
                   "consumption": (".csv", ".parquet", ".json"), "register_reads": (".csv",)}
# Landing folders from the Registration Service, whose files may carry columns outside the data catalogue that
# identify a person or premises (an address, a postcode): those never leave ingestion, not even in quarantine.
PERSONAL_DATA_FOLDERS = ("registrations", "registration_updates")

_UNSAFE_NAME = re.compile(r"\.\.|[/\\\x00-\x1f\x7f]")


def landing_files(landing_dir: Path) -> list[tuple[Path, str]]:
    """Every entry directly under each landing folder of DIR (LANDING_FORMATS: registrations/,
    registration_updates/, consumption/, register_reads/) except folders and hidden files, folder by folder in
    that order, each in name order."""
    found = []
    for dataset_name in LANDING_FORMATS:
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
