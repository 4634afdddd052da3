"""Step 4, gather: a consumption file's rows (or one pass of them: passes.py) gathered per MPAN-day
submission in one pass over the rows, then the submission columns checked on the distinct submissions.

Rows are grouped by their submission columns as received (text, or typed Parquet values) and the
settlement date of their period start; those columns are then checked and typed on the distinct submissions
instead of on every row. Here a row is only found refused or not: its reason, the first rule it breaks in
catalogue order, is taken when refused rows are read again (reread.py).
"""

from pipelines import catalogue
from pipelines.catalogue.sql_rules import typed
from pipelines.ingest.check import (
    ValueChecks,
    check_column,
    distinct_values_of,
    refused_table,
    row_checked_columns,
    submission_columns,
    typed_table,
    typed_value,
)
from pipelines.ingest.encoding import NO_PERIODS, packed_row, period_bit
from pipelines.ingest.sql import identifier

# A submission: one data service's values of an MPAN-day sent at one moment. It holds the whole key of the
# consumption dataset but its period, so values of two submissions never meet as duplicates.
SUBMISSION = "t_mpan_core, t_measurement_quantity, settlement_date, t_data_service_id, t_received_at"
GATHERED = "gathered"
SUBMISSION_ROWS = "submission_rows"


def submission_aggregates(kwh: str, quality_flag: str, period: str, row_number: str) -> str:
    """SQL of the aggregates that make a submission of its rows: the periods present as a bit mask, the
    estimated ones as another, the values in a list and, beside it, each value's row number and period
    (encoding.packed_row); the least row number names the submission."""
    return (
        f"count(*) AS period_count, bit_or({period_bit(period)}) AS period_mask, "
        f"bit_or(CASE WHEN {quality_flag} = 'E' THEN {period_bit(period)} ELSE {NO_PERIODS} END) AS estimated_mask, "
        f"list({kwh}) AS kwh_values, list({packed_row(row_number, period)}) AS value_rows, "
        f"min({row_number}) AS first_row"
    )


def pivot(rows: str) -> str:
    """SQL of one row per MPAN-day submission of the accepted rows of checked rows (check.checked_rows)."""
    aggregates = submission_aggregates("t_kwh", "t_quality_flag", "settlement_period", "row_number")
    return f"SELECT {SUBMISSION}, {aggregates} FROM ({rows}) WHERE reason_code IS NULL GROUP BY ALL"


def gather_rows(con, rows: str, checks: ValueChecks, dataset: catalogue.Dataset) -> str:
    """Table gathered: one row per group of rows with the same submission columns as received and the same
    settlement date, unreadable (malformed, or a DIP message fault: no submission columns to gather by) or
    with a refused period value (period_refused), each with its submission aggregates. Returns its name.

    A period start's date, period or refusal, and a kWh text's value or refusal, each come from one lookup
    of the distinct values of step 3 (period_starts, kwh_texts): cheaper than casting every row.
    """
    period_columns = row_checked_columns(dataset)
    names = {n: dataset.columns[n].name for n in range(len(dataset.columns))}
    period_start = next(n for n in period_columns if names[n] == "utc_period_start")
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE period_starts AS SELECT v, NULL::VARCHAR AS reason_code, settlement_date, "
        f"settlement_period FROM {typed_table(period_start)} UNION ALL SELECT v, reason_code, NULL, NULL "
        f"FROM {refused_table(period_start)}"
    )
    kwh_column = dataset.column_names.index("kwh")
    looked_up = {period_start: "y"}  # columns looked up whole (their table's alias), not only for refusals
    if kwh_column in checks.native:
        kwh = typed_value(dataset, checks, kwh_column, "kwh")
    else:
        refused = kwh_column in checks.refused_columns
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE kwh_texts AS SELECT v, {'r.reason_code' if refused else 'NULL::VARCHAR AS reason_code'}, "
            f"{typed(dataset.columns[kwh_column], 'v')} AS typed_value FROM ({distinct_values_of(kwh_column)}) d"
            f"{f' LEFT JOIN {refused_table(kwh_column)} r USING (v)' if refused else ''}"
        )
        looked_up[kwh_column], kwh = "k", "k.typed_value"
    joins = [f"LEFT JOIN {refused_table(n)} r{n} ON {checks.matches(n, f's.{identifier(names[n])}', f'r{n}.v')}"
             for n in period_columns if n in checks.refused_columns and n not in looked_up]
    joins.append(f"LEFT JOIN period_starts y ON {checks.matches(period_start, 's.utc_period_start', 'y.v')}")
    if kwh_column in looked_up:
        joins.append(f"LEFT JOIN kwh_texts k ON {checks.matches(kwh_column, 's.kwh', 'k.v')}")
    period_reasons = [looked_up.get(n, f"r{n}") + ".reason_code" for n in period_columns if n in checks.refused_columns]
    unreadable = "(s.malformed OR s.dip_problem IS NOT NULL)"
    keys = ", ".join(f"CASE WHEN NOT {unreadable} THEN s.{identifier(names[n])} END AS {identifier(names[n])}"
                     for n in submission_columns(dataset))
    quality_flag = typed_value(dataset, checks, dataset.column_names.index("quality_flag"), "quality_flag")
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {GATHERED} AS SELECT {unreadable} AS unreadable, "
        f"NOT {unreadable} AND ({' OR '.join(f'{r} IS NOT NULL' for r in period_reasons) or 'false'}) AS period_refused, "
        f"{keys}, y.settlement_date, {submission_aggregates(kwh, quality_flag, 'y.settlement_period', 's.row_number')} "
        f"FROM ({rows}) s {' '.join(joins)} GROUP BY ALL"
    )
    return GATHERED


def check_submissions(con, gathered: str, checks: ValueChecks, dataset: catalogue.Dataset) -> str:
    """View submission_rows: the gathered groups with their submission columns checked (on their distinct
    values) and typed as t_<name>, and whether the group is `refused` (unreadable, a refused period value or
    a refused submission column). Returns its name."""
    columns = submission_columns(dataset)
    for n in columns:
        column = identifier(dataset.columns[n].name)
        check_column(con, checks, dataset, n, f"SELECT DISTINCT {checks.value(n, column)} AS v FROM {gathered} WHERE NOT unreadable")
    joins, reasons, typed_columns = [], ["NULL::VARCHAR"], []
    for n in columns:
        item = dataset.columns[n]
        column = f"g.{identifier(item.name)}"
        if n in checks.refused_columns:
            joins.append(f"LEFT JOIN {refused_table(n)} r{n} ON {checks.matches(n, column, f'r{n}.v')}")
            reasons.append(f"r{n}.reason_code")
        if item.type in ("date", "timestamp"):
            joins.append(f"LEFT JOIN {typed_table(n)} y{n} ON {column} = y{n}.v")
            typed_columns.append(f"y{n}.typed_value AS t_{item.name}")
        else:
            typed_columns.append(f"{typed_value(dataset, checks, n, column)} AS t_{item.name}")
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW {SUBMISSION_ROWS} AS SELECT g.unreadable OR g.period_refused "
        f"OR coalesce({', '.join(reasons)}) IS NOT NULL AS refused, "
        f"{', '.join(typed_columns)}, g.settlement_date, g.period_count, g.period_mask, g.estimated_mask, g.kwh_values, "
        f"g.value_rows, g.first_row FROM {gathered} g {' '.join(joins)}"
    )
    return SUBMISSION_ROWS
