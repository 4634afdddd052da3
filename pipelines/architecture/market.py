"""The market model: the market segments of MHHS, the roles of the market and the services each performs, who
performs them, and which of them this system implements (and where in the code). Defined once here: the market
model page, the communication diagram (pipelines.architecture.roles) and the capability model
(pipelines.architecture.capabilities) all come from it.

A place in the code is a reference "path" or "path::name" relative to the project root: a Python module (and a
name defined at its top level), a DAG file (and the DAG's function), a dbt model's SQL file, or a folder.
tests/test_architecture.py fails when a referenced path or name disappears.
"""

import ast
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.core.paths import PROJECT_ROOT

HERE = "here"  # implemented by this system
PARTLY = "partly"  # part of it implemented by this system
NOT_YET = "not yet"  # this system's job under the contract, not yet in the code
OUTSIDE = "outside"  # performed outside this system
STATUS_TEXT = {HERE: "implemented here", PARTLY: "partly here", NOT_YET: "not yet implemented here",
               OUTSIDE: "outside this system"}


@dataclass(frozen=True)
class Segment:
    key: str  # the registration's market_segment value
    name: str
    meters: str
    data_service: str  # service key


@dataclass(frozen=True)
class Participant:
    key: str
    name: str
    description: str


@dataclass(frozen=True)
class Role:
    """A node of the communication diagram: a service of the market, or a user of this system's outputs."""
    key: str
    name: str
    performed_by: tuple[str, ...]  # participant keys
    purpose: str
    kind: str = "central"  # participant | central | platform | user


@dataclass(frozen=True)
class Service:
    key: str
    name: str
    role: str  # role key
    segments: tuple[str, ...]  # segment keys it serves ("S", "A", "U")
    description: str
    status: str = OUTSIDE
    where: tuple[str, ...] = field(default=())  # code references (module docstring)


SEGMENTS = (
    Segment("S", "Smart", "smart meters (and traditional meters of the same customers), read remotely through the DCC "
            "where smart", "SDS"),
    Segment("A", "Advanced", "advanced (half-hourly and automated meter reading) meters with their own communications",
            "ADS"),
    Segment("U", "Unmetered", "unmetered supplies (street lighting and the like): consumption calculated, not metered",
            "UMSDS"),
)

PARTICIPANTS = {
    p.key: p
    for p in (
        Participant("suppliers", "Suppliers", "licensed electricity suppliers; each appoints the data service of each "
                    "of its MPANs"),
        Participant("agents", "Supplier agents", "data service providers appointed by suppliers (a supplier may also "
                    "act as its own)"),
        Participant("distributors", "Distributors (DNOs and IDNOs)", "distribution network operators and independent "
                    "network operators; the first two digits of an MPAN core name one; each runs the Registration "
                    "Service of its MPANs and defines its own LLF classes"),
        Participant("elexon", "Elexon and the BSC central services", "the BSC Company and its agents: the central "
                    "settlement services of the Balancing and Settlement Code, and the DIP"),
        Participant("dcc", "Data Communications Company (DCC)", "the smart metering communications service"),
        Participant("css_provider", "CSS provider (Retail Energy Code)", "the Central Switching Service, procured by "
                    "the DCC and governed by the Retail Energy Code"),
        Participant("this_system", "this system (mhhs)", "the open-source implementation in this repository"),
        Participant("users", "Auditors and analysts", "readers of the quality report and the warehouse"),
    )
}

