"""`data_quality_report.html`: what an auditor reads about one settlement run (CONTRACT.md).

One page with inline CSS, inline SVG charts and a few lines of inline script; nothing is fetched, so it works
offline and as an e-mail attachment. Its header names the run, the software that made it (project version and
git commit, dbt, Great Expectations, DuckDB) and the standing data it used (each file's source and SHA-256),
and counts the quality rules passed, warnings and failed (critical); a stopped run's reasons are a table, one
row per problem. Then: the reconciliation of the day's values from the landing files to the values settled
(pipelines.quality.reconciliation, checked to add up), rejections by reason, actual against estimated share
per supplier, line losses, correction factors per GSP Group over the day against the 0.9..1.1 review band,
and every quality rule, passed / warning / failed (critical), with its Great Expectations Data Docs page.

The Data Docs pages of the run are copied beside the report (`data_docs/<relation>.html`, self-contained:
pipelines.quality.data_docs) and linked relatively, so the report's folder reads the same wherever it is
copied; mailed alone, the report still holds every rule's result and examples.

Every figure is read from the run's own files (staged or published outputs, basis data, the dbt work
databases, the lake's committed submissions and the ingestion log), so the report of a failed run shows what
the gate saw.
"""

import importlib.metadata
import json
import os
import platform
import re
import subprocess
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from html import escape
from pathlib import Path

import duckdb

import pipelines
from pipelines import catalogue
from pipelines.core.paths import PROJECT_ROOT
from pipelines.quality.data_docs import copy_pages
from pipelines.quality.gate import GateResult
from pipelines.quality.reconciliation import ESTIMATION_METHODS, Reconciliation, reconcile, run_file
from pipelines.reference.lake import Lake, period_columns
from pipelines.reference.standing_data import SYNTHETIC_WARNING

REPORT_NAME = "data_quality_report.html"
_CORRECTION_FACTOR = catalogue.load().items["correction_factor"]
REVIEW_BAND = (_CORRECTION_FACTOR.warn_min, _CORRECTION_FACTOR.warn_max)
__all__ = ["ESTIMATION_METHODS", "REPORT_NAME", "render_report", "write_report"]


def _relation(con, name: str, path: Path) -> bool:
    if not path.exists():
        return False
    con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{path}')")
    return True


def _run_file(run_dir: Path, name: str) -> Path:
    """reconciliation.run_file, or where the run would stage it (a run that stopped before staging)."""
    return run_file(run_dir, name) or run_dir / "staged" / name


def _figures(run, lake: Lake) -> dict:
    """Everything the page shows, from the run's files; a section is None when the run stopped before it."""
    con = duckdb.connect()
    has = {
        "volumes": _relation(con, "supplier_volumes", _run_file(run.run_dir, "supplier_volumes.parquet")),
        "correction": _relation(con, "gsp_group_correction", _run_file(run.run_dir, "gsp_group_correction.parquet")),
        "ccc": _relation(con, "ccc", run.run_dir / "standing" / "ccc.parquet"),
    }
    reconciliation = reconcile(run, lake)
    figures: dict = {"reconciliation": reconciliation}
    # the reconciliation's refusals by reason: the ingestion log's and the run's quarantine (or dbt's)
    figures["rejections"] = sorted(
        [(stage, code, count) for stage, key in (("ingestion", "refused_at_ingestion"),
                                                 ("settlement", "refused_at_settlement"))
         for code, count in reconciliation.step(key).breakdown],
        key=lambda r: (-r[2], r[0], r[1]))
    figures["shares"] = None
    if has["volumes"] and has["ccc"]:
        figures["shares"] = con.execute(
            "SELECT v.supplier_id, "
            "sum(CASE WHEN c.actual_estimated = 'A' THEN v.uncorrected_kwh ELSE 0 END)::DOUBLE, "
            "sum(CASE WHEN c.actual_estimated = 'E' THEN v.uncorrected_kwh ELSE 0 END)::DOUBLE "
            "FROM supplier_volumes v JOIN ccc c USING (ccc_id) WHERE c.component = 'C' "
            "GROUP BY v.supplier_id ORDER BY v.supplier_id"
        ).fetchall()
    figures["sources"] = None
    basis = run.run_dir / "basis" / "consumption_after_estimation.parquet"
    if basis.exists():
        figures["sources"] = _volume_sources(con, basis)
    figures["load_shapes"] = None
    if _relation(con, "load_shapes", _run_file(run.run_dir, "load_shapes.parquet")):
        rows = con.execute(
            "SELECT market_segment, domestic_premises, consent_granularity, measurement_quantity, gsp_group_id, "
            "settlement_period, load_shape_kwh::DOUBLE FROM load_shapes ORDER BY ALL").fetchall()
        shapes: dict[tuple, dict[str, list]] = {}
        for segment, domestic, consent, quantity, group, period, value in rows:
            shapes.setdefault((segment, domestic, consent, quantity), {}).setdefault(group, []).append((period, value))
        figures["load_shapes"] = shapes
    figures["losses"] = None
    if has["volumes"] and has["ccc"]:
        # losses per GSP Group and quantity against the metered volume: negative where LLFs are below 1
        figures["losses"] = con.execute(
            "SELECT v.gsp_group_id, v.measurement_quantity, "
            "sum(CASE WHEN c.component = 'C' THEN v.uncorrected_kwh ELSE 0 END)::DOUBLE, "
            "sum(CASE WHEN c.component = 'L' THEN v.uncorrected_kwh ELSE 0 END)::DOUBLE, "
            "count(*) FILTER (WHERE c.component = 'L' AND v.uncorrected_kwh < 0) "
            "FROM supplier_volumes v JOIN ccc c USING (ccc_id) GROUP BY ALL ORDER BY 1, 2"
        ).fetchall()
    figures["correction"] = None
    if has["correction"]:
        rows = con.execute(
            "SELECT gsp_group_id, settlement_period, correction_factor::DOUBLE FROM gsp_group_correction "
            "ORDER BY gsp_group_id, settlement_period"
        ).fetchall()
        by_group: dict[str, list] = {}
        for group, period, factor in rows:
            by_group.setdefault(group, []).append((period, factor))
        figures["correction"] = by_group
    con.close()
    return figures


