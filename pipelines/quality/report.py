"""`data_quality_report.html`: what an auditor reads about one settlement run (CONTRACT.md).

One self-contained page (inline CSS, inline SVG charts, a few lines of inline script; nothing fetched, so it
works offline and as an e-mail attachment): counts received, accepted and rejected by reason, estimated by
method, actual against estimated share per supplier, correction factors per GSP Group over the day against
the 0.9..1.1 review band, and the result of every quality rule with a link to its Data Docs page.

Every figure is read from the run's own files (staged or published outputs, basis data, the lake's
committed submissions), so the report of a failed run shows what the gate saw.
"""

import json
from datetime import datetime, timezone
from html import escape
from pathlib import Path

import duckdb

from pipelines import catalogue
from pipelines.quality.gate import GateResult
from pipelines.reference.lake import Lake
from pipelines.reference.lake_views import lake_view_definitions
from pipelines.reference.standing_data import SYNTHETIC_WARNING

REPORT_NAME = "data_quality_report.html"
_CORRECTION_FACTOR = catalogue.load().items["correction_factor"]
REVIEW_BAND = (_CORRECTION_FACTOR.warn_min, _CORRECTION_FACTOR.warn_max)
ESTIMATION_METHODS = ("interpolation", "like_day", "annual_consumption")


def _relation(con, name: str, path: Path) -> bool:
    if not path.exists():
        return False
    con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{path}')")
    return True


def _run_file(run_dir: Path, name: str) -> Path:
    for folder in ("staged", "published"):
        if (run_dir / folder / name).exists():
            return run_dir / folder / name
    return run_dir / "staged" / name


def _figures(run, lake: Lake) -> dict:
    """Everything the page shows, from the run's files; a section is None when the run stopped before it."""
    con = duckdb.connect()
    for name, sql in lake_view_definitions(lake).items():
        con.execute(f"CREATE VIEW {name} AS {sql}")
    day = run.settlement_date.isoformat()
    has = {
        "volumes": _relation(con, "supplier_volumes", _run_file(run.run_dir, "supplier_volumes.parquet")),
        "correction": _relation(con, "gsp_group_correction", _run_file(run.run_dir, "gsp_group_correction.parquet")),
        "refused": _relation(con, "settlement_refused", _run_file(run.run_dir, "quarantine.parquet")),
        "basis": _relation(con, "basis", run.run_dir / "basis" / "consumption_after_estimation.parquet"),
        "ccc": _relation(con, "ccc", run.run_dir / "standing" / "ccc.parquet"),
    }
    figures: dict = {}
    # the run's own landing files (the ingestion log when it started), not whatever has arrived since
    run_files = f"file_sha256 IN (SELECT file_sha256 FROM read_parquet('{run.run_dir / 'basis' / 'landing_files.parquet'}'))"
    received = con.execute(
        "SELECT count(*), coalesce(sum(period_count), 0), count(DISTINCT source_file) "
        f"FROM consumption_submissions WHERE settlement_date = DATE '{day}' AND {run_files}"
    ).fetchall()[0]
    figures["received"] = {"submissions": received[0], "values": int(received[1]), "files": received[2]}
    rejections = con.execute(
        "SELECT 'ingestion' AS stage, reason_code, count(*) FROM ingestion_quarantine WHERE source_file IN "
        f"(SELECT source_file FROM consumption_submissions WHERE settlement_date = DATE '{day}' AND {run_files}) "
        "GROUP BY ALL"
    ).fetchall()
    if has["refused"]:
        rejections += con.execute(
            "SELECT 'settlement', reason_code, count(*) FROM settlement_refused GROUP BY ALL").fetchall()
    figures["rejections"] = sorted(rejections, key=lambda r: (-r[2], r[0], r[1]))
    settlement_refused = sum(r[2] for r in rejections if r[0] == "settlement")
    figures["accepted_values"] = figures["received"]["values"] - settlement_refused
    figures["settled"] = None
    if has["basis"]:
        row = con.execute(
            "SELECT count(*), "
            + ", ".join(f"coalesce(sum(bit_count({m}_mask)), 0)" for m in ESTIMATION_METHODS)
            + ", (SELECT count(*) FROM read_parquet('"
            + str(run.run_dir / "basis" / "settlement_periods.parquet") + "')) FROM basis"
        ).fetchall()[0]
        mpans, *by_method, periods = row
        figures["settled"] = {"mpans": mpans, "values": mpans * periods,
                              "estimated": dict(zip(ESTIMATION_METHODS, (int(v) for v in by_method)))}
    figures["shares"] = None
    if has["volumes"] and has["ccc"]:
        figures["shares"] = con.execute(
            "SELECT v.supplier_id, "
            "sum(CASE WHEN c.actual_estimated = 'A' THEN v.uncorrected_kwh ELSE 0 END)::DOUBLE, "
            "sum(CASE WHEN c.actual_estimated = 'E' THEN v.uncorrected_kwh ELSE 0 END)::DOUBLE "
            "FROM supplier_volumes v JOIN ccc c USING (ccc_id) WHERE c.component = 'C' "
            "GROUP BY v.supplier_id ORDER BY v.supplier_id"
        ).fetchall()
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


