"""The data directory: Parquet lake, quarantine, ingestion log and the DuckDB warehouse.

    DATA_DIR/lake/consumption/settlement_date=D/<file id>.parquet    one row per MPAN-day submission
                                               <file id>_<n>.parquet  (a file gathered in passes: one per pass)
    DATA_DIR/lake/registrations/snapshot_date=D/<file id>.parquet    registration rows as received
    DATA_DIR/lake/registration_updates/updated_date=D/<file id>_<n>.parquet   registration updates as received
                                                (D: the UTC date of updated_at; the column is not in the files)
    DATA_DIR/lake/register_reads/read_end_month=YYYY-MM/<file id>_<n>.parquet  register reads as received,
                                                by the month of read_end_date (not in the files either)
    DATA_DIR/lake/quarantine/<file id>.parquet                        refused rows of one landing file
    DATA_DIR/lake/ingestion_log/<file id>.parquet                     one row per landing file, written last
    DATA_DIR/lake/ingested_sizes/<bytes>                              empty: a landing file of this size was ingested
    DATA_DIR/refused_files/<file id>/<name>                           landing files refused whole
    DATA_DIR/warehouse.duckdb                                         views for analysts

A file id is the first 16 hex digits of the landing file's SHA-256. A landing file's rows count as ingested
only once its ingestion log entry exists (the log is the commit record), so readers filter the lake by
the log and a crash part-way leaves nothing visible.
"""

import os
import shutil
from pathlib import Path

from pipelines import catalogue

# One kWh column per settlement period a local day can have: the catalogue's largest settlement_period (50, the
# autumn clock change).
CONSUMPTION_PERIOD_SLOTS = int(catalogue.load().items["settlement_period"].max)
LONDON = "Europe/London"


def period_columns(prefix: str) -> list[str]:
    return [f"{prefix}_{period:02d}" for period in range(1, CONSUMPTION_PERIOD_SLOTS + 1)]


class Lake:
    def __init__(self, data_dir: Path):
        self.data_dir = Path(data_dir).resolve()
        self.root = self.data_dir / "lake"
        self.consumption = self.root / "consumption"
        self.registrations = self.root / "registrations"
        self.registration_updates = self.root / "registration_updates"
        self.register_reads = self.root / "register_reads"
        self.quarantine = self.root / "quarantine"
        self.ingestion_log = self.root / "ingestion_log"
        self.staging = self.root / ".staging"
        self.ingested_sizes = self.root / "ingested_sizes"
        self.refused_files = self.data_dir / "refused_files"
        self.warehouse = self.data_dir / "warehouse.duckdb"

    def create(self) -> None:
        for path in (self.consumption, self.registrations, self.quarantine, self.ingestion_log, self.refused_files):
            path.mkdir(parents=True, exist_ok=True)

    def log_entry(self, file_id: str) -> Path:
        return self.ingestion_log / f"{file_id}.parquet"

    def is_ingested(self, file_id: str) -> bool:
        return self.log_entry(file_id).exists()

    def holds_size(self, size: int) -> bool:
        """Whether a landing file of this many bytes was ingested: only then can a file be one already ingested."""
        return (self.ingested_sizes / str(size)).exists()

    def record_size(self, size: int) -> None:
        self.ingested_sizes.mkdir(parents=True, exist_ok=True)
        (self.ingested_sizes / str(size)).touch()

    def staging_dir(self, file_id: str) -> Path:
        """A clean private folder for one landing file's outputs before they are moved into place."""
        path = self.staging / file_id
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)
        return path

    def discard_staging(self) -> None:
        """Leftovers of an interrupted ingest: never visible, safe to delete before a rerun."""
        shutil.rmtree(self.staging, ignore_errors=True)

    @staticmethod
    def move_into_place(source: Path, target: Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, target)  # atomic on one file system; a rerun overwrites with identical content

    def glob(self, dataset: str) -> str:
        return str(self.root / dataset / "**" / "*.parquet")

    def has_files(self, dataset: str) -> bool:
        return any((self.root / dataset).rglob("*.parquet"))


def empty_select(dataset_name: str, extra: dict[str, str] | None = None) -> str:
    """A typed SELECT with no rows, for a view over a part of the lake that holds no file yet."""
    from pipelines.catalogue.sql_rules import sql_type

    columns = [f"CAST(NULL AS {sql_type(item)}) AS {item.name}" for item in catalogue.dataset(dataset_name).columns]
    columns += [f"CAST(NULL AS {sql}) AS {name}" for name, sql in (extra or {}).items()]
    return "SELECT " + ", ".join(columns) + " WHERE false"
