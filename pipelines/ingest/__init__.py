"""`mhhs ingest DIR`: landing files into the Parquet lake, refused rows and files into quarantine.

Every landing file is read as text (a typed Parquet column in its own type, checked on its values' text),
checked in bulk in DuckDB against the data catalogue's rules (pipelines.catalogue.sql_rules), and split into
accepted rows and quarantined rows with a reason code; for every file rows in = rows accepted + rows
quarantined, recorded in the ingestion log with the file's SHA-256. A file that cannot be read at all is
kept whole under refused_files/ with its reason.

The landing folders are registrations/, registration_updates/, consumption/ and register_reads/
(landing.LANDING_FORMATS). Consumption lands one row per MPAN-day submission (mpan, quantity, settlement
date, data service, received_at) with the values of up to 50 settlement periods as columns: joins and
aggregation over that shape are much faster than over one row per period (ARCHITECTURE.md).

The modules follow the steps of docs/ingestion.md; file.ingest_file runs them for one file:

    command        the entry points: every file of a landing directory, or one file (the DAG)
    landing        which landing entries are files to read, and which are unsafe to read
    file           one file, step by step
    identify       1. the file's SHA-256 (its identity) and whether it is plain text
    read           2. read as text: the reader of the file's format (read_csv, read_parquet, read_json),
                      each making a source.Source of the file's rows
    check          3. check in bulk: the catalogue's rules on each column's distinct values
    consumption    4-6 for consumption: gather (gather, passes, encoding), look again (reread,
                      duplicates), write (write)
    registrations  3-6 for the datasets checked row by row: registration snapshots and updates, register reads
    updates        5 for registration updates: an update_id already used, with the same content or other
    quarantine     6. the refused rows, with their reasons and raw records
    commit         6. staged files moved into place, then the ingestion log entry
    refusal        a whole file refused, or an unsafe entry recorded unread
    connections    one DuckDB connection per file, closed in the background
    reasons        the reason codes that are not a catalogue rule's
    summary        what the command reports
"""

from pipelines.ingest.check import _derived_sql
from pipelines.ingest.command import ingest, ingest_landing_file, lake_partitions, pending_landing_files
from pipelines.ingest.file import ingest_file as _ingest_file
from pipelines.ingest.identify import Content, content_of, sha256_of
from pipelines.ingest.landing import LANDING_FORMATS, landing_files
from pipelines.ingest.read_json import _dip_messages
from pipelines.ingest.reasons import FILE_REASONS, ROW_REASONS, UNSAFE_FILE_REASONS, FileRefused
from pipelines.ingest.summary import FileResult, IngestSummary, render_summary

__all__ = [
    "FILE_REASONS",
    "LANDING_FORMATS",
    "ROW_REASONS",
    "UNSAFE_FILE_REASONS",
    "Content",
    "FileRefused",
    "FileResult",
    "IngestSummary",
    "_derived_sql",
    "_dip_messages",
    "_ingest_file",
    "content_of",
    "ingest",
    "ingest_landing_file",
    "lake_partitions",
    "landing_files",
    "pending_landing_files",
    "render_summary",
    "sha256_of",
]