ROLES = {
    role.key: role
    for role in (
        Role("SUP", "Suppliers", ("suppliers",), "supply electricity, appoint data services, record consent; receive "
             "their own settled volumes", "participant"),
        Role("DS", "Data Services (SDS / ADS / UMSDS)", ("agents", "suppliers"), "collect meter data, validate it, "
             "estimate gaps, send UTC period consumption to central settlement", "participant"),
        Role("REGS", "Registration Service (REGS)", ("distributors",), "hold each MPAN's registration history "
             "(supplier, data service, GSP Group, LLFC, segment, energisation, consent) and send it on", "participant"),
        Role("DIST", "Distributors (DNOs and IDNOs)", ("distributors",), "run the networks; define LLF classes; "
             "charge use of system (DUoS) from the volumes metered on their networks", "participant"),
        Role("CSS", "Central Switching Service (CSS)", ("css_provider",), "switch an MPAN's supplier; tells the "
             "Registration Service", "central"),
        Role("DCC", "Data Communications Company (DCC)", ("dcc",), "carry smart meter reads to the smart data "
             "services", "central"),
        Role("DIP", "Data Integration Platform (DIP)", ("elexon",), "route every message between the market's "
             "roles (CommonBlock envelope, CustomBlock payload)", "platform"),
        Role("LSS", "Load Shaping Service (LSS)", ("elexon", "this_system"), "build half-hourly load shapes from "
             "actual data; shapes estimate missing data and shape register reads"),
        Role("VAS", "Volume Allocation Service (VAS)", ("elexon", "this_system"), "validate, estimate, apply losses, "
             "aggregate, apply GSP Group Correction, run the settlement timetable"),
        Role("MDS", "Market-wide Data Service (MDS)", ("elexon", "this_system"), "publish settlement data to the "
             "market, each recipient its own"),
        Role("ISD", "Industry Standing Data (ISD)", ("elexon",), "reference data: GSP Groups, LLFs, CCCs, calendar, "
             "market participants"),
        Role("CDCA", "CDCA", ("elexon",), "measure GSP Group Take per GSP Group and period"),
        Role("SAA", "Settlement Administration Agent (SAA)", ("elexon",), "imbalance settlement from the BM Unit "
             "volumes"),
        Role("TDC", "Trading Disputes Committee (TDC)", ("elexon",), "decide trading disputes; an upheld dispute "
             "after RF is settled again by a Dispute Final (DF) run"),
        Role("Auditors", "Auditors", ("users",), "read the data-quality report of each run", "user"),
        Role("Analysts", "Analysts", ("users",), "query the warehouse; compare runs", "user"),
    )
}

