"""Architecture principles, data standards and security guidelines: a short page each, every principle
linked to the tests that enforce it. tests/test_architecture.py checks every linked test exists, so a
renamed or deleted test fails the build instead of leaving a dead link.

Beside this project's engineering rules, each page maps the public principles it answers to the controls of
this system (pipelines.architecture.controls): the MHHS TOM's and the AWG's on the principles page, Ofgem's Data
Best Practice guidance and the governance of every dataset (pipelines.architecture.governance) on the data
standards page, Secure by Design and the NCSC's on the security page, with every control and its tests.
"""

import ast
from dataclasses import dataclass
from pathlib import Path

from pipelines.architecture import controls, governance
from pipelines.core.paths import PROJECT_ROOT


@dataclass(frozen=True)
class Principle:
    title: str
    statement: str
    tests: tuple[str, ...]  # "tests/<file>.py::<test function>"


PAGES: dict[str, tuple[str, str, tuple[Principle, ...]]] = {
    "principles": ("Architecture principles", "How the system is built (ARCHITECTURE.md), and what keeps each rule true.", (
        Principle("Define every data item once",
                  "One data catalogue generates the pandera schemas, SQL rules, dbt tests, Great Expectations suites, "
                  "the DIP JSON Schema and these docs; drift fails a test.",
                  ("tests/test_catalogue.py::test_committed_artefacts_match_what_the_catalogue_generates",
                   "tests/test_architecture.py::test_committed_docs_match_what_the_code_generates")),
        Principle("Each tool where it is strongest",
                  "Bulk validation in DuckDB at ingestion, set-based settlement and cross-table checks in dbt, the "
                  "auditor-facing gate in Great Expectations.",
                  ("tests/test_catalogue.py::test_generated_dbt_tests_pass_on_the_default_seeds_and_catch_a_broken_value",
                   "tests/test_catalogue.py::test_generated_gx_suite_fails_broken_standing_data_naming_the_rules")),
        Principle("Every settlement run is an immutable record",
                  "A run has an id, a version, its basis data and a succeeded_at written last; a rerun is a new "
                  "version and publishes identical volumes.",
                  ("tests/test_settle.py::test_a_rerun_is_a_new_version_and_publishes_the_same_volumes",)),
        Principle("Expected-periods spine, no silent zero-fill",
                  "Every registered MPAN has a value in every period after estimation; missing standing data stops "
                  "the run naming what is missing.",
                  ("tests/test_settle.py::test_every_energised_registered_mpan_counts_in_every_period",
                   "tests/test_settle.py::test_a_missing_gsp_group_take_stops_the_run_naming_group_and_period")),
        Principle("Nothing lost at the boundary",
                  "For every landing file, rows in = rows accepted + rows quarantined, each refusal with a reason "
                  "code; re-ingesting changes nothing; a crash leaves nothing visible.",
                  ("tests/test_ingest.py::test_corpus_case",
                   "tests/test_ingest.py::test_reingesting_the_same_landing_directory_changes_nothing",
                   "tests/test_ingest.py::test_a_crash_mid_ingest_leaves_nothing_visible_and_a_rerun_completes")),
        Principle("Settlement arithmetic is unit tested and scenarios are readable",
                  "Every settlement formula has dbt unit tests; named business scenarios give expected outputs.",
                  ("tests/test_dbt_unit.py::test_every_settlement_formula_has_unit_tests", "tests/test_scenarios.py::test_scenario")),
        Principle("Generated architecture artefacts",
                  "Diagrams and interface pages are generated from the catalogue, the dbt manifest and the DAGs, "
                  "and every diagram renders. The market model, capability model and process models link to the "
                  "code that implements them, and every link resolves; every artefact of the AWG product "
                  "description is in the index.",
                  ("tests/test_architecture.py::test_every_mermaid_diagram_renders_in_headless_chromium",
                   "tests/test_architecture.py::test_every_place_in_the_code_the_architecture_links_to_exists",
                   "tests/test_architecture.py::test_every_table_2_artefact_is_in_the_index_linked_to_an_existing_file")),
    )),
    "data_standards": ("Data standards", "Time, units, identifiers and precision, as every interface uses them.", (
        Principle("Time in UTC, local days only at the edge",
                  "Timestamps are ISO-8601 with an offset (none: rejected, not guessed) and are stored in UTC; the "
                  "settlement date and period (1..46/48/50) are derived in Europe/London time.",
                  ("tests/test_periods.py::test_every_period_of_several_years_round_trips_and_utc_days_have_48",
                   "tests/test_periods.py::test_timestamps_without_offset_or_off_boundary_are_refused",
                   "tests/test_ingest.py::test_consumption_is_partitioned_by_settlement_date_with_46_and_50_period_days")),
        Principle("Units",
                  "Energy in kWh per half hour, non-negative per direction (import AI, export AE); annual "
                  "consumption in kWh per year; line loss and correction factors are dimensionless.",
                  ("tests/test_catalogue.py::test_pandera_schema_enforces_each_catalogue_rule",
                   "tests/test_settle.py::test_published_outputs_have_the_contract_columns_and_every_period")),
        Principle("Identifiers",
                  "MPAN cores are 13 digits with a valid check digit; market participants 4 characters; GSP Groups "
                  "the 14 catalogue ids; run ids <run type>-<date>-v<version>.",
                  ("tests/test_mpan.py::test_check_digit_is_sum_of_weighted_digits_mod_11_mod_10",
                   "tests/test_catalogue.py::test_domain_data_items_are_all_defined")),
        Principle("Precision",
                  "kWh at most 3 decimal places in, exact decimal arithmetic throughout (no binary floats), outputs "
                  "at 6 decimal places and correction factors at 9; sums are reproducible to the last digit.",
                  ("tests/test_settle.py::test_corrected_volumes_add_up_to_gsp_group_take_and_the_factor_follows_the_formula",
                   "tests/test_ingest.py::test_regression_a_number_too_large_for_the_lake_is_not_accepted_as_empty")),
        Principle("Messages validated against a published schema",
                  "DIP-style JSON consumption messages are validated against the JSON Schema generated from the "
                  "catalogue; the schema rejects each malformed example the tests ship.",
                  ("tests/test_architecture.py::test_the_dip_json_schema_rejects_every_malformed_example",
                   "tests/test_ingest.py::test_corpus_covers_every_reason_code_and_at_least_25_faults")),
    )),
    "security": ("Security guidelines", "What the system refuses, and how it keeps what it holds safe.", (
        Principle("Validate every input before use",
                  "Landing files are read as data, never executed; files that cannot be read are refused whole and "
                  "kept byte for byte; command-line dates and run types are checked before any query.",
                  ("tests/test_ingest.py::test_the_installed_mhhs_command_exits_1_naming_the_refused_file",
                   "tests/test_settle.py::test_bad_arguments_are_refused_with_a_message",
                   "tests/test_standing_data.py::test_a_file_that_is_not_text_is_refused_clearly")),
        Principle("Keep what was received, append only",
                  "Quarantine keeps each refused record as received; a resubmission is added beside the earlier "
                  "one, never overwriting it, so every published figure can be audited.",
                  ("tests/test_ingest.py::test_a_resubmission_is_added_beside_the_earlier_one",)),
        Principle("Publish all or nothing",
                  "A run that fails a check publishes nothing and says why; outputs are swapped in whole.",
                  ("tests/test_settle.py::test_a_missing_gsp_group_take_stops_the_run_naming_group_and_period",
                   "tests/test_ingest.py::test_a_crash_mid_ingest_leaves_nothing_visible_and_a_rerun_completes")),
        Principle("Nothing fetched at view time",
                  "Docs and diagrams render offline from pinned, locally installed packages (no CDN).",
                  ("tests/test_architecture.py::test_every_mermaid_diagram_renders_in_headless_chromium",)),
    )),
}


