"""Industry standing data: bundled synthetic defaults, or the user's own files in the CONTRACT format.

Every file is read as text, cast to the catalogue's types and validated with the catalogue's pandera
schema; a bad file stops with a message that names the file, the rows and the rules broken.
"""

import functools
import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import pandera.pandas as pa
import pyarrow as pa_arrow

from pipelines import catalogue
from pipelines.catalogue.pandera_schemas import pandera_schema
from pipelines.core.atomic import file_sha256
from pipelines.core.errors import BadInputData, MhhsError
from pipelines.core.periods import LONDON, utc_period_starts

DEFAULTS_DIR = Path(__file__).with_name("defaults")
# Files with a bundled default; llf.csv is expanded from llfc.csv for the dates asked for, and
# gsp_group_take.csv has no default (a run without it stops).
DEFAULT_DATASETS = ("gsp_groups", "distributors", "llfc", "ccc", "load_shape_default", "load_shape_season", "settlement_calendar",
                    "bank_holidays")
# With --standing-data DIR these files must be in DIR (CONTRACT.md v2): a run never settles on synthetic line
# loss factors, GSP Group Take or CCCs it was not given. The directory's other files stay optional.
REQUIRED_DATASETS = ("llf", "gsp_group_take", "ccc")
# The source of a table taken from the bundled defaults (the run record and the report name it so).
SYNTHETIC_SOURCE = "bundled synthetic default"
SYNTHETIC_WARNING = "synthetic standing data: for trying the project, never for real settlement"
NIGHT_ENDS_LOCAL_HOUR = 7
_SQL_TYPES = {"string": "VARCHAR", "date": "DATE", "timestamp": "TIMESTAMPTZ", "decimal": "DOUBLE", "integer": "BIGINT"}
_SHOWN_PROBLEMS = 10


def read_standing_file(path: Path, dataset_name: str) -> pa_arrow.Table:
    """Read one standing data CSV, cast it to the catalogue's types and validate it."""
    dataset = catalogue.dataset(dataset_name)
    where = f"{dataset_name} file {path}"
    con = duckdb.connect()
    try:
        raw = con.read_csv(str(path), header=True, all_varchar=True)
    except (duckdb.Error, UnicodeDecodeError) as error:
        raise BadInputData(f"cannot read {where} as CSV: {str(error).splitlines()[0]}") from None
    missing = [name for name in dataset.column_names if name not in raw.columns]
    if dataset_name == "llf" and "distributor_id" in missing and "gsp_group_id" in raw.columns:
        raise BadInputData(
            f"{where} is in the v1 format, keyed by gsp_group_id. Since contract v2 line loss factors are keyed "
            "by distributor_id (the first two digits of the MPAN core), because each distributor, a GSP Group's "
            "DNO or an IDNO inside it, defines its own LLFCs: replace the gsp_group_id column with distributor_id, "
            "one row per distributor, LLFC, date and period (CHANGELOG.md, 0.8.0, migration)"
        )
    if missing:
        raise BadInputData(f"{where} lacks required columns {', '.join(missing)} (expected {', '.join(dataset.column_names)})")
    casts = ", ".join(
        f'TRY_CAST(NULLIF(TRIM("{c.name}"), \'\') AS {_SQL_TYPES[c.type]}) AS "{c.name}"' for c in dataset.columns
    )
    uncastable = " OR ".join(
        f'(NULLIF(TRIM("{c.name}"), \'\') IS NOT NULL AND TRY_CAST(TRIM("{c.name}") AS {_SQL_TYPES[c.type]}) IS NULL)'
        for c in dataset.columns
    )
    numbered = con.sql("SELECT *, row_number() OVER () AS __row FROM raw")
    bad = numbered.filter(uncastable).limit(_SHOWN_PROBLEMS).fetchall()
    if bad:
        raise BadInputData(f"{where}: values that are not of the catalogue's type in data rows {[row[-1] for row in bad]}")
    typed = con.sql(f"SELECT {casts} FROM numbered ORDER BY __row").df()
    try:
        validated = pandera_schema(dataset_name).validate(typed, lazy=True)
    except pa.errors.SchemaErrors as errors:
        cases = errors.failure_cases.head(_SHOWN_PROBLEMS)
        problems = "; ".join(
            f"{row.column or 'row'} {row.check} failed for {row.failure_case!r}"
            + (f" (data row {int(row.index) + 1})" if row.index == row.index and row.index is not None else "")
            for row in cases.itertuples()
        )
        raise BadInputData(f"{where} breaks the data catalogue's rules: {problems}") from None
    return pa_arrow.Table.from_pandas(validated[dataset.column_names], preserve_index=False).replace_schema_metadata(None)


