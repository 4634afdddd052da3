"""Errors that reach users as a message, never as a stack trace, and the exit status of each kind of failure.

Every exit status of `mhhs` is an ExitCode, defined here once: docs/cli.md's table of exit codes is
`exit_code_table()` (tests/test_cli.py fails when they differ). A module raises the MhhsError subclass of its
kind of failure; the command line prints the message and exits with the class's `exit_code`.

    MhhsError       usage (2), the default: what was asked cannot be done as asked
    BadInputData    bad input data (1): a landing or standing data file that cannot be used
    RunStopped      a stopped or gated run (6): a settlement run stopped, nothing was published
    RunRefused      a refused run (5): the settlement timetable does not allow it
    Busy            a busy lock (4): another command holds what this one needs (pipelines.core.locks.LockHeld)
    InternalError   an internal error (3): a defect
    OutOfMemory     out of memory (7): DuckDB could not work within MHHS_MEMORY_LIMIT
"""

from enum import IntEnum


class ExitCode(IntEnum):
    """The exit status of `mhhs`, one per kind of failure (docs/cli.md)."""

    OK = 0
    BAD_INPUT = 1
    USAGE = 2
    INTERNAL = 3
    BUSY = 4
    REFUSED = 5
    STOPPED = 6
    OUT_OF_MEMORY = 7
    INTERRUPTED = 130


# What each exit status means and what to do about it: the rows of docs/cli.md's table.
EXIT_CODE_MEANINGS: dict[ExitCode, tuple[str, str]] = {
    ExitCode.OK: ("success", "nothing"),
    ExitCode.BAD_INPUT: (
        "bad input data: `mhhs ingest` refused a whole landing file (kept under `DATA_DIR/refused_files/`, its "
        "other files were ingested); a standing data file is missing, unreadable or breaks the data catalogue's "
        "rules; `catalogue --check` or `docs --check` found generated files that differ from their source",
        "correct or replace the file the message names and run the command again",
    ),
    ExitCode.USAGE: (
        "usage: an unknown option, a missing or malformed value, options that do not go together, a directory "
        "that does not exist, a query `mhhs sql` refuses, a malformed setting such as `MHHS_MEMORY_LIMIT`",
        "correct the command line (`mhhs COMMAND --help`) or the setting; nothing was done",
    ),
    ExitCode.INTERNAL: (
        "internal error: a defect or an unexpected failure underneath (a corrupt file, a tool that crashed); "
        "nothing was published",
        "rerun with `MHHS_DEBUG=1` for the stack trace and report it",
    ),
    ExitCode.BUSY: (
        "busy: another command holds the lock this one needs (a settlement of the same date is in progress); "
        "nothing was done",
        "run the command again when the other one has finished",
    ),
    ExitCode.REFUSED: (
        "refused run: the settlement timetable does not allow this run type for the date (a later run type "
        "succeeded, a date frozen by RF, a DF without `--dispute`, a day not yet ended); nothing was recorded",
        "settle with a run type the timetable allows, or once the day has ended (`docs/settlement.md`)",
    ),
    ExitCode.STOPPED: (
        "stopped or gated run: the settlement run stopped (nothing to settle for the date, a stopping check "
        "failed, or the data-quality gate failed a critical rule); nothing was published, the run is recorded "
        "as failed with its reason when it had started, and its report is under `DATA_DIR/failed/`",
        "read the reason and the report, correct the data (ingest it, or fix the standing data), settle again",
    ),
    ExitCode.OUT_OF_MEMORY: (
        "out of memory: DuckDB could not work within `MHHS_MEMORY_LIMIT` even spilling to disk; nothing was "
        "published",
        "raise `MHHS_MEMORY_LIMIT` (or free memory or disk beside the data) and run the command again",
    ),
    ExitCode.INTERRUPTED: ("interrupted (Ctrl-C, SIGINT); nothing half-done is visible", "run the command again"),
}


def exit_code_table() -> str:
    """docs/cli.md's table of exit codes, in Markdown."""
    rows = [f"| {int(code)} | `{code.name}` | {meaning} | {action} |"
            for code, (meaning, action) in EXIT_CODE_MEANINGS.items()]
    return "\n".join(["| exit status | name | means | what to do |", "|---|---|---|---|", *rows])


class MhhsError(Exception):
    """A failure the user can act on; the CLI prints the message and exits with `exit_code`. Raised as itself
    it is a usage error (what was asked cannot be done as asked); the subclasses are the other kinds."""

    exit_code: ExitCode = ExitCode.USAGE


class UsageError(MhhsError):
    """The command line or a setting is wrong: nothing was done."""

    exit_code = ExitCode.USAGE


class BadInputData(MhhsError):
    """An input file (landing or standing data) cannot be used as it is."""

    exit_code = ExitCode.BAD_INPUT


class InternalError(MhhsError):
    """Something that should never happen did: a defect, not the user's mistake."""

    exit_code = ExitCode.INTERNAL


class Busy(MhhsError):
    """Another command holds a lock this one needs and does not wait for (pipelines.core.locks)."""

    exit_code = ExitCode.BUSY


class RunRefused(MhhsError):
    """A settlement run the settlement timetable does not allow (a later run type already succeeded for the
    date, a date frozen by RF, a DF without its dispute reference): nothing was started or recorded."""

    exit_code = ExitCode.REFUSED


class RunStopped(MhhsError):
    """A settlement run that stopped before publishing: nothing to settle, a stopping check, or the
    data-quality gate. Nothing was published."""

    exit_code = ExitCode.STOPPED


class OutOfMemory(MhhsError):
    """DuckDB could not work within MHHS_MEMORY_LIMIT, even spilling to disk."""

    exit_code = ExitCode.OUT_OF_MEMORY
