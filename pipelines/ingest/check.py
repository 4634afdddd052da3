"""Step 3, check in bulk: the data catalogue's rules (pipelines.catalogue.sql_rules) run on each column's
distinct values, which are few beside the rows (a day's period starts against its tens of millions of
rows), giving per column a small table of refused values and, for a date or timestamp, one of typed values.
Rows then only probe those tables. A row is refused for the first rule it breaks, in catalogue column order.

A consumption column that is the same for every period of a submission is checked once per submission
instead, after the rows are gathered (gather.check_submissions).
"""

from dataclasses import dataclass

from pipelines import catalogue
from pipelines.catalogue.sql_rules import rules_for, sql_type, typed
from pipelines.ingest.source import Source
from pipelines.ingest.sql import identifier
from pipelines.reference.lake import LONDON

# The longest interval a register read may cover, in days (both ends inclusive).
MAX_READ_DAYS = 31
# The consumption columns that vary between the periods of one MPAN-day submission.
PERIOD_COLUMNS = ("utc_period_start", "kwh", "quality_flag")
DISTINCT_VALUES = "distinct_values"


def refused_table(n: int) -> str:
    """The table of column n's refused values (v) with their reason_code."""
    return f"refused_{n}"


def typed_table(n: int) -> str:
    """The table of a date or timestamp column n's accepted values (v) with their typed_value (and for a
    period start, its settlement_date and settlement_period: _derived_sql)."""
    return f"typed_{n}"


def distinct_values_of(n: int) -> str:
    """SQL of column n's distinct values (v) in the table check_values makes."""
    return f"SELECT c{n} AS v FROM {DISTINCT_VALUES} WHERE g{n} = 0"


def row_checked_columns(dataset: catalogue.Dataset) -> list[int]:
    """Columns checked on every row's distinct values: for consumption, the columns that vary within a
    submission; for registrations, every column."""
    if dataset.name == "consumption":
        return [n for n, item in enumerate(dataset.columns) if item.name in PERIOD_COLUMNS]
    return list(range(len(dataset.columns)))


def submission_columns(dataset: catalogue.Dataset) -> list[int]:
    """Columns checked on the distinct gathered submissions (gather.check_submissions)."""
    period_columns = row_checked_columns(dataset)
    return [n for n in range(len(dataset.columns)) if n not in period_columns]


def check_tables(dataset: catalogue.Dataset, columns: list[int]) -> list[str]:
    """The tables check_column makes for these columns: refused_<n>, and typed_<n> for a date or timestamp."""
    tables = []
    for n in columns:
        tables.append(refused_table(n))
        if dataset.columns[n].type in ("date", "timestamp"):
            tables.append(typed_table(n))
    return tables


def _derived_sql(dataset: catalogue.Dataset, item: catalogue.Item) -> str:
    """Columns derived from a typed value, computed once per distinct value: the local settlement date
    and period of a UTC period start (DOMAIN.md section 4)."""
    if (dataset.name, item.name) != ("consumption", "utc_period_start"):
        return ""
    local_date = f"timezone('{LONDON}', typed_value)::DATE"
    return (
        f", {local_date} AS settlement_date, (1 + (epoch(typed_value) - "
        f"epoch(timezone('{LONDON}', {local_date}::TIMESTAMP)))::BIGINT // 1800)::UTINYINT AS settlement_period"
    )


@dataclass
class ValueChecks:
    rows_in: int
    refused_columns: set[int]  # columns with at least one refused value
    padded_columns: set[int]  # text columns with a value that has surrounding blanks
    native: dict[int, str]  # columns the source reads in their own type (index: DuckDB type), not as text

    def value(self, n: int, column: str) -> str:
        """SQL of the value column n is checked and matched by: its text (NULL as ''), or a native value."""
        return column if n in self.native else f"coalesce({column}, '')"

    def matches(self, n: int, column: str, value: str) -> str:
        """SQL matching a row's column n to a `value` of its checks' tables (refused_<n>, typed_<n>)."""
        return f"{column} IS NOT DISTINCT FROM {value}" if n in self.native else f"coalesce({column}, '') = {value}"


def check_values(con, source: Source, dataset: catalogue.Dataset) -> ValueChecks:
    """Rows in, and the checks (check_column) of the row-checked columns on their distinct values, found in
    one pass over the rows into the table distinct_values (column c<n> holds column n's values where the
    grouping flag g<n> is 0); the other columns are checked later, on distinct values of a smaller table."""
    columns = row_checked_columns(dataset)
    checks = ValueChecks(0, set(), set(), source.native)
    values = ", ".join(f"{checks.value(n, identifier(dataset.columns[n].name))} AS c{n}" for n in columns)
    flags = ", ".join(f"grouping(c{n}) AS g{n}" for n in columns)
    sets = ", ".join(f"(c{n})" for n in columns)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {DISTINCT_VALUES} AS SELECT *, count(*) AS occurrences, {flags} "
        f"FROM (SELECT {values} FROM ({source.sql()})) GROUP BY GROUPING SETS ({sets})"
    )
    # each row holds one value of every column: the occurrences of one column's values add up to the rows
    checks.rows_in = con.execute(
        f"SELECT coalesce(sum(occurrences), 0) FROM {DISTINCT_VALUES} WHERE g{columns[0]} = 0"
    ).fetchall()[0][0]
    for n in columns:
        check_column(con, checks, dataset, n, distinct_values_of(n))
    return checks


