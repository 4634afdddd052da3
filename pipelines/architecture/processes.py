"""The Level-0 business process list and the business process models (BPM): for each process MHHS changes, the
current (pre-MHHS, profiled non-half-hourly settlement) and the target (MHHS) flows between roles as Mermaid
sequence diagrams, the integration points, and what of it this system implements (from the capability model).

Target-state roles are those of pipelines.architecture.market; the current-state roles that MHHS retires are
defined here. A target step this system performs names the code that does it (checked by the tests like every
other reference).
"""

from dataclasses import dataclass, field

from pipelines.architecture import capabilities
from pipelines.architecture.market import HERE, NOT_YET, OUTSIDE, PARTLY, ROLES, in_this_system, link

# Current-state roles (pre-MHHS Supplier Volume Allocation), besides the target roles of the same name.
CURRENT_ROLES = {
    "SUP": "Supplier",
    "CSS": "Central Switching Service (CSS)",
    "SMRS": "SMRS (MPAS, run by each distributor)",
    "NHHDC": "NHH Data Collector (NHHDC)",
    "NHHDA": "NHH Data Aggregator (NHHDA)",
    "HHDC": "HH Data Collector (HHDC)",
    "HHDA": "HH Data Aggregator (HHDA)",
    "PROFILE": "Profile Administrator (load research)",
    "SVAA": "SVAA (ISRA, SSR runs)",
    "CDCA": "CDCA",
    "ISD": "Market Domain Data and standing data",
    "DIST": "Distributor (DNO or IDNO)",
    "SAA": "Settlement Administration Agent (SAA)",
    "TDC": "Trading Disputes Committee",
}
# Target-state participants that are not market roles of the communication diagram.
TARGET_EXTRA = {"TDC": "Trading Disputes Committee"}

SOURCES = {
    "bsc_s2": ("BSC Section S-2, Supplier Volume Allocation rules",
               "https://bscdocs.elexon.co.uk/bsc/bsc-section-s-2-supplier-volume-allocation-rules"),
    "nhhda": ("NHHDA User Requirements Specification",
              "https://bscdocs.elexon.co.uk/user-requirements-specifications/non-half-hourly-data-aggregation"),
    "dwg": ("Elexon: the Design Working Group's final report",
            "https://www.elexon.co.uk/news/design-working-group-submits-its-final-report-to-ofgem/"),
    "dwg_disputes": ("Elexon: the DWG's preferred TOM (a Trading Disputes process is still required)",
                     "https://www.elexon.co.uk/group/design-working-group/"),
    "lss": ("npower Business Solutions: how NHH meters are settled under MHHS (profile classes, the LSS)",
            "https://npowerbusinesssolutions.com/resources/test-non-half-hourly-meters-will-be-settled-in-the-new-mhhs-world-clone"),
    "glossary": ("npower Business Solutions: MHHS glossary (AC replaces EAC; ADS replaces the DC)",
                 "https://npowerbusinesssolutions.com/mhhs-glossary"),
    "css": ("Ofgem Switching Programme: the DCC procures the CSS",
            "https://utilityweek.co.uk/ofgem-moves-ahead-plans-next-day-switching/"),
    "dip": ("Elexon: DIP message channels (IF and PUB numbers)",
            "https://elexon-beta.elexonhostings.co.uk/data-integration-platform/dip-training-and-guidance/onboarding/managing-your-dip-message-channels/"),
}


@dataclass(frozen=True)
class Step:
    sender: str
    receiver: str
    message: str
    where: tuple[str, ...] = field(default=())  # code references, for a step this system performs
    status: str = ""  # HERE, NOT_YET, ... for a step of this system; "" for a step outside it
    capability: str = ""  # for a NOT_YET step: the name of the capability whose probe tells when the code has it


@dataclass(frozen=True)
class Process:
    key: str
    name: str
    purpose: str
    current: str  # what happens before MHHS
    target: str  # what MHHS changes
    current_steps: tuple[Step, ...]
    target_steps: tuple[Step, ...]
    sources: tuple[str, ...] = ()


_DBT = "dbt_project/models"

