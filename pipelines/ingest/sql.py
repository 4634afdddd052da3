"""Helpers for ingestion's SQL text. DuckDB binds no parameter where ingestion needs most of its values (a
COPY target, a table function's path inside SQL that later statements reuse as text), so every such value
goes through `literal`, and every column name through `identifier`."""

from pipelines.catalogue.sql_rules import quote_identifier as identifier

__all__ = ["identifier", "literal", "row_count"]


def literal(text: str) -> str:
    """A text as an SQL string literal (a path, a reason's text, a file name)."""
    return "'" + text.replace("'", "''") + "'"


def row_count(con, relation: str) -> int:
    """The rows of a table or view."""
    return con.execute(f"SELECT count(*) FROM {relation}").fetchall()[0][0]
