"""The controls of this system and the public principles they answer: the MHHS target operating model (as
Elexon published the Design Working Group's work), the Architecture Working Group's, Ofgem's Data Best Practice
guidance, the UK government's Secure by Design principles, and the NCSC's secure design and cloud security
principles (AWG product description, Table 3 requirements 6, 8 and 10).

A control is something the code does, linked to the tests that enforce it: tests/test_architecture.py fails when a
linked test disappears. A control that is not built yet says what is planned and links no test. A principle
quotes only what its public source says (each source linked); where a framework's own text was not found in a
public source, the page says so instead of paraphrasing it.
"""

from dataclasses import dataclass

# Public sources, each (title, address). Quotes on the pages are from these pages as published.
SOURCES = {
    "dwg_report": ("Elexon: the Design Working Group submits its final report to Ofgem",
                   "https://www.elexon.co.uk/news/design-working-group-submits-its-final-report-to-ofgem/"),
    "dwg_group": ("Elexon: Design Working Group (the DWG reconfirms its preferred TOM)",
                  "https://www.elexon.co.uk/group/design-working-group/"),
    "tom_approval": ("Elexon: the DWG's TOM receives preliminary Ofgem approval",
                     "https://www.elexon.co.uk/news/design-working-groups-target-operating-model-receives-preliminary-ofgem-approval/"),
    "tom_development": ("Ofgem's TOM development principles (AWG product description, related document 2)",
                        "https://www.elexon.co.uk/documents/groups/ccdg/ccdg-awg-ofgems-tom-development-principles/"),
    "awg_recommendation": ("Elexon: the AWG's recommendation on the reference architecture to support MHHS",
                           "https://www.elexon.co.uk/article/architecture-working-group-makes-recommendation-on-reference-architecture-to-support-mhhs/"),
    "mhhs_groups": ("Elexon: MHHS working groups (DWG, CCDG, AWG)",
                    "https://www.elexon.co.uk/groups/market-wide-half-hourly-settlement-mhhs-working-groups/"),
    "dbp_catapult": ("Energy Systems Catapult: Data Best Practice Guidance (now provided by Ofgem)",
                     "https://es.catapult.org.uk/guide/data-best-practice-guidance/"),
    "dbp_presumed_open": ("a course summary of Ofgem's Data Best Practice Guidance v3.5 (presumed open, triage)",
                          "https://ransfordsnotes.com/courses/energy-system-data/applied/who-controls-the-data"),
    "secure_by_design": ("UK government: Secure by Design principles",
                         "https://www.security.gov.uk/guidance/secure-by-design/principles"),
    "ncsc_design": ("NCSC secure design principles (five categories, as republished)",
                    "https://iwar.org.uk/2019/05/21/ncsc-secure-design-principles-guides-for-the-design-of-cyber-secure-systems/"),
    "ncsc_cloud": ("NCSC Cloud Security Principles (as quoted)",
                   "https://www.comparethecloud.net/articles/ncsc-cloud-principles-uk-2025"),
    "ncsc_cloud_list": ("NCSC: the cloud security principles (the list of 14)",
                        "https://www.ncsc.gov.uk/collection/cloud/the-cloud-security-principles"),
}

_T = "tests/test_"


@dataclass(frozen=True)
class Control:
    key: str
    name: str
    does: str
    tests: tuple[str, ...] = ()  # "tests/<file>.py::<test function>"
    planned: str = ""  # for a control not built yet: what is planned (it links no test)