# The bundled defaults never change while a process runs, and validating them is most of the generator's time
# at small sizes (it reads each several times per day it writes): read and validate each once per process.
@functools.lru_cache(maxsize=None)
def _default(dataset_name: str) -> pa_arrow.Table:
    return read_standing_file(DEFAULTS_DIR / catalogue.dataset(dataset_name).file, dataset_name)


def default_gsp_groups() -> pa_arrow.Table:
    return _default("gsp_groups")


def default_llfcs() -> pa_arrow.Table:
    return _default("llfc")


def default_distributors() -> pa_arrow.Table:
    return _default("distributors")


def expand_llf(distributors: pa_arrow.Table, llfcs: pa_arrow.Table, dates: list[date]) -> pa_arrow.Table:
    """Line loss factors for every distributor, LLFC and local settlement period of the dates.

    Synthetic rule (documented in docs/standing_data.md): the LLFC's night factor from local midnight to
    07:00, its day factor after; the losses part (LLF - 1) scaled by the distributor's losses_scale, so
    distributors differ as real networks do and an IDNO's MPANs do not take their host DNO's factor.
    """
    rows = {name: [] for name in catalogue.dataset_columns("llf")}
    scales = distributors.select(["distributor_id", "losses_scale"]).to_pylist()
    classes = llfcs.select(["llfc_id", "day_llf", "night_llf"]).to_pylist()
    for settlement_date in sorted(set(dates)):
        for period, start in enumerate(utc_period_starts(settlement_date), start=1):
            night = start.astimezone(LONDON).hour < NIGHT_ENDS_LOCAL_HOUR
            for distributor in scales:
                for llfc in classes:
                    base = llfc["night_llf"] if night else llfc["day_llf"]
                    rows["distributor_id"].append(distributor["distributor_id"])
                    rows["llfc_id"].append(llfc["llfc_id"])
                    rows["settlement_date"].append(settlement_date)
                    rows["settlement_period"].append(period)
                    rows["llf"].append(round(1 + (base - 1) * distributor["losses_scale"], 4))
    return pa_arrow.table(rows)


def default_llf(dates: list[date]) -> pa_arrow.Table:
    return expand_llf(default_distributors(), default_llfcs(), dates)


@dataclass
class StandingData:
    """Standing data for a run: each table from the user's directory where present, else the default."""

    gsp_groups: pa_arrow.Table
    distributors: pa_arrow.Table
    llfc: pa_arrow.Table
    ccc: pa_arrow.Table
    load_shape_default: pa_arrow.Table
    load_shape_season: pa_arrow.Table
    settlement_calendar: pa_arrow.Table
    bank_holidays: pa_arrow.Table
    llf: pa_arrow.Table | None = None
    gsp_group_take: pa_arrow.Table | None = None
    load_shapes: pa_arrow.Table | None = None  # optional: where it gives a category and date, estimates use it
    sources: dict[str, str] = field(default_factory=dict)
    # Every standing file read, by dataset: {"file", "source" (the user's path or SYNTHETIC_SOURCE), "sha256"}.
    files: dict[str, dict] = field(default_factory=dict)
    # True when no directory was given: the whole set is the bundled synthetic one (SYNTHETIC_WARNING).
    synthetic: bool = False

    def record(self, datasets: list[str]) -> str:
        """The run record's `standing_data` (JSON text): whether the set is synthetic and, for each dataset
        of `datasets` the run used, its file, source and SHA-256 (docs/standing_data.md)."""
        files = [self.files[name] for name in dict.fromkeys(datasets) if name in self.files]
        return json.dumps({"synthetic": self.synthetic, "files": sorted(files, key=lambda f: f["file"])},
                          sort_keys=True)

    def load_shapes_or_empty(self) -> pa_arrow.Table:
        return self.load_shapes if self.load_shapes is not None else empty_table("load_shapes")

    def llf_for(self, dates: list[date]) -> pa_arrow.Table:
        """The user's llf.csv when given (a run checks it covers every period), else the default expansion."""
        if self.llf is not None:
            return self.llf
        return expand_llf(self.distributors, self.llfc, dates)


