"""Industry standing data: bundled synthetic defaults, or the user's own files in the CONTRACT format.

Every file is read as text, cast to the catalogue's types and validated with the catalogue's pandera
schema; a bad file stops with a message that names the file, the rows and the rules broken.
"""

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import pandera.pandas as pa
import pyarrow as pa_arrow

from pipelines import catalogue
from pipelines.catalogue.pandera_schemas import pandera_schema
from pipelines.errors import MhhsError
from pipelines.periods import LONDON, utc_period_starts

DEFAULTS_DIR = Path(__file__).with_name("defaults")
# Files with a bundled default; llf.csv is expanded from llfc.csv for the dates asked for, and
# gsp_group_take.csv has no default (a run without it stops).
DEFAULT_DATASETS = ("gsp_groups", "llfc", "ccc", "load_shape_default", "settlement_calendar", "bank_holidays")
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
        raise MhhsError(f"cannot read {where} as CSV: {str(error).splitlines()[0]}") from None
    missing = [name for name in dataset.column_names if name not in raw.columns]
    if missing:
        raise MhhsError(f"{where} lacks required columns {', '.join(missing)} (expected {', '.join(dataset.column_names)})")
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
        raise MhhsError(f"{where}: values that are not of the catalogue's type in data rows {[row[-1] for row in bad]}")
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
        raise MhhsError(f"{where} breaks the data catalogue's rules: {problems}") from None
    return pa_arrow.Table.from_pandas(validated[dataset.column_names], preserve_index=False).replace_schema_metadata(None)


def _default(dataset_name: str) -> pa_arrow.Table:
    return read_standing_file(DEFAULTS_DIR / catalogue.dataset(dataset_name).file, dataset_name)


def default_gsp_groups() -> pa_arrow.Table:
    return _default("gsp_groups")


def default_llfcs() -> pa_arrow.Table:
    return _default("llfc")


def expand_llf(gsp_groups: pa_arrow.Table, llfcs: pa_arrow.Table, dates: list[date]) -> pa_arrow.Table:
    """Line loss factors for every GSP Group, LLFC and local settlement period of the dates.

    Synthetic rule (documented in docs/standing_data.md): the LLFC's night factor from local midnight to
    07:00, its day factor after; the losses part (LLF - 1) scaled by 0.94 + 0.01 x the group's position in
    gsp_groups.csv, so groups differ as real distribution areas do.
    """
    rows = {name: [] for name in catalogue.dataset_columns("llf")}
    groups = gsp_groups.column("gsp_group_id").to_pylist()
    classes = llfcs.select(["llfc_id", "day_llf", "night_llf"]).to_pylist()
    for settlement_date in sorted(set(dates)):
        for period, start in enumerate(utc_period_starts(settlement_date), start=1):
            night = start.astimezone(LONDON).hour < NIGHT_ENDS_LOCAL_HOUR
            for position, group in enumerate(groups):
                for llfc in classes:
                    base = llfc["night_llf"] if night else llfc["day_llf"]
                    rows["gsp_group_id"].append(group)
                    rows["llfc_id"].append(llfc["llfc_id"])
                    rows["settlement_date"].append(settlement_date)
                    rows["settlement_period"].append(period)
                    rows["llf"].append(round(1 + (base - 1) * (0.94 + 0.01 * position), 4))
    return pa_arrow.table(rows)


def default_llf(dates: list[date]) -> pa_arrow.Table:
    return expand_llf(default_gsp_groups(), default_llfcs(), dates)


@dataclass
class StandingData:
    """Standing data for a run: each table from the user's directory where present, else the default."""

    gsp_groups: pa_arrow.Table
    llfc: pa_arrow.Table
    ccc: pa_arrow.Table
    load_shape_default: pa_arrow.Table
    settlement_calendar: pa_arrow.Table
    bank_holidays: pa_arrow.Table
    llf: pa_arrow.Table | None = None
    gsp_group_take: pa_arrow.Table | None = None
    sources: dict[str, str] = field(default_factory=dict)

    def llf_for(self, dates: list[date]) -> pa_arrow.Table:
        """The user's llf.csv when given (a run checks it covers every period), else the default expansion."""
        if self.llf is not None:
            return self.llf
        return expand_llf(self.gsp_groups, self.llfc, dates)


def load_standing_data(directory: Path | None = None) -> StandingData:
    """Standing data from a directory in the CONTRACT format; bundled defaults where a file is absent."""
    if directory is not None and not Path(directory).is_dir():
        raise MhhsError(f"standing data directory {directory} does not exist")
    tables, sources = {}, {}
    for dataset in catalogue.datasets_of_kind("standing"):
        user_file = Path(directory) / dataset.file if directory is not None else None
        if user_file is not None and user_file.is_file():
            tables[dataset.name] = read_standing_file(user_file, dataset.name)
            sources[dataset.name] = str(user_file)
        elif dataset.name in DEFAULT_DATASETS:
            tables[dataset.name] = _default(dataset.name)
            sources[dataset.name] = "bundled default"
        else:
            sources[dataset.name] = "bundled default" if dataset.name == "llf" else "absent"
    return StandingData(**tables, sources=sources)


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