CONTROLS = {
    control.key: control
    for control in (
        Control("catalogue", "One data catalogue",
                "every data item and dataset is defined once (`pipelines/catalogue/catalogue.yml`); schemas, dbt "
                "tests, Great Expectations suites, the JSON Schema and the docs are generated from it",
                (f"{_T}catalogue.py::test_committed_artefacts_match_what_the_catalogue_generates",
                 f"{_T}catalogue.py::test_domain_data_items_are_all_defined")),
        Control("governance", "An owner, a retention and a lineage per dataset",
                "every dataset of the catalogue names the market role that owns it and how long it is kept; its "
                "lineage and quality rules are generated ([governance](data_standards.md#governance-per-dataset))",
                (f"{_T}architecture.py::test_every_dataset_has_an_owner_of_the_market_model_and_a_retention",)),
        Control("interfaces", "Every interface specified from the code",
                "each file the system reads or writes has a generated interface page",
                (f"{_T}architecture.py::test_every_interface_the_code_reads_or_writes_has_a_page",)),
        Control("input_validation", "Validate every input at the boundary",
                "landing files are read as data, checked in bulk against the catalogue's rules, and refused rows "
                "quarantined with a reason code; command-line dates and run types are checked before any query",
                (f"{_T}ingest.py::test_corpus_covers_every_reason_code_and_at_least_25_faults",
                 f"{_T}ingest.py::test_the_installed_mhhs_command_exits_1_naming_the_refused_file",
                 f"{_T}reliability.py::test_settle_arguments_are_validated_before_use",
                 f"{_T}standing_data.py::test_a_file_that_is_not_text_is_refused_clearly")),
        Control("message_schema", "Messages validated against a published schema",
                "DIP-style JSON messages are validated against the JSON Schema generated from the catalogue",
                (f"{_T}architecture.py::test_the_dip_json_schema_rejects_every_malformed_example",)),
        Control("hostile_paths", "Hostile file names and links refused",
                "landing entries that are links, devices or escape the landing directory are refused with a "
                "reason; nothing is written outside the data directory",
                (f"{_T}reliability.py::test_hostile_landing_entries_are_refused_with_a_reason_and_nothing_is_written_outside_the_data_dir",)),
        Control("quarantine", "Keep what was received, append only",
                "every refused record is kept as received with its source file, row and reason; a resubmission is "
                "added beside the earlier one, never over it",
                (f"{_T}ingest.py::test_a_resubmission_is_added_beside_the_earlier_one",
                 f"{_T}ingest.py::test_corpus_case")),
        Control("quality_gate", "A quality gate before publication",
                "the catalogue's column rules and the settlement rules are checked by Great Expectations on every "
                "run; a critical failure publishes nothing",
                (f"{_T}gate.py::test_each_settlement_rule_fails_alone_on_its_fault",
                 f"{_T}gate.py::test_a_column_rule_of_the_catalogue_fails_on_a_published_table",
                 f"{_T}catalogue.py::test_generated_gx_suite_fails_broken_standing_data_naming_the_rules")),
        Control("all_or_nothing", "Publish all or nothing",
                "ingestion and settlement make their results visible in one step, last; a crash or a failed check "
                "leaves nothing half-written",
                (f"{_T}reliability.py::test_settle_killed_at_random_moments_never_publishes_part_of_a_run_and_a_rerun_matches_a_clean_run",
                 f"{_T}ingest.py::test_a_crash_mid_ingest_leaves_nothing_visible_and_a_rerun_completes",
                 f"{_T}gate.py::test_a_fault_between_the_dbt_build_and_the_gate_stops_the_run_and_publishes_nothing")),
        Control("immutable_runs", "Every run an immutable, versioned record",
                "a rerun is a new version beside the earlier ones and publishes identical content from the same inputs",
                (f"{_T}settle.py::test_a_rerun_is_a_new_version_and_publishes_the_same_volumes",
                 f"{_T}reliability.py::test_settling_the_same_inputs_twice_publishes_identical_content")),
        Control("integrity_hashes", "Integrity hashes and lineage of every published row",
                "the ingestion log keeps each landing file's SHA-256, the run record each standing file's; a "
                "published row traces to its run and to the hashes of the files that fed it",
                (f"{_T}reliability.py::test_a_published_row_traces_to_its_run_and_the_hashes_of_the_landing_files_that_fed_it",
                 f"{_T}settle.py::test_the_run_record_holds_its_data_cut_off_and_the_standing_files_with_their_sha256",
                 f"{_T}report.py::test_the_header_names_the_versions_and_the_standing_data_with_their_sha256")),
        Control("audit_report", "A data-quality report for auditors",
                "every run publishes a self-contained report: counts in and out, the result of every rule, and a "
                "reconciliation of every line against its source",
                (f"{_T}gate.py::test_a_settled_run_passes_every_critical_rule_and_publishes_its_report_and_data_docs",
                 f"{_T}report.py::test_the_reconciliation_adds_up_on_the_sample_day_and_agrees_with_the_landing_files")),
        Control("read_only_analysts", "Read-only analyst access",
                "analysts query the warehouse views through `mhhs sql` (or DuckDB read-only); a statement that "
                "would modify anything or reach outside the warehouse is refused and changes nothing",
                (f"{_T}reliability.py::test_mhhs_sql_cannot_modify_or_reach_outside_the_warehouse",
                 f"{_T}warehouse.py::test_mhhs_sql_reads_the_relative_paths_of_the_views_and_nothing_beside_them",
                 f"{_T}cli.py::test_a_query_mhhs_sql_refuses_is_a_usage_error")),
        Control("file_modes", "Owner-only file modes",
                "the data directory and everything in it are readable by their owner only; with the setting, the "
                "published outputs (and only they) are group-readable, whatever the umask",
                (f"{_T}reliability.py::test_the_data_directory_and_published_files_are_readable_by_their_owner_only",
                 f"{_T}warehouse.py::test_with_the_setting_published_outputs_are_group_readable_and_the_rest_stays_private",
                 f"{_T}warehouse.py::test_published_modes_follow_the_setting_whatever_the_umask")),
        Control("personal_data", "No personal data beyond ingestion",
                "columns outside the catalogue (addresses, postcodes) are never kept: not in the lake, the "
                "warehouse, the quarantine or the command output",
                (f"{_T}reliability.py::test_addresses_and_postcodes_never_leave_ingestion",)),
        Control("segregation", "Per-participant segregation",
                "each participant receives only its own data: a supplier its volumes, a distributor its network's "
                "DUoS volumes, a data service its refusals, the SAA the BM Unit volumes",
                (f"{_T}participants.py::test_property_a_folder_holds_only_its_recipients_rows_listed_in_its_manifest",
                 f"{_T}participants.py::test_the_suppliers_files_together_are_supplier_volumes",
                 f"{_T}participants.py::test_a_data_service_gets_exactly_its_refused_values")),
        Control("concurrency", "One settlement of a date at a time",
                "a second settlement of the same date is refused while the first proceeds; ingestion beside a "
                "settlement corrupts neither",
                (f"{_T}reliability.py::test_a_second_settlement_of_the_same_day_refuses_while_the_first_proceeds",
                 f"{_T}reliability.py::test_ingesting_while_a_settlement_runs_corrupts_neither")),
        Control("timetable", "The settlement timetable's rules",
                "run types come from the standing calendar; a run type is refused once a later one has succeeded, "
                "and after RF only a DF may settle a date",
                (f"{_T}calendar.py::test_a_run_type_is_refused_once_a_later_one_has_succeeded_and_after_rf_only_df_may_settle",
                 f"{_T}calendar.py::test_default_run_types_and_offsets_come_from_the_standing_data")),
        Control("disputes", "Dispute Final runs name their dispute",
                "a DF run needs the upheld dispute's reference, kept in the run record; no other run type takes one",
                (f"{_T}calendar.py::test_df_needs_its_dispute_reference_and_no_other_run_type_takes_one",
                 f"{_T}settle.py::test_refused_runs_exit_5_and_leave_no_record_and_dispute_is_kept_for_df")),
        Control("segments", "Market segments and data services from one model",
                "the segments (smart, advanced, unmetered) and their data services are defined once and match the "
                "catalogue",
                (f"{_T}architecture.py::test_the_market_model_matches_the_catalogue_and_defines_every_role_once",)),
        Control("completeness", "Every MPAN in every period",
                "every energised registered MPAN has a value in every period after estimation; missing standing "
                "data stops the run",
                (f"{_T}settle.py::test_every_energised_registered_mpan_counts_in_every_period",
                 f"{_T}settle.py::test_a_missing_gsp_group_take_stops_the_run_naming_group_and_period")),
        Control("event_driven", "Event-driven orchestration",
                "the settlement DAG runs when the ingestion DAG updates the lake (an Airflow Asset), not on a "
                "polling clock",
                (f"{_T}architecture.py::test_sequence_diagram_follows_the_dag_task_dependencies_and_the_dbt_lineage",
                 f"{_T}dags.py::test_the_dags_ingest_the_landing_files_and_publish_what_mhhs_settle_publishes")),
        Control("offline", "Pinned packages, nothing fetched at view time",
                "docs, diagrams and the report render offline from locally installed, pinned packages",
                (f"{_T}architecture.py::test_every_mermaid_diagram_renders_in_headless_chromium",
                 f"{_T}report.py::test_a_data_docs_page_copy_fetches_nothing_and_keeps_its_content")),
        Control("drift", "Generated artefacts cannot drift",
                "the committed docs and generated artefacts must equal what the code generates now; a difference "
                "fails the build",
                (f"{_T}architecture.py::test_committed_docs_match_what_the_code_generates",
                 f"{_T}catalogue.py::test_committed_artefacts_match_what_the_catalogue_generates")),
    )
}


