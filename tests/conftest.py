import os
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = PROJECT_ROOT.parent / "shared"
BIN_DIR = Path(sys.executable).parent


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
