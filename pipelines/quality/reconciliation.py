"""The reconciliation of a settlement day's half-hourly values, from landing files to what was settled.

Every figure is counted where it was decided, never re-derived from the rules:

    received in the landing files that delivered the day      ingestion log (rows_in of those files)
  - refused at ingestion, by reason                           ingestion log (rows_quarantined, rejections)
  - accepted for other settlement dates in those files        lake (consumption_submissions.period_count)
  = accepted into the lake for the day                        lake (the run's landing files only)
  - refused at settlement, by reason                          the run's quarantine (dbt int_consumption_refused)
  - superseded by a later submission                          dbt int_consumption_checked (usable values that
                                                              another submission of the MPAN-day also has)
  = current values                                            dbt int_consumption_current (present_mask)
  + derived from register reads (daily or monthly consent)   basis data (register_read_mask)
  + estimated at settlement, by method                        basis data (consumption_after_estimation masks)
  = values settled = actual + estimated                       basis data (values and estimated_mask)

A value derived from a register read (the read shaped into half hours with the load shapes) is not a landing
row: the reads themselves, and those the run refused, are counted apart from the values (the run's
register_read_quarantine.parquet). It is flagged as dbt var register_read_quality_flag says (A by default).

Refusal at settlement comes before supersession, as in the models: a submission refused at settlement never
hides an earlier valid one, so only accepted values can be superseded. One landing row is one half-hourly value
(a CSV line, a Parquet row, a DIP message's period; a DIP message refused whole is one row).

Each "=" line is counted from its own source and checked against the arithmetic of the lines above it
(`Reconciliation.checks`); so are the breakdowns by reason and method, and actual + estimated. A check that
fails names the two sources that disagree (`Reconciliation.problems`). Where a source is missing (a run stopped
before its basis data, dbt work databases removed), the lines after it are shown as not available and their
checks left out (`Reconciliation.not_checked` says why).
"""

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from pipelines.core.resources import duckdb_config
from pipelines.reference.lake import Lake, period_columns
from pipelines.reference.lake_views import lake_view_definitions

ESTIMATION_METHODS = ("interpolation", "like_day", "annual_consumption")


@dataclass(frozen=True)
class Step:
    key: str
    operation: str  # "" (the start), "-", "+" or "=" (a total counted from its own source)
    label: str
    values: int | None  # None: not available (the run stopped before the source existed)
    source: str
    breakdown: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class Check:
    name: str
    expected: int  # from the lines above (the arithmetic)
    counted: int  # from its own source
    step: str = ""  # the total (=) line it checks, if it checks one

    @property
    def closes(self) -> bool:
        return self.expected == self.counted


@dataclass
class Reconciliation:
    settlement_date: str
    files: int
    submissions: int
    mpans: int | None
    steps: list[Step] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    not_checked: list[str] = field(default_factory=list)

    def step(self, key: str) -> Step:
        return next(step for step in self.steps if step.key == key)

    def value(self, key: str) -> int | None:
        return self.step(key).values

    @property
    def closes(self) -> bool:
        return bool(self.checks) and all(check.closes for check in self.checks)

    def problems(self) -> list[str]:
        return [f"{check.name}: expected {check.expected:,} from the lines above, counted {check.counted:,}"
                for check in self.checks if not check.closes]


def _scalar(con, sql: str) -> int:
    return int(con.execute(sql).fetchall()[0][0] or 0)


def _attach_partitions(con, run_dir: Path) -> dict[str, list[str]]:
    """Attach every partition's dbt work database of the run (read-only): {model: [database.model, ...]}, for
    the models present in every one of them."""
    models: dict[str, list[str]] = {}
    databases = sorted((run_dir / "partitions").glob("*/work.duckdb")) if (run_dir / "partitions").is_dir() else []
    for index, database in enumerate(databases):
        try:
            con.execute(f"ATTACH '{database}' AS partition_{index} (READ_ONLY)")
        except duckdb.Error:
            return {}  # a partition whose database cannot be read: its models are not counted at all
        for (name,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = ?",
                                   [f"partition_{index}"]).fetchall():
            models.setdefault(name, []).append(f"partition_{index}.main.{name}")
    return {name: tables for name, tables in models.items() if len(tables) == len(databases)}


def _union(tables: list[str]) -> str:
    return " UNION ALL BY NAME ".join(f"SELECT * FROM {table}" for table in tables)


def run_file(run_dir: Path, name: str) -> Path | None:
    """A file the run staged for publication, wherever it is now (staged/ until published, then published/)."""
    for folder in ("staged", "published"):
        if (run_dir / folder / name).exists():
            return run_dir / folder / name
    return None