PROCESSES = (
    Process(
        "registration", "Registration change",
        "keep who supplies each MPAN, which data service collects it, and its settlement attributes, as a history",
        "Switching goes through the CSS (current state for MHHS: MHHS follows it, AWG Table 4). Each distributor's "
        "SMRS holds the registration and the appointed HH or NHH agents, and tells the aggregators.",
        "The Registration Service sends each change (appointments IF-031..IF-036, IF-033 the full registration) "
        "through the DIP to the data services and central settlement; one data service per segment replaces "
        "the HH and NHH agents; consent granularity is part of the registration.",
        (Step("SUP", "CSS", "switch request"),
         Step("CSS", "SMRS", "switch (new supplier from a date)"),
         Step("SUP", "SMRS", "appoint NHHDC and NHHDA, or HHDC and HHDA"),
         Step("SMRS", "NHHDA", "registration data (NHH MPANs)"),
         Step("SMRS", "HHDA", "registration data (HH MPANs)")),
        (Step("SUP", "CSS", "switch request"),
         Step("CSS", "REGS", "switch notification"),
         Step("SUP", "REGS", "appoint data service, consent granularity"),
         Step("REGS", "DIP", "registration change (IF-031..IF-036)"),
         Step("DIP", "DS", "service appointment"),
         Step("REGS", "VAS", "registration snapshot", ("pipelines/ingest/registrations.py",
                                                       f"{_DBT}/intermediate/int_registrations_in_force.sql"), HERE),
         Step("REGS", "VAS", "registration update (one MPAN)",
              ("pipelines/ingest/updates.py", f"{_DBT}/intermediate/int_registrations_current.sql"), HERE)),
        ("css",),
    ),
    Process(
        "collection", "Data collection and validation",
        "collect every MPAN's consumption and make sure what is settled is credible and comes from the appointed "
        "service",
        "NHH meters are read now and then (manually or remotely); the NHHDC validates reads and derives an "
        "Estimated Annual Consumption (EAC) and Annualised Advances (AA), which the NHHDA aggregates for the "
        "SVAA. HH meters are collected by the HHDC and aggregated by the HHDA.",
        "Every MPAN is settled on half-hourly UTC-period consumption: the data service of its segment (smart "
        "through the DCC, advanced, unmetered) validates, estimates and sends it; central settlement validates "
        "again, refuses what is not credible (IF-014) and keeps every submission.",
        (Step("NHHDC", "NHHDC", "read meter, validate, derive EAC and AA"),
         Step("NHHDC", "NHHDA", "EAC and AA per MPAN"),
         Step("HHDC", "HHDC", "collect HH data, validate, estimate"),
         Step("HHDC", "HHDA", "HH consumption per MPAN"),
         Step("NHHDA", "SVAA", "EACs and AAs aggregated by supplier and settlement class"),
         Step("HHDA", "SVAA", "HH consumption aggregated by supplier and CCC")),
        (Step("DCC", "DS", "smart meter reads"),
         Step("DS", "DS", "validate, estimate, convert to UTC periods"),
         Step("DS", "DIP", "UTC period consumption"),
         Step("DIP", "VAS", "UTC period consumption (DIP JSON, CSV or Parquet)",
              ("pipelines/ingest/command.py", "dags/mhhs_ingest.py::mhhs_ingest"), HERE),
         Step("VAS", "VAS", "validate, choose the current value, flag for review",
              (f"{_DBT}/intermediate/int_consumption_checked.sql", f"{_DBT}/intermediate/int_consumption_current.sql",
               f"{_DBT}/intermediate/int_review_flags.sql"), HERE),
         Step("VAS", "DS", "refused values (IF-014)", ("pipelines/outputs/participants.py",), HERE)),
        ("bsc_s2", "nhhda", "dwg"),
    ),
    Process(
        "estimation", "Estimation",
        "give every expected period a value, flagged as estimated and with its method",
        "An NHH MPAN's consumption between reads is its EAC or AA spread over periods by profile coefficients; "
        "HH gaps are estimated by the HHDC (BSCP502's order: interpolation, like days, then other data).",
        "The data service estimates first; central settlement builds every expected MPAN-period from the "
        "registration history and estimates what is still missing: interpolation, like day, then annual "
        "consumption (AC replaces EAC) shaped by the Load Shaping Service's seasonal shape.",
        (Step("NHHDC", "NHHDA", "EAC where no read"),
         Step("SVAA", "SVAA", "spread EAC and AA over periods with profile coefficients"),
         Step("HHDC", "HHDA", "HH estimates")),
        (Step("DS", "VAS", "estimates flagged E"),
         Step("VAS", "VAS", "expected periods and gaps", (f"{_DBT}/intermediate/int_settlement_periods.sql",
                                                           f"{_DBT}/intermediate/int_consumption_gaps.sql"), HERE),
         Step("LSS", "VAS", "load shapes", (f"{_DBT}/intermediate/int_estimation_load_shapes.sql",), HERE),
         Step("VAS", "VAS", "estimate every gap (interpolation, like day, AC by shape)",
              (f"{_DBT}/intermediate/int_consumption_estimated.sql",), HERE)),
        ("bsc_s2", "glossary"),
    ),
    Process(
        "load_shaping", "Load shaping",
        "describe how a category of customers uses energy through the day and the year",
        "Profiles per profile class (eight classes) come from load research samples; the SVAA turns them into "
        "daily profile coefficients per GSP Group that allocate NHH consumption to periods.",
        "The Load Shaping Service builds shapes from actual half-hourly data per load shape category (GSP "
        "Group, segment, domestic indicator, consent, direction) and publishes them; they estimate missing data "
        "and shape register reads of customers without half-hourly consent.",
        (Step("PROFILE", "SVAA", "profile coefficients per profile class"),
         Step("SVAA", "SVAA", "daily profile coefficients per GSP Group")),
        (Step("VAS", "LSS", "actual half-hourly data per category", (f"{_DBT}/intermediate/int_load_shape_actuals.sql",),
              HERE),
         Step("LSS", "LSS", "shape and annual total per category and period",
              (f"{_DBT}/intermediate/int_load_shapes_of_the_day.sql", f"{_DBT}/intermediate/int_load_shapes.sql"), HERE),
         Step("LSS", "MDS", "published load shapes", (f"{_DBT}/marts/load_shapes.sql", "pipelines/settle/load_shape_history.py"),
              HERE),
         Step("LSS", "VAS", "shapes for estimation and shaping (standing data, else the LSS's own)",
              (f"{_DBT}/staging/stg_standing__load_shapes.sql", f"{_DBT}/staging/stg_standing__load_shape_default.sql"),
              HERE),
         Step("DS", "VAS", "register reads (daily or monthly consent), shaped into half hours",
              ("pipelines/ingest/command.py", f"{_DBT}/intermediate/int_register_reads_shaped.sql"), HERE)),
        ("bsc_s2", "lss"),
    ),
    Process(
        "settlement", "Settlement run (volume allocation)",
        "allocate each period's energy to suppliers and BM Units, run after run as better data arrives",
        "SVAA volume allocation runs (SSR) settle each day several times from Initial Settlement to Final "
        "Reconciliation about 14 months later (interim runs R1, R2, R3 between).",
        "The Volume Allocation Service settles each day at II, SF, R1, RF (about 4 months) and DF for upheld "
        "disputes, from per-MPAN half-hourly data: losses by distributor and LLFC, aggregation by supplier, BM "
        "Unit, GSP Group and consumption component class.",
        (Step("NHHDA", "SVAA", "aggregated NHH data"),
         Step("HHDA", "SVAA", "aggregated HH data"),
         Step("ISD", "SVAA", "Market Domain Data, LLFs"),
         Step("SVAA", "SVAA", "SSR run (SF, R1, R2, R3, RF)")),
        (Step("ISD", "VAS", "LLFs, CCCs, calendar", ("pipelines/reference/standing_data/__init__.py",), HERE),
         Step("VAS", "VAS", "start the run the timetable allows", ("pipelines/settle/run.py::start_run",
                                                                    "dags/mhhs_settlement.py::mhhs_settlement"), HERE),
         Step("VAS", "VAS", "per GSP Group: losses, aggregation by CCC",
              ("pipelines/settle/partition.py::settle_partition", f"{_DBT}/intermediate/int_supplier_period_volumes.sql"),
              HERE)),
        ("bsc_s2", "dwg"),
    ),
    Process(
        "correction", "GSP Group Correction",
        "make the allocated volumes add up to the energy that entered each GSP Group",
        "The CDCA measures GSP Group Take; the SVAA scales the allocated volumes by consumption component class "
        "weights so that they add up to it.",
        "The same correction on per-MPAN half-hourly volumes, by CCC scaling weight; the factor per GSP Group "
        "and period is published and checked against the 0.9..1.1 band.",
        (Step("CDCA", "SVAA", "GSP Group Take"),
         Step("SVAA", "SVAA", "correction factor, scaled by CCC weight")),
        (Step("CDCA", "VAS", "GSP Group Take", (f"{_DBT}/staging/stg_standing__gsp_group_take.sql",), HERE),
         Step("VAS", "VAS", "correction factor, corrected volumes", (f"{_DBT}/intermediate/int_gsp_group_correction.sql",),
              HERE),
         Step("VAS", "MDS", "correction factor per GSP Group and period", (f"{_DBT}/marts/gsp_group_correction.sql",),
              HERE)),
        ("bsc_s2",),
    ),
    Process(
        "reporting", "Reporting",
        "tell each participant its settled position, and the market what it needs",
        "The SVAA sends suppliers their settlement reports and the SAA the BM Unit volumes; distributors take "
        "their DUoS data from the aggregators.",
        "The Market-wide Data Service sends each participant only its own data (supplier reports D0398 and "
        "D0400, distributors' DUoS volumes, data services' refusals, the SAA's BM Unit volumes) and publishes "
        "what is public (load shapes).",
        (Step("SVAA", "SUP", "supplier settlement reports"),
         Step("SVAA", "SAA", "BM Unit volumes"),
         Step("NHHDA", "DIST", "DUoS data")),
        (Step("VAS", "MDS", "gated outputs, all or nothing", ("pipelines/settle/publish.py", "pipelines/quality/gate.py"),
              HERE),
         Step("MDS", "SUP", "its own volumes (D0398, D0400)", ("pipelines/outputs/participants.py",), HERE),
         Step("MDS", "DIST", "DUoS volumes of its network", ("pipelines/outputs/participants.py",), HERE),
         Step("MDS", "SAA", "BM Unit volumes", (f"{_DBT}/marts/bm_unit_volumes.sql", "pipelines/outputs/participants.py"),
              HERE),
         Step("VAS", "Auditors", "data-quality report", ("pipelines/quality/report.py",), HERE)),
        ("bsc_s2",),
    ),
    Process(
        "disputes", "Disputes",
        "correct a settled day after Final Reconciliation when a trading dispute is upheld",
        "A party raises a trading dispute; if upheld, a Dispute Final run re-settles the day.",
        "The same, within the shorter timetable: after RF only a DF may settle a day, and it names the upheld "
        "dispute it settles.",
        (Step("SUP", "TDC", "trading dispute"),
         Step("TDC", "SVAA", "upheld: Dispute Final run")),
        (Step("SUP", "TDC", "trading dispute"),
         Step("TDC", "VAS", "upheld: DF with the dispute reference", ("pipelines/settle/run.py::start_run",), HERE),
         Step("VAS", "MDS", "DF outputs", ("pipelines/settle/publish.py",), HERE)),
        ("dwg_disputes",),
    ),
)


