"""Step lines for a person watching a long command: `[  12.3 s] dbt build 14/36: ...` on stderr.

`mhhs ingest` and `mhhs settle` pass a Progress to the steps they run; everything else (the DAGs, the tests)
gets QUIET, which prints nothing. A command shows progress when stderr is a terminal and its output is not
`--json`; MHHS_PROGRESS=1 forces the lines on (except with `--json`), MHHS_PROGRESS=0 off.
"""

import os
import sys
import time
from typing import TextIO


class Progress:
    def __init__(self, enabled: bool, stream: TextIO | None = None):
        self.enabled = enabled
        self._stream = stream
        self._started = time.monotonic()

    @classmethod
    def for_command(cls, json_output: bool = False) -> "Progress":
        """On for a person at a terminal; off for machines (`--json`, output piped or captured)."""
        forced = os.environ.get("MHHS_PROGRESS", "").strip()
        if json_output or forced == "0":
            return cls(False)
        return cls(forced == "1" or sys.stderr.isatty())

    def step(self, message: str) -> None:
        """One line: the seconds since the command started, then what it is doing now."""
        if self.enabled:
            stream = self._stream or sys.stderr
            print(f"[{time.monotonic() - self._started:7.1f} s] {message}", file=stream, flush=True)


QUIET = Progress(False)
