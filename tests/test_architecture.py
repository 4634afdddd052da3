"""The generated architecture artefacts (docs/architecture, docs/interfaces): no drift, the diagrams render in
headless Chromium, the sequence diagram follows real DAGs, the DIP JSON Schema refuses malformed messages, and
every test a principle links to exists."""

import ast
import json
import re
import textwrap
from pathlib import Path

import pytest
import yaml

from pipelines import architecture
from pipelines import catalogue
from pipelines import cli
from pipelines.architecture import (capabilities, controls, data_model, exchanges, governance, interfaces, market,
                                    principles, processes, roles, sequence)
from pipelines.architecture.dbt_lineage import lineage, parse_manifest
from pipelines.catalogue import CatalogueError
from pipelines.catalogue.dip_schema import dip_consumption_schema, outbound_flows, validator
from pipelines.ingest import _dip_messages
from tests.conftest import PROJECT_ROOT, SHARED_DIR

pytestmark = pytest.mark.unit

MALFORMED = PROJECT_ROOT / "tests/dip_messages/malformed"
DIP_EXAMPLES = PROJECT_ROOT / "docs/interfaces/examples"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


@pytest.fixture(scope="module")
def sources():
    return architecture.load_sources()


@pytest.mark.dbt
def test_committed_docs_match_what_the_code_generates(sources):
    drifted = architecture.write_docs(sources, check_only=True)
    assert drifted == [], f"regenerate with `make docs`: {drifted}"


@pytest.mark.dbt
def test_drift_is_detected_when_a_page_is_edited(sources, tmp_path):
    architecture.write_docs(sources, root=tmp_path)
    assert architecture.write_docs(sources, check_only=True, root=tmp_path) == []
    page = tmp_path / "docs/architecture/logical_data_model.md"
    page.write_text(page.read_text().replace("||--o{", "||--||", 1))
    assert architecture.write_docs(sources, check_only=True, root=tmp_path) == [Path("docs/architecture/logical_data_model.md")]
    stale = tmp_path / "docs/interfaces/an_interface_no_longer_there.md"
    stale.write_text(interfaces.HEADER + "\n# gone\n")
    (tmp_path / "docs/interfaces/hand_written.md").write_text("# kept\n")
    assert architecture.write_docs(sources, root=tmp_path)[-1] == Path("docs/interfaces/an_interface_no_longer_there.md")
    assert not stale.exists() and (tmp_path / "docs/interfaces/hand_written.md").exists()


