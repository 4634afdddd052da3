"""The Great Expectations gate and the auditors' report: a real checkpoint over a real settled run.

Each critical settlement rule is broken on purpose in a copy of a settled run's files (a hole after
estimation, a flag outside A/E, a broken correction identity, MPAN counts that disagree, standing data that
does not cover the run) and the gate must fail naming that rule. Through whole runs: bad standing data,
and a hole or a broken identity written into a run between its dbt build and its gate, stop the run:
nothing is published, the run fails and the failed report names the rule.
"""

import csv
import json
import re
import shutil
from datetime import date
from pathlib import Path
from urllib.parse import unquote, urlparse

import duckdb
import pytest

from pipelines import cli
from pipelines.core.errors import ExitCode, MhhsError
from pipelines.jobs.settlement import finish_run
from pipelines.quality.gate import GATE_RELATIONS, SUITES_DIR, GateProcess, run_gate, suite_expectations
from pipelines.settle.partition import settle_partition
from pipelines.settle.run import start_run
from tests.conftest import PROJECT_ROOT, SAMPLE_DAY, copy_data_dir

pytestmark = pytest.mark.integration

SAMPLE = PROJECT_ROOT / "sample_data" / "landing"
DAY = SAMPLE_DAY  # the day the shared settled_sample settles (tests/conftest.py): 2026-10-25, 50 periods


def _settle(data_dir: Path, standing: Path = SAMPLE / "standing") -> int:
    return cli.main(["--data-dir", str(data_dir), "settle", "--date", DAY, "--run-type", "SF",
                     "--standing-data", str(standing)])


@pytest.fixture
def settled(settled_sample):
    """The sample ingested and settled (SF of DAY) once per session: read-only, the tests below copy it."""
    return settled_sample


@pytest.fixture
def run_copy(settled, tmp_path):
    """A settled run's files, with published/ back to staged/ as the gate sees them before publication."""
    data_dir = tmp_path / "data"
    run_dir = data_dir / "runs" / "SF" / DAY / "v1"
    shutil.copytree(settled / "runs" / "SF" / DAY / "v1", run_dir,
                    ignore=shutil.ignore_patterns("work.duckdb", "target", "logs"))
    (run_dir / "published").rename(run_dir / "staged")
    return data_dir, run_dir


def _rewrite(path: Path, select: str) -> None:
    """Replace a Parquet file with `select` over its current rows (the relation is called `current`)."""
    changed = path.with_suffix(".changed.parquet")
    with duckdb.connect() as con:
        con.execute(f"CREATE VIEW current AS SELECT * FROM read_parquet('{path}')")
        con.execute(f"COPY ({select}) TO '{changed}' (FORMAT parquet)")
    changed.replace(path)


def _failed(data_dir: Path, run_dir: Path) -> set[str]:
    result = run_gate(data_dir, run_dir, "SF-test")
    return {rule.name for rule in result.failed}


def test_a_settled_run_passes_every_critical_rule_and_publishes_its_report_and_data_docs(settled):
    published = settled / "outbound" / "SF" / DAY
    report = (published / "data_quality_report.html").read_text()
    assert "Published: every critical rule passed" in report
    suites = json.loads((SUITES_DIR / "settlement.json").read_text())["expectations"]
    for rule in suites:
        assert rule["meta"]["catalogue_rule"] in report
    # every rule of every relation is in the report, each linked to the copy of its Data Docs page beside it
    links = set(re.findall(r'href="([^"]+)"', report))
    assert links and all(not link.startswith(("file:", "/")) and (published / link).is_file() for link in links)
    assert len(links) == len([relation for relation in GATE_RELATIONS if suite_expectations(relation)])
    assert (settled / "data_docs" / "index.html").exists()
    assert (settled / "runs" / "SF" / DAY / "v1" / "published" / "data_quality_report.html").exists()


def test_the_untouched_copy_passes_so_each_fault_below_is_what_fails(run_copy):
    assert _failed(*run_copy) == set()


FIRST_ROW = "row_number() OVER () = 1"


@pytest.mark.parametrize("relative, select, rule", [
    ("basis/consumption_after_estimation.parquet",  # a hole left after estimation
     f"SELECT * REPLACE (CASE WHEN {FIRST_ROW} THEN NULL ELSE kwh_07 END AS kwh_07) FROM current",
     "consumption_after_estimation: every_period_has_one_value"),
    ("basis/consumption_after_estimation.parquet",  # an estimate beyond the day, without a method (51: beyond any day)
     f"SELECT * REPLACE (CASE WHEN {FIRST_ROW} THEN estimated_mask | (1::ubigint << 51) ELSE estimated_mask END "
     "AS estimated_mask) FROM current",
     "consumption_after_estimation: flags_are_actual_or_estimated"),
    ("staged/supplier_volumes.parquet",  # a broken correction identity
     f"SELECT * REPLACE (CASE WHEN {FIRST_ROW} THEN corrected_kwh + 1 ELSE corrected_kwh END AS corrected_kwh) FROM current",
     "gsp_group_correction: correction_identity"),
    ("staged/supplier_volumes.parquet",  # MPAN counts that disagree with the basis data
     f"SELECT * REPLACE (CASE WHEN {FIRST_ROW} THEN mpan_count + 1 ELSE mpan_count END AS mpan_count) FROM current",
     "supplier_volumes: mpan_counts_match_basis_data"),
    ("standing/gsp_group_take.parquet",  # standing data that does not cover the run
     "SELECT * FROM current WHERE NOT (gsp_group_id = '_A' AND settlement_period = 5)",
     "gsp_group_take: standing_data_complete"),
])
def test_each_settlement_rule_fails_alone_on_its_fault(run_copy, relative, select, rule):
    data_dir, run_dir = run_copy
    _rewrite(run_dir / relative, select)
    assert _failed(data_dir, run_dir) == {rule}