def _share_chart(rows: list[tuple[str, float, float]]) -> str:
    width, bar, gap, label_width = 640, 18, 6, 90
    height = len(rows) * (bar + gap) + gap + 20
    span = width - label_width - 60
    parts = [f'<svg class="chart" data-chart="actual_estimated_share" role="img" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}">']
    for index, (supplier, actual, estimated) in enumerate(rows):
        y = gap + index * (bar + gap)
        total = (actual + estimated) or 1
        actual_width = span * actual / total
        parts.append(
            f'<text x="{label_width - 8}" y="{y + 13}" text-anchor="end">{escape(supplier)}</text>'
            f'<rect class="bar actual" x="{label_width}" y="{y}" width="{actual_width:.1f}" height="{bar}">'
            f'<title>{escape(supplier)} actual {actual:,.1f} kWh ({100 * actual / total:.1f}%)</title></rect>'
            f'<rect class="bar estimated" x="{label_width + actual_width:.1f}" y="{y}" '
            f'width="{span - actual_width:.1f}" height="{bar}">'
            f'<title>{escape(supplier)} estimated {estimated:,.1f} kWh ({100 * estimated / total:.1f}%)</title></rect>'
            f'<text x="{label_width + span + 6}" y="{y + 13}">{100 * estimated / total:.1f}% E</text>')
    y = height - 6
    parts.append(f'<rect class="actual" x="{label_width}" y="{y - 10}" width="10" height="10"/>'
                 f'<text x="{label_width + 14}" y="{y}">actual</text>'
                 f'<rect class="estimated" x="{label_width + 80}" y="{y - 10}" width="10" height="10"/>'
                 f'<text x="{label_width + 94}" y="{y}">estimated</text></svg>')
    return "".join(parts)


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