def check_column(con, checks: ValueChecks, dataset: catalogue.Dataset, n: int, distinct_values: str) -> str:
    """Table refused_<n> (refused values of column n with their reason) and, for a date or timestamp
    column, typed_<n> (typed value of every accepted distinct value), from SQL of its distinct values v
    (checks.value: text, or a native value, whose text the rules read). Returns refused_<n>."""
    item = dataset.columns[n]
    cases = " ".join(f"WHEN {rule.broken_when} THEN '{rule.reason_code}'" for rule in rules_for(item, "trimmed", trimmed=True))
    reason = f"CASE {cases} END" if cases else "NULL::VARCHAR"
    text = "coalesce(CAST(v AS VARCHAR), '')" if n in checks.native else "v"
    checked, refused = f"distinct_{n}", refused_table(n)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {checked} AS SELECT v, text, {reason} AS reason_code FROM ("
        f"SELECT v, text, NULLIF(TRIM(text), '') AS trimmed FROM (SELECT v, {text} AS text FROM ({distinct_values})))"
    )
    con.execute(f"CREATE OR REPLACE TEMP TABLE {refused} AS SELECT v, reason_code FROM {checked} WHERE reason_code IS NOT NULL")
    refused_count, padded = con.execute(
        f"SELECT (SELECT count(*) FROM {refused}), (SELECT count(*) FROM {checked} WHERE text <> trim(text))"
    ).fetchall()[0]
    if refused_count:
        checks.refused_columns.add(n)
    if padded:
        checks.padded_columns.add(n)
    if item.type in ("date", "timestamp"):
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {typed_table(n)} AS SELECT *{_derived_sql(dataset, item)} FROM ("
            f"SELECT v, {typed(item, 'text')} AS typed_value FROM {checked} WHERE reason_code IS NULL)"
        )
    con.execute(f"DROP TABLE {checked}")
    return refused


def typed_value(dataset: catalogue.Dataset, checks: ValueChecks, n: int, column: str) -> str:
    """SQL of the typed value of a column that is not a date or timestamp (those are looked up in typed_<n>).
    Text is trimmed only in a column that has padded values: on clean data a row costs no more than its cast."""
    item = dataset.columns[n]
    if checks.native.get(n) == sql_type(item):
        return column
    if n in checks.native:
        return f"TRY_CAST(NULLIF(TRIM(CAST({column} AS VARCHAR)), '') AS {sql_type(item)})"
    if n in checks.padded_columns:
        return typed(item)
    if item.type == "string":
        return f"NULLIF({column}, '')"
    return f"TRY_CAST(NULLIF({column}, '') AS {sql_type(item)})"


def _cross_column_rules(dataset: catalogue.Dataset) -> list[tuple[str, str]]:
    """Rules across columns, as (reason code, SQL over the typed columns t_<name>), checked after every column's
    own rules, in this order."""
    if dataset.name in ("registrations", "registration_updates"):
        # an update with its end before its start cannot be applied: refused here, never reaching settlement
        return [("EFFECTIVE_TO_BEFORE_FROM", "t_effective_to_date < t_effective_from_date")]
    if dataset.name == "register_reads":
        return [("READ_END_BEFORE_START", "t_read_end_date < t_read_start_date"),
                # at most 31 days, one calendar month at the longest; stg_lake__register_reads relies on it to
                # read the lake folders of two months only
                ("READ_LONGER_THAN_A_MONTH", f"t_read_end_date - t_read_start_date > {MAX_READ_DAYS - 1}")]
    return []


def checked_rows(dataset: catalogue.Dataset, rows: str, checks: ValueChecks) -> str:
    """SQL of every row of `rows` with its reason_code (NULL = accepted: the first rule it breaks, in
    catalogue order) and every column typed as t_<name>. Only columns with a refused value are joined to
    their refused values."""
    joins, reasons, typed_columns = [], ["NULL::VARCHAR"], []
    for n, item in enumerate(dataset.columns):
        column = f"s.{identifier(item.name)}"
        if n in checks.refused_columns:
            joins.append(f"LEFT JOIN {refused_table(n)} r{n} ON {checks.matches(n, column, f'r{n}.v')}")
            reasons.append(f"r{n}.reason_code")
        if item.type in ("date", "timestamp"):
            joins.append(f"LEFT JOIN {typed_table(n)} y{n} ON {column} = y{n}.v")
            typed_columns.append(f"y{n}.typed_value AS t_{item.name}")
            if _derived_sql(dataset, item):
                typed_columns.append(f"y{n}.settlement_date, y{n}.settlement_period")
        else:
            typed_columns.append(f"{typed_value(dataset, checks, n, column)} AS t_{item.name}")
    typed_sql = "".join(", " + column for column in typed_columns)
    checked = (
        f"SELECT s.row_number, s.raw_record, CASE WHEN s.malformed THEN 'MALFORMED_ROW' "
        f"ELSE coalesce(s.dip_problem, {', '.join(reasons)}) END AS reason_code{typed_sql} "
        f"FROM ({rows}) s {' '.join(joins)}"
    )
    cross = _cross_column_rules(dataset)
    if not cross:
        return checked
    cases = " ".join(f"WHEN {sql} THEN '{code}'" for code, sql in cross)
    return f"SELECT * REPLACE (coalesce(reason_code, CASE {cases} END) AS reason_code) FROM ({checked})"
