"""Every collected test is in exactly one tier (tests/README.md), and the tiers are the markers pyproject.toml
registers. The tiers are settled at collection (tests/conftest.py), before `-m` selects, so this check sees
every test collected in the session, also under `make test-fast`."""

import pytest

from tests.conftest import FIXTURE_TIERS, TIERS

pytestmark = pytest.mark.unit
pytest_plugins = ["pytester"]


def test_every_collected_test_has_exactly_one_tier(tier_problems):
    assert tier_problems is not None, "tests/conftest.py did not check the tiers at collection"
    assert not tier_problems, (
        f"{len(tier_problems)} tests without exactly one tier (add `pytestmark = pytest.mark.<tier>` after the "
        f"imports of the file, or mark the test; tiers: {', '.join(TIERS)}):\n"
        + "\n".join(f"{node}: {problem}" for node, problem in sorted(tier_problems.items())[:40]))


def test_the_tiers_are_the_registered_markers(pytestconfig):
    registered = {line.split(":")[0].strip() for line in pytestconfig.getini("markers")}
    assert set(TIERS) <= registered
    assert set(FIXTURE_TIERS.values()) <= set(TIERS)
    assert "--strict-markers" in pytestconfig.getini("addopts")


TIERED_MODULE = """
import pytest

pytestmark = pytest.mark.unit


def test_module_tier():
    pass


@pytest.mark.system
def test_own_tier():
    pass


def test_fixture_tier(run_dbt):
    pass


@pytest.mark.parametrize("case", [pytest.param(1, marks=pytest.mark.integration), 2])
def test_param(case):
    pass
"""


UNTIERED_MODULE = """
import pytest


def test_without_a_tier():
    pass


@pytest.mark.unit
@pytest.mark.system
def test_with_two_tiers():
    pass
"""

SHOW_TIERS = """
from tests.conftest import TIER_PROBLEMS, TIERS, pytest_collection_modifyitems, run_dbt


def pytest_collection_finish(session):
    for item in session.items:
        print("tiers", item.name, *(mark.name for mark in item.iter_markers() if mark.name in TIERS))
    for node, problem in sorted(session.config.stash[TIER_PROBLEMS].items()):
        print("problem", node, problem)
"""


def test_a_tests_own_mark_or_fixture_replaces_its_modules_tier(pytester):
    pytester.makeconftest(SHOW_TIERS)
    pytester.makeini("[pytest]\naddopts = --strict-markers\nmarkers =\n" + "".join(f"    {t}\n" for t in TIERS))
    pytester.makepyfile(test_tiered=TIERED_MODULE, test_untiered=UNTIERED_MODULE)
    result = pytester.runpytest("--co", "-q")
    tiers = sorted(line.split()[1:] for line in result.outlines if line.startswith("tiers "))
    assert tiers == [["test_fixture_tier", "dbt"], ["test_module_tier", "unit"], ["test_own_tier", "system"],
                     ["test_param[1]", "integration"], ["test_param[2]", "unit"],
                     ["test_with_two_tiers", "system", "unit"], ["test_without_a_tier"]], result.outlines
    problems = [line for line in result.outlines if line.startswith("problem ")]
    assert problems == ["problem test_untiered.py::test_with_two_tiers tier marks ['system', 'unit']",
                        "problem test_untiered.py::test_without_a_tier no tier mark"], result.outlines