def step_status(step: Step) -> str:
    """The step's status; a NOT_YET step whose capability's probe finds it in the code says so."""
    if step.status == NOT_YET and step.capability:
        (capability,) = [c for c in capabilities.CAPABILITIES if c.name == step.capability]
        if capabilities.status(capability).startswith("in the code now"):
            return "in the code now"
    return step.status


def _target_name(key: str) -> str:
    return ROLES[key].name if key in ROLES else TARGET_EXTRA[key]


def _text(text: str) -> str:
    return text.replace(";", ",").replace("#", "")


def sequence(steps: tuple[Step, ...], names) -> str:
    lines = ["sequenceDiagram"]
    for key in dict.fromkeys(k for step in steps for k in (step.sender, step.receiver)):
        lines.append(f"    participant {key} as {_text(names(key))}")
    for step in steps:
        mark = {HERE: " [here]", NOT_YET: " [not yet here]", "in the code now": " [in the code now]"}.get(step_status(step), "")
        lines.append(f"    {step.sender}->>{step.receiver}: {_text(step.message)}{mark}")
    return "\n".join(lines)


def status(process: Process) -> str:
    """What of the process this system implements, from its target steps of this system."""
    ours = [step_status(step) for step in process.target_steps if step.status]
    if not ours:
        return "outside this system"
    if all(s == HERE for s in ours):
        return "implemented here"
    if all(s == NOT_YET for s in ours):
        return "not yet implemented here"
    return "partly here"