@dataclass(frozen=True)
class Mapped:
    """A principle of a public framework, and the controls of this system that answer it."""
    title: str
    quote: str  # what the source says, verbatim ("" when only the title is published there)
    source: str  # SOURCES key
    controls: tuple[str, ...] = ()  # CONTROLS keys
    note: str = ""  # how the controls answer it, or why no control of the code does


@dataclass(frozen=True)
class Framework:
    key: str
    title: str
    intro: str
    principles: tuple[Mapped, ...]


FRAMEWORKS = {
    framework.key: framework
    for framework in (
        Framework("tom", "MHHS target operating model (TOM) design",
                  "The Design Working Group designed the TOM; Ofgem gave it preliminary approval in October 2019. "
                  "Quoted from Elexon's public pages on the DWG's work. The text of Ofgem's TOM design principles and "
                  "of its TOM development principles (the AWG product description's related document 2, "
                  "[linked here](" + SOURCES["tom_development"][1] + ")) was not found in a public source this "
                  "project could read, so they are not quoted or paraphrased here.",
                  (Mapped("Three data services, one per market segment",
                          "there will be three data service types, one for each of the above ‘segments’ of the "
                          "Supplier Volume Allocation market", "dwg_report", ("segments",),
                          "the market model defines the segments and their data services once; registrations carry "
                          "the segment and consumption the appointed data service"),
                   Mapped("No HH and NHH variants of agents",
                          "there will no longer be half hourly and non-half hourly variants of Data Collectors and "
                          "Data Aggregators", "dwg_report", ("completeness",),
                          "every MPAN is settled on half-hourly UTC-period data, estimated where missing"),
                   Mapped("A shorter settlement timetable",
                          "reducing the current 14 month reconciliation period to 4 months", "dwg_report",
                          ("timetable", "immutable_runs"),
                          "II, SF, R1 and RF from the standing calendar, each run a new version"),
                   Mapped("Trading disputes remain",
                          "a Trading Disputes process / window is still required", "dwg_group", ("disputes",),
                          "after RF only a Dispute Final run naming the upheld dispute may settle a date"),
                   Mapped("The AWG designs the architecture and interfaces",
                          "design and develop the system architecture and interfaces needed to implement the TOM",
                          "tom_approval", ("interfaces", "catalogue"),
                          "every interface of the code is specified from the code and the catalogue"))),
        Framework("awg", "Architecture Working Group (AWG)",
                  "The AWG's own list of principles (Table 3 requirement 6) was not found in a public source; what "
                  "Elexon published of its aims is quoted below. The engineering principles above are this "
                  "project's own.",
                  (Mapped("Event-driven architecture, at scale",
                          "Event-driven architecture will be able to respond to this more quickly, and at a much "
                          "higher scale than is possible with the current arrangements.", "awg_recommendation",
                          ("event_driven",),
                          "DAGs scheduled on data (Airflow Assets); the scale measured in docs/benchmarks.md"),
                   Mapped("A framework for data integration",
                          "This reference architecture will set the framework for suitable data integration that "
                          "is appropriate to the new MHHS services.", "mhhs_groups",
                          ("catalogue", "message_schema", "interfaces"),
                          "one catalogue, a published message schema and a page per interface"))),
        Framework("dbp", "Ofgem's Data Best Practice guidance",
                  "Ofgem's Data Best Practice (DBP) guidance, first developed for Ofgem, BEIS and Innovate UK by the "
                  "Energy Systems Catapult after the Energy Data Taskforce. Its principles' own text was not found "
                  "in a public source this project could read; what the sources found say is quoted.",
                  (Mapped("Data of good quality",
                          "often poor quality, inaccurate or missing data", "dbp_catapult",
                          ("input_validation", "quality_gate", "audit_report"),
                          "the problem the guidance answers: every input is validated, every run gated and reported"),
                   Mapped("Data that can be found and understood",
                          "valuable data is often hard to find", "dbp_catapult",
                          ("catalogue", "governance", "integrity_hashes"),
                          "one catalogue and data dictionary, an owner and lineage per dataset, every published "
                          "row traceable to its sources"),
                   Mapped("Presumed open, with triage",
                          "all energy data should be published openly unless there is a specific reason not to",
                          "dbp_presumed_open", ("segregation", "file_modes"),
                          "settlement volumes are commercially sensitive per participant: outputs are owner-only "
                          "by default, and each participant's folder holds only its own data"),
                   Mapped("Personal data is restricted",
                          "personal data (protected by UK GDPR)", "dbp_presumed_open", ("personal_data",),
                          "MPANs are kept (they are settlement's key); addresses and postcodes never pass ingestion"))),
        Framework("secure_by_design", "Secure by Design (UK government)",
                  "The product description asks for the NCSC's Secure by Design principles: the ten Secure by "
                  "Design principles the UK government publishes are mapped here (their titles), and the NCSC's own "
                  "secure design principles below. Principles 1, 3 and 4 are about the organisation running the "
                  "service, not controls of this code.",
                  (Mapped("1. Create responsibility for cyber security risk", "", "secure_by_design", (),
                          "for the operator: assign a risk owner"),
                   Mapped("2. Source secure technology products", "", "secure_by_design", ("offline",),
                          "pinned, locally installed packages"),
                   Mapped("3. Adopt a risk-driven approach", "", "secure_by_design", (),
                          "for the operator; the recommendation document carries the risk assessment"),
                   Mapped("4. Design usable security controls", "", "secure_by_design", (),
                          "for the operator and its users"),
                   Mapped("5. Build in detect and respond security", "", "secure_by_design",
                          ("quarantine", "integrity_hashes", "audit_report")),
                   Mapped("6. Design flexible architectures", "", "secure_by_design", ("catalogue", "interfaces")),
                   Mapped("7. Minimise the attack surface", "", "secure_by_design",
                          ("read_only_analysts", "input_validation", "hostile_paths")),
                   Mapped("8. Defend in depth", "", "secure_by_design",
                          ("input_validation", "quality_gate", "all_or_nothing", "file_modes")),
                   Mapped("9. Embed continuous assurance", "", "secure_by_design", ("drift",)),
                   Mapped("10. Make changes securely", "", "secure_by_design", ("immutable_runs", "drift")))),
        Framework("ncsc_design", "NCSC secure design principles",
                  "The NCSC's five categories of secure design principles, each quoted.",
                  (Mapped("Establish the context",
                          "Determine all the elements which compose your system, so your defensive measures will "
                          "have no blind spots.", "ncsc_design", ("interfaces", "governance")),
                   Mapped("Making compromise difficult",
                          "An attacker can only target the parts of a system they can reach. Make your system as "
                          "difficult to penetrate as possible", "ncsc_design",
                          ("input_validation", "message_schema", "hostile_paths", "read_only_analysts")),
                   Mapped("Making disruption difficult",
                          "Design a system that is resilient to denial of service attacks and usage spikes",
                          "ncsc_design", ("concurrency", "all_or_nothing")),
                   Mapped("Making compromise detection easier",
                          "Design your system so you can spot suspicious activity as it happens and take necessary "
                          "action", "ncsc_design", ("integrity_hashes", "quarantine", "audit_report")),
                   Mapped("Reducing the impact of compromise",
                          "If an attacker succeeds in gaining a foothold, they will then move to exploit your "
                          "system. Make this as difficult as possible", "ncsc_design",
                          ("file_modes", "personal_data", "segregation")))),
        Framework("ncsc_cloud", "NCSC Cloud Security Principles",
                  "The NCSC's fourteen principles ([the list](" + SOURCES["ncsc_cloud_list"][1] + ")); those that "
                  "bear on this system's code, quoted where the source quotes the NCSC.",
                  (Mapped("1. Data in transit protection",
                          "User data transiting networks should be adequately protected against tampering and "
                          "eavesdropping.", "ncsc_cloud", (),
                          "outside this code: it reads and writes local files; transport is the DIP's or the "
                          "operator's"),
                   Mapped("2. Asset protection and resilience",
                          "User data, and the assets storing or processing it, should be protected against physical "
                          "tampering, loss, damage, or seizure.", "ncsc_cloud",
                          ("file_modes", "all_or_nothing", "quarantine")),
                   Mapped("3. Separation between consumers",
                          "A malicious or compromised consumer should not be able to affect the service or data of "
                          "another.", "ncsc_cloud", ("segregation", "read_only_analysts")),
                   Mapped("7. Secure development", "", "ncsc_cloud_list", ("drift", "offline")),
                   Mapped("9. Secure user management", "", "ncsc_cloud_list", ("read_only_analysts", "file_modes")),
                   Mapped("11. External interface protection", "", "ncsc_cloud_list",
                          ("input_validation", "message_schema", "hostile_paths")),
                   Mapped("13. Audit information and alerting for customers", "", "ncsc_cloud_list",
                          ("integrity_hashes", "audit_report")))),
    )
}

