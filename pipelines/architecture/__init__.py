"""The reference architecture's artefacts, generated from the running system: the logical data model (dbt
manifest and data catalogue), the interface specification and the DIP JSON Schema, the market model, the
communication diagram, the capability model and the business processes (market.py, roles.py, capabilities.py,
processes.py), the interface sequence diagrams between market participants (exchanges.py, from the flows) and
the internal sequence (DAGs, dbt lineage), the principles, standards and security pages with the public principles
mapped to controls and the governance of every dataset (principles.py, controls.py, governance.py), and the
index listing every artefact of the AWG product description with the requirements it answers. The
recommendation document (docs/architecture/recommendation.md) is written by hand.

`mhhs docs` writes them under docs/; `mhhs docs --check` (and tests/test_architecture.py) reports any that
differ from what the code generates now. The data dictionary and reason codes come from `mhhs catalogue`.
"""

import html
import json
import re
from dataclasses import dataclass
from pathlib import Path

from pipelines.architecture import (capabilities, data_model, dbt_lineage, exchanges, interfaces, market, principles,
                                    processes, roles, sequence)
from pipelines.architecture.catalogue_artefacts import write_generated
from pipelines.core.paths import PROJECT_ROOT

MERMAID_JS = PROJECT_ROOT / "docs/renderer/node_modules/mermaid/dist/mermaid.min.js"
GENERATED_FOLDERS = ("docs/architecture", "docs/interfaces")
_MERMAID_BLOCK = re.compile(r"```mermaid\n(.*?)\n```", re.DOTALL)


@dataclass(frozen=True)
class Sources:
    """What the artefacts are generated from besides the catalogue and the code: the dbt manifest and the DAGs."""
    manifest: dict
    dags: list


def load_sources(dags_dir: Path = sequence.DAGS_DIR) -> Sources:
    return Sources(dbt_lineage.parse_manifest(), sequence.load_dags(dags_dir))


@dataclass(frozen=True)
class Artefact:
    """An artefact of the AWG product description (Table 2, or section 2.1/2.3), where it is and what made it."""
    name: str  # as the product description names it
    view: str
    page: str  # path relative to docs/architecture/
    requirements: tuple[int, ...]  # Table 3 requirement numbers it answers
    made: str  # "generated from ..." or "written by hand"
    also: tuple[tuple[str, str], ...] = ()  # further (title, page) pairs
    incomplete: str = ""  # what remains of the artefact, when something does
    note: str = ""  # about what it shows, when the artefact is complete


