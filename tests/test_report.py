"""The auditor's data-quality report: the reconciliation of values, its Data Docs copies and relative links, the
header's versions and standing data, each rule's status, and a stopped run's table of problems.

The reconciliation is checked against an oracle built from the committed landing files themselves (the sample's
CSV lines, less the rows the lake's quarantine holds and the values the run's quarantine refused), not from the
relations the report reads. The browser side (the page drawn, links followed, nothing fetched) is the Chromium
test of tests/test_gate.py.
"""

import csv
import hashlib
import importlib.metadata
import re
import shutil
import subprocess
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import duckdb
import pytest

from pipelines.quality.data_docs import DATA_DOCS_DIR, offline_page
from pipelines.quality.gate import GATE_RELATIONS, suite_expectations
from pipelines.quality.reconciliation import reconcile
from pipelines.quality.report import REPORT_NAME, _number, _problems_table, render_report
from pipelines.reference.lake import Lake
from pipelines.settle.run import open_run
from tests.conftest import PROJECT_ROOT, SAMPLE_DAY, SAMPLE_RUN_TYPE

pytestmark = pytest.mark.integration

SAMPLE = PROJECT_ROOT / "sample_data" / "landing"
LONDON = ZoneInfo("Europe/London")


def _run(data_dir: Path):
    return open_run(data_dir / "runs" / SAMPLE_RUN_TYPE / SAMPLE_DAY / "v1", data_dir / "outbound")


def _report(data_dir: Path) -> Path:
    return data_dir / "outbound" / SAMPLE_RUN_TYPE / SAMPLE_DAY / REPORT_NAME


class _Page(HTMLParser):
    """The parts of the report the tests read: links, and the rows of the tables with an id."""

    def __init__(self):
        super().__init__()
        self.links: list[str] = []
        self.rows: dict[str, list[dict]] = {}
        self._table: list[str | None] = []
        self._row: dict | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        elif tag == "table":
            self._table.append(attrs.get("id"))
        elif tag == "tr" and self._table and self._table[-1] and len(self._table) == 1:
            self._row = {"attrs": attrs, "cells": []}
        elif tag in ("td", "th") and self._row is not None and len(self._table) == 1:
            self._cell = []
        elif tag == "br" and self._cell is not None:
            self._cell.append(" ")

    def handle_endtag(self, tag):
        if tag == "table" and self._table:
            self._table.pop()
        elif tag in ("td", "th") and self._cell is not None and len(self._table) == 1:
            self._row["cells"].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None and len(self._table) == 1:
            self.rows.setdefault(self._table[-1], []).append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def _parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


# ---- the reconciliation ------------------------------------------------------------------------------------


def _local_date(utc_text: str) -> date:
    return datetime.fromisoformat(utc_text.replace("Z", "+00:00")).astimezone(LONDON).date()