def _volume_sources(con, basis: Path) -> list[tuple[str, float, float, float]]:
    """Per supplier, the metered volume (both quantities, before losses) settled from half-hourly actuals, from
    register reads shaped into half hours, and from estimates (by the data service or at settlement), from the
    basis data's masks (bit p = period p): a derived value counts as shaped whatever quality flag it carries."""
    def part(condition: str) -> str:
        return " + ".join(f"CASE WHEN {condition.format(p=p)} THEN coalesce({column}, 0) ELSE 0 END"
                          for p, column in enumerate(period_columns("kwh"), start=1))
    shaped = "(register_read_mask >> {p}) & 1 = 1"
    estimated = "(register_read_mask >> {p}) & 1 = 0 AND (estimated_mask >> {p}) & 1 = 1"
    actual = "((register_read_mask | estimated_mask) >> {p}) & 1 = 0"
    return con.execute(
        f"SELECT supplier_id, sum({part(actual)})::DOUBLE, sum({part(shaped)})::DOUBLE, sum({part(estimated)})::DOUBLE "
        f"FROM read_parquet('{basis}') GROUP BY supplier_id ORDER BY supplier_id").fetchall()


# ---- charts: inline SVG, drawn by the browser with no library ----------------------------------------


def _bar_chart(name: str, rows: list[tuple[str, float]], unit: str) -> str:
    width, bar, gap, label_width = 720, 18, 6, 330
    top = max((value for _, value in rows), default=0) or 1
    height = len(rows) * (bar + gap) + gap
    parts = [f'<svg class="chart" data-chart="{name}" role="img" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}">']
    for index, (label, value) in enumerate(rows):
        y = gap + index * (bar + gap)
        length = max(1.0, (width - label_width - 80) * value / top)
        parts.append(f'<text x="{label_width - 8}" y="{y + 13}" text-anchor="end">{escape(label)}</text>'
                     f'<rect class="bar" x="{label_width}" y="{y}" width="{length:.1f}" height="{bar}">'
                     f'<title>{escape(label)}: {value:,.0f} {unit}</title></rect>'
                     f'<text x="{label_width + length + 6:.1f}" y="{y + 13}">{value:,.0f}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _share_chart(name: str, parts: tuple[str, ...], rows: list[tuple]) -> str:
    """One stacked bar per supplier: rows are (supplier, kWh of each part in the order of parts); the text on the
    right is the share of the last part."""
    width, bar, gap, label_width = 640, 18, 6, 90
    height = len(rows) * (bar + gap) + gap + 20
    span = width - label_width - 60
    parts_svg = [f'<svg class="chart" data-chart="{name}" role="img" width="{width}" '
                 f'height="{height}" viewBox="0 0 {width} {height}">']
    for index, (supplier, *values) in enumerate(rows):
        y = gap + index * (bar + gap)
        total = sum(values) or 1
        x = float(label_width)
        parts_svg.append(f'<text x="{label_width - 8}" y="{y + 13}" text-anchor="end">{escape(supplier)}</text>')
        for part, value in zip(parts, values):
            length = span * value / total
            parts_svg.append(
                f'<rect class="bar {part.replace(" ", "-")}" x="{x:.1f}" y="{y}" width="{length:.1f}" height="{bar}">'
                f'<title>{escape(supplier)} {escape(part)} {value:,.1f} kWh ({100 * value / total:.1f}%)</title></rect>')
            x += length
        parts_svg.append(f'<text x="{label_width + span + 6}" y="{y + 13}">{100 * values[-1] / total:.1f}%</text>')
    y = height - 6
    for index, part in enumerate(parts):
        left = label_width + 130 * index
        parts_svg.append(f'<rect class="{part.replace(" ", "-")}" x="{left}" y="{y - 10}" width="10" height="10"/>'
                         f'<text x="{left + 14}" y="{y}">{escape(part)}</text>')
    parts_svg.append("</svg>")
    return "".join(parts_svg)


def _shape_chart(category: tuple, by_group: dict[str, list[tuple[int, float]]]) -> str:
    """A category's load shape over the day (kWh per MPAN and period), one line per GSP Group."""
    width, height, pad = 300, 150, 28
    values = [v for points in by_group.values() for _, v in points if v is not None]
    high = max(values, default=0) or 1
    last = max((p for points in by_group.values() for p, _ in points), default=1)

    def x(period: int) -> float:
        return pad + (width - 2 * pad) * (period - 1) / max(1, last - 1)

    def y(value: float) -> float:
        return height - pad - (height - 2 * pad) * value / high

    segment, domestic, consent, quantity = category
    name = f"{segment}/{domestic}/{consent}/{quantity}"
    lines = "".join(
        f'<polyline class="shape-line" points="{" ".join(f"{x(p):.1f},{y(v):.1f}" for p, v in points if v is not None)}">'
        f"<title>{escape(group)}</title></polyline>" for group, points in by_group.items())
    return (
        f'<figure class="small"><svg class="chart" data-chart="load_shape_{escape(name)}" role="img" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
        f'<line class="axis" x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}"/>'
        f'<text x="2" y="{pad}">{high:.3g}</text>'
        f'<text x="{pad}" y="{height - 8}">1</text><text x="{width - pad}" y="{height - 8}" text-anchor="end">{last}</text>'
        f"{lines}</svg><figcaption>market segment {escape(segment)}, domestic {escape(domestic)}, consent "
        f"{escape(consent)}, {escape(quantity)}: {len(by_group)} GSP Group{'s' if len(by_group) != 1 else ''}"
        "</figcaption></figure>"
    )


def _correction_chart(group: str, points: list[tuple[int, float]]) -> str:
    width, height, pad = 300, 150, 28
    factors = [factor for _, factor in points if factor is not None]
    low = min([REVIEW_BAND[0] - 0.05, *factors])
    high = max([REVIEW_BAND[1] + 0.05, *factors])
    last = max(period for period, _ in points)

    def x(period: int) -> float:
        return pad + (width - 2 * pad) * (period - 1) / max(1, last - 1)

    def y(factor: float) -> float:
        return height - pad - (height - 2 * pad) * (factor - low) / (high - low)

    outside = sum(1 for f in factors if not REVIEW_BAND[0] <= f <= REVIEW_BAND[1])
    line = " ".join(f"{x(p):.1f},{y(f):.1f}" for p, f in points if f is not None)
    return (
        f'<figure class="small"><svg class="chart" data-chart="correction_factor_{escape(group)}" role="img" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
        f'<rect class="band" x="{pad}" y="{y(REVIEW_BAND[1]):.1f}" width="{width - 2 * pad}" '
        f'height="{y(REVIEW_BAND[0]) - y(REVIEW_BAND[1]):.1f}"><title>review band {REVIEW_BAND[0]:g} to {REVIEW_BAND[1]:g}</title></rect>'
        f'<line class="axis" x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}"/>'
        f'<text x="2" y="{y(REVIEW_BAND[1]) + 4:.1f}">{REVIEW_BAND[1]:g}</text>'
        f'<text x="2" y="{y(REVIEW_BAND[0]) + 4:.1f}">{REVIEW_BAND[0]:g}</text>'
        f'<text x="{pad}" y="{height - 8}">1</text><text x="{width - pad}" y="{height - 8}" text-anchor="end">{last}</text>'
        f'<polyline class="cf-line" points="{line}"/></svg>'
        f'<figcaption>{escape(group)}{f" - {outside} periods outside the band" if outside else ""}</figcaption></figure>'
    )


# ---- provenance: the software and the standing data -------------------------------------------------


_PACKAGES = (("dbt-core", "dbt"), ("dbt-duckdb", "dbt-duckdb"), ("great-expectations", "Great Expectations"),
             ("duckdb", "DuckDB"))


def _installed(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


@lru_cache(maxsize=1)
def git_commit() -> str | None:
    """The project's git commit, "+ uncommitted changes" when its tracked files differ from it; else the image's
    MHHS_GIT_COMMIT (a checkout without .git, such as the docker image); None when neither is known."""
    try:
        commit = subprocess.run(["git", "-C", str(PROJECT_ROOT), "rev-parse", "HEAD"], capture_output=True,
                                text=True, timeout=10)
        if commit.returncode == 0 and commit.stdout.strip():
            dirty = subprocess.run(["git", "-C", str(PROJECT_ROOT), "status", "--porcelain", "--untracked-files=no"],
                                   capture_output=True, text=True, timeout=30)
            return commit.stdout.strip() + (" + uncommitted changes" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        pass
    return os.environ.get("MHHS_GIT_COMMIT") or None


def software_versions() -> list[tuple[str, str]]:
    """(what, version) of everything that made the run's numbers and this report."""
    try:
        project = importlib.metadata.version("mhhs-settlement")
    except importlib.metadata.PackageNotFoundError:
        project = pipelines.__version__
    return [("mhhs-settlement", project), ("git commit", git_commit() or "not available (not a git checkout)"),
            *((label, _installed(name)) for name, label in _PACKAGES), ("Python", platform.python_version())]


def _provenance(standing: dict) -> str:
    versions = "".join(f'<tr><th>{escape(what)}</th><td><code>{escape(version)}</code></td></tr>'
                       for what, version in software_versions())
    return (f'<table class="provenance" id="versions"><caption>made with</caption><tbody>{versions}</tbody></table>'
            f"<h2>Standing data</h2>{_standing_table(standing)}")


# ---- the page ----------------------------------------------------------------------------------------

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;max-width:72em;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ccc}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top}
td.n{text-align:right;font-variant-numeric:tabular-nums}.status{padding:.6em 1em;font-weight:bold;margin:.5em 0}
.published{background:#e3f4e3}.stopped{background:#fbe3e3}
.synthetic{background:#fff0b3;border:2px solid #c90;font-size:1.1em}
tr.failed td{background:#fbe3e3}tr.warning td{background:#fdf3d8}
.badge{display:inline-block;padding:.1em .5em;border-radius:.8em;font-weight:bold;font-size:.9em;white-space:nowrap}
.badge.passed{background:#d7efd7;color:#185c18}.badge.warning{background:#f7dc9b;color:#6b4a00}
.badge.failed{background:#e9a3a3;color:#6d0e0e}
.rule-counts .badge{margin-right:.4em}table.provenance th{font-weight:normal;color:#555}
table.reconciliation td.op{text-align:center;font-weight:bold;width:1.5em}
table.reconciliation tr.total td{font-weight:bold;border-top:2px solid #888}
table.reconciliation tr.part td{color:#555;font-size:.9em}table.reconciliation tr.part td.label{padding-left:2.2em}
td.check{white-space:nowrap}td.check.ok{color:#185c18}.badge.zero{background:#eee;color:#555}td.check.bad{color:#a00;font-weight:bold}
table.problems td.examples table{margin:.2em 0}table.problems td.examples td,table.problems td.examples th{font-size:.85em}
svg text{font-size:11px}rect.bar{fill:#4a78b5}rect.actual{fill:#4a78b5}rect.estimated{fill:#e3a33b}rect.half-hourly-actual{fill:#4a78b5}rect.shaped-register-reads{fill:#6aa84f}polyline.shape-line{fill:none;stroke:#4a78b5;stroke-width:1;opacity:.7}
rect.band{fill:#dcefdc}polyline.cf-line{fill:none;stroke:#b33;stroke-width:1.5}line.axis{stroke:#888}
figure.small{display:inline-block;margin:.3em}figcaption{font-size:.85em;text-align:center}
code{font-size:.85em;word-break:break-all}.note{color:#555;font-size:.9em}
"""

# Filters the rule table to the rules that did not pass.
_SCRIPT = """
document.getElementById('only-problems').addEventListener('change', function (event) {
  document.querySelectorAll('#rules tbody tr').forEach(function (row) {
    row.hidden = event.target.checked && row.dataset.result === 'passed';
  });
});
"""

_STATUS_TEXT = {"passed": "passed", "warning": "warning", "failed": "failed (critical)"}


def _badge(status: str, text: str | None = None) -> str:
    return f'<span class="badge {status}">{escape(text or _STATUS_TEXT[status.split()[0]])}</span>'


_NUMERIC = re.compile(r"-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


def _number(value) -> str:
    """A number as an auditor reads it: integers as they are, decimals in fixed point to at most 9 places without
    trailing zeros (DuckDB's Decimal('0E-11') is 0, '100.000000' is 100), a value below 1E-9 (but not 0) in
    scientific notation; text unchanged."""
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value)
    if isinstance(value, str):
        if not _NUMERIC.fullmatch(value.strip()):
            return value
        try:
            value = Decimal(value.strip())
        except InvalidOperation:
            return value
        if value == value.to_integral_value() and "E" not in str(value).upper() and "." not in str(value):
            return str(value)  # an identifier or count as written (no separators: it may be an MPAN)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (float, Decimal)):
        number = Decimal(str(value)) if isinstance(value, float) else value
        if number == 0:
            return "0"
        if abs(number) < Decimal("1E-9"):
            return f"{number:.3e}"
        if number.as_tuple().exponent < -9:
            number = number.quantize(Decimal("1E-9"))
        return f"{number:f}".rstrip("0").rstrip(".") if "." in f"{number:f}" else f"{number:f}"
    return str(value)


def _reconciliation_table(reconciliation: Reconciliation) -> str:
    rows = []
    for step in reconciliation.steps:
        shown = "not available" if step.values is None else f"{step.values:,}"
        check_cell = ""
        if step.operation == "=":
            check = next((c for c in reconciliation.checks if c.step == step.key), None)
            if check is not None:
                check_cell = ('<td class="check ok">adds up</td>' if check.closes else
                              f'<td class="check bad">expected {check.expected:,}: off by '
                              f"{check.counted - check.expected:+,}</td>")
        css = "total" if step.operation == "=" else ""
        operation = {"-": "&minus;", "+": "+", "=": "=", "": ""}[step.operation]
        rows.append(f'<tr class="{css}" data-step="{step.key}"><td class="op">{operation}</td>'
                    f'<td class="label">{escape(step.label)}</td><td class="n">{shown}</td>'
                    f'<td class="source">{escape(step.source)}</td>{check_cell or "<td></td>"}</tr>')
        for what, count in step.breakdown:
            rows.append(f'<tr class="part" data-step="{step.key}"><td></td><td class="label">{escape(what.replace("_", " ") if what in ESTIMATION_METHODS else what)}</td>'
                        f'<td class="n">{count:,}</td><td></td><td></td></tr>')
    if reconciliation.closes:
        verdict = (f'<p class="closes">{_badge("passed", "adds up")} every total counted from its own source equals '
                   f"the arithmetic of the lines above it ({len(reconciliation.checks)} checks).</p>")
    else:
        verdict = (f'<p class="closes">{_badge("failed", "does not add up")} '
                   + "; ".join(escape(p) for p in reconciliation.problems()) + "</p>")
    not_checked = "".join(f"<li>{escape(note)}</li>" for note in reconciliation.not_checked)
    checks = "".join(f'<li>{_badge("passed" if c.closes else "failed", "adds up" if c.closes else "does not add up")} '
                     f"{escape(c.name)}: {c.counted:,}</li>" for c in reconciliation.checks)
    return (
        "<p>Every half-hourly value of the day, from the landing files to what was settled. Each line is counted "
        "where it was decided (the source column); each total (=) is counted from its own source and checked "
        "against the lines above it. Refusals at settlement come before supersession, as in settlement itself: "
        "a refused submission never hides an earlier valid one. Estimated values are added by settlement, so the "
        "values settled are the current values plus those estimates. One landing row is one value (a DIP message "
        "refused whole counts as one).</p>"
        '<table class="reconciliation" id="reconciliation"><thead><tr><th></th><th>values</th><th>count</th>'
        f"<th>source</th><th>check</th></tr></thead><tbody>{''.join(rows)}</tbody></table>{verdict}"
        f'<details><summary>The checks</summary><ul class="checks">{checks}</ul></details>'
        + (f'<p class="note">Not checked:</p><ul class="note">{not_checked}</ul>' if not_checked else "")
    )


def _summary_table(reconciliation: Reconciliation) -> str:
    rows = [("landing files that delivered this day's data", reconciliation.files),
            ("MPAN-day submissions accepted for the day", reconciliation.submissions)]
    if reconciliation.mpans is not None:
        rows.append(("MPANs and quantities settled", reconciliation.mpans))
    return "<table><tbody>" + "".join(
        f'<tr><td>{escape(label)}</td><td class="n">{value:,}</td></tr>' for label, value in rows) + "</tbody></table>"


def _losses_table(rows: list[tuple]) -> str:
    body = "".join(
        f'<tr><td>{escape(group)}</td><td>{escape(quantity)}</td><td class="n">{consumption:,.3f}</td>'
        f'<td class="n">{losses:,.3f}</td><td class="n">{(100 * losses / consumption if consumption else 0):.2f}%</td>'
        f'<td class="n">{negative:,}</td></tr>'
        for group, quantity, consumption, losses, negative in rows)
    return ("<p>Metered volume (consumption components) and the losses added to it with the line loss factors of "
            "each MPAN's distributor and LLFC, before correction. Losses are negative where an LLF is below 1 (a "
            "site that reduces the network's losses); the last column counts the losses volumes (per period, "
            "supplier, BM Unit and CCC) that are negative.</p><table><thead><tr><th>GSP Group</th><th>quantity</th>"
            "<th>metered kWh</th><th>losses kWh</th><th>losses / metered</th><th>negative losses volumes</th></tr>"
            f"</thead><tbody>{body}</tbody></table>")


def _examples(text: str) -> str:
    """A rule's examples (JSON rows from the gate) as a small table, numbers formatted."""
    try:
        rows = json.loads(text) if text else []
    except ValueError:
        return f"<code>{escape(text)}</code>"
    if rows and all(isinstance(row, dict) for row in rows):
        return _rows_table(list(rows[0]), [[row.get(c) for c in rows[0]] for row in rows])
    return ", ".join(f"<code>{escape(_number(row))}</code>" for row in rows)


def _cell(value) -> str:
    numeric = (isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)) or (
        isinstance(value, str) and _NUMERIC.fullmatch(value.strip()) is not None)
    return f'<td class="n">{escape(_number(value))}</td>' if numeric else f"<td>{escape(_number(value))}</td>"


def _rows_table(columns: list[str], rows: list[list]) -> str:
    head = "".join(f"<th>{escape(str(c))}</th>" for c in columns)
    body = "".join("<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _rules_table(gate_result: GateResult | None, links: dict[str, str]) -> str:
    if gate_result is None:
        return "<p>The gate did not run: the run stopped before its outputs existed.</p>"
    order = {"failed": 0, "warning": 1, "passed": 2}
    rows = []
    for rule in sorted(gate_result.rules, key=lambda r: (order[r.status], r.relation, r.rule)):
        count = rule.unexpected_count if isinstance(rule.unexpected_count, int) else ""
        link = links.get(rule.data_docs_page or "")
        cell = f'<a href="{escape(link)}">Data Docs</a>' if link else ""
        rows.append(
            f'<tr class="{rule.status}" data-result="{rule.status}"><td>{escape(rule.relation)}</td>'
            f"<td><code>{escape(rule.rule)}</code><br>{escape(rule.description)}</td><td>{escape(rule.severity)}</td>"
            f'<td>{_badge(rule.status)}</td><td class="n">{count}</td><td>{"" if rule.success else _examples(rule.observed)}</td>'
            f"<td>{cell}</td></tr>")
    return (
        "<p>Each rule's result: <strong>passed</strong>; <strong>warning</strong>, a rule of severity warning that "
        "did not pass (reviewed, never a reason to stop publication); <strong>failed (critical)</strong>, which "
        "stops the run. Great Expectations' Data Docs show a warning as <em>Failed</em>, with a cross: the copies "
        "of its pages beside this report (<code>data_docs/</code>) say which of their rules are warnings.</p>"
        '<p><label><input type="checkbox" id="only-problems"> show only rules that did not pass</label></p>'
        '<table id="rules"><thead><tr><th>dataset</th><th>rule</th><th>severity</th><th>result</th>'
        "<th>unexpected</th><th>examples</th><th>details</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
    )


def _rule_counts(gate_result: GateResult | None) -> str:
    if gate_result is None:
        return '<p class="rule-counts">Quality rules: the gate did not run.</p>'
    counts = {status: sum(1 for r in gate_result.rules if r.status == status) for status in _STATUS_TEXT}
    return (f'<p class="rule-counts" data-passed="{counts["passed"]}" data-warning="{counts["warning"]}" '
            f'data-failed="{counts["failed"]}">Quality rules ({len(gate_result.rules)}): '
            + " ".join(_badge(status if counts[status] else f"{status} zero", f"{counts[status]} {_STATUS_TEXT[status]}")
                       for status in _STATUS_TEXT)
            + "</p>")


def _standing_table(standing: dict) -> str:
    """The standing files the run used, each with its source and SHA-256 (the run record's standing_data)."""
    files = standing.get("files") or []
    if not files:
        return "<p>The run record names no standing files (a run recorded before contract v2).</p>"
    rows = "".join(
        f"<tr><td>{escape(f['file'])}</td><td>{escape(f['source'])}</td><td><code>{escape(f['sha256'] or '-')}</code></td></tr>"
        for f in files)
    return ("<p>Each file the run used, where it came from and the SHA-256 of its bytes (<code>sha256sum FILE</code> "
            'gives the same).</p><table id="standing-data"><thead><tr><th>file</th><th>source</th><th>SHA-256</th></tr>'
            f"</thead><tbody>{rows}</tbody></table>")


# ---- a stopped run's reasons, one row per problem ----------------------------------------------------

_STOPPING_CHECKS = catalogue.stopping_check_messages()  # dbt test name -> its words in a problem
_PROBLEM = re.compile(r"^(?P<words>.+?) \((?P<rows>\d+) rows\)(?:: (?P<shown>.*))?$", re.S)
_GATE_FAILED = "data-quality gate failed: "


def _stored_failures(run, test: str) -> tuple[list[str], list[list]] | None:
    """The rows a dbt stopping check stored (store_failures) in the run's partitions, typed, at most 5."""
    columns, rows = None, []
    for database in sorted(Path(run.run_dir, "partitions").glob("*/work.duckdb")):
        try:
            with duckdb.connect(str(database), read_only=True) as con:
                result = con.execute(f"SELECT * FROM dbt_test__audit.{test} LIMIT 5")
                columns = [d[0] for d in result.description]
                rows += [list(row) for row in result.fetchall()]
        except duckdb.Error:
            continue
    return (columns, rows[:5]) if columns else None


def _parsed_examples(shown: str) -> tuple[list[str], list[list]] | None:
    """`col=value, col=value; ...` (how a stopping check's rows are written into the run's reason) as rows."""
    rows = []
    for part in shown.split("; "):
        pairs = [item.split("=", 1) for item in part.split(", ")]
        if not all(len(pair) == 2 for pair in pairs):
            return None
        rows.append(dict(pairs))
    columns = list(rows[0]) if rows else []
    return (columns, [[row.get(c) for c in columns] for row in rows]) if rows else None


def problem_rows(run, problems: list[str], gate_result: GateResult | None) -> list[dict]:
    """What stopped the run, one row per problem: {problem, rows, examples: (columns, rows) | None, text}."""
    table = []
    for problem in problems:
        if problem.startswith(_GATE_FAILED) and gate_result is not None and gate_result.failed:
            for rule in gate_result.failed:
                try:
                    examples = json.loads(rule.observed) if rule.observed else []
                except ValueError:
                    examples = []
                dict_rows = [row for row in examples if isinstance(row, dict)]
                if dict_rows:
                    shown = (list(dict_rows[0]), [[r.get(c) for c in dict_rows[0]] for r in dict_rows])
                elif examples:  # a column rule's unexpected values
                    shown = (["unexpected value"], [[value] for value in examples])
                else:
                    shown = None
                table.append({"problem": f"data-quality gate: {rule.name} ({rule.description})",
                              "rows": rule.unexpected_count if isinstance(rule.unexpected_count, int) else None,
                              "examples": shown, "text": ""})
            continue
        match = _PROBLEM.match(problem)
        if match:
            test = next((name for name, words in _STOPPING_CHECKS.items() if words == match["words"]), None)
            examples = (_stored_failures(run, test) if test else None) or (
                _parsed_examples(match["shown"]) if match["shown"] else None)
            table.append({"problem": match["words"], "rows": int(match["rows"]), "examples": examples,
                          "text": "" if examples or not match["shown"] else match["shown"]})
        else:
            table.append({"problem": problem, "rows": None, "examples": None, "text": ""})
    return table


def _problems_table(run, problems: list[str], gate_result: GateResult | None) -> str:
    body = ""
    for row in problem_rows(run, problems, gate_result):
        count = "" if row["rows"] is None else f"{row['rows']:,}"
        examples = _rows_table(*row["examples"]) if row["examples"] else escape(row["text"])
        body += (f'<tr><td>{escape(row["problem"])}</td><td class="n">{count}</td>'
                 f'<td class="examples">{examples}</td></tr>')
    return ('<table class="problems" id="stopped-by"><thead><tr><th>what stopped the run</th><th>rows</th>'
            f"<th>examples (at most 5)</th></tr></thead><tbody>{body}</tbody></table>")


def render_report(run, lake: Lake, gate_result: GateResult | None, stopped_by: list[str] | None = None,
                  data_docs_links: dict[str, str] | None = None) -> str:
    """The page. data_docs_links: {rule's page in the Data Docs site: link relative to the report} (the pages
    copied beside it); a rule whose page has no link is shown without one."""
    figures = _figures(run, lake)
    reconciliation: Reconciliation = figures["reconciliation"]
    standing = json.loads(getattr(run, "standing_data", None) or "{}")
    synthetic = ""
    if standing.get("synthetic"):
        synthetic = (f'<div class="status synthetic">{escape(SYNTHETIC_WARNING[0].upper() + SYNTHETIC_WARNING[1:])}. '
                     "This run was given no standing data directory (<code>--standing-data</code>) and used the "
                     "project's bundled synthetic line loss factors, CCCs and calendar.</div>")
    if stopped_by:
        status = ('<div class="status stopped">NOT PUBLISHED - the run stopped. What stopped it:</div>'
                  + _problems_table(run, stopped_by, gate_result))
    elif gate_result is not None and gate_result.warnings:
        status = (f'<div class="status published">Published: every critical rule passed; '
                  f"{len(gate_result.warnings)} warning{'s' if len(gate_result.warnings) != 1 else ''} to review "
                  "(below).</div>")
    else:
        status = '<div class="status published">Published: every critical rule passed.</div>'
    adds_up = ("" if reconciliation.closes else
               f'<div class="status stopped">The reconciliation of values does not add up: '
               f'{escape("; ".join(reconciliation.problems()) or "nothing could be checked")}.</div>')
    sections = [f"<h2>Reconciliation of values</h2>{_summary_table(reconciliation)}"
                f"{_reconciliation_table(reconciliation)}"]
    rejections = [(f"{stage}: {code}", count) for stage, code, count in figures["rejections"]]
    sections.append("<h2>Rejections by reason</h2>" + (
        _bar_chart("rejections_by_reason", rejections, "rows") if rejections else "<p>No rows were rejected.</p>"))
    if figures["shares"] is not None:
        sections.append("<h2>Actual and estimated consumption per supplier</h2>"
                        "<p>Share of each supplier's consumption (component C, before correction) from actual "
                        "and from estimated values.</p>"
                        + _share_chart("actual_estimated_share", ("actual", "estimated"), figures["shares"]))
    if figures["sources"] is not None:
        sections.append("<h2>Where each supplier's volume comes from</h2>"
                        "<p>Metered volume (import and export, before losses) settled from half-hourly actual "
                        "values, from daily or monthly register reads shaped into half hours with the load shapes, "
                        "and from estimates (by the data service or at settlement). Basis data: "
                        "<code>consumption_after_estimation</code>.</p>"
                        + _share_chart("volume_source_share", ("half-hourly actual", "shaped register reads",
                                                                "estimated"), figures["sources"]))
    if figures["load_shapes"]:
        sections.append(
            "<h2>Load shapes of the day</h2><p>The Load Shaping Service's shape of each category published by this "
            "run (<code>load_shapes</code>): the mean actual value per MPAN in each settlement period (kWh), one line "
            "per GSP Group.</p>"
            + "".join(_shape_chart(category, groups) for category, groups in figures["load_shapes"].items()))
    if figures["losses"]:
        sections.append(f"<h2>Line losses</h2>{_losses_table(figures['losses'])}")
    if figures["correction"] is not None:
        sections.append(
            "<h2>GSP Group Correction factor over the day</h2>"
            f"<p>The shaded band is the {REVIEW_BAND[0]:g} to {REVIEW_BAND[1]:g} review band.</p>"
            + "".join(_correction_chart(group, points) for group, points in figures["correction"].items()))
    sections.append(f"<h2>Quality rules</h2>{_rules_table(gate_result, data_docs_links or {})}")
    generated = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    cut_off = getattr(run, "data_cut_off", None)
    dispute = getattr(run, "dispute_reference", None)
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Data quality: {escape(run.run_id)}</title>'
        f"<style>{_STYLE}</style></head><body><header><h1>Data quality report: settlement run {escape(run.run_id)}</h1>"
        f"<p>Run type {escape(run.run_type)}, settlement date {run.settlement_date}, version {run.version}"
        + (f", settling dispute {escape(dispute)}" if dispute else "")
        + (f"; data cut-off {cut_off:%Y-%m-%d %H:%M:%S} UTC (the landing files ingested by then)" if cut_off else "")
        + f"; report generated {generated}.</p>{synthetic}{status}{_rule_counts(gate_result)}{adds_up}"
        + _provenance(standing)
        + f"</header>{''.join(sections)}<script>{_SCRIPT}</script></body></html>\n"
    )


def write_report(run, lake: Lake, gate_result: GateResult | None, directory: Path,
                 stopped_by: list[str] | None = None) -> Path:
    """The report in directory, with the run's Data Docs pages copied beside it (directory/data_docs/)."""
    directory.mkdir(parents=True, exist_ok=True)
    links = copy_pages(lake.data_dir, gate_result.rules if gate_result else [], directory, run.run_id, REPORT_NAME)
    path = directory / REPORT_NAME
    path.write_text(render_report(run, lake, gate_result, stopped_by, links))
    return path
