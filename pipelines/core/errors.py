"""Errors that reach users as a message, never as a stack trace."""


class MhhsError(Exception):
    """A failure the user can act on; the CLI prints the message and exits non-zero."""

    exit_code = 2


class RunRefused(MhhsError):
    """A settlement run the settlement timetable does not allow (a later run type already succeeded for the
    date, a date frozen by RF, a DF without its dispute reference): nothing was started or recorded."""

    exit_code = 5