def _landing_oracle(data_dir: Path) -> dict[str, int]:
    """The day's values from the landing CSVs: the lines of the files that deliver the day, less the rows the
    lake's quarantine holds (matched by their raw text), less the values the run's quarantine refused; then the
    current values (one per MPAN, quantity and period) and the superseded ones (the rest)."""
    day = date.fromisoformat(SAMPLE_DAY)
    files = {}
    for path in sorted((SAMPLE / "consumption").glob("*.csv")):
        lines = path.read_text().splitlines()[1:]
        rows = list(csv.reader(lines))
        if any(len(row) == 7 and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", row[2]) and _local_date(row[2]) == day
               for row in rows):
            files[f"consumption/{path.name}"] = lines
    with duckdb.connect() as con:  # every row the lake's quarantine holds (the sample's files are all committed)
        quarantined = con.execute("SELECT source_file, raw_record FROM read_parquet(?)",
                                  [str(data_dir / "lake" / "quarantine" / "**" / "*.parquet")]).fetchall()
    run_dir = data_dir / "runs" / SAMPLE_RUN_TYPE / SAMPLE_DAY / "v1"
    with duckdb.connect() as con:
        refused = con.execute(
            "SELECT mpan_core, measurement_quantity, strftime(utc_period_start AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%SZ'), "
            "data_service_id, strftime(received_at AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%SZ') "
            f"FROM read_parquet('{run_dir / 'published' / 'quarantine.parquet'}')").fetchall()
        registrations = dict(((m, q), e) for m, q, e in con.execute(
            "SELECT mpan_core, measurement_quantity, energisation_status "
            f"FROM read_parquet('{run_dir / 'basis' / 'registrations_in_force.parquet'}')").fetchall())
    received = sum(len(lines) for lines in files.values())
    kept: Counter = Counter()
    refused_at_ingestion = 0
    for name, lines in files.items():
        remaining = Counter(lines)
        for source, raw in quarantined:
            if source == name:
                assert remaining[raw] > 0, f"quarantined row not in {name}: {raw}"
                remaining[raw] -= 1
                refused_at_ingestion += 1
        for line, count in remaining.items():
            mpan, quantity, start, _, _, service, received_at = next(csv.reader([line]))
            if _local_date(start) == day:
                kept[(mpan, quantity, start, service, received_at)] += count
    accepted = sum(kept.values())
    for key in refused:
        assert kept[key] > 0, f"refused value not in the landing files: {key}"
        kept[key] -= 1
    by_period = Counter()
    for (mpan, quantity, start, _, _), count in kept.items():
        by_period[(mpan, quantity, start)] += count
    current = sum(1 for count in by_period.values() if count)
    midnight = datetime(day.year, day.month, day.day, tzinfo=LONDON)
    periods = int(((midnight + timedelta(days=1)).astimezone(timezone.utc) - midnight.astimezone(timezone.utc))
                  / timedelta(minutes=30))
    de_energised_values = sum(1 for (mpan, quantity, _), n in by_period.items()
                              if n and registrations.get((mpan, quantity)) == "D")
    settled = periods * sum(1 for status in registrations.values() if status == "E") + de_energised_values
    # register reads covering the day that neither ingestion nor the run refused: each gives its MPAN's periods
    # without a half-hourly value a derived value
    with duckdb.connect() as con:
        refused_reads = set(con.execute(
            "SELECT mpan_core, measurement_quantity, read_start_date::VARCHAR, read_end_date::VARCHAR "
            f"FROM read_parquet('{run_dir / 'published' / 'register_read_quarantine.parquet'}')").fetchall())
    quarantined_lines = {raw for source, raw in quarantined if source.startswith("register_reads/")}
    read_mpans = set()
    for path in sorted((SAMPLE / "register_reads").glob("*.csv")):
        lines = path.read_text().splitlines()
        header = lines[0].split(",")
        for line in lines[1:]:
            row = dict(zip(header, next(csv.reader([line]))))
            key = (row["mpan_core"], row["measurement_quantity"], row["read_start_date"], row["read_end_date"])
            if (line not in quarantined_lines and key not in refused_reads
                    and row["read_start_date"] <= SAMPLE_DAY <= row["read_end_date"]):
                read_mpans.add(key[:2])
    hh_periods = Counter((mpan, quantity) for (mpan, quantity, _), n in by_period.items() if n)
    derived = sum(periods - hh_periods[key] for key in read_mpans)
    assert derived > 0  # the sample's daily and monthly reads reach the day
    return {"received": received, "refused_at_ingestion": refused_at_ingestion, "accepted": accepted,
            "refused_at_settlement": len(refused), "superseded": sum(n - 1 for n in by_period.values() if n),
            "current": current, "settled": settled, "derived_from_register_reads": derived,
            "estimated_at_settlement": settled - current - derived}