SERVICES = (
    Service("SUPPLY", "Supply and data service appointment", "SUP", ("S", "A", "U"),
            "a supplier registers its MPANs (through CSS) and appoints each one's data service"),
    Service("SDS", "Smart Data Service (SDS)", "DS", ("S",),
            "collects smart meter data through the DCC (register reads for customers without half-hourly consent), "
            "validates, estimates and sends UTC period consumption"),
    Service("ADS", "Advanced Data Service (ADS)", "DS", ("A",),
            "collects advanced meters' half-hourly data over their own communications; validates, estimates, sends"),
    Service("UMSDS", "Unmetered Supplies Data Service (UMSDS)", "DS", ("U",),
            "calculates unmetered consumption from inventories and sends it"),
    Service("REG", "Registration (SMRS)", "REGS", ("S", "A", "U"),
            "keeps each MPAN's registration history; sends snapshots and updates (IF-031..IF-036 appointments; IF-033 "
            "the full picture)"),
    Service("DUOS", "Distribution use of system", "DIST", ("S", "A", "U"),
            "defines LLF classes and line loss factors; charges DUoS from the metered volumes on its network"),
    Service("SWITCH", "Switching", "CSS", ("S", "A", "U"), "changes an MPAN's supplier; the Registration Service follows"),
    Service("SMARTCOMMS", "Smart meter communications", "DCC", ("S",), "reads smart meters for the smart data services"),
    Service("ROUTE", "Message routing", "DIP", ("S", "A", "U"),
            "carries every interface's messages between roles; this system reads DIP-style JSON messages",
            PARTLY, ("pipelines/ingest/read_json.py", "pipelines/catalogue/dip_schema.py::dip_consumption_schema")),
    Service("LOADSHAPE", "Load shaping", "LSS", ("S", "A", "U"),
            "shapes from the day's actual data per load shape category; this system estimates with shapes from "
            "standing data or its seasonal default, and does not yet build or publish shapes from actual data",
            PARTLY, ("dbt_project/models/intermediate/int_estimation_load_shapes.sql",
                     "dbt_project/models/staging/stg_standing__load_shapes.sql")),
    Service("ALLOCATE", "Volume allocation", "VAS", ("S", "A", "U"),
            "validation, estimation, losses, aggregation, GSP Group Correction and the run timetable",
            HERE, ("pipelines/settle/run.py::start_run", "pipelines/settle/partition.py::settle_partition",
                   "dags/mhhs_settlement.py::mhhs_settlement", "dbt_project/models/marts/supplier_volumes.sql")),
    Service("PUBLISH", "Market-wide data publication", "MDS", ("S", "A", "U"),
            "publishes the run's outputs; cutting them per recipient (participant flows) is not yet in the code",
            PARTLY, ("pipelines/settle/publish.py", "pipelines/quality/report.py")),
    Service("STANDING", "Industry standing data", "ISD", ("S", "A", "U"),
            "maintained outside; this system validates the files it is given",
            OUTSIDE, ("pipelines/reference/standing_data/__init__.py",)),
    Service("GSPGT", "GSP Group Take metering", "CDCA", ("S", "A", "U"),
            "measured outside; read by this system as gsp_group_take.csv",
            OUTSIDE, ("dbt_project/models/staging/stg_standing__gsp_group_take.sql",)),
    Service("IMBALANCE", "Imbalance settlement", "SAA", ("S", "A", "U"), "settles BM Unit imbalances"),
    Service("DISPUTES", "Trading disputes", "TDC", ("S", "A", "U"),
            "hears a party's trading dispute; an upheld one is settled again by a DF run naming the dispute, which "
            "this system performs (`mhhs settle --run-type DF --dispute REF`)"),
    Service("AUDIT", "Audit of each run", "Auditors", (), "reads the data-quality report and Data Docs"),
    Service("ANALYSE", "Analysis", "Analysts", (), "queries the warehouse views"),
)


def role_status(role_key: str) -> str:
    """A role's status: here when all its services are, outside when none is, partly otherwise."""
    statuses = {s.status for s in SERVICES if s.role == role_key}
    if statuses == {HERE}:
        return HERE
    if statuses <= {OUTSIDE}:
        return OUTSIDE
    return PARTLY


def in_this_system(role_key: str) -> bool:
    return "this_system" in ROLES[role_key].performed_by


# ---- references to the code ------------------------------------------------------------------------------------


def split(reference: str) -> tuple[str, str]:
    path, _, name = reference.partition("::")
    return path, name


def defines(path: Path, name: str) -> bool:
    """Whether a Python file defines name at its top level (a function, class or assignment)."""
    tree = ast.parse(path.read_text())
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == name:
            return True
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                return True
    return False


def missing(reference: str, root: Path = PROJECT_ROOT) -> str | None:
    """Why a reference does not resolve (None when it does)."""
    path, name = split(reference)
    target = root / path
    if not target.exists():
        return f"{path} does not exist"
    if name and not (target.suffix == ".py" and defines(target, name)):
        return f"{path} does not define {name}"
    return None


def label(reference: str) -> str:
    path, name = split(reference)
    if path.startswith("dags/"):
        return f"DAG `{name or Path(path).stem}`"
    if path.startswith("dbt_project/models/"):
        return f"dbt model `{Path(path).stem}`"
    return f"`{path}`" + (f" (`{name}`)" if name else "")


def link(reference: str, page_dir: str = "docs/architecture") -> str:
    """A Markdown link to the reference from a page in page_dir."""
    up = "../" * len(Path(page_dir).parts)
    return f"[{label(reference)}]({up}{split(reference)[0]})"