def linked_tests() -> set[str]:
    """Every test a principle or a control links to."""
    engineering = {test for _, _, principles in PAGES.values() for principle in principles for test in principle.tests}
    return engineering | controls.linked_tests()


def _test_functions(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}


def missing_tests(references: set[str] | None = None, root: Path = PROJECT_ROOT) -> list[str]:
    """The linked tests (tests/<file>.py::<function>) whose file or top-level test function does not exist."""
    missing = []
    for reference in sorted(linked_tests() if references is None else references):
        file, _, name = reference.partition("::")
        if not (root / file).is_file() or name not in _test_functions(root / file):
            missing.append(reference)
    return missing


def test_link(test: str) -> str:
    return f"[`{test.split('::')[1]}`](../../{test.split('::')[0]})"


HEADINGS = {"principles": "This project's engineering principles", "data_standards": "This project's data standards",
            "security": "This project's security rules"}


def page(name: str, nodes: dict | None = None, found: list | None = None) -> str:
    title, intro, principles = PAGES[name]
    frameworks = controls.PAGE_FRAMEWORKS[name]
    titles = ", ".join(controls.FRAMEWORKS[key].title for key in frameworks)
    lines = ["<!-- Generated from pipelines/architecture/principles.py by `make docs`; do not edit. -->", f"# {title}", "",
             intro, "",
             f"Below: this project's own rules, then the public principles the page answers ({titles}), each mapped "
             f"to the [controls]({'' if name == 'security' else 'security.md'}#controls) of this system that meet "
             "it.", "",
             f"## {HEADINGS[name]}", "", "| principle | enforced by |", "|---|---|"]
    for principle in principles:
        links = "<br>".join(test_link(test) for test in principle.tests)
        lines.append(f"| **{principle.title}.** {principle.statement} | {links} |")
    lines.append("")
    for key in frameworks:
        lines += controls.framework_section(key, name)
    if name == "data_standards" and nodes is not None:
        lines += governance.section(nodes, found or [])
    if name == "security":
        lines += controls.controls_section(test_link)
    return "\n".join(lines)


def artefacts(nodes: dict | None = None, found: list | None = None) -> dict[Path, str]:
    return {Path(f"docs/architecture/{name}.md"): page(name, nodes, found) for name in PAGES}
