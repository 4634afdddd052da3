"""The analysts' warehouse views are dbt models (dbt_project/models/analyst/): plain SQL the warehouse creates as
written, each documented by its own properties YAML."""

import re

import duckdb
import pytest
import yaml

from pipelines.outputs.analyst_views import ANALYST_MODELS, ANALYST_VIEWS
from pipelines.outputs.warehouse import refresh_views
from pipelines.reference.lake import Lake

pytestmark = pytest.mark.unit


def test_every_analyst_model_is_created_and_every_created_one_is_a_model():
    assert sorted(ANALYST_VIEWS) == sorted(path.stem for path in ANALYST_MODELS.glob("*.sql"))


@pytest.mark.parametrize("name", ANALYST_VIEWS)
def test_an_analyst_model_is_plain_sql(name):
    """The warehouse creates the view from the file as it is: dbt's Jinja would not be rendered there."""
    sql = (ANALYST_MODELS / f"{name}.sql").read_text()
    assert not re.search(r"\{\{|\{%|\{#", sql)


@pytest.mark.parametrize("name", ANALYST_VIEWS)
def test_an_analyst_model_documents_columns_its_view_has(name, tmp_path):
    properties = yaml.safe_load((ANALYST_MODELS / f"{name}.yml").read_text())
    (model,) = properties["models"]
    assert model["name"] == name and model["description"].strip()
    documented = [column["name"] for column in model["columns"]]
    refresh_views(Lake(tmp_path))  # an empty data directory: every view exists, typed, with no rows
    with duckdb.connect(str(Lake(tmp_path).warehouse), read_only=True) as con:
        columns = [row[0] for row in con.execute(f"DESCRIBE {name}").fetchall()]
    assert documented and set(documented) <= set(columns)