def references() -> set[str]:
    return {ref for service in SERVICES for ref in service.where}


# ---- the market model page -------------------------------------------------------------------------------------


def market_diagram() -> str:
    """Who performs which service: participants on the left, services (grouped by role) on the right."""
    lines = ["flowchart LR"]
    used = [p for p in PARTICIPANTS.values() if any(p.key in ROLES[s.role].performed_by for s in SERVICES)]
    for participant in used:
        lines.append(f'    p_{participant.key}(["{participant.name}"])')
    lines.append('    subgraph system["implemented here, in part or whole"]')
    lines += [f'        s_{s.key}["{s.name}"]' for s in SERVICES if s.status in (HERE, PARTLY)]
    lines.append("    end")
    lines += [f'    s_{s.key}["{s.name}"]' for s in SERVICES if s.status not in (HERE, PARTLY)]
    for service in SERVICES:
        for performer in ROLES[service.role].performed_by:
            if performer == "this_system" and service.status not in (HERE, PARTLY):
                continue
            lines.append(f"    p_{performer} --> s_{service.key}")
    outside = [f"s_{s.key}" for s in SERVICES if s.status not in (HERE, PARTLY)]
    lines += ["    classDef outside fill:#f4f4f4,stroke:#999", f"    class {','.join(outside)} outside"]
    return "\n".join(lines)


def page() -> str:
    lines = [
        "<!-- Generated by `make docs` (pipelines/architecture/market.py); do not edit. -->",
        "# Market model",
        "",
        "The market segments of MHHS, the roles of the market, the services each performs and who performs them "
        "(AWG product description, Table 2: \"Market Model (Business Strategy)\"; Table 3 requirements 4, 7, 8 "
        "and 9). Defined once in `pipelines/architecture/market.py`: the [communication diagram](communication.md) "
        "and the [capability model](capability_model.md) come from the same definitions. The segment and "
        "data-service split is the Design Working Group's target operating model "
        "([Elexon: the DWG's final report](https://www.elexon.co.uk/news/design-working-group-submits-its-final-report-to-ofgem/); "
        "[Ofgem's decision to proceed on the DWG's TOM](https://www.ofgem.gov.uk/publications/electricity-retail-market-wide-half-hourly-settlement-decision-and-full-business-case)).",
        "",
        "## Market segments",
        "",
        "| segment (`market_segment`) | meters | data service |",
        "|---|---|---|",
    ]
    names = {s.key: s.name for s in SERVICES}
    for segment in SEGMENTS:
        lines.append(f"| `{segment.key}` {segment.name} | {segment.meters} | {names[segment.data_service]} |")
    lines += ["", "## Who performs which service", "", "```mermaid", market_diagram(), "```", "",
              "## Participants", "", "| participant | is |", "|---|---|"]
    lines += [f"| {p.name} | {p.description} |" for p in PARTICIPANTS.values()]
    lines += ["", "## Roles", "", "| role | performed by | purpose | this system |", "|---|---|---|---|"]
    for role in ROLES.values():
        by = ", ".join(PARTICIPANTS[p].name for p in role.performed_by)
        lines.append(f"| {role.name} | {by} | {role.purpose} | {STATUS_TEXT[role_status(role.key)]} |")
    lines += ["", "## Services", "",
              "| service | role | segments | what | this system | where in the code |", "|---|---|---|---|---|---|"]
    for service in SERVICES:
        segments = ", ".join(service.segments) or "n/a"
        where = "<br>".join(link(ref) for ref in service.where) or ""
        status = STATUS_TEXT[service.status] + (" (reads its data)" if service.status == OUTSIDE and service.where else "")
        lines.append(f"| {service.name} | {ROLES[service.role].name} | {segments} | {service.description} | {status} "
                     f"| {where} |")
    lines.append("")
    return "\n".join(lines)
