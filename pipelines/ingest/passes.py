"""Step 4's passes: a consumption file too large to gather within DuckDB's memory limit is gathered in
several passes, each taking the MPANs whose hash falls in it (source.MpanPass), so that a national day is
gathered without spilling its aggregation to disk. Each pass writes its own lake file."""

from pipelines import catalogue
from pipelines.core.resources import memory_limit_bytes
from pipelines.ingest.check import check_tables, submission_columns
from pipelines.ingest.source import MpanPass, Source, padded

# Memory a consumption row takes while gathered, at most (measured: docs/benchmarks.md, "Ingestion design
# notes"). Tests lower the memory limit and raise this to gather a small file in many passes.
GATHER_BYTES_PER_ROW = 60


def split_into_passes(con, source: Source, rows_in: int) -> list[str]:
    """SQL of the file's rows as one or more passes: as many as keep each pass's gathered submissions within
    the connection's memory limit. An MPAN written with surrounding blanks is the same MPAN: only when the
    file holds one is the text trimmed before it is hashed (that costs as much as the hash)."""
    limit = con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
    passes = max(1, -(-rows_in * GATHER_BYTES_PER_ROW // memory_limit_bytes(limit)))
    if passes == 1:
        return [source.sql()]
    trim = bool(con.execute(f"SELECT count(*) FROM ({source.sql()}) WHERE {padded(source.mpan)}").fetchall()[0][0])
    return [source.sql(mpan_pass=MpanPass(passes, number, trim)) for number in range(passes)]


def keep_pass_checks(con, dataset: catalogue.Dataset, number: int) -> None:
    """Adds pass `number`'s checks of the submission columns (refused_<n>, typed_<n>) to kept_<table>: each
    pass checks only its own submissions' columns, and the rows read again after the last pass need every
    pass's."""
    for table in check_tables(dataset, submission_columns(dataset)):
        verb = f"CREATE OR REPLACE TEMP TABLE kept_{table} AS" if number == 0 else f"INSERT INTO kept_{table}"
        con.execute(f"{verb} SELECT * FROM {table}")


def restore_every_pass_checks(con, dataset: catalogue.Dataset) -> None:
    """The checks' tables of the submission columns made again from every pass's (keep_pass_checks)."""
    for table in check_tables(dataset, submission_columns(dataset)):
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT DISTINCT * FROM kept_{table}")