def test_the_reconciliation_adds_up_on_the_sample_day_and_agrees_with_the_landing_files(settled_sample):
    reconciliation = reconcile(_run(settled_sample), Lake(settled_sample))
    assert reconciliation.closes, reconciliation.problems()
    assert reconciliation.not_checked == []
    oracle = _landing_oracle(settled_sample)
    assert {key: reconciliation.value(key) for key in oracle} == oracle
    # the sample has restatements, refusals at both stages and estimates: every line is exercised
    assert all(oracle[key] > 0 for key in ("refused_at_ingestion", "refused_at_settlement", "superseded",
                                           "estimated_at_settlement"))
    # the breakdowns: actual + estimated settled, estimated by the data service + at settlement
    settled = dict(reconciliation.step("settled").breakdown)
    current = dict(reconciliation.step("current").breakdown)
    assert sum(settled.values()) == oracle["settled"]
    assert settled["settled as estimated (flag E)"] == (current["estimated by the data service (flag E as received)"]
                                                         + oracle["estimated_at_settlement"])


def test_the_report_shows_the_reconciliation_with_every_line_from_its_source(settled_sample):
    html = _report(settled_sample).read_text()
    rows = [row for row in _parse(html).rows["reconciliation"] if "data-step" in row["attrs"]]
    totals = [row for row in rows if "total" in row["attrs"].get("class", "")]
    assert [row["attrs"]["data-step"] for row in totals] == ["accepted", "current", "settled"]
    assert all(row["cells"][-1] == "adds up" for row in totals)
    shown = {row["attrs"]["data-step"]: int(row["cells"][2].replace(",", "")) for row in rows
             if "part" not in row["attrs"].get("class", "")}
    oracle = _landing_oracle(settled_sample)
    assert {key: shown[key] for key in oracle} == oracle
    assert "does not add up" not in html


def test_a_source_that_disagrees_makes_the_reconciliation_fail_and_the_report_say_so(settled_sample_copy, tmp_path):
    """The check can fail: one refused value dropped from the run's quarantine leaves the values after settlement
    one short of the arithmetic."""
    run = _run(settled_sample_copy)
    quarantine = run.run_dir / "published" / "quarantine.parquet"
    changed = quarantine.with_suffix(".changed.parquet")
    with duckdb.connect() as con:
        con.execute(f"COPY (SELECT * FROM read_parquet('{quarantine}') LIMIT (SELECT count(*) - 1 "
                    f"FROM read_parquet('{quarantine}'))) TO '{changed}' (FORMAT parquet)")
    changed.replace(quarantine)
    reconciliation = reconcile(run, Lake(settled_sample_copy))
    assert not reconciliation.closes
    assert [check.name for check in reconciliation.checks if not check.closes] == [
        "current = accepted - refused at settlement - superseded"]
    html = render_report(run, Lake(settled_sample_copy), None)
    assert "does not add up" in html and "off by -1" in html


# ---- Data Docs beside the report, links relative -------------------------------------------------------------


def test_the_report_links_its_data_docs_copies_relatively_and_they_resolve_when_the_folder_is_copied(settled_sample, tmp_path):
    published = _report(settled_sample).parent
    elsewhere = tmp_path / "mailed" / "report"
    shutil.copytree(published, elsewhere)
    report = elsewhere / REPORT_NAME
    html = report.read_text()
    assert "file://" not in html and str(settled_sample) not in html
    links = set(_parse(html).links)
    assert links, "the report links no Data Docs page"
    for link in links:
        assert not re.match(r"^([a-z][a-z0-9+.-]*:|/)", link), f"not relative: {link}"
        assert (report.parent / link).resolve().is_file(), f"{link} does not resolve beside the copied report"
    # one page per validated relation, each a copy in data_docs/ beside the report
    relations = [relation for relation in GATE_RELATIONS if suite_expectations(relation)]
    assert sorted(links) == sorted(f"{DATA_DOCS_DIR}/{relation}.html" for relation in relations)
    for link in links:
        page = (report.parent / link).read_text()
        # nothing fetched from elsewhere (no CDN stylesheet, script or image), styles inline, a way back
        assert not re.search(r"<(link|script|img)\b[^>]*\b(href|src)=\"(https?:)?//", page), link
        assert "<script" not in page and "mhhs offline styles" in page
        assert f'href="../{REPORT_NAME}"' in page and (report.parent / link).parent.joinpath("..", REPORT_NAME).resolve().is_file()
        # every link left in the page leaves the site (an absolute URL) or stays in the page (#)
        for href in _parse(page).links:
            assert re.match(r"^(https?:|#|\.\./data_quality_report\.html$)", href), (link, href)