_ARROW_TYPES = {"string": pa_arrow.string(), "date": pa_arrow.date32(), "timestamp": pa_arrow.timestamp("us", tz="UTC"),
                "decimal": pa_arrow.float64(), "integer": pa_arrow.int64()}


def empty_table(dataset_name: str) -> pa_arrow.Table:
    """A dataset with no rows, typed as read_standing_file types a file (for an optional file absent)."""
    dataset = catalogue.dataset(dataset_name)
    return pa_arrow.schema([(c.name, _ARROW_TYPES[c.type]) for c in dataset.columns]).empty_table()


def missing_required_files(directory: Path) -> list[str]:
    """The required files (REQUIRED_DATASETS) a standing data directory lacks."""
    names = [catalogue.dataset(name).file for name in REQUIRED_DATASETS]
    return [name for name in names if not (Path(directory) / name).is_file()]


def load_standing_data(directory: Path | None = None) -> StandingData:
    """Standing data from a directory in the CONTRACT format, which must hold the required files
    (REQUIRED_DATASETS); bundled defaults where another file is absent. Without a directory: the bundled
    synthetic set (`synthetic`), which has no GSP Group Take."""
    if directory is not None and not Path(directory).is_dir():
        raise MhhsError(f"standing data directory {directory} does not exist")
    if directory is not None and (missing := missing_required_files(directory)):
        required = ", ".join(catalogue.dataset(name).file for name in REQUIRED_DATASETS)
        raise BadInputData(
            f"standing data directory {directory} lacks {', '.join(missing)}: with --standing-data, {required} are "
            "required (a run never settles on synthetic line loss factors, GSP Group Take or CCCs it was not given); "
            f"nothing was settled. Put {' and '.join(missing)} in {directory}")
    tables, sources, files = {}, {}, {}
    for dataset in catalogue.datasets_of_kind("standing"):
        user_file = Path(directory) / dataset.file if directory is not None else None
        if user_file is not None and user_file.is_file():
            tables[dataset.name] = read_standing_file(user_file, dataset.name)
            sources[dataset.name] = str(user_file.resolve())
            files[dataset.name] = {"file": dataset.file, "source": sources[dataset.name], "sha256": file_sha256(user_file)}
        elif dataset.name in DEFAULT_DATASETS:
            tables[dataset.name] = _default(dataset.name)
            sources[dataset.name] = SYNTHETIC_SOURCE
            files[dataset.name] = {"file": dataset.file, "source": SYNTHETIC_SOURCE,
                                   "sha256": file_sha256(DEFAULTS_DIR / dataset.file)}
        elif dataset.name == "llf":  # no directory: expanded from the bundled LLFCs for the run's date
            sources[dataset.name] = SYNTHETIC_SOURCE
            files[dataset.name] = {"file": dataset.file, "source": f"{SYNTHETIC_SOURCE} (expanded from the bundled "
                                   "LLFC table for the run's date; no file)", "sha256": None}
        else:
            sources[dataset.name] = "absent"
    return StandingData(**tables, sources=sources, files=files, synthetic=directory is None)


def _write_csv(table: pa_arrow.Table, path: Path) -> None:
    con = duckdb.connect()
    con.register("standing", table)
    con.execute(f"COPY (SELECT * FROM standing) TO '{path}' (HEADER, DELIMITER ',')")


def write_standing_data(out_dir: Path, dates: list[date], gsp_group_take: pa_arrow.Table) -> None:
    """Write a complete standing data directory: the defaults, llf.csv for the dates and the given GSP Group Take."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in DEFAULT_DATASETS:
        _write_csv(_default(name), out_dir / catalogue.dataset(name).file)
    _write_csv(default_llf(dates), out_dir / catalogue.dataset("llf").file)
    take = gsp_group_take.select(catalogue.dataset_columns("gsp_group_take"))
    con = duckdb.connect()
    con.register("take", take)
    rounded = con.sql(
        "SELECT gsp_group_id, settlement_date, settlement_period, "
        "round(gsp_group_take_kwh, 3)::DECIMAL(18,3) AS gsp_group_take_kwh FROM take "
        "ORDER BY settlement_date, settlement_period, gsp_group_id"
    ).arrow()
    _write_csv(rounded, out_dir / catalogue.dataset("gsp_group_take").file)