@pytest.mark.dbt
def test_mhhs_docs_check_exits_non_zero_naming_what_differs(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(architecture, "PROJECT_ROOT", tmp_path)  # an empty checkout: every page differs
    assert cli.main(["docs", "--check"]) != 0
    out, err = capsys.readouterr()
    assert "differs: docs/architecture/sequence.md" in out and "run `make docs`" in err


# ---- diagrams ----------------------------------------------------------------------------------------------


def _render(tmp_path, diagrams):
    """Render diagrams in headless Chromium: (per-diagram results, SVG element counts, console errors)."""
    from playwright.sync_api import sync_playwright

    page_file = tmp_path / "diagrams.html"
    page_file.write_text(architecture.diagrams_html(diagrams))
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            errors = []
            page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on("request", lambda request: errors.append("fetched " + request.url) if not request.url.startswith(("file:", "data:")) else None)
            page.goto(page_file.as_uri())
            page.wait_for_function("window.mermaidResults !== undefined", timeout=120_000)
            results = page.evaluate("window.mermaidResults")
            shapes = page.evaluate("[...document.querySelectorAll('.diagram')].map(d => d.querySelectorAll('svg g').length)")
        finally:
            browser.close()
    return results, shapes, errors


@pytest.mark.system
def test_every_mermaid_diagram_renders_in_headless_chromium(tmp_path):
    diagrams = architecture.mermaid_diagrams()
    pages = {page for page, _ in diagrams}
    assert {"docs/architecture/logical_data_model.md", "docs/architecture/communication.md",
            "docs/architecture/sequence.md", "docs/architecture/market_model.md",
            "docs/architecture/business_processes.md", f"docs/architecture/{exchanges.PAGE}"} <= pages
    # Every process model: a current and a target diagram each; every exchange between participants: one.
    assert sum(1 for page, _ in diagrams if page == "docs/architecture/business_processes.md") == 2 * len(processes.PROCESSES)
    assert sum(1 for page, _ in diagrams if page == f"docs/architecture/{exchanges.PAGE}") == len(exchanges.EXCHANGES)
    results, shapes, errors = _render(tmp_path, diagrams)
    assert [r for r in results if not r["ok"]] == []
    assert len(results) == len(diagrams) and all(count > 5 for count in shapes), shapes
    assert errors == []


@pytest.mark.system
def test_a_broken_diagram_is_reported_not_drawn(tmp_path):
    results, _, _ = _render(tmp_path, [("good.md", "flowchart LR\n    a --> b"), ("bad.md", "erDiagram\n    a ||--o{")])
    assert [r["ok"] for r in results] == [True, False]
    assert results[1]["error"]


# ---- sequence diagram from DAGs ----------------------------------------------------------------------------

SMALL_DAGS = '''
from airflow.sdk import DAG, Asset, task

lake = Asset("mhhs_lake")

with DAG("test_ingest", schedule=None):
    @task
    def list_landing_files():
        return ["a.csv", "b.csv"]

    @task(outlets=[lake])
    def ingest_file(path):
        from pipelines.jobs.ingestion import ingest
        return path

    ingest_file.expand(path=list_landing_files())

with DAG("test_settlement", schedule=[lake]):
    @task
    def due_runs():
        return ["_A", "_B"]

    @task
    def settle_gsp_group(group):
        from pipelines.settle import partition
        return partition.settle_partition

    @task
    def gate_and_publish(groups):
        return groups

    gate_and_publish(settle_gsp_group.expand(group=due_runs()))
'''


@pytest.mark.dbt
def test_sequence_diagram_follows_the_dag_task_dependencies_and_the_dbt_lineage(tmp_path):
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags/small.py").write_text(textwrap.dedent(SMALL_DAGS))
    dags = sequence.load_dags(tmp_path / "dags")
    assert [dag.dag_id for dag in dags] == ["test_ingest", "test_settlement"]  # the Asset's producer first
    nodes = lineage(parse_manifest())
    diagram = sequence.sequence_diagram(dags, nodes, interfaces.interfaces()).splitlines()

    def at(fragment: str) -> int:
        (index,) = [n for n, line in enumerate(diagram) if fragment in line]
        return index

    order = [
        at("DS->>Landing: UTC period consumption (CSV)"),
        at("Note over test_ingest_list_landing_files: DAG test_ingest (triggered by hand)"),
        at("test_ingest_list_landing_files->>test_ingest_ingest_file: list_landing_files done (mapped"),
        at("test_ingest_ingest_file->>Lake: Asset mhhs_lake"),
        at("DAG test_settlement (on Asset mhhs_lake)"),
        at("Lake->>test_settlement_due_runs: Asset mhhs_lake updated"),
        at("test_settlement_due_runs->>test_settlement_settle_gsp_group: due_runs done (mapped"),
        at("test_settlement_settle_gsp_group->>dbt: dbt build"),
        at("dbt->>dbt: step 1:"),
        at("dbt-->>test_settlement_settle_gsp_group: marts bm_unit_volumes, gsp_group_correction, load_shapes, review_flags, supplier_volumes"),
        at("test_settlement_settle_gsp_group->>test_settlement_gate_and_publish: settle_gsp_group done"),
        at("test_settlement_gate_and_publish->>Out: Published output supplier_volumes (to MDS)"),
    ]
    assert order == sorted(order), diagram
    # dbt builds each model after every model it depends on.
    step_of = {model: n for n, line in enumerate(diagram) if "dbt->>dbt: step" in line
               for model in line.rsplit(": ", 1)[1].split(", ")}
    for name, node in nodes.items():
        for parent in node.parents:
            if parent in step_of:
                assert step_of[parent] < step_of[name], (parent, name)
    assert "participant Settle" not in "\n".join(diagram)


def test_a_dag_that_does_not_import_stops_the_generation(tmp_path):
    (tmp_path / "broken.py").write_text("from airflow.sdk import DAG\nraise ValueError('broken DAG')\n")
    with pytest.raises(RuntimeError, match="broken DAG"):
        sequence.load_dags(tmp_path)


# ---- interfaces and the DIP JSON Schema --------------------------------------------------------------------


def test_the_dip_json_schema_rejects_every_malformed_example():
    examples = sorted(MALFORMED.glob("*.json"))
    assert len(examples) >= 15
    for example in examples:
        message = json.loads(example.read_text())
        assert not validator().is_valid(message), example.name
    for example in sorted(DIP_EXAMPLES.glob("*.json")):
        messages = _dip_messages(example.read_text())
        assert all(validator().is_valid(m) for m in messages), example.name


@pytest.mark.integration
def test_ingestion_quarantines_every_malformed_example(tmp_path, capsys):
    landing = tmp_path / "landing"
    (landing / "consumption").mkdir(parents=True)
    for example in MALFORMED.glob("*.json"):
        (landing / "consumption" / example.name).write_bytes(example.read_bytes())
    assert cli.main(["--data-dir", str(tmp_path / "data"), "ingest", str(landing), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["rows_accepted"] == 0
    files = {f["source_file"]: f for f in summary["files"]}
    assert all(f["rows_quarantined"] == 1 for f in files.values())
    assert files["consumption/s1_is_a_string.json"]["rejections"] == {"MESSAGE_SCHEMA_INVALID": 1}
    assert files["consumption/kwh_too_many_decimals.json"]["rejections"] == {"KWH_TOO_MANY_DECIMALS": 1}
    assert files["consumption/periods_missing.json"]["rejections"] == {"MESSAGE_WITHOUT_PERIODS": 1}


def test_the_committed_schema_is_the_one_ingestion_uses():
    committed = json.loads((PROJECT_ROOT / interfaces.SCHEMA_FILE).read_text())
    assert committed == dip_consumption_schema()
    items = catalogue.load().items
    period = committed["properties"]["CustomBlock"]["properties"]["periods"]["items"]["properties"]
    assert period["qualityFlag"]["enum"] == list(items["quality_flag"].allowed_values)
    assert committed["properties"]["CommonBlock"]["properties"]["M0"]["properties"]["mpanCore"]["pattern"] == items["mpan_core"].pattern


def test_every_interface_the_code_reads_or_writes_has_a_page():
    from pipelines.ingest import LANDING_FORMATS
    from pipelines.settle.publish import PUBLISHED_TABLES

    names = {i.name for i in interfaces.interfaces()}
    assert {f"consumption_{suffix[1:]}" for suffix in LANDING_FORMATS["consumption"]} <= names
    assert set(PUBLISHED_TABLES) | {"settlement_runs", "registrations", "standing_data_files", "data_quality_report"} <= names
    for name in names:
        assert (PROJECT_ROOT / f"docs/interfaces/{name}.md").is_file()


def test_the_data_quality_report_counts_as_implemented_once_the_code_writes_it(monkeypatch):
    def report(named: bool) -> interfaces.Interface:
        monkeypatch.setattr(interfaces, "_named_in_code", lambda name: named and name == "data_quality_report.html")
        (found,) = [i for i in interfaces.interfaces() if i.name == "data_quality_report"]
        return found

    assert not report(False).in_code
    assert "not yet written by the code" in interfaces.page(report(False), roles.ROLES)
    assert report(True).in_code and (report(True).direction, report(True).receiver) == ("produced", "Auditors")
    assert "not yet" not in interfaces.page(report(True), roles.ROLES)


# ---- data model, roles, principles -------------------------------------------------------------------------


def test_references_come_from_keys_and_the_catalogue():
    refs = {d.name: dict(data_model.references(d)) for d in catalogue.load().datasets.values()}
    assert refs["registrations"] == {"gsp_groups": ("gsp_group_id",), "llfc": ("llfc_id",)}
    assert refs["consumption"] == {"registrations": ("mpan_core", "measurement_quantity")}
    assert "gsp_group_take" not in refs["llf"]  # peers sharing a key, not parent and child
    assert refs["supplier_volumes"]["settlement_runs"] == ("run_id",)
    diagram = data_model.er_diagram()
    assert 'registrations }o--o{ consumption : "mpan_core, measurement_quantity"' in diagram
    assert "        string mpan_core PK, FK" in diagram


def test_a_reference_on_columns_not_in_both_datasets_is_refused(tmp_path):
    raw = yaml.safe_load(catalogue.CATALOGUE_FILE.read_text())
    raw["datasets"]["consumption"]["references"] = {"registrations": ["mpan_core", "kwh"]}
    path = tmp_path / "catalogue.yml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(CatalogueError, match="reference to registrations"):
        catalogue.load(path)


@pytest.mark.skipif(not (SHARED_DIR / "DOMAIN.md").exists(), reason="../shared/DOMAIN.md is not beside this checkout")
def test_every_role_of_the_domain_is_in_the_communication_diagram():
    section = (SHARED_DIR / "DOMAIN.md").read_text().split("## 2.")[1].split("\n## ")[0]
    domain_roles = re.findall(r"^\| ([^|]+?) \|", section, re.MULTILINE)[2:]  # skip the header and rule
    names = " ".join(role.name for role in roles.ROLES.values())
    for role in domain_roles:
        abbreviation = re.search(r"\(([A-Z]+)", role)
        assert (abbreviation.group(1) if abbreviation else role.split(" (")[0]) in names, role


def test_a_flow_is_implemented_only_when_an_interface_carries_it():
    flow = roles.Flow("VAS", "MDS", "outputs", ("supplier_volumes",))
    assert roles.implemented(flow, {"supplier_volumes"}) and not roles.implemented(flow, set())
    diagram = roles.communication_diagram({"registrations"})
    assert 'REGS ==>|"registration snapshots"| VAS' in diagram
    assert 'DS -.->|"UTC period consumption (CSV / Parquet files)"| VAS' in diagram


def _test_functions(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {node.name for node in tree.body if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")}


def test_every_test_a_principle_links_to_exists():
    linked = principles.linked_tests()
    assert len(linked) >= 15
    for reference in sorted(linked):
        file, _, name = reference.partition("::")
        assert (PROJECT_ROOT / file).is_file(), reference
        assert name in _test_functions(PROJECT_ROOT / file), reference
    assert principles.missing_tests() == []


# ---- public principles, controls and governance --------------------------------------------------------------


def test_every_control_links_existing_tests_unless_it_is_planned():
    for control in controls.CONTROLS.values():
        assert bool(control.tests) != bool(control.planned), control.key  # tests, or planned and none
    assert controls.linked_tests() <= principles.linked_tests()
    assert principles.missing_tests(controls.linked_tests()) == []
    # The controls the issue names, each linked to the tests that enforce it.
    expected = {"segregation": "test_property_a_folder_holds_only_its_recipients_rows_listed_in_its_manifest",
                "read_only_analysts": "test_mhhs_sql_cannot_modify_or_reach_outside_the_warehouse",
                "file_modes": "test_published_modes_follow_the_setting_whatever_the_umask",
                "personal_data": "test_addresses_and_postcodes_never_leave_ingestion",
                "integrity_hashes": "test_a_published_row_traces_to_its_run_and_the_hashes_of_the_landing_files_that_fed_it"}
    for key, test in expected.items():
        assert any(t.endswith("::" + test) for t in controls.CONTROLS[key].tests), key
    security = (PROJECT_ROOT / "docs/architecture/security.md").read_text()
    for control in controls.CONTROLS.values():
        assert f'<a id="control-{control.key}"></a>' in security, control.key
        for test in control.tests:
            assert f"[`{test.split('::')[1]}`](../../{test.split('::')[0]})" in security, test


def test_a_linked_test_that_disappears_is_reported(tmp_path):
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests/test_here.py").write_text("def test_kept():\n    pass\n\ndef helper():\n    pass\n")
    references = {"tests/test_here.py::test_kept", "tests/test_here.py::test_renamed", "tests/test_gone.py::test_kept"}
    assert principles.missing_tests(references, tmp_path) == ["tests/test_gone.py::test_kept",
                                                              "tests/test_here.py::test_renamed"]


def test_every_public_principle_quotes_a_linked_source_and_names_known_controls():
    placed = [key for keys in controls.PAGE_FRAMEWORKS.values() for key in keys]
    assert sorted(placed) == sorted(controls.FRAMEWORKS)  # every framework on exactly one page
    assert {"tom", "awg", "dbp", "secure_by_design", "ncsc_design", "ncsc_cloud"} <= set(controls.FRAMEWORKS)
    assert set(controls.PAGE_FRAMEWORKS) == set(principles.PAGES)
    for framework in controls.FRAMEWORKS.values():
        assert framework.principles, framework.key
        for principle in framework.principles:
            assert principle.source in controls.SOURCES, (framework.key, principle.title)
            assert set(principle.controls) <= set(controls.CONTROLS), (framework.key, principle.title)
            assert principle.controls or principle.note, (framework.key, principle.title)  # none: say why
    for title, address in controls.SOURCES.values():
        assert title and address.startswith("https://"), title
    # The TOM's, the AWG's and Ofgem's principles are quoted from their source, never paraphrased.
    for key in ("tom", "awg", "dbp"):
        assert all(p.quote for p in controls.FRAMEWORKS[key].principles), key
    for name in principles.PAGES:
        page = (PROJECT_ROOT / f"docs/architecture/{name}.md").read_text()
        for key in controls.PAGE_FRAMEWORKS[name]:
            assert f"## {controls.FRAMEWORKS[key].title}" in page, (name, key)
            for principle in controls.FRAMEWORKS[key].principles:
                if principle.quote:
                    assert f'"{principle.quote}"' in page, (name, principle.title)


def test_every_dataset_has_an_owner_of_the_market_model_and_a_retention():
    datasets = catalogue.load().datasets.values()
    assert [d.name for d in datasets if d.owner not in market.ROLES] == []
    assert [d.name for d in datasets if not (d.retention or "").strip()] == []
    owners = {d.name: d.owner for d in datasets}
    assert (owners["consumption"], owners["registrations"], owners["gsp_group_take"], owners["supplier_volumes"]) == (
        "DS", "REGS", "CDCA", "VAS")


def test_owner_and_retention_are_optional_fields_of_the_catalogue(tmp_path):
    raw = yaml.safe_load(catalogue.CATALOGUE_FILE.read_text())
    del raw["datasets"]["llf"]["owner"], raw["datasets"]["llf"]["retention"]
    path = tmp_path / "catalogue.yml"
    path.write_text(yaml.safe_dump(raw))
    llf = catalogue.load(path).datasets["llf"]
    assert (llf.owner, llf.retention) == (None, None)  # optional fields: the test above is what requires them


def test_the_governance_table_links_each_dataset_to_its_dictionary_entry_and_suite():
    page = (PROJECT_ROOT / "docs/architecture/data_standards.md").read_text()
    dictionary = (PROJECT_ROOT / "docs/data_dictionary.md").read_text()
    anchors = {governance.anchor(line) for line in dictionary.splitlines() if line.startswith("#")}
    section = page.split("## Governance per dataset")[1]
    for dataset in catalogue.load().datasets.values():
        (row,) = [line for line in section.splitlines() if line.startswith(f"| [`{dataset.name}`]")]
        assert market.ROLES[dataset.owner].name in row and dataset.retention in row, dataset.name
        assert governance.dictionary_link(dataset).partition("#")[2] in anchors, dataset.name
        assert (PROJECT_ROOT / f"expectations/suites/{dataset.name}.json").is_file(), dataset.name
        assert f"(../../expectations/suites/{dataset.name}.json)" in row, dataset.name
    assert governance.anchor("### `gsp_groups` (standing, file `gsp_groups.csv`)") == "gsp_groups-standing-file-gsp_groupscsv"


# ---- interface sequence diagrams between market participants ----------------------------------------------------


def test_every_exchange_between_participants_is_a_flow_of_the_communication_diagram():
    keys = [e.key for e in exchanges.EXCHANGES]
    assert keys == ["registration", "collection", "load_shapes", "publication", "rejections", "dispute"]
    for exchange in exchanges.EXCHANGES:
        flows = [s for s in exchanges.steps(exchange) if isinstance(s, roles.Flow)]
        assert flows and all(f in roles.FLOWS for f in flows), exchange.key
    with pytest.raises(ValueError, match="0 flows DCC -> VAS"):
        exchanges.flow("DCC", "VAS", "smart meter reads")
    # The scenarios the AWG asks for reach the participants they name.
    by_key = {e.key: {k for s in exchanges.steps(e) if isinstance(s, roles.Flow) for k in (s.sender, s.receiver)}
              for e in exchanges.EXCHANGES}
    assert {"REGS", "VAS"} <= by_key["registration"] and {"DCC", "DS", "VAS"} <= by_key["collection"]
    assert {"SUP", "DIST", "SAA", "MDS"} <= by_key["publication"] and {"LSS", "MDS"} <= by_key["load_shapes"]
    assert {"VAS", "DS"} <= by_key["rejections"] and {"TDC", "VAS"} <= by_key["dispute"]


def test_an_exchange_is_drawn_planned_until_an_interface_of_the_code_carries_it():
    (rejections,) = [e for e in exchanges.EXCHANGES if e.key == "rejections"]
    planned = exchanges.diagram(rejections, {"consumption_csv", "quarantine"})
    assert "VAS-->>DS: rejected consumption (IF-014), defaulted data (IF-013) (planned)" in planned
    assert "DS->>VAS: UTC period consumption (CSV / Parquet files) [here]" in planned
    done = exchanges.diagram(rejections, {"consumption_csv", "quarantine", "data_service_rejections_flow"})
    assert "VAS->>DS: rejected consumption (IF-014), defaulted data (IF-013) [here]" in done
    (collection,) = [e for e in exchanges.EXCHANGES if e.key == "collection"]
    assert "DCC-)DS: smart meter reads" in exchanges.diagram(collection, set())  # outside this system: unmarked
    page = (PROJECT_ROOT / f"docs/architecture/{exchanges.PAGE}").read_text()
    # every exchange this system takes part in is in the code now: nothing on the page is planned
    assert page.count("```mermaid") == len(exchanges.EXCHANGES) and "(planned)" not in page.split("```mermaid", 1)[1]
    assert "[internal sequence diagram](sequence.md)" in page
    assert (PROJECT_ROOT / "docs/architecture/sequence.md").read_text().splitlines()[1] == (
        "# Internal sequence diagram: Airflow DAGs and dbt")
    index = INDEX.read_text()
    (row,) = [line for line in index.splitlines() if line.startswith("| [Interface Sequence Diagram]")]
    assert f"({exchanges.PAGE})" in row and "(sequence.md)" in row


# ---- the reference architecture's index, market model, capability model and processes ---------------------

AWG_PRODUCT_DESCRIPTION = SHARED_DIR / "AWG_PRODUCT_DESCRIPTION.txt"
INDEX = PROJECT_ROOT / "docs/architecture/README.md"
NEW_PAGES = ("market_model.md", "capability_model.md", "bpm_list.md", "business_processes.md")


def _table_2_artefacts() -> list[str]:
    text = AWG_PRODUCT_DESCRIPTION.read_text()
    table = text.split("Table 2: Architecture Artefacts")[1].split("The majority of these artefacts")[0]
    rows = [line.split("\t") for line in table.splitlines() if "\t" in line]
    return [row[0].strip() for row in rows if row[0].strip() and row[0].strip() != "Artefact"]


@pytest.mark.skipif(not AWG_PRODUCT_DESCRIPTION.exists(), reason="../shared/AWG_PRODUCT_DESCRIPTION.txt is not beside this checkout")
def test_every_table_2_artefact_is_in_the_index_linked_to_an_existing_file():
    names = _table_2_artefacts()
    assert len(names) == 12 and "Level-0 BPM List" in names and "Market Model (Business Strategy)" in names
    index = INDEX.read_text()
    links = dict(re.findall(r"^\| \[([^\]]+)\]\(([^)]+)\)", index, re.MULTILINE))
    for name in [*names, "AWG Recommendation Document"]:
        assert name in links, f"{name} is not linked from docs/architecture/README.md"
        assert (INDEX.parent / links[name]).resolve().is_file(), (name, links[name])
    assert [a.name for a in architecture.ARTEFACTS][:12] == [n for n in names]  # in the product description's order


def test_every_table_3_requirement_is_answered_and_only_those():
    answered = {n for artefact in architecture.ARTEFACTS for n in artefact.requirements}
    assert answered == set(architecture.TABLE_3) == set(range(1, 13))
    by_name = {a.name: set(a.requirements) for a in architecture.ARTEFACTS}
    # A few rows of Table 3 as the product description gives them.
    assert {1, 2, 3, 4, 5} <= by_name["Communication Diagram"] and by_name["Interface Sequence Diagram"] == {5}
    assert by_name["Market Model (Business Strategy)"] == {4, 7, 8, 9} and by_name["Capability Model"] == {7, 9}
    assert by_name["AWG Recommendation Document"] == {11, 12}


def test_the_interface_specification_gives_each_interface_its_frequency_and_size_at_national_scale():
    # sizes come from the committed `make bench` results; the largest that recorded them is national scale
    results = interfaces.measured_sizes()
    national = results[-1]
    assert national["mpans"] >= 30_000_000
    index = (PROJECT_ROOT / "docs/interfaces/README.md").read_text()
    assert f"size per day at {national['mpans']:,} MPANs" in index
    rows = {i.name: line for i in interfaces.interfaces()
            for line in index.splitlines() if line.startswith(f"| [{i.title}]({i.name}.md)")}
    assert set(rows) == {i.name for i in interfaces.interfaces()}
    for found in interfaces.interfaces():
        cells = [cell.strip() for cell in rows[found.name].split("|")[1:-1]]
        assert cells[5] == found.frequency != "", found.name
        if found.size:
            # measured, or (a published table the result predates) the size its rule gives
            assert re.search(r"[0-9,]+ rows", cells[6]) or cells[6] == interfaces.SIZE_BY_RULE[found.name], found.name
    # the figures are the bench's: one landing folder, one published table
    consumption = national["sizes"]["landing"]["consumption"]
    assert f"{consumption['rows']:,} rows in {consumption['files']} files" in rows["consumption_parquet"]
    assert f"{national['sizes']['published']['bm_unit_volumes']['rows']:,} rows" in rows["bm_unit_volumes"]
    # and every participant flow, per recipient, at each scale measured
    for flow in outbound_flows():
        size = national["sizes"]["participants"][flow.recipient]
        assert re.search(rf"\| \[`{flow.name}`\]\({flow.name}_flow.md\) \| {national['mpans']:,} \| "
                         rf"{size['recipients']} \| [0-9,]+ / [0-9,]+ / {size['rows']['max']:,} \|", index), flow.name
    # nothing is left marked incomplete in the architecture index
    assert "incomplete" not in INDEX.read_text()


@pytest.mark.dbt
def test_the_new_artefacts_are_generated_pages(sources):
    expected = architecture.expected_docs(sources)
    for name in NEW_PAGES:
        assert Path(f"docs/architecture/{name}") in expected, name
    # The recommendation is written by hand: generation neither writes nor removes it.
    assert Path("docs/architecture/recommendation.md") not in expected
    assert not (PROJECT_ROOT / "docs/architecture/recommendation.md").read_text().startswith("<!-- Generated")


def test_every_place_in_the_code_the_architecture_links_to_exists():
    references = market.references() | capabilities.references() | processes.references()
    assert len(references) >= 30
    assert [(ref, market.missing(ref)) for ref in sorted(references) if market.missing(ref)] == []
    # Every kind of place: a module and a name in it, a DAG, a dbt model.
    assert {"dags/mhhs_settlement.py::mhhs_settlement", "pipelines/settle/run.py::start_run",
            "dbt_project/models/intermediate/int_gsp_group_correction.sql"} <= references


def test_a_linked_path_or_name_that_disappears_is_reported(tmp_path):
    (tmp_path / "pipelines").mkdir()
    (tmp_path / "pipelines/run.py").write_text("def start_run():\n    pass\nLIMIT = 3\n")
    assert market.missing("pipelines/run.py::start_run", tmp_path) is None
    assert market.missing("pipelines/run.py::LIMIT", tmp_path) is None
    assert market.missing("pipelines/run.py::finish_run", tmp_path) == "pipelines/run.py does not define finish_run"
    assert market.missing("dbt_project/models/marts/gone.sql", tmp_path) == "dbt_project/models/marts/gone.sql does not exist"


def test_capability_links_on_the_page_point_to_existing_paths():
    page = (PROJECT_ROOT / "docs/architecture/capability_model.md").read_text()
    targets = re.findall(r"\]\((\.\./\.\./[^)#]+)\)", page)
    assert len(targets) >= 30
    for target in targets:
        assert (PROJECT_ROOT / "docs/architecture" / target).resolve().exists(), target


def test_the_market_model_matches_the_catalogue_and_defines_every_role_once():
    segments = catalogue.load().items["market_segment"].allowed_values
    assert [s.key for s in market.SEGMENTS] == list(segments)
    service_keys = {s.key for s in market.SERVICES}
    assert {s.data_service for s in market.SEGMENTS} <= service_keys
    assert {s.role for s in market.SERVICES} <= set(market.ROLES)
    assert {p for r in market.ROLES.values() for p in r.performed_by} <= set(market.PARTICIPANTS)
    for name in ("SDS", "ADS", "UMSDS", "MDS", "VAS", "LSS", "REGS", "CSS", "DCC", "IDNO", "SAA", "CDCA", "DIP"):
        assert name in (PROJECT_ROOT / "docs/architecture/market_model.md").read_text(), name
    # The communication diagram draws the same roles.
    assert roles.ROLES is market.ROLES
    for flow in roles.FLOWS:
        assert {flow.sender, flow.receiver} <= set(market.ROLES), flow
    diagram = roles.communication_diagram(set())
    assert all(f'{key}["{role.name}"]' in diagram for key, role in market.ROLES.items())


def test_processes_and_capabilities_refer_to_each_other_and_to_known_roles():
    keys = {p.key for p in processes.PROCESSES}
    assert keys == {"registration", "collection", "estimation", "load_shaping", "settlement", "correction",
                    "reporting", "disputes"}
    assert {c.process for c in capabilities.CAPABILITIES} <= keys
    assert {c.role for c in capabilities.CAPABILITIES} <= set(market.ROLES)
    for process in processes.PROCESSES:
        assert process.current_steps and process.target_steps, process.key
        for step in process.current_steps:
            assert {step.sender, step.receiver} <= set(processes.CURRENT_ROLES), (process.key, step)
        for step in process.target_steps:
            assert {step.sender, step.receiver} <= set(market.ROLES) | set(processes.TARGET_EXTRA), (process.key, step)
            assert not step.where or step.status, (process.key, step)  # code named only for a step of this system
            if step.status == market.NOT_YET:  # its capability's probe says when the code has it
                assert [c for c in capabilities.CAPABILITIES if c.name == step.capability and c.probe], (process.key, step)
        assert all(key in processes.SOURCES for key in process.sources)


def test_a_not_yet_capability_says_so_until_the_code_has_it_and_then_says_so(monkeypatch):
    """Every capability the contract asks of this system is in the code today; the probe that keeps the page true
    while one is not is checked on a capability made for the test, and through the process step that names it."""
    from dataclasses import replace

    found = {"now": False}
    pending = capabilities.Capability("VAS", "A capability made for the test", "registration", market.NOT_YET,
                                      probe=("the test's flag", lambda: found["now"]))
    assert [c for c in capabilities.CAPABILITIES if c.status == market.NOT_YET] == []
    assert capabilities.status(pending) == "not yet implemented here"
    found["now"] = True
    assert capabilities.status(pending).startswith("in the code now (the test's flag)")
    monkeypatch.setattr(capabilities, "CAPABILITIES", (*capabilities.CAPABILITIES, pending))
    registration = next(p for p in processes.PROCESSES if p.key == "registration")
    step = replace(registration.target_steps[-1], where=(), status=market.NOT_YET, capability=pending.name)
    assert processes.step_status(step) == "in the code now"
    found["now"] = False
    assert processes.step_status(step) == market.NOT_YET


BENCHMARK_SECTIONS = ("End to end", "Against the national-scale targets", "Ingestion throughput",
                      "Ingestion design notes", "Settlement fidelity (0.8.0)", "dbt parse cost per partition")


def test_the_recommendation_quotes_only_figures_that_are_in_the_benchmarks():
    recommendation = (PROJECT_ROOT / "docs/architecture/recommendation.md").read_text()
    benchmarks = (PROJECT_ROOT / "docs/benchmarks.md").read_text()
    headings = [line.lstrip("#").strip() for line in benchmarks.splitlines() if line.startswith("#")]
    for section in BENCHMARK_SECTIONS:
        assert f'"{section}"' in recommendation, section
        assert any(heading.startswith(section) for heading in headings), section
    figures = set(re.findall(r"\d[\d,.]*(?: ?(?:min \d+ s|s|GiB|GB|×|M values/s|µs|%))", recommendation))
    assert len(figures) >= 15
    assert sorted(f for f in figures if f not in benchmarks) == []
    for alternative in ("Spark", "relational warehouse", "One row per half-hour period"):
        assert alternative in recommendation