def references() -> set[str]:
    return {ref for process in PROCESSES for step in process.target_steps for ref in step.where}


def names() -> dict[str, str]:
    return {p.key: p.name for p in PROCESSES}


def _sources(process: Process) -> str:
    return "; ".join(f"[{SOURCES[key][0]}]({SOURCES[key][1]})" for key in process.sources)


def list_page() -> str:
    lines = [
        "<!-- Generated by `make docs` (pipelines/architecture/processes.py); do not edit. -->",
        "# Level-0 business process list",
        "",
        "The business processes MHHS changes, what each is for, the roles that take part (target state), the "
        "capabilities of the [capability model](capability_model.md) it needs, and what of it this system "
        "implements (AWG product description, Table 2: \"Level-0 BPM List\"; Table 3 requirements 7 and 9). "
        "Each links to its [business process model](business_processes.md), current against target.",
        "",
        "| process | purpose | roles (target) | capabilities | this system |",
        "|---|---|---|---|---|",
    ]
    for process in PROCESSES:
        roles = dict.fromkeys(k for step in process.target_steps for k in (step.sender, step.receiver))
        count = sum(1 for c in capabilities.CAPABILITIES if c.process == process.key)
        lines.append(f"| <a id=\"{process.key}\"></a>[{process.name}](business_processes.md#{process.key}) | "
                     f"{process.purpose} | {', '.join(_target_name(k) for k in roles)} | {count} | {status(process)} |")
    lines += ["", "## Which roles each process touches", "",
              "Whether a participant performs actions MHHS changes: a role that takes part in a process's target "
              "flow is marked.", ""]
    keys = [k for k in ROLES if any(k in (s.sender, s.receiver) for p in PROCESSES for s in p.target_steps)]
    lines.append("| role | " + " | ".join(p.name for p in PROCESSES) + " |")
    lines.append("|---|" + "---|" * len(PROCESSES))
    for key in keys:
        marks = ["x" if any(key in (s.sender, s.receiver) for s in p.target_steps) else "" for p in PROCESSES]
        here = " (this system)" if in_this_system(key) else ""
        lines.append(f"| {ROLES[key].name}{here} | " + " | ".join(marks) + " |")
    lines.append("")
    return "\n".join(lines)


