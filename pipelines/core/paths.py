"""Where the project's own files are: the dbt project, the Great Expectations files, the DAGs."""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT = PROJECT_ROOT / "dbt_project"
DAGS_DIR = PROJECT_ROOT / "dags"
