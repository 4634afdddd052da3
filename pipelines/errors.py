"""Errors that reach users as a message, never as a stack trace."""


class MhhsError(Exception):
    """A failure the user can act on; the CLI prints the message and exits non-zero."""

    exit_code = 2
