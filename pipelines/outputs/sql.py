"""`mhhs sql "SELECT ..."`: analysts' read-only queries of the warehouse.

Three independent guards, so a mistake in one still leaves the data safe:
  * only SELECT statements are accepted (DuckDB's own parser gives each statement's type);
  * the warehouse is opened read-only, so DuckDB refuses any write to it;
  * file access is limited to the lake and the settlement runs (what the views read: DATA_DIR/lake/ and
    DATA_DIR/runs/, and `lake/` and `runs/` as the views name them, relative to the data directory, the
    connection's file_search_path), and the configuration is locked, so a query can neither read other files
    nor write any.
No lock: a refresh of the views renames a new warehouse file over the one a query has open
(pipelines.outputs.warehouse).
"""

from pathlib import Path

import duckdb
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from pipelines.core.errors import UsageError
from pipelines.core.tables import draw
from pipelines.reference.lake import Lake

DEFAULT_MAX_ROWS = 40


class QueryRefused(UsageError):
    """A query `mhhs sql` does not run (not one SELECT), or that DuckDB refused: a usage error."""


def connect_read_only(lake: Lake) -> duckdb.DuckDBPyConnection:
    if not lake.warehouse.exists():
        raise UsageError(f"no warehouse at {lake.warehouse}; run `mhhs ingest` first")
    con = duckdb.connect(str(lake.warehouse), read_only=True,
                         config={"autoinstall_known_extensions": False, "autoload_known_extensions": False,
                                 "file_search_path": str(lake.data_dir)})
    allowed = ", ".join(f"'{path}/'" for path in (lake.root, lake.data_dir / "runs", "lake", "runs"))
    # allowed_directories can only be set once the database is open, and before external access is off.
    con.execute(f"SET allowed_directories = [{allowed}]")
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    return con


def _only_selects(con: duckdb.DuckDBPyConnection, query: str) -> None:
    try:
        statements = con.extract_statements(query)
    except duckdb.Error as error:
        raise QueryRefused(f"the query does not parse: {_first_line(error)}") from None
    if not statements:
        raise QueryRefused("no statement given")
    for statement in statements:
        if statement.type != duckdb.StatementType.SELECT:
            kind = str(statement.type).rsplit(".", 1)[-1]
            raise QueryRefused(f"only SELECT queries are allowed; refused a {kind} statement, nothing was run")
    if len(statements) > 1:
        raise QueryRefused("give one SELECT query at a time")


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def query(data_dir: Path, sql: str, csv_file: Path | None = None, parquet_file: Path | None = None,
          max_rows: int = DEFAULT_MAX_ROWS) -> str:
    """Run one SELECT; write it to the files asked for and return its first `max_rows` rows drawn as a table
    by DuckDB (pipelines.core.tables.draw), with the row count."""
    lake = Lake(data_dir)
    con = connect_read_only(lake)
    try:
        _only_selects(con, sql)
        try:
            table = con.sql(sql).to_arrow_table()
        except duckdb.Error as error:
            raise QueryRefused(f"the query failed: {_first_line(error)}") from None
    finally:
        con.close()
    # The outputs are written by this process, not by DuckDB, which may not write files at all.
    for path, write in ((csv_file, pa_csv.write_csv), (parquet_file, pq.write_table)):
        if path:
            try:
                write(table, str(path))
            except OSError as error:
                raise UsageError(f"cannot write {path}: {error.strerror or error}") from None
    return draw(table, max_rows)
