"""Step 5, look again at the few: the refused rows and the suspected repeats of every pass, read again
together, once, with their raw records (fetched by their row ids: source.RowIds), and checked one by one.

A key sent twice in the same file (consumption: MPAN, quantity, UTC period, data service and received_at)
shows as a period held twice within a submission (encoding.repeats_a_period). Only the rows of those periods
are suspects; the submission's other periods are known from its lists and are kept. Each suspect submission
is then mended: the rows that went to quarantine leave its lists, and its masks follow the rows kept. Two
submissions with the same typed columns are one submission written two ways (e.g. a padded MPAN): all their
rows are suspects, gathered again by their typed values. Submissions of two data services never make
suspects: their values never conflict (duplicates.VALUE_COLUMNS), whatever periods they share.
"""

from dataclasses import dataclass
from pathlib import Path

from pipelines import catalogue
from pipelines.ingest.check import ValueChecks, checked_rows
from pipelines.ingest.duplicates import find_duplicates
from pipelines.ingest.encoding import (
    NO_PERIODS,
    holds_period,
    mask_of,
    period_of,
    periods_of,
    repeats_a_period,
    row_number_of,
    row_numbers_of,
)
from pipelines.ingest.gather import SUBMISSION, pivot
from pipelines.ingest.quarantine import quarantine_duplicates, quarantine_refused_rows
from pipelines.ingest.source import Source
from pipelines.ingest.sql import row_count

ACCEPTED_SUBMISSIONS = "accepted_submissions"
CLEAN_SUBMISSIONS = "clean_submissions"
REREAD, REGATHERED = "reread", "regathered"


@dataclass(frozen=True)
class Rereads:
    """What every pass adds to, for the one read again after the last pass (reread)."""

    rows: str = "reread_numbers"  # row_number: refused rows and suspects
    suspects: str = "suspect_numbers"  # row_number, first_row: suspects, with the submission they were gathered in
    submissions: str = "suspect_submissions"  # the suspect submissions, with suspect_mask and `whole`


def start_rereads(con) -> Rereads:
    rereads = Rereads()
    con.execute(f"CREATE OR REPLACE TEMP TABLE {rereads.suspects} (row_number BIGINT, first_row BIGINT)")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {rereads.rows} (row_number BIGINT)")
    return rereads


def find_suspects(con, submission_rows: str, rereads: Rereads, number: int) -> str:
    """Adds a gathered pass's refused rows and suspects to `rereads`; returns the view of its accepted
    submissions with no suspect among their rows (clean_submissions), which can be written as they are.
    A submission is known by its first row number."""
    con.execute(f"CREATE OR REPLACE TEMP VIEW {ACCEPTED_SUBMISSIONS} AS SELECT * EXCLUDE (refused) FROM {submission_rows} WHERE NOT refused")
    sorted_repeats = "list_filter(sorted, lambda p, i: i > 1 AND p = sorted[i - 1])"  # equal neighbours: a period held twice
    con.execute(
        "CREATE OR REPLACE TEMP TABLE pass_suspect_groups AS "
        # one submission written two ways: every row of each is a suspect
        f"WITH written_two_ways AS (SELECT first_row, {NO_PERIODS} AS suspect_mask, true AS whole FROM {ACCEPTED_SUBMISSIONS} "
        f"SEMI JOIN (SELECT {SUBMISSION} FROM {ACCEPTED_SUBMISSIONS} GROUP BY ALL HAVING count(*) > 1) USING ({SUBMISSION})), "
        # periods held twice within one submission: only their rows are suspects
        f"repeated AS (SELECT first_row, {mask_of(sorted_repeats)} AS suspect_mask, false AS whole FROM ("
        f"SELECT first_row, list_sort({periods_of('value_rows')}) AS sorted FROM {ACCEPTED_SUBMISSIONS} "
        f"WHERE {repeats_a_period('period_mask', 'period_count')})) "
        "SELECT first_row, bit_or(suspect_mask) AS suspect_mask, bool_or(whole) AS whole "
        "FROM (SELECT * FROM written_two_ways UNION ALL SELECT * FROM repeated) GROUP BY first_row "
        "HAVING bit_or(suspect_mask) <> 0 OR bool_or(whole)"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE pass_suspect_submissions AS SELECT s.*, g.suspect_mask, g.whole "
        f"FROM {ACCEPTED_SUBMISSIONS} s JOIN pass_suspect_groups g USING (first_row)"
    )
    period = f"{period_of('v')}::UTINYINT"
    suspect_values = f"CASE WHEN whole THEN value_rows ELSE list_filter(value_rows, lambda v: {holds_period('suspect_mask', period)}) END"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE pass_suspects AS SELECT unnest({row_numbers_of(suspect_values)}) AS row_number, "
        "first_row FROM pass_suspect_submissions"
    )
    verb = f"CREATE OR REPLACE TEMP TABLE {rereads.submissions} AS" if number == 0 else f"INSERT INTO {rereads.submissions}"
    con.execute(f"{verb} SELECT * FROM pass_suspect_submissions")
    con.execute(f"INSERT INTO {rereads.suspects} SELECT row_number, first_row FROM pass_suspects")
    con.execute(
        f"INSERT INTO {rereads.rows} SELECT unnest({row_numbers_of('value_rows')}) FROM {submission_rows} WHERE refused "
        "UNION ALL SELECT row_number FROM pass_suspects"
    )
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW {CLEAN_SUBMISSIONS} AS SELECT * FROM {ACCEPTED_SUBMISSIONS} "
        "WHERE first_row NOT IN (SELECT first_row FROM pass_suspect_groups)"
    )
    return CLEAN_SUBMISSIONS


