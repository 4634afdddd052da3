"""Step 6's lake write: outputs go to the file's staging folder (lake/.staging/), to be moved into place by
the commit (commit.py). Consumption is written one Parquet file per settlement date, one row per MPAN-day
submission with its values in 50 period columns; the datasets checked row by row one file per folder of their
LAKE_PARTITIONS (registrations per snapshot date, registration updates per UTC date of updated_at, register
reads per month of read_end_date)."""

from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

from pipelines import catalogue
from pipelines.ingest.encoding import lacks_period, period_of, periods_of
from pipelines.ingest.identify import Content, file_id
from pipelines.ingest.sql import identifier, literal, row_count
from pipelines.reference.lake import CONSUMPTION_PERIOD_SLOTS


def _period_value(p: int) -> str:
    """SQL of period p's value (kwh_<pp>) of a submission (gather.submission_aggregates), over columns `shift`
    and `periods` (write_consumption).

    A submission's values usually come in period order from its first period: then period p's value is at
    position p + shift (shift = 1 - the first period), found without a search. Only a period present out of
    that order is searched for: in the periods listed once (`periods`) for a submission that does not begin
    at period 1 (mostly a restatement), else in its periods listed for that value alone.
    """
    at = f"{p} + shift"
    return (f"CASE WHEN {period_of(f'value_rows[{at}]')} = {p} THEN kwh_values[{at}] WHEN {lacks_period('period_mask', str(p))} "
            f"THEN NULL WHEN periods IS NOT NULL THEN kwh_values[list_position(periods, {p})] "
            f"ELSE kwh_values[list_position({periods_of('value_rows')}, {p})] END AS kwh_{p:02d}")


def write_consumption(con, submissions: str, dates_of: str, staging: Path, content: "Future[Content]", source_file: str,
                      part: str) -> int:
    """The relation `submissions` into one lake file per settlement date, named with the pass's `part`;
    returns the rows (periods) accepted, counted in the files written. The dates are looked up in the table
    `dates_of` the submissions were gathered in (a view of submissions is costly to evaluate; a date left
    with no submission gives no file)."""
    sha = content.result().sha256
    kwh = ", ".join(_period_value(p) for p in range(1, CONSUMPTION_PERIOD_SLOTS + 1))
    first_period = period_of("value_rows[1]")
    dates = con.execute(f"SELECT DISTINCT settlement_date FROM {dates_of} WHERE settlement_date IS NOT NULL ORDER BY 1").fetchall()
    files = []
    for (settlement_date,) in dates:
        target = staging / "consumption" / f"settlement_date={settlement_date.isoformat()}" / f"{file_id(sha)}{part}.parquet"
        target.parent.mkdir(parents=True, exist_ok=True)
        written = con.execute(
            "COPY (SELECT t_mpan_core AS mpan_core, t_measurement_quantity AS measurement_quantity, "
            "t_data_service_id AS data_service_id, t_received_at AS received_at, period_count::SMALLINT AS period_count, "
            f"estimated_mask, {kwh}, {literal(sha)} AS file_sha256, {literal(source_file)} AS source_file "
            f"FROM (SELECT *, 1 - {first_period} AS shift, CASE WHEN {first_period} <> 1 THEN {periods_of('value_rows')} END AS periods "
            f"FROM {submissions} "
            f"WHERE settlement_date = DATE {literal(settlement_date.isoformat())}) "
            "ORDER BY mpan_core, measurement_quantity, received_at, data_service_id) "
            f"TO {literal(str(target))} (FORMAT parquet)"
        ).fetchall()[0][0]
        if written:
            files.append(target)
        else:
            target.unlink()
    if not files:
        return 0
    return con.execute(f"SELECT sum(period_count) FROM read_parquet([{', '.join(literal(str(f)) for f in files)}])").fetchall()[0][0]


@dataclass(frozen=True)
class LakePartition:
    """How a dataset checked row by row is laid out in the lake: one folder `<name>=<value>` per value of `sql`
    (over the typed columns t_<name>); `in_file`: whether the files hold the partition column too."""

    name: str
    sql: str
    in_file: bool


# The lake folders of the datasets checked row by row (docs/ingestion.md, "The lake"):
#   registrations          snapshot_date=D      the snapshot a row came in (a column of the rows)
#   registration_updates   updated_date=D       the UTC date of updated_at (a run reads every update: the folders
#                                               only keep each folder small and say when updates came)
#   register_reads         read_end_month=YYYY-MM   the month of read_end_date: a read holding settlement date D
#                                               ends between D and D + 30 days (READ_LONGER_THAN_A_MONTH), so a
#                                               run reads two folders at most (stg_lake__register_reads)
LAKE_PARTITIONS = {
    "registrations": LakePartition("snapshot_date", "t_snapshot_date", in_file=True),
    "registration_updates": LakePartition("updated_date", "timezone('UTC', t_updated_at)::DATE", in_file=False),
    "register_reads": LakePartition("read_end_month", "strftime(t_read_end_date, '%Y-%m')", in_file=False),
}


def write_rows(con, accepted: str, dataset: catalogue.Dataset, partition: LakePartition, staging: Path,
               content: "Future[Content]", source_file: str) -> int:
    """The accepted rows (typed columns t_<name>) into one lake file per partition value, in row order; returns
    the rows written."""
    columns = ", ".join(f"t_{c} AS {identifier(c)}" for c in dataset.column_names)
    sha = content.result().sha256
    folder = "" if partition.in_file else f", {partition.sql} AS {identifier(partition.name)}"
    rows = (f"SELECT {columns}, row_number, {literal(sha)} AS file_sha256, {literal(source_file)} AS source_file{folder} "
            f"FROM {accepted}")
    values = con.execute(f"SELECT DISTINCT ({partition.sql})::VARCHAR FROM {accepted}").fetchall()
    if len(values) == 1:
        # one partition, as a snapshot file usually is: a plain COPY into its folder costs less than a
        # partitioned COPY
        target = staging / dataset.name / f"{partition.name}={values[0][0]}" / f"{file_id(sha)}_0.parquet"
        target.parent.mkdir(parents=True)
        written = f"SELECT * EXCLUDE ({identifier(partition.name)}) FROM ({rows})" if folder else rows
        con.execute(f"COPY ({written} ORDER BY row_number) TO {literal(str(target))} (FORMAT parquet)")
    elif values:
        con.execute(
            f"COPY ({rows} ORDER BY row_number) TO {literal(str(staging / dataset.name))} "
            f"(FORMAT parquet, PARTITION_BY ({identifier(partition.name)}), WRITE_PARTITION_COLUMNS {str(partition.in_file).lower()}, "
            f"FILENAME_PATTERN '{file_id(sha)}_{{i}}')"
        )
    return row_count(con, accepted)