def reconcile(run, lake: Lake) -> Reconciliation:
    """The day's values from the landing files to the settled values, each count from its source, checked."""
    run_dir = Path(run.run_dir)
    day = run.settlement_date.isoformat()
    # within the run's memory limit, spilling beside the run (a national day's submissions are read here)
    con = duckdb.connect(config=duckdb_config(run_dir / "spill", file_search_path=str(lake.data_dir)))
    try:
        for name, sql in lake_view_definitions(lake).items():
            con.execute(f"CREATE VIEW {name} AS {sql}")
        landing_files = run_dir / "basis" / "landing_files.parquet"
        # the run's own landing files (the ingestion log when it started), not whatever has arrived since
        run_files = (f"(SELECT file_sha256 FROM read_parquet('{landing_files}'))" if landing_files.exists()
                     else "(SELECT file_sha256 FROM ingestion_log)")
        con.execute("CREATE TEMP TABLE day_files AS SELECT DISTINCT file_sha256 FROM consumption_submissions "
                    f"WHERE settlement_date = DATE '{day}' AND file_sha256 IN {run_files}")
        log = con.execute(
            "SELECT count(*), coalesce(sum(rows_in), 0), coalesce(sum(rows_quarantined), 0), "
            "coalesce(sum(rows_accepted), 0), count(DISTINCT source_file) "
            "FROM ingestion_log WHERE file_sha256 IN (SELECT file_sha256 FROM day_files)").fetchall()[0]
        files, received, refused_ingestion, accepted_in_files, names = (int(v) for v in log)
        by_reason: Counter = Counter()
        for (rejections,) in con.execute("SELECT rejections FROM ingestion_log "
                                         "WHERE file_sha256 IN (SELECT file_sha256 FROM day_files)").fetchall():
            by_reason.update(json.loads(rejections or "{}"))
        quarantined = _scalar(con, "SELECT count(*) FROM ingestion_quarantine WHERE source_file IN (SELECT source_file "
                                   "FROM ingestion_log WHERE file_sha256 IN (SELECT file_sha256 FROM day_files))")
        other_days = _scalar(con, "SELECT sum(period_count) FROM consumption_submissions WHERE file_sha256 IN "
                                  f"(SELECT file_sha256 FROM day_files) AND settlement_date <> DATE '{day}'")
        accepted, submissions = (int(v or 0) for v in con.execute(
            "SELECT sum(period_count), count(*) FROM consumption_submissions "
            f"WHERE settlement_date = DATE '{day}' AND file_sha256 IN {run_files}").fetchall()[0])

        models = _attach_partitions(con, run_dir)
        refused_file = run_file(run_dir, "quarantine.parquet")
        refused_source = None
        if refused_file is not None:
            refused_source = f"read_parquet('{refused_file}')"
        elif "int_consumption_refused" in models:
            refused_source = f"({_union(models['int_consumption_refused'])})"
        refused_settlement, refused_by_reason = None, ()
        if refused_source:
            refused_by_reason = tuple((code, int(n)) for code, n in con.execute(
                f"SELECT reason_code, count(*) FROM {refused_source} GROUP BY ALL ORDER BY 2 DESC, 1").fetchall())
            refused_settlement = sum(n for _, n in refused_by_reason)

        superseded = current = current_estimated = None
        if "int_consumption_checked" in models:
            # usable values as int_consumption_current takes them; of the submissions of one MPAN and quantity
            # that have a period, all but the latest are superseded
            superseded = _scalar(con, "SELECT sum(values - periods) FROM (SELECT sum(bit_count(usable)) AS values, "
                                      "bit_count(bit_or(usable)) AS periods FROM (SELECT mpan_core, measurement_quantity, "
                                      "present_mask & day_mask & ended_mask & ~above_max_mask AS usable FROM ("
                                      f"{_union(models['int_consumption_checked'])}) WHERE submission_reason_code IS NULL) "
                                      "GROUP BY mpan_core, measurement_quantity)")
        if "int_consumption_current" in models:
            current, current_estimated = (int(v or 0) for v in con.execute(
                "SELECT sum(bit_count(present_mask)), sum(bit_count(estimated_mask & present_mask)) "
                f"FROM ({_union(models['int_consumption_current'])})").fetchall()[0])

        basis = run_dir / "basis" / "consumption_after_estimation.parquet"
        settled = settled_actual = settled_estimated = mpans = derived = derived_estimated = None
        by_method: tuple = ()
        if basis.exists():
            kwh = period_columns("kwh")
            present = " + ".join(f"({c} IS NOT NULL)::BIGINT" for c in kwh)
            actual = " + ".join(f"({c} IS NOT NULL AND (estimated_mask >> {p}) & 1 = 0)::BIGINT"
                                for p, c in enumerate(kwh, start=1))
            row = con.execute(
                f"SELECT count(*), sum({present}), sum({actual}), sum(bit_count(estimated_mask)), "
                "sum(bit_count(register_read_mask)), sum(bit_count(register_read_mask & estimated_mask)), "
                + ", ".join(f"sum(bit_count({m}_mask))" for m in ESTIMATION_METHODS)
                + f" FROM read_parquet('{basis}')").fetchall()[0]
            mpans, settled, settled_actual, settled_estimated, derived, derived_estimated, *methods = (
                int(v or 0) for v in row)
            by_method = tuple((m, n) for m, n in zip(ESTIMATION_METHODS, methods))
    finally:
        con.close()

    result = Reconciliation(settlement_date=day, files=files, submissions=submissions, mpans=mpans)
    estimated_here = sum(n for _, n in by_method) if by_method else None
    result.steps = [
        Step("received", "", f"half-hourly values received in the {files:,} landing files that delivered this day",
             received, "ingestion log: rows in"),
        Step("refused_at_ingestion", "-", "refused at ingestion", refused_ingestion,
             "ingestion log: rows quarantined, by reason", tuple(sorted(by_reason.items(), key=lambda i: (-i[1], i[0])))),
        Step("other_days", "-", "accepted for other settlement dates (in the same files)", other_days,
             "lake: consumption submissions of those files"),
        Step("accepted", "=", f"accepted into the lake for this day ({submissions:,} MPAN-day submissions)", accepted,
             "lake: consumption submissions of the day in the run's landing files"),
        Step("refused_at_settlement", "-", "refused at settlement", refused_settlement,
             "the run's quarantine (quarantine.parquet), by reason" if refused_file
             else "dbt: int_consumption_refused, by reason (the run stopped before its quarantine was written)",
             refused_by_reason),
        Step("superseded", "-", "superseded by a later submission of the same MPAN, quantity and period",
             superseded, "dbt: int_consumption_checked (accepted values of restated MPAN-days)"),
        Step("current", "=", "current values (the latest accepted value of each period), settled as received",
             current, "dbt: int_consumption_current",
             () if current is None else (("actual (flag A)", current - current_estimated),
                                         ("estimated by the data service (flag E as received)", current_estimated))),
        Step("derived_from_register_reads", "+", "derived from register reads (shaped into half hours)", derived,
             "basis data: consumption after estimation, register_read_mask",
             () if derived is None else (("flagged A", derived - derived_estimated), ("flagged E", derived_estimated))),
        Step("estimated_at_settlement", "+", "estimated at settlement (missing periods of energised MPANs)",
             estimated_here, "basis data: consumption after estimation, method masks", by_method),
        Step("settled", "=", "values settled = actual + estimated", settled,
             "basis data: consumption after estimation (values, estimated_mask)",
             () if settled is None else (("settled as actual (flag A)", settled_actual),
                                         ("settled as estimated (flag E)", settled_estimated))),
    ]

    def check(name: str, expected: int | None, counted: int | None, missing: str, step: str = "") -> None:
        if expected is None or counted is None:
            result.not_checked.append(f"{name}: {missing}")
        else:
            result.checks.append(Check(name, expected, counted, step))

    check("accepted for the day = received - refused at ingestion - accepted for other dates",
          received - refused_ingestion - other_days, accepted, "", "accepted")
    check("ingestion refusals by reason add up", refused_ingestion, sum(by_reason.values()), "")
    if names == files:  # one file per name: the quarantine's rows (named by file) belong to these files alone
        check("quarantined rows of these files = refused at ingestion", refused_ingestion, quarantined, "")
    else:
        result.not_checked.append("quarantined rows of these files: two of them share a name, and the quarantine "
                                  "names rows by file name")
    stopped = "the run stopped before the source was written"
    missing_dbt = "the run's dbt work databases are not there (removed, or the run stopped before the models)"
    check("current = accepted - refused at settlement - superseded",
          None if refused_settlement is None or superseded is None else accepted - refused_settlement - superseded,
          current, missing_dbt if current is None or superseded is None else stopped, "current")
    check("settled = current + derived from register reads + estimated at settlement",
          None if current is None or estimated_here is None or derived is None
          else current + derived + estimated_here, settled,
          stopped if settled is None else missing_dbt, "settled")
    check("estimated (flag E) = estimated by the data service + estimated at settlement + derived flagged E",
          None if current_estimated is None or estimated_here is None or derived_estimated is None
          else current_estimated + estimated_here + derived_estimated,
          settled_estimated, stopped if settled is None else missing_dbt)
    check("settled = actual + estimated", None if settled_actual is None else settled_actual + settled_estimated,
          settled, stopped)
    result.not_checked = [note for note in result.not_checked if not note.endswith(": ")]
    return result
