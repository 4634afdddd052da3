"""The auditors' Great Expectations Data Docs, readable offline and beside each report.

GX 1.24 builds its Data Docs pages (DATA_DIR/data_docs/) from Jinja templates that load Bootstrap, jQuery,
Font Awesome and Vega from CDNs; the templates are not configurable (a project's `custom_data_docs/views`
are searched after GX's own templates, so they cannot replace them). What GX does offer is a stylesheet of the
project's own, `plugins/custom_data_docs/styles/data_docs_custom_styles.css`, inlined into every page it builds:
the gate installs OFFLINE_CSS there (`install_offline_styles`), a small stand-in for the Bootstrap classes the
pages use, so the site stays readable when the CDNs cannot be reached (online, Bootstrap loads as usual and
these rules only add to it).

The report does not link into the site: the site lives in the data directory, the report travels (published
to OUT/, mailed, copied). `copy_pages` copies the run's validation pages into `data_docs/` beside the report,
one per validated relation, made self-contained: nothing fetched (the CDN links, scripts and remote images are
removed), OFFLINE_CSS inlined, links into the rest of the site made plain text, and a banner that says which
rules of the page are warnings (GX marks a suite "Failed" when any of its expectations did not pass, whatever
its severity). The report links to them relatively (`data_docs/<relation>.html`), so the report's folder can be
copied anywhere with its links intact.
"""

import re
import shutil
from html import escape
from pathlib import Path
from urllib.parse import unquote, urlparse

DATA_DOCS_DIR = "data_docs"  # the site in the data directory, and the copies' folder beside each report
CUSTOM_STYLES = Path("plugins") / "custom_data_docs" / "styles" / "data_docs_custom_styles.css"
_MARKER = "/* mhhs offline styles */"

# Stand-ins for the Bootstrap 4 classes GX's validation and index pages use, and the Font Awesome icons they show.
OFFLINE_CSS = _MARKER + """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#212529;margin:0;line-height:1.4}
a{color:#0b5cad}.container-fluid{padding:1rem 2rem}.row{display:flex;flex-wrap:wrap}
.col-12,.col-md-10,.col-lg-10,.col-xs-12{flex:1 1 100%;max-width:100%;box-sizing:border-box}
.col-6{flex:1 1 48%;box-sizing:border-box}
@media (min-width:768px){.col-md-2,.col-lg-2{flex:0 0 18%;max-width:18%;box-sizing:border-box}
 .col-md-10,.col-lg-10{flex:0 0 80%;max-width:80%;padding-left:1.5rem}}
.d-none{display:none}.d-flex{display:flex}.float-left{float:left}.mr-auto{margin-right:auto}
.navbar{display:flex;align-items:center;padding:.4rem 1rem;border-bottom:1px solid #dee2e6;background:#f8f9fa}
.navbar-brand img{display:none}.sticky-top{position:static}
.breadcrumb{display:flex;list-style:none;margin:0;padding:0 0 0 1rem}.breadcrumb-item+.breadcrumb-item::before{content:"/";padding:0 .4rem;color:#6c757d}
.nav{list-style:none;padding:0;margin:0}.nav-link{display:block;padding:.2rem .4rem;text-decoration:none}
.card{border:1px solid #dee2e6;border-radius:.25rem;margin-bottom:1rem;background:#fff}
.card-header{padding:.5rem .75rem;background:#f1f3f5;border-bottom:1px solid #dee2e6}.card-body{padding:.75rem}
.collapse{display:block}.alert{padding:.5rem .75rem;margin:.5rem 0;border:1px solid #d6d8db;border-radius:.25rem;background:#e2e3e5}
.table,table{border-collapse:collapse;margin:.25rem 0 1rem;width:auto;max-width:100%}
.table td,.table th,table td,table th{border:1px solid #dee2e6;padding:.3rem .5rem;vertical-align:top;text-align:left}
.table-responsive{overflow-x:auto}.show-scrollbars{overflow:auto}
.badge{display:inline-block;padding:.1em .45em;font-size:85%;border-radius:.25rem;background:#6c757d;color:#fff;font-family:monospace}
.text-success{color:#1e7e34}.text-danger{color:#c82333}.lead{font-size:1.1rem}.h6,h6{font-size:1rem}
.btn{display:inline-block;padding:.2rem .6rem;border:1px solid #0b5cad;border-radius:.25rem;color:#0b5cad;background:#fff}
.btn-group-toggle{display:none}.ge-walkthrough-modal,.modal{display:none}
.fas::before{font-style:normal;font-weight:bold}.fa-check-circle::before{content:"\\2714"}.fa-times::before,.fa-times-circle::before{content:"\\2718"}
.fa-exclamation-triangle::before{content:"\\26A0"}
.mhhs-banner{padding:.75rem 2rem;background:#fff8e1;border-bottom:2px solid #c90}.mhhs-banner p{margin:.25rem 0}
.mhhs-banner .warning{background:#fdf3d8}.mhhs-banner .failed{background:#fbe3e3}
"""


