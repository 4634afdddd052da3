"""How much memory DuckDB may hold before it spills to disk, for every step that works on a whole day.

MHHS_MEMORY_LIMIT takes DuckDB's forms (`12GB`, `12GiB`, `50%` of the machine); the default, half the
machine, keeps a national day's ingest or settlement within a 16 GiB budget on a 24 GiB machine and leaves
room for the gate's process beside it. Above the limit, joins, aggregates and sorts spill to a temporary
folder beside their data instead of failing (measured in docs/benchmarks.md).
"""

import os
import re

from pipelines.core.errors import MhhsError

DEFAULT_MEMORY_LIMIT = "50%"
_SIZE = re.compile(r"^\s*\d+(\.\d+)?\s*(%|[KMGT]i?B)\s*$", re.IGNORECASE)


def memory_limit() -> str:
    limit = os.environ.get("MHHS_MEMORY_LIMIT", DEFAULT_MEMORY_LIMIT)
    if not _SIZE.match(limit):
        raise MhhsError(f"MHHS_MEMORY_LIMIT must be a size such as 12GB, 12GiB or 50% (of this machine); got {limit!r}")
    return limit.strip()


_UNITS = {"BYTES": 1, "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}


def memory_limit_bytes(setting: str) -> int:
    """Bytes of a DuckDB memory_limit setting as DuckDB reports it, e.g. '11.7 GiB' or '400.0 MB'."""
    number, unit = setting.split()
    return int(float(number) * _UNITS[unit.upper()])


def duckdb_config(temp_directory=None, **settings) -> dict:
    """DuckDB connection settings with the memory limit (and where to spill, when given)."""
    config = {"memory_limit": memory_limit(), **settings}
    if temp_directory is not None:
        config["temp_directory"] = str(temp_directory)
    return config