def test_the_warning_page_copy_says_its_failed_rule_is_a_warning(settled_sample):
    html = _report(settled_sample).read_text()
    warnings = [row for row in _parse(html).rows["rules"] if row["attrs"].get("data-result") == "warning"]
    assert warnings
    for row in warnings:
        relation, rule = row["cells"][0], row["cells"][1].split()[0]
        page = (_report(settled_sample).parent / DATA_DOCS_DIR / f"{relation}.html").read_text()
        assert re.search(rf'<li class="warning"><code>{re.escape(rule)}</code>: warning', page)


def test_the_gx_project_names_its_data_docs_site_relative_to_itself(settled_sample):
    config = (settled_sample / "gx" / "great_expectations.yml").read_text()
    assert str(settled_sample) not in config.split("fluent_datasources:")[0]
    site = re.search(r"\n  auditors:\n(.*?)\n(?=\S)", config + "\nx", re.S).group(1)
    directory = re.search(r"base_directory: (\S+)", site).group(1)
    assert not Path(directory).is_absolute()
    assert (settled_sample / "gx" / directory).resolve() == (settled_sample / DATA_DOCS_DIR).resolve()
    styles = settled_sample / "gx" / "plugins" / "custom_data_docs" / "styles" / "data_docs_custom_styles.css"
    assert styles.is_file()
    assert "mhhs offline styles" in (settled_sample / DATA_DOCS_DIR / "index.html").read_text()


def test_a_gx_project_with_an_absolute_data_docs_path_is_made_relative(settled_sample, tmp_path):
    from pipelines.quality import gate

    data_dir = tmp_path / "data"
    shutil.copytree(settled_sample / "gx", data_dir / "gx")
    config = data_dir / "gx" / "great_expectations.yml"
    elsewhere = tmp_path / "somewhere else" / "data_docs"
    config.write_text(config.read_text().replace("base_directory: ../data_docs", f"base_directory: {elsewhere}"))
    assert str(elsewhere) in config.read_text()
    gate._context(data_dir)
    assert str(elsewhere) not in config.read_text() and "base_directory: ../data_docs" in config.read_text()


# ---- the header: versions, standing data, rule counts ------------------------------------------------------


def test_the_header_names_the_versions_and_the_standing_data_with_their_sha256(settled_sample):
    html = _report(settled_sample).read_text()
    header = html[html.index("<header>"):html.index("</header>")]
    versions = {row["cells"][0]: row["cells"][1] for row in _parse(header).rows["versions"]}
    for distribution, label in (("dbt-core", "dbt"), ("great-expectations", "Great Expectations"),
                                ("duckdb", "DuckDB"), ("mhhs-settlement", "mhhs-settlement")):
        assert versions[label] == importlib.metadata.version(distribution)
    commit = subprocess.run(["git", "-C", str(PROJECT_ROOT), "rev-parse", "HEAD"], capture_output=True, text=True)
    if commit.returncode == 0:
        assert versions["git commit"].startswith(commit.stdout.strip())
    else:
        assert "not available" in versions["git commit"]
    standing = {row["cells"][0]: row["cells"] for row in _parse(header).rows["standing-data"][1:]}
    given = sorted(path for path in (SAMPLE / "standing").glob("*.csv"))
    for path in given:
        if path.name in standing:
            assert standing[path.name][2] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert {"llf.csv", "gsp_group_take.csv", "ccc.csv"} <= set(standing)