# Which page carries each framework.
PAGE_FRAMEWORKS = {"principles": ("tom", "awg"), "data_standards": ("dbp",),
                   "security": ("secure_by_design", "ncsc_design", "ncsc_cloud")}


def linked_tests() -> set[str]:
    return {test for control in CONTROLS.values() for test in control.tests}


def control_link(key: str, page: str) -> str:
    """A link to the control's row on the security page, from page (a page of docs/architecture)."""
    target = "" if page == "security" else "security.md"
    status = " (planned)" if CONTROLS[key].planned else ""
    return f"[{CONTROLS[key].name}]({target}#control-{key}){status}"


def _source(key: str) -> str:
    title, address = SOURCES[key]
    return f"[{title}]({address})"


def framework_section(key: str, page: str) -> list[str]:
    framework = FRAMEWORKS[key]
    lines = [f"## {framework.title}", "", framework.intro, "",
             "| principle | the source says | controls of this system |", "|---|---|---|"]
    for principle in framework.principles:
        said = f"\"{principle.quote}\" ({_source(principle.source)})" if principle.quote else _source(principle.source)
        controls = "<br>".join(control_link(c, page) for c in principle.controls) or "none in the code"
        note = f"<br>{principle.note}" if principle.note else ""
        lines.append(f"| **{principle.title}** | {said} | {controls}{note} |")
    lines.append("")
    return lines


def controls_section(test_link) -> list[str]:
    lines = ["## Controls", "",
             "Every control of this system that the principles above name, with the tests that enforce it "
             "(a test that disappears fails `tests/test_architecture.py`). A planned control links no test.", "",
             "| control | what it does | enforced by |", "|---|---|---|"]
    for control in CONTROLS.values():
        enforced = "<br>".join(test_link(t) for t in control.tests) or f"**planned**: {control.planned}"
        lines.append(f"| <a id=\"control-{control.key}\"></a>**{control.name}** | {control.does} | {enforced} |")
    lines.append("")
    return lines
