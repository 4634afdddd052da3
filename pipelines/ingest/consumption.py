"""Steps 4 to 6 for a consumption file: its rows gathered per MPAN-day submission (in passes when large),
the few suspects and refused rows read again, and the submissions written to the lake."""

from concurrent.futures import Future
from pathlib import Path

from pipelines import catalogue
from pipelines.ingest.check import ValueChecks
from pipelines.ingest.gather import check_submissions, gather_rows
from pipelines.ingest.identify import Content
from pipelines.ingest.passes import keep_pass_checks, restore_every_pass_checks, split_into_passes
from pipelines.ingest.reread import find_suspects, reread, start_rereads
from pipelines.ingest.source import Source
from pipelines.ingest.write import write_consumption


def ingest_consumption(con, source: Source, checks: ValueChecks, dataset: catalogue.Dataset, staging: Path,
                       content: "Future[Content]", source_file: str) -> int:
    """The file's accepted submissions into the lake (staging), its refused rows into quarantine parts;
    returns the rows accepted.

    A file gathered in one pass is written once its suspects are mended. A file gathered in several passes
    writes each pass's clean submissions as soon as they are gathered (the next pass replaces them), and
    the mended suspects of every pass in one more lake file.
    """
    passes = split_into_passes(con, source, checks.rows_in)
    rereads = start_rereads(con)
    accepted = 0
    for number, rows in enumerate(passes):
        gathered = gather_rows(con, rows, checks, dataset)
        submissions = check_submissions(con, gathered, checks, dataset)
        if len(passes) > 1:
            keep_pass_checks(con, dataset, number)
        clean = find_suspects(con, submissions, rereads, number)
        if len(passes) > 1:
            accepted += write_consumption(con, clean, gathered, staging, content, source_file, f"_{number}")
    if len(passes) > 1:
        restore_every_pass_checks(con, dataset)
    mended = reread(con, source, checks, dataset, rereads, staging, source_file)
    if len(passes) == 1:
        if mended:
            con.execute(f"CREATE OR REPLACE TEMP VIEW submissions AS SELECT * FROM {clean} UNION ALL BY NAME SELECT * FROM {mended}")
            clean = "submissions"
        accepted += write_consumption(con, clean, gathered, staging, content, source_file, "")
    elif mended:
        accepted += write_consumption(con, mended, mended, staging, content, source_file, f"_{len(passes)}")
    return accepted