ARTEFACTS = (
    Artefact("Architecture Principles", "Enterprise", "principles.md", (6, 8),
             "generated from `pipelines/architecture/principles.py` and `controls.py`, each principle linked to its "
             "tests; the TOM's and the AWG's published principles mapped to the controls of this system"),
    Artefact("Data Architecture Standards", "Enterprise", "data_standards.md", (6, 10),
             "generated from `pipelines/architecture/principles.py`, `controls.py` and `governance.py`: Ofgem's Data "
             "Best Practice mapped to controls; owner, retention, lineage and quality rules per dataset from the "
             "data catalogue"),
    Artefact("Security Guidelines", "Enterprise", "security.md", (6, 10),
             "generated from `pipelines/architecture/principles.py` and `controls.py`: Secure by Design and the "
             "NCSC's principles mapped to controls, every control linked to the tests that enforce it"),
    Artefact("Market Model (Business Strategy)", "Enterprise", "market_model.md", (4, 7, 8, 9),
             "generated from `pipelines/architecture/market.py`"),
    Artefact("Communication Diagram", "Enterprise", "communication.md", (1, 2, 3, 4, 5),
             "generated from `pipelines/architecture/market.py`, `roles.py` and the interfaces in the code"),
    Artefact("Capability Model", "Enterprise", "capability_model.md", (7, 9),
             "generated from `pipelines/architecture/capabilities.py`; every link checked by a test"),
    Artefact("Level-0 BPM List", "Business", "bpm_list.md", (7, 9),
             "generated from `pipelines/architecture/processes.py`"),
    Artefact("Business Process Model (BPM)", "Business", "business_processes.md", (1, 2),
             "generated from `pipelines/architecture/processes.py` (current against target)"),
    Artefact("Data Catalogue", "Data", "../data_dictionary.md", (3, 5),
             "generated from `pipelines/catalogue/catalogue.yml` and `pipelines/ingest/`",
             also=(("reason codes", "../reason_codes.md"),)),
    Artefact("Logical Data Model", "Data", "logical_data_model.md", (4,), "generated from the data catalogue and the dbt manifest"),
    Artefact("Interface Specification", "Data", "../interfaces/README.md", (1, 2, 3, 4, 5),
             "generated from `pipelines/ingest/`, `pipelines/settle/` and the data catalogue",
             also=(("DIP JSON Schema", f"../interfaces/schemas/{interfaces.SCHEMA_FILE.name}"),),
             note="frequency and size of every interface and of each participant's flows at national scale, from "
                  "the `make bench` results"),
    Artefact("Interface Sequence Diagram", "Data", exchanges.PAGE, (5,),
             "generated from the communication diagram's flows (`pipelines/architecture/exchanges.py`, `roles.py`) "
             "and the interfaces in the code; the internal sequence from the Airflow DAGs in `dags/` and the dbt "
             "manifest",
             also=(("internal sequence (Airflow DAGs and dbt)", "sequence.md"),),
             note="exchanges between participants that the code does not carry yet are drawn dashed, marked planned"),
    Artefact("AWG Recommendation Document", "Recommendation", "recommendation.md", (11, 12), "written by hand"),
    Artefact("Reference Architecture", "Reference architecture", "README.md", (11, 12),
             "this index: the artefacts above together"),
)

TABLE_3 = {
    1: "changes to the registration systems and the interface with MPAS",
    2: "interfaces with the Data Communications Company",
    3: "interfaces between the new services of the TOM",
    4: "system changes to the BSC central settlement systems",
    5: "transfer of data between Registration, the new TOM services and Central Settlement Services",
    6: "consistent with the AWG principles",
    7: "consistent with the CCDG recommendations",
    8: "consistent with the MHHS objectives, TOM design principles and TOM development principles",
    9: "consistent with the DWG preferred TOM design and transition principles",
    10: "consistent with the Ofgem data and security principles and NCSC Secure by Design",
    11: "evidence and rationale, a risk assessment, impacts on industry parties and consumers",
    12: "dependencies on other work areas (SCR, other industry initiatives)",
}


def _index() -> str:
    lines = [
        "<!-- Generated by `make docs` (pipelines/architecture/__init__.py); do not edit. -->",
        "# Architecture artefacts",
        "",
        "The reference architecture of this implementation, artefact by artefact as the AWG product description "
        "lists them (Table 2, and the recommendation document of section 2.3), each with the Table 3 requirements "
        "it answers. Where the content is the code's (roles, interfaces, flows, models) the page is generated from "
        "the code that runs, so it cannot go stale: `make docs` rebuilds it and a test fails when what is "
        "committed differs. Where it is argument it is written by hand.",
        "",
        "| artefact | view | Table 3 requirements | made | complete? |",
        "|---|---|---|---|---|",
    ]
    for artefact in ARTEFACTS:
        also = "".join(f" and [{title}]({page})" for title, page in artefact.also)
        numbers = ", ".join(map(str, artefact.requirements))
        state = f"**incomplete**: {artefact.incomplete}" if artefact.incomplete else "yes" + (
            f" ({artefact.note})" if artefact.note else "")
        lines.append(f"| [{artefact.name}]({artefact.page}){also} | {artefact.view} | {numbers} | {artefact.made} | {state} |")
    lines += ["", "## Table 3 requirements", "", "| # | the recommendations include or are consistent with | answered by |",
              "|---|---|---|"]
    for number, text in TABLE_3.items():
        by = ", ".join(f"[{a.name}]({a.page})" for a in ARTEFACTS if number in a.requirements)
        lines.append(f"| {number} | {text} | {by} |")
    lines += ["", "`make docs` also builds, outside git under `DATA_DIR/docs/`: the dbt docs site (`dbt/static_index.html`) "
              "and `diagrams.html`, every diagram above rendered offline.", ""]
    return "\n".join(lines)