# ---- the page ----------------------------------------------------------------------------------------

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;max-width:70em;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ccc}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top}
td.n{text-align:right}.status{padding:.6em 1em;font-weight:bold}.published{background:#e3f4e3}
.stopped{background:#fbe3e3}.synthetic{background:#fff0b3;border:2px solid #c90;font-size:1.1em}.fail td{background:#fbe3e3}.warn td{background:#fdf3d8}
svg text{font-size:11px}rect.bar{fill:#4a78b5}rect.actual{fill:#4a78b5}rect.estimated{fill:#e3a33b}
rect.band{fill:#dcefdc}polyline.cf-line{fill:none;stroke:#b33;stroke-width:1.5}line.axis{stroke:#888}
figure.small{display:inline-block;margin:.3em}figcaption{font-size:.85em;text-align:center}
code{font-size:.85em;word-break:break-all}
"""

# Filters the rule table to the rules that did not pass.
_SCRIPT = """
document.getElementById('only-problems').addEventListener('change', function (event) {
  document.querySelectorAll('#rules tbody tr').forEach(function (row) {
    row.hidden = event.target.checked && row.dataset.result === 'passed';
  });
});
"""


def _counts_table(figures: dict) -> str:
    received, settled = figures["received"], figures["settled"]
    rows = [
        ("landing files that delivered this day's data", received["files"]),
        ("MPAN-day submissions received", received["submissions"]),
        ("half-hourly values received", received["values"]),
        ("values refused at settlement", received["values"] - figures["accepted_values"]),
        ("values accepted", figures["accepted_values"]),
    ]
    if settled:
        estimated = sum(settled["estimated"].values())
        rows += [("MPANs and quantities settled", settled["mpans"]),
                 ("values settled (every MPAN x period of the day)", settled["values"]),
                 ("actual values settled", settled["values"] - estimated)]
        rows += [(f"values estimated by {method.replace('_', ' ')}", count)
                 for method, count in settled["estimated"].items()]
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


def _rules_table(gate_result: GateResult | None) -> str:
    if gate_result is None:
        return "<p>The gate did not run: the run stopped before its outputs existed.</p>"
    rows = []
    for rule in sorted(gate_result.rules, key=lambda r: (r.success, r.severity != "critical", r.relation, r.rule)):
        result = "passed" if rule.success else ("failed" if rule.severity == "critical" else "warning")
        css = {"passed": "", "failed": "fail", "warning": "warn"}[result]
        count = rule.unexpected_count if isinstance(rule.unexpected_count, int) else ""
        link = f'<a href="{escape(rule.data_docs_page)}">Data Docs</a>' if rule.data_docs_page else ""
        rows.append(
            f'<tr class="{css}" data-result="{result}"><td>{escape(rule.relation)}</td><td><code>{escape(rule.rule)}'
            f'</code><br>{escape(rule.description)}</td><td>{rule.severity}</td><td>{result}</td>'
            f'<td class="n">{count}</td><td><code>{escape(rule.observed)}</code></td><td>{link}</td></tr>')
    return (
        '<p><label><input type="checkbox" id="only-problems"> show only rules that did not pass</label> '
        f'({len(gate_result.failed)} failed, {len(gate_result.warnings)} warnings, {len(gate_result.rules)} rules)</p>'
        '<table id="rules"><thead><tr><th>dataset</th><th>rule</th><th>severity</th><th>result</th>'
        "<th>unexpected</th><th>examples</th><th>details</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
    )


def _standing_table(standing: dict) -> str:
    """The standing files the run used, each with its source and SHA-256 (the run record's standing_data)."""
    files = standing.get("files") or []
    if not files:
        return "<p>The run record names no standing files (a run recorded before contract v2).</p>"
    rows = "".join(
        f"<tr><td>{escape(f['file'])}</td><td>{escape(f['source'])}</td><td><code>{escape(f['sha256'] or '-')}</code></td></tr>"
        for f in files)
    return ("<p>Each file the run used, where it came from and the SHA-256 of its bytes (<code>sha256sum FILE</code> "
            "gives the same).</p><table><thead><tr><th>file</th><th>source</th><th>SHA-256</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>")


def render_report(run, lake: Lake, gate_result: GateResult | None, stopped_by: list[str] | None = None) -> str:
    figures = _figures(run, lake)
    standing = json.loads(getattr(run, "standing_data", None) or "{}")
    synthetic = ""
    if standing.get("synthetic"):
        synthetic = (f'<div class="status synthetic">{escape(SYNTHETIC_WARNING[0].upper() + SYNTHETIC_WARNING[1:])}. '
                     "This run was given no standing data directory (<code>--standing-data</code>) and used the "
                     "project's bundled synthetic line loss factors, CCCs and calendar.</div>")
    if stopped_by:
        status = ('<div class="status stopped">NOT PUBLISHED - the run stopped: '
                  + "; ".join(escape(problem) for problem in stopped_by) + "</div>")
    else:
        status = '<div class="status published">Published: every critical rule passed.</div>'
    sections = [f"<h2>Counts</h2>{_counts_table(figures)}"]
    rejections = [(f"{stage}: {code}", count) for stage, code, count in figures["rejections"]]
    sections.append("<h2>Rejections by reason</h2>" + (
        _bar_chart("rejections_by_reason", rejections, "rows") if rejections else "<p>No rows were rejected.</p>"))
    if figures["shares"] is not None:
        sections.append("<h2>Actual and estimated consumption per supplier</h2>"
                        "<p>Share of each supplier's consumption (component C, before correction) from actual "
                        "and from estimated values.</p>" + _share_chart(figures["shares"]))
    if figures["losses"]:
        sections.append(f"<h2>Line losses</h2>{_losses_table(figures['losses'])}")
    if figures["correction"] is not None:
        sections.append(
            "<h2>GSP Group Correction factor over the day</h2>"
            f"<p>The shaded band is the {REVIEW_BAND[0]:g} to {REVIEW_BAND[1]:g} review band.</p>"
            + "".join(_correction_chart(group, points) for group, points in figures["correction"].items()))
    sections.append(f"<h2>Standing data</h2>{_standing_table(standing)}")
    sections.append(f"<h2>Quality rules</h2>{_rules_table(gate_result)}")
    generated = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    cut_off = getattr(run, "data_cut_off", None)
    dispute = getattr(run, "dispute_reference", None)
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Data quality: {escape(run.run_id)}</title>'
        f"<style>{_STYLE}</style></head><body><h1>Data quality report: settlement run {escape(run.run_id)}</h1>"
        f"<p>Run type {escape(run.run_type)}, settlement date {run.settlement_date}, version {run.version}"
        + (f", settling dispute {escape(dispute)}" if dispute else "")
        + (f"; data cut-off {cut_off:%Y-%m-%d %H:%M:%S} UTC (the landing files ingested by then)" if cut_off else "")
        + f"; report generated {generated}.</p>{synthetic}{status}{''.join(sections)}<script>{_SCRIPT}</script></body></html>\n"
    )


def write_report(run, lake: Lake, gate_result: GateResult | None, directory: Path,
                 stopped_by: list[str] | None = None) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / REPORT_NAME
    path.write_text(render_report(run, lake, gate_result, stopped_by))
    return path
