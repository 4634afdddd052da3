from datetime import date

import pytest

from pipelines.synthetic.generate import generate
from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.integration

SAMPLE = PROJECT_ROOT / "sample_data" / "landing"


def test_committed_sample_is_what_the_generator_makes_today(tmp_path):
    """`make sample` wrote sample_data/landing; the same arguments must still give the same bytes."""
    generate(out_dir=tmp_path, mpans=200, days=2, start=date(2026, 10, 24), seed=7, file_format="csv", fault_rates={})
    committed = {p.relative_to(SAMPLE): p.read_bytes() for p in SAMPLE.rglob("*") if p.is_file()}
    regenerated = {p.relative_to(tmp_path): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert sorted(committed) == sorted(regenerated)
    differing = [str(name) for name in committed if committed[name] != regenerated[name]]
    assert differing == [], "regenerate with `make sample`"