def test_a_column_rule_of_the_catalogue_fails_on_a_published_table(run_copy):
    data_dir, run_dir = run_copy
    _rewrite(run_dir / "staged" / "gsp_group_correction.parquet",
             f"SELECT * REPLACE (CASE WHEN {FIRST_ROW} THEN 'ZZ' ELSE gsp_group_id END AS gsp_group_id) FROM current")
    failed = _failed(data_dir, run_dir)
    assert "gsp_group_correction: gsp_group_id.allowed_values" in failed


def test_the_gate_runs_in_its_own_process_and_reports_warnings_without_failing(run_copy):
    data_dir, run_dir = run_copy
    result = GateProcess(data_dir, run_dir, "SF-test").result()
    assert result.passed
    warnings = {rule.name for rule in result.warnings}
    # the synthetic sample's GSP Group Takes put some correction factors outside 0.9..1.1
    assert warnings == {"gsp_group_correction: correction_factor.review_band"}


def test_bad_standing_data_stops_the_run_publishes_nothing_and_the_failed_report_names_the_rule(settled, tmp_path, capsys):
    data_dir = copy_data_dir(settled, tmp_path, leave_out=("runs", "outbound", "failed"))
    standing = tmp_path / "standing"
    shutil.copytree(SAMPLE / "standing", standing)
    with open(standing / "gsp_group_take.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    with open(standing / "gsp_group_take.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(r for r in rows if not (r["gsp_group_id"] == "_B" and r["settlement_date"] == DAY))
    capsys.readouterr()
    assert _settle(data_dir, standing) == ExitCode.STOPPED
    _, err = capsys.readouterr()
    assert "Traceback" not in err
    assert "nothing was published" in err and "GSP Group Take" in err
    assert not (data_dir / "outbound").exists()
    report = (data_dir / "failed" / "SF" / DAY / "data_quality_report.html").read_text()
    assert "NOT PUBLISHED" in report and "no GSP Group Take" in report
    # what stopped it is a table: one row per problem, its row count, its examples as a table of their own
    table = report[report.index("<tbody>", report.index('id="stopped-by"')):report.index('<p class="rule-counts"')]
    (problem,) = re.findall(r"<tr><td>([^<]*)</td><td class=\"n\">([^<]*)</td><td class=\"examples\">", table)
    removed = sum(1 for r in rows if r["gsp_group_id"] == "_B" and r["settlement_date"] == DAY)
    assert problem[0].startswith("no GSP Group Take") and int(problem[1]) == removed
    examples = re.findall(r"<tr><td>(_[A-Z])</td><td class=\"n\">(\d+)</td></tr>", table)
    assert examples and {group for group, _ in examples} == {"_B"}
    text = re.sub(r"<[^>]+>", " ", table)  # the values shown, not parsed back out of the run's reason
    assert "E-" not in text and "=" not in text


@pytest.mark.system
def test_the_report_renders_in_headless_chromium_with_its_charts_drawn_and_no_console_errors(settled):
    from playwright.sync_api import sync_playwright

    report = settled / "outbound" / "SF" / DAY / "data_quality_report.html"
    errors, fetched = [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"])
        page = browser.new_page()
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("request", lambda request: fetched.append(request.url))
        page.goto(report.as_uri())
        reconciliation = page.eval_on_selector_all(
            "#reconciliation tbody tr", """rows => rows.map(row => ({
                step: row.dataset.step, total: row.classList.contains('total'),
                shown: row.getBoundingClientRect().height > 0,
                cells: Array.from(row.cells).map(cell => cell.innerText.trim())}))""")
        # each rule's result: passed, warning and failed look different, and the header counts them
        looks = page.eval_on_selector_all(
            "#rules tbody tr", """rows => rows.map(row => ({
                result: row.dataset.result, background: getComputedStyle(row.cells[0]).backgroundColor,
                badge: row.querySelector('.badge').innerText.trim()}))""")
        counts = page.eval_on_selector(".rule-counts", "p => ({...p.dataset, text: p.innerText})")
        # every Data Docs link resolves, relative to the report, to a file that exists
        hrefs = page.eval_on_selector_all("#rules a", "links => links.map(a => [a.getAttribute('href'), a.href])")
        charts = page.eval_on_selector_all(
            "svg.chart", """charts => charts.map(chart => ({
                name: chart.dataset.chart,
                width: chart.getBoundingClientRect().width,
                drawn: Array.from(chart.querySelectorAll('rect.bar, polyline.cf-line, polyline.shape-line'))
                           .filter(mark => mark.getBBox().width > 0).length}))""")
        rules = page.locator("#rules tbody tr")
        shown_before = rules.count()
        page.check("#only-problems")
        shown_after = page.locator("#rules tbody tr:not([hidden])").count()
        # a copied Data Docs page (the warning's) reads offline: nothing fetched, no errors, its banner first
        warning_link = next(href for href, _ in hrefs if "gsp_group_correction" in href)
        docs = browser.new_page()
        docs_errors, docs_fetched = [], []
        docs.on("console", lambda message: docs_errors.append(message.text) if message.type == "error" else None)
        docs.on("pageerror", lambda error: docs_errors.append(str(error)))
        docs.on("request", lambda request: docs_fetched.append(request.url))
        docs_url = (report.parent / warning_link).resolve().as_uri()
        docs.goto(docs_url)
        banner = docs.locator(".mhhs-banner").inner_text()
        table_border = docs.eval_on_selector("table", "t => getComputedStyle(t.querySelector('td')).borderTopStyle")
        docs_fetched_alone = list(docs_fetched)
        docs.click("text=back to the report")
        back = docs.url
        browser.close()
    assert errors == []
    assert fetched == [report.as_uri()]  # self-contained: nothing fetched beyond the page itself
    # the reconciliation: drawn, its three totals each adding up
    assert reconciliation and all(row["shown"] for row in reconciliation)
    totals = [row for row in reconciliation if row["total"]]
    assert [row["step"] for row in totals] == ["accepted", "current", "settled"]
    assert all(row["cells"][-1] == "adds up" for row in totals)
    # links: relative, each resolving to a copied page beside the report
    assert hrefs and all(not href.startswith(("file:", "/")) for href, _ in hrefs)
    assert all(Path(unquote(urlparse(url).path)).is_file() for _, url in hrefs)
    # warnings apart from failures and passes, everywhere: row colour, badge, header count
    by_result = {}
    for rule in looks:
        by_result.setdefault(rule["result"], set()).add((rule["background"], rule["badge"]))
    assert {"passed", "warning"} <= set(by_result) and all(len(v) == 1 for v in by_result.values())
    assert by_result["warning"] != by_result["passed"] and next(iter(by_result["warning"]))[1] == "warning"
    assert int(counts["warning"]) == sum(rule["result"] == "warning" for rule in looks)
    assert int(counts["passed"]) == sum(rule["result"] == "passed" for rule in looks)
    assert f"{counts['warning']} warning" in counts["text"]
    # the Data Docs copy
    assert docs_errors == [] and docs_fetched_alone == [docs_url]
    assert "correction_factor.review_band: warning" in banner
    assert table_border != "none"  # styled offline (GX's Bootstrap never loaded)
    assert back == report.as_uri()
    names = {chart["name"] for chart in charts}
    assert {"rejections_by_reason", "actual_estimated_share", "volume_source_share"} <= names
    assert any(name.startswith("load_shape_") for name in names)
    assert sum(name.startswith("correction_factor_") for name in names) == 14
    assert all(chart["width"] > 0 and chart["drawn"] > 0 for chart in charts), charts
    # the filter leaves the warnings (correction factors outside the band) and hides the passed rules
    assert 0 < shown_after < shown_before


@pytest.mark.parametrize("fault, rule", [
    ("UPDATE int_consumption_estimated SET kwh_07 = NULL WHERE rowid = (SELECT min(rowid) FROM int_consumption_estimated)",
     "consumption_after_estimation: every_period_has_one_value"),
    ("UPDATE supplier_volumes SET corrected_kwh = corrected_kwh + 1 WHERE rowid = (SELECT min(rowid) FROM supplier_volumes)",
     "gsp_group_correction: correction_identity"),
])
def test_a_fault_between_the_dbt_build_and_the_gate_stops_the_run_and_publishes_nothing(settled, tmp_path, fault, rule):
    """What the gate is for: a defect that dbt's own checks did not stop (here written into the partition's
    database after its build) never reaches the published outputs."""
    data_dir = copy_data_dir(settled, tmp_path, leave_out=("runs", "outbound", "failed"))
    run = start_run(data_dir, date.fromisoformat(DAY), "SF", SAMPLE / "standing")
    partition = settle_partition(run)
    with duckdb.connect(str(partition / "work.duckdb")) as con:
        con.execute(fault)
    with pytest.raises(MhhsError, match=f"nothing was published: data-quality gate failed: {rule}"):
        finish_run(run)
    assert not (data_dir / "outbound").exists()
    assert not (run.run_dir / "published").exists() and (run.run_dir / "staged").exists()
    report = (data_dir / "failed" / "SF" / DAY / "data_quality_report.html").read_text()
    assert "NOT PUBLISHED" in report and rule.split(": ")[1] in report
    with duckdb.connect() as con:
        status, reason = con.execute(
            f"SELECT status, reason FROM read_parquet('{run.run_dir / 'finished.parquet'}')").fetchall()[0]
    assert status == "failed" and rule in reason