def models_page() -> str:
    lines = [
        "<!-- Generated by `make docs` (pipelines/architecture/processes.py); do not edit. -->",
        "# Business process models",
        "",
        "For each process of the [Level-0 list](bpm_list.md): the current method (pre-MHHS profiled settlement: "
        "NHHDC and NHHDA, profile classes, EACs and AAs, SSR runs) against the target (MHHS), as sequence diagrams, "
        "and the target's integration points with what this system does of each (AWG product description, "
        "Table 2: \"Business Process Model\"; Table 3 requirements 1 and 2). In the target diagrams a step marked "
        "[here] is performed by this system, [not yet here] is this system's under the contract but not yet in "
        "the code; unmarked steps are outside this system.",
        "",
    ]
    for process in PROCESSES:
        lines += [f"<a id=\"{process.key}\"></a>", "", f"## {process.name}", "",
                  f"Purpose: {process.purpose}. This system: **{status(process)}**.", "",
                  "### Current (pre-MHHS)", "", process.current, "",
                  "```mermaid", sequence(process.current_steps, CURRENT_ROLES.__getitem__), "```", "",
                  "### Target (MHHS)", "", process.target, "",
                  "```mermaid", sequence(process.target_steps, _target_name), "```", "",
                  "Integration points:", "",
                  "| from | to | exchange | this system | where in the code |", "|---|---|---|---|---|"]
        for step in process.target_steps:
            if step.sender == step.receiver:
                continue
            state = {HERE: "implemented here", NOT_YET: "not yet implemented here", PARTLY: "partly here",
                     OUTSIDE: "outside this system"}.get(step_status(step), step_status(step) or "outside this system")
            where = "<br>".join(link(ref) for ref in step.where)
            lines.append(f"| {_target_name(step.sender)} | {_target_name(step.receiver)} | {step.message} | {state} | {where} |")
        lines.append("")
        if process.sources:
            lines += [f"Sources: {_sources(process)}.", ""]
    return "\n".join(lines)
