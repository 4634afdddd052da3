"""Shared fixtures, and the test tiers (tests/README.md).

Every test is in exactly one tier, a pytest marker registered in pyproject.toml: `unit`, `dbt`, `scenarios`,
`integration` or `system`. A test's tier is its own mark if it has one, else the tier a fixture it uses
implies (FIXTURE_TIERS: `run_dbt` runs the dbt CLI), else its class's or module's mark (`pytestmark` at the
top of each test file). tests/test_tiers.py fails when a collected test has no tier or more than one.
"""

import contextlib
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = PROJECT_ROOT.parent / "shared"
BIN_DIR = Path(sys.executable).parent

# ---- tiers -------------------------------------------------------------------------------------------------

TIERS = ("unit", "dbt", "scenarios", "integration", "system")
# A test using one of these fixtures is in its tier whatever its module's mark says.
FIXTURE_TIERS = {"run_dbt": "dbt"}
# Collected tests without exactly one tier, by node id (filled in at collection, read by tests/test_tiers.py).
TIER_PROBLEMS = pytest.StashKey[dict[str, str]]()


def _tier_marks(node) -> list[str]:
    return [mark.name for mark in node.own_markers if mark.name in TIERS]


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Settle each test's one tier before `-m` selects, so a test's own mark overrides its module's instead of
    adding a second tier: the tier is moved from the class and module onto each test."""
    problems, tiers = {}, {}
    for item in items:
        own = _tier_marks(item)
        implied = sorted({FIXTURE_TIERS[name] for name in getattr(item, "fixturenames", ()) if name in FIXTURE_TIERS})
        inherited = next((marks for marks in map(_tier_marks, reversed(item.listchain()[:-1])) if marks), [])
        candidates = own or implied or inherited
        if len(candidates) != 1:
            problems[item.nodeid] = f"tier marks {candidates}" if candidates else "no tier mark"
        tiers[item] = candidates
    for item, candidates in tiers.items():
        for node in item.listchain():
            node.own_markers[:] = [mark for mark in node.own_markers if mark.name not in TIERS]
        for tier in candidates:
            item.add_marker(tier)
    config.stash[TIER_PROBLEMS] = problems


@pytest.fixture
def tier_problems(pytestconfig) -> dict[str, str] | None:
    """The collected tests without exactly one tier (None when the tiers were not checked at collection)."""
    return pytestconfig.stash.get(TIER_PROBLEMS, None)


# ---- dbt -----------------------------------------------------------------------------------------------------


@pytest.fixture
def run_dbt(tmp_path):
    """Run the real dbt CLI on the project against a DuckDB file in tmp_path."""
    warehouse = tmp_path / "warehouse.duckdb"

    def run(*args: str) -> subprocess.CompletedProcess:
        env = {**os.environ, "MHHS_WAREHOUSE": str(warehouse), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
        return subprocess.run(
            [str(BIN_DIR / "dbt"), *args, "--profiles-dir", ".", "--target-path", str(tmp_path / "target"),
             "--log-path", str(tmp_path / "logs")],
            cwd=PROJECT_ROOT / "dbt_project",
            env=env,
            capture_output=True,
            text=True,
        )

    run.warehouse = warehouse
    return run


# ---- the committed sample, ingested once and settled once per session ------------------------------------------

SAMPLE_LANDING = PROJECT_ROOT / "sample_data" / "landing"
SAMPLE_STANDING = SAMPLE_LANDING / "standing"
SAMPLE_DAY = "2026-10-25"  # the sample's autumn clock-change day: 50 periods
SAMPLE_RUN_TYPE = "SF"


def _mhhs(*args) -> None:
    """`mhhs ARGS` in this process (pipelines.cli.main); fails with what it printed unless it exits 0."""
    from pipelines import cli

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main([str(arg) for arg in args])
    assert code == 0, f"mhhs {' '.join(map(str, args))} exited {code}:\n{out.getvalue()}{err.getvalue()}"


def _fingerprint(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(path.relative_to(folder)): (path.stat().st_size, path.stat().st_mtime_ns)
            for path in sorted(folder.rglob("*")) if path.is_file()}


@contextlib.contextmanager
def _read_only(data_dir: Path):
    """Yield data_dir and fail at the end of the session if any test wrote into it."""
    before = _fingerprint(data_dir)
    yield data_dir
    after = _fingerprint(data_dir)
    changed = sorted(name for name in before.keys() | after.keys() if before.get(name) != after.get(name))
    assert not changed, (f"a test wrote into the shared {data_dir} (use copy_data_dir for a writable copy): "
                         f"{changed[:10]}")


def copy_data_dir(data_dir: Path, folder: Path, leave_out: tuple[str, ...] = ()) -> Path:
    """A writable copy of a data directory (e.g. settled_sample) in folder/data, without the folders named
    in leave_out. Its warehouse answers as it is, with no refresh: the views name their files relative to the
    data directory (pipelines.outputs.warehouse). Only when folders are left out are the views refreshed, since
    which views read files depends on which files exist. The GX context (gx/) is left out too: it holds the
    original's absolute paths, so a gate run in the copy would write its Data Docs into the original; the next
    gate run creates it again in the copy."""
    copy = folder / "data"
    shutil.copytree(data_dir, copy, ignore=shutil.ignore_patterns("gx", *leave_out))
    if leave_out:
        from pipelines.outputs.warehouse import refresh_views
        from pipelines.reference.lake import Lake

        refresh_views(Lake(copy))
    return copy


@pytest.fixture(scope="session")
def ingested_sample(tmp_path_factory):
    """A data directory with the committed sample ingested (`mhhs ingest sample_data/landing`), nothing
    settled. Read-only: copy it with copy_data_dir to change anything."""
    data_dir = tmp_path_factory.mktemp("ingested_sample") / "data"
    _mhhs("--data-dir", data_dir, "ingest", SAMPLE_LANDING)
    with _read_only(data_dir):
        yield data_dir


@pytest.fixture(scope="session")
def settled_sample(ingested_sample, tmp_path_factory):
    """The ingested sample settled once: `mhhs settle --date SAMPLE_DAY --run-type SF --standing-data
    sample_data/landing/standing` (run SF-2026-10-25-v1, published to outbound/SF/2026-10-25). Read-only:
    tests that change it use settled_sample_copy."""
    data_dir = copy_data_dir(ingested_sample, tmp_path_factory.mktemp("settled_sample"))
    _mhhs("--data-dir", data_dir, "settle", "--date", SAMPLE_DAY, "--run-type", SAMPLE_RUN_TYPE,
          "--standing-data", SAMPLE_STANDING)
    with _read_only(data_dir):
        yield data_dir


@pytest.fixture
def settled_sample_copy(settled_sample, tmp_path):
    """A writable copy of settled_sample in tmp_path/data."""
    return copy_data_dir(settled_sample, tmp_path)