def test_each_rule_is_passed_warning_or_failed_and_the_header_counts_each(settled_sample):
    html = _report(settled_sample).read_text()
    rules = _parse(html).rows["rules"][1:]
    counts = Counter(row["attrs"]["data-result"] for row in rules)
    header = re.search(r'class="rule-counts" data-passed="(\d+)" data-warning="(\d+)" data-failed="(\d+)"', html)
    assert (int(header[1]), int(header[2]), int(header[3])) == (counts["passed"], counts["warning"], counts["failed"])
    assert set(counts) <= {"passed", "warning", "failed"} and counts["failed"] == 0
    for row in rules:
        assert row["cells"][3] == {"passed": "passed", "warning": "warning", "failed": "failed (critical)"}[
            row["attrs"]["data-result"]]
    # the review band rule is a warning exactly when a published correction factor lies outside 0.9..1.1
    with duckdb.connect() as con:
        outside = con.execute("SELECT count(*) FROM read_parquet(?) WHERE correction_factor NOT BETWEEN 0.9 AND 1.1",
                              [str(_report(settled_sample).parent / "gsp_group_correction.parquet")]).fetchall()[0][0]
    (band,) = [row for row in rules if row["cells"][1].startswith("correction_factor.review_band")]
    assert band["attrs"]["data-result"] == ("warning" if outside else "passed")
    assert int(band["cells"][4]) == outside
    if outside:
        assert "1 warning to review" in html or f"{counts['warning']} warnings to review" in html


# ---- a stopped run's reasons ---------------------------------------------------------------------------------


@pytest.mark.unit
@pytest.mark.parametrize("value, shown", [
    (Decimal("0E-11"), "0"), ("0E-11", "0"), (Decimal("1234.567000"), "1234.567"), ("100.000000", "100"),
    (Decimal("-0.0004"), "-0.0004"), (Decimal("3E-9"), "0.000000003"), (Decimal("4E-12"), "4.000e-12"),
    ("1.113864603", "1.113864603"), (0.1 + 0.2, "0.3"), (Decimal("1E+3"), "1000"), ("2032021703506", "2032021703506"),
    ("_B", "_B"), (5, "5"), (None, ""),
])
def test_numbers_are_shown_as_an_auditor_reads_them(value, shown):
    assert _number(value) == shown


@pytest.mark.unit
def test_a_stopped_runs_problems_are_a_table_one_row_each_with_numbers_formatted(tmp_path):
    problems = [
        # as pipelines.settle.partition writes a stopping check's rows into the run's reason
        "corrected volumes do not add up to GSP Group Take (2 rows): gsp_group_id=_A, settlement_period=5, "
        "expected_kwh=100.000000, observed_kwh=0E-11; gsp_group_id=_B, settlement_period=7, expected_kwh=12.500000, "
        "observed_kwh=12.499000",
        "GSP Groups _C were not settled",
    ]
    html = _problems_table(SimpleNamespace(run_dir=tmp_path), problems, None)
    page = _parse(f"<html><body>{html}</body></html>")
    rows = page.rows["stopped-by"][1:]
    assert [row["cells"][0] for row in rows] == ["corrected volumes do not add up to GSP Group Take",
                                                "GSP Groups _C were not settled"]
    assert rows[0]["cells"][1] == "2" and rows[1]["cells"][1] == ""
    assert "E-11" not in html and "100.000000" not in html
    assert re.search(r"<td>_A</td><td class=\"n\">5</td><td class=\"n\">100</td><td class=\"n\">0</td>", html)
    assert re.search(r"<td>_B</td><td class=\"n\">7</td><td class=\"n\">12.5</td><td class=\"n\">12.499</td>", html)


@pytest.mark.unit
def test_a_data_docs_page_copy_fetches_nothing_and_keeps_its_content():
    page = ('<html><head><link rel="stylesheet" href="https://cdn.example/b.css"/><script src="https://cdn.example/j.js">'
            '</script><style>.x{background:url(\'https://s3.example/logo.png\')}</style></head><body>'
            '<a href="../../index.html">Home</a><img src="https://s3.example/a.png"><a href="#s">here</a>'
            "<table><tr><td>kept</td></tr></table><script>$('.x').modal()</script></body></html>")
    copy = offline_page(page, '<div class="banner">b</div>')
    assert "https://" not in copy and "<script" not in copy and not re.search(r'\shref="\.\./\.\./index', copy)
    assert "<td>kept</td>" in copy and 'href="#s"' in copy and "mhhs offline styles" in copy
    assert copy.index('<div class="banner">') < copy.index("Home")