def install_offline_styles(gx_root: Path) -> None:
    """Put OFFLINE_CSS where GX inlines a project's own styles into every Data Docs page it builds."""
    path = Path(gx_root) / CUSTOM_STYLES
    if not path.exists() or path.read_text() != OFFLINE_CSS:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(OFFLINE_CSS)


def page_in_site(data_dir: Path, url: str) -> str | None:
    """A Data Docs page's URL (GX gives file://...) as its path relative to the site, DATA_DIR/data_docs/."""
    path = Path(unquote(urlparse(url).path)) if url.startswith("file:") else Path(url)
    try:
        return path.resolve().relative_to((Path(data_dir) / DATA_DOCS_DIR).resolve()).as_posix()
    except ValueError:
        return None


# What a page must lose to be self-contained: anything fetched from elsewhere, and the scripts (jQuery and
# Bootstrap's, which do not load offline; the page reads the same without them).
_REMOTE_LINK = re.compile(r"<link\b[^>]*\bhref=\"(?:https?:)?//[^\"]*\"[^>]*>", re.I)
_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script\s*>", re.I | re.S)
_REMOTE_IMG = re.compile(r"<img\b[^>]*\bsrc=\"(?:https?:)?//[^\"]*\"[^>]*>", re.I)
_REMOTE_URL = re.compile(r"url\(\s*['\"]?(?:https?:)?//[^)]*\)", re.I)
_RELATIVE_HREF = re.compile(r"\s(href|src)=\"(?![a-z][a-z0-9+.-]*:|#|/)([^\"]*)\"", re.I)


def offline_page(html: str, banner: str) -> str:
    """A copy of a Data Docs page that reads alone: nothing remote, no scripts, OFFLINE_CSS, the banner first."""
    html = _SCRIPT.sub("", html)
    html = _REMOTE_LINK.sub("", html)
    html = _REMOTE_IMG.sub("", html)
    html = _REMOTE_URL.sub("none", html)
    # links into the rest of the site (its index, the suites' pages, its static images) do not travel with the copy
    html = _RELATIVE_HREF.sub(lambda m: f' data-site-{m.group(1).lower()}="{m.group(2)}"', html)
    if _MARKER not in html:
        html = re.sub(r"</head>", lambda _: f"<style>{OFFLINE_CSS}</style></head>", html, count=1, flags=re.I)
    return re.sub(r"(<body\b[^>]*>)", lambda m: m.group(1) + banner, html, count=1, flags=re.I)


def _banner(run_id: str, relation: str, page: str, rules: list, report_name: str) -> str:
    problems = [rule for rule in rules if not rule.success]
    listed = "".join(
        f'<li class="{rule.status}"><code>{escape(rule.rule)}</code>: '
        f"{'warning (severity warning: does not stop the run)' if rule.status == 'warning' else 'failed (critical)'}</li>"
        for rule in problems)
    summary = (f"<p>Rules of this page that did not pass:</p><ul>{listed}</ul>" if problems
               else "<p>Every rule of this page passed.</p>")
    note = ("<p>Great Expectations marks the page <em>Failed</em> and each rule that did not pass with a cross, "
            "whatever its severity: a <strong>warning</strong> above is reviewed, never a reason to stop "
            "publication.</p>" if any(rule.status == "warning" for rule in problems) else "")
    return (f'<div class="mhhs-banner" data-relation="{escape(relation)}"><p><strong>Great Expectations Data Docs: '
            f"{escape(relation)}, settlement run {escape(run_id)}</strong>, copied beside the data-quality report "
            f'(<a href="../{escape(report_name)}">back to the report</a>). The full site is '
            f"<code>DATA_DIR/{DATA_DOCS_DIR}/index.html</code> in the data directory (this page there: "
            f"<code>{escape(page)}</code>).</p>{summary}{note}</div>")


def copy_pages(data_dir: Path, rules: list, report_dir: Path, run_id: str, report_name: str) -> dict[str, str]:
    """Copy the run's Data Docs validation pages, made self-contained, into report_dir/data_docs/ (replacing
    what an earlier report there left): {page relative to the site: link relative to the report}. A page that
    is not in the site (the gate could not build it) gets no copy and no link."""
    target = Path(report_dir) / DATA_DOCS_DIR
    shutil.rmtree(target, ignore_errors=True)
    by_page: dict[str, list] = {}
    for rule in rules:
        if rule.data_docs_page:
            by_page.setdefault(rule.data_docs_page, []).append(rule)
    links = {}
    for page, page_rules in sorted(by_page.items()):
        source = Path(data_dir) / DATA_DOCS_DIR / page
        if not source.is_file():
            continue
        relation = page_rules[0].relation
        name = f"{re.sub(r'[^A-Za-z0-9_.-]', '_', relation)}.html"
        target.mkdir(parents=True, exist_ok=True)
        banner = _banner(run_id, relation, page, page_rules, report_name)
        (target / name).write_text(offline_page(source.read_text(encoding="utf-8"), banner), encoding="utf-8")
        links[page] = f"{DATA_DOCS_DIR}/{name}"
    return links
