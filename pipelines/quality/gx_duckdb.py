"""Great Expectations on DuckDB, with every metric computed inside DuckDB (no data is loaded into pandas).

GX 1.24's SQL execution engine fetches each metric query's rows after handing its connection back to the
pool. duckdb-engine keeps a DuckDB result only until the next statement on that connection, so GX reads an
empty result ("IndexError: list index out of range", ARCHITECTURE.md's known trap). This dialect buffers
every result as the query returns, and tells GX it speaks PostgreSQL, whose SQL (the `~` regular expression
operator included) DuckDB accepts, so GX uses its PostgreSQL metric SQL instead of refusing regexes.

Connection URL: `duckdb+gx:///path/to/file.duckdb`.
"""

import duckdb_engine
from sqlalchemy.dialects import registry
from sqlalchemy.engine import cursor

URL_SCHEME = "duckdb+gx"


class BufferedExecutionContext(duckdb_engine.Dialect.execution_ctx_cls):
    @property
    def cursor_fetch_strategy(self):
        if self.cursor.description is None:
            return cursor._DEFAULT_FETCH
        return cursor.FullyBufferedCursorFetchStrategy(self.cursor)


class GreatExpectationsDuckDBDialect(duckdb_engine.Dialect):
    name = "postgresql"
    supports_statement_cache = True
    execution_ctx_cls = BufferedExecutionContext


registry.register(URL_SCHEME.replace("+", "."), __name__, "GreatExpectationsDuckDBDialect")


def connection_string(database) -> str:
    return f"{URL_SCHEME}:///{database}"