def reread(con, source: Source, checks: ValueChecks, dataset: catalogue.Dataset, rereads: Rereads, staging: Path,
           source_file: str) -> str | None:
    """Checks the rows of `rereads` one by one into quarantine, tells the suspects' repeats apart and returns
    table regathered: the suspect submissions without their repeats (None when there is no suspect).
    The checks' tables must hold every pass's submission columns (passes.restore_every_pass_checks)."""
    if not row_count(con, rereads.rows):
        return None
    # one read of the file gives the refused rows, the suspects and the raw records of both
    con.execute(f"CREATE OR REPLACE TEMP TABLE {REREAD} AS {checked_rows(dataset, source.sql(only_rows=rereads.rows), checks)}")
    if con.execute(f"SELECT count(*) FROM {REREAD} WHERE reason_code IS NOT NULL").fetchall()[0][0]:
        quarantine_refused_rows(con, f"SELECT * FROM {REREAD}", dataset, source_file, staging)
    if not row_count(con, rereads.suspects):
        return None
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE suspect_rows AS SELECT r.* EXCLUDE (raw_record), n.first_row FROM {REREAD} r "
        f"JOIN {rereads.suspects} n USING (row_number) WHERE r.reason_code IS NULL"
    )
    duplicates = find_duplicates(con, "SELECT * FROM suspect_rows", dataset)
    if row_count(con, duplicates):
        quarantine_duplicates(con, duplicates, f"SELECT row_number, raw_record FROM {REREAD}", source_file, staging)
    written_two_ways = pivot(
        f"SELECT * FROM suspect_rows WHERE first_row IN (SELECT first_row FROM {rereads.submissions} WHERE whole) "
        f"AND row_number NOT IN (SELECT row_number FROM {duplicates})"
    )
    con.execute(f"CREATE OR REPLACE TEMP TABLE {REGATHERED} AS {written_two_ways} UNION ALL BY NAME {_mended(rereads, duplicates)}")
    return REGATHERED


def _mended(rereads: Rereads, duplicates: str) -> str:
    """SQL of the suspect submissions with one period repeated (not written two ways) without the rows that
    went to quarantine: each keeps the positions (`kept`) of every row that is not a repeat, and its lists,
    first row, count and masks follow the rows kept."""
    return (
        "SELECT * EXCLUDE (suspect_mask, whole, kept, removed, kept_rows, kept_mask) REPLACE ("
        f"list_select(kwh_values, kept) AS kwh_values, kept_rows AS value_rows, {row_number_of('list_min(kept_rows)')} AS first_row, "
        "len(kept) AS period_count, kept_mask AS period_mask, estimated_mask & kept_mask AS estimated_mask) "
        f"FROM (SELECT *, {mask_of(periods_of('kept_rows'))} AS kept_mask "
        "FROM (SELECT *, list_select(value_rows, kept) AS kept_rows FROM (SELECT *, list_filter(range(1, len(value_rows) + 1), "
        f"lambda i: NOT list_contains(coalesce(removed, []), {row_number_of('value_rows[i]')})) AS kept FROM {rereads.submissions} "
        f"LEFT JOIN (SELECT first_row, list(row_number) AS removed FROM suspect_rows SEMI JOIN {duplicates} USING (row_number) "
        "GROUP BY ALL) USING (first_row) WHERE NOT whole) WHERE len(kept) > 0))"
    )