def expected_docs(sources: Sources) -> dict[Path, str]:
    """Every generated page (relative to the project root) and the text it must hold."""
    nodes = dbt_lineage.lineage(sources.manifest)
    found = interfaces.interfaces()
    # the participants' flows have hand-written pages (docs/interfaces/participant_flows.md and one per flow)
    names = {i.name for i in found if i.in_code} | interfaces.outbound_flow_pages()
    role_map = roles.ROLES
    docs = {
        Path("docs/architecture/README.md"): _index(),
        Path("docs/architecture/logical_data_model.md"): data_model.page(nodes),
        Path("docs/architecture/communication.md"): roles.page(names),
        Path("docs/architecture/sequence.md"): sequence.page(sources.dags, nodes, found),
        Path(f"docs/architecture/{exchanges.PAGE}"): exchanges.page(names),
        Path("docs/architecture/market_model.md"): market.page(),
        Path("docs/architecture/capability_model.md"): capabilities.page(processes.names()),
        Path("docs/architecture/bpm_list.md"): processes.list_page(),
        Path("docs/architecture/business_processes.md"): processes.models_page(),
    }
    docs |= interfaces.artefacts(role_map)
    docs |= principles.artefacts(nodes, found)
    return docs


def write_docs(sources: Sources, check_only: bool = False, root: Path | None = None) -> list[Path]:
    """Write (or with check_only, only compare) every page under root (the project); returns those that differed."""
    root = root or PROJECT_ROOT
    expected = expected_docs(sources)
    changed = write_generated(expected, root, check_only)
    # A generated page the code no longer generates (an interface removed, say) is stale: removed.
    for folder in GENERATED_FOLDERS:
        for path in sorted((root / folder).glob("*.md")):
            relative = path.relative_to(root)
            first_line = path.read_text().partition("\n")[0]
            if relative not in expected and first_line.startswith("<!-- Generated") and "`make docs`" in first_line:
                changed.append(relative)
                if not check_only:
                    path.unlink()
    return changed


def mermaid_diagrams(root: Path = PROJECT_ROOT) -> list[tuple[str, str]]:
    """(page, diagram source) of every Mermaid diagram in the docs."""
    found = []
    for page in sorted((root / "docs").rglob("*.md")):
        if "node_modules" in page.parts:
            continue
        for source in _MERMAID_BLOCK.findall(page.read_text()):
            found.append((str(page.relative_to(root)), source))
    return found


def diagrams_html(diagrams: list[tuple[str, str]], mermaid_js: Path = MERMAID_JS) -> str:
    """One self-contained page rendering every diagram with the pinned Mermaid (inlined: works offline).
    It sets window.mermaidResults to [{page, ok, error}] when done."""
    if not mermaid_js.exists():
        raise FileNotFoundError(f"{mermaid_js} is missing: run `make docs-renderer` (npm ci in docs/renderer)")
    sections = "\n".join(
        f'<section><h2>{html.escape(page)}</h2><div class="diagram" id="diagram-{n}"></div></section>'
        for n, (page, _) in enumerate(diagrams)
    )
    script = mermaid_js.read_text().replace("</script", "<\\/script")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Architecture diagrams</title>
<style>body {{ font-family: sans-serif; margin: 2em; }} section {{ margin-bottom: 3em; }}</style>
<script>{script}</script></head>
<body><h1>Architecture diagrams</h1>
{sections}
<script>
const diagrams = {json.dumps(diagrams)};
mermaid.initialize({{ startOnLoad: false, securityLevel: "strict" }});
(async () => {{
  const results = [];
  for (const [n, [page, source]] of diagrams.entries()) {{
    try {{
      const {{ svg }} = await mermaid.render(`svg-${{n}}`, source);
      document.getElementById(`diagram-${{n}}`).innerHTML = svg;
      results.push({{ page, ok: true, error: null }});
    }} catch (error) {{
      results.push({{ page, ok: false, error: String(error && error.message || error) }});
    }}
  }}
  window.mermaidResults = results;
}})();
</script></body></html>
"""
