"""The capability model: for each market role (pipelines.architecture.market), its business purpose and the
capabilities MHHS needs of it, each linked to what implements it here (a module, a DAG, a dbt model) or marked as
outside this system. Each capability names the business process (pipelines.architecture.processes) it serves.

A capability this system owes under the contract but does not have yet carries a probe: a cheap look at the code
that turns true once the code has it, so the page then says so instead of "not yet".
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from pipelines.architecture.market import HERE, NOT_YET, OUTSIDE, PARTLY, ROLES, STATUS_TEXT, link


@dataclass(frozen=True)
class Capability:
    role: str  # role key
    name: str
    process: str  # process key (pipelines.architecture.processes)
    status: str = OUTSIDE
    where: tuple[str, ...] = field(default=())  # code references (pipelines.architecture.market)
    note: str = ""
    probe: tuple[str, Callable[[], bool]] | None = None  # (what it looks for, whether the code has it now)


_DBT = "dbt_project/models"

CAPABILITIES = (
    # Suppliers
    Capability("SUP", "Register MPANs and appoint a data service for each", "registration"),
    Capability("SUP", "Record the customer's consent granularity (HH, daily, monthly)", "registration"),
    Capability("SUP", "Receive its own settled volumes and check them", "reporting"),
    Capability("SUP", "Raise a trading dispute", "disputes"),
    # Data services
    Capability("DS", "Collect meter data (smart through the DCC, advanced directly, unmetered calculated)", "collection"),
    Capability("DS", "Validate and estimate before sending (the data service's own checks)", "collection",
               note="this system repeats the checks it can make centrally: see the VAS's validation"),
    Capability("DS", "Send UTC period consumption", "collection", OUTSIDE,
               ("pipelines/synthetic/generate.py",), "for trials, `mhhs generate` writes synthetic files of that shape"),
    Capability("DS", "Receive its refused values (IF-014)", "collection", HERE,
               ("pipelines/outputs/participants.py",), "`participants/data_service/<id>/rejections.csv` of each run"),
    # Registration
    Capability("REGS", "Keep each MPAN's registration history, attribute by attribute", "registration"),
    Capability("REGS", "Send registration snapshots and updates", "registration"),
    # Distributors
    Capability("DIST", "Define LLF classes and line loss factors per period", "settlement"),
    Capability("DIST", "Charge use of system from the metered volumes on its network", "reporting", PARTLY,
               ("pipelines/outputs/participants.py",),
               "this system sends `participants/distributor/<id>/duos_volumes.csv`; the charging is the distributor's"),
    # CSS, DCC, DIP
    Capability("CSS", "Switch an MPAN's supplier and tell the Registration Service", "registration"),
    Capability("DCC", "Read smart meters for the smart data services", "collection"),
    Capability("DIP", "Route messages between roles with a validated envelope", "collection", PARTLY,
               ("pipelines/ingest/read_json.py", "pipelines/catalogue/dip_schema.py::dip_consumption_schema"),
               "this system reads DIP-style JSON messages and validates them against the JSON Schema; the hub is outside"),
    # Volume Allocation Service
    Capability("VAS", "Take in consumption from data services, nothing lost", "collection", HERE,
               ("pipelines/ingest/command.py", "pipelines/ingest/consumption.py", "pipelines/ingest/quarantine.py",
                "dags/mhhs_ingest.py::mhhs_ingest")),
    Capability("VAS", "Take in registration snapshots as a history", "registration", HERE,
               ("pipelines/ingest/registrations.py", f"{_DBT}/staging/stg_lake__registrations.sql",
                f"{_DBT}/intermediate/int_registrations_in_force.sql")),
    Capability("VAS", "Apply registration updates one MPAN at a time", "registration", HERE,
               ("pipelines/ingest/updates.py", "pipelines/reference/registration_history.py",
                f"{_DBT}/intermediate/int_registrations_current.sql")),
    Capability("VAS", "Validate submissions (MPAN, registration, appointment, energisation, completeness)", "collection",
               HERE, ("pipelines/ingest/check.py", f"{_DBT}/intermediate/int_consumption_checked.sql",
                      f"{_DBT}/intermediate/int_consumption_refused.sql",
                      f"{_DBT}/intermediate/int_mpan_check_digit_failures.sql")),
    Capability("VAS", "Choose the current value (latest valid, appointed data service first)", "collection", HERE,
               (f"{_DBT}/intermediate/int_consumption_current.sql",)),
    Capability("VAS", "Find every expected period and its gaps", "estimation", HERE,
               (f"{_DBT}/intermediate/int_settlement_periods.sql", f"{_DBT}/intermediate/int_consumption_gaps.sql")),
    Capability("VAS", "Estimate missing periods (interpolation, like day, annual consumption by load shape)",
               "estimation", HERE, (f"{_DBT}/intermediate/int_consumption_estimated.sql",
                                    f"{_DBT}/intermediate/int_like_day_values.sql")),
    Capability("VAS", "Shape register reads of daily or monthly consent into half hours", "load_shaping", HERE,
               (f"{_DBT}/intermediate/int_register_reads_checked.sql", f"{_DBT}/intermediate/int_register_read_days.sql",
                f"{_DBT}/intermediate/int_register_reads_shaped.sql")),
    Capability("VAS", "Apply line losses by distributor and LLFC", "settlement", HERE,
               (f"{_DBT}/intermediate/int_line_loss_factors.sql",)),
    Capability("VAS", "Aggregate by supplier, BM Unit, GSP Group and CCC", "settlement", HERE,
               (f"{_DBT}/intermediate/int_supplier_period_volumes.sql", f"{_DBT}/marts/supplier_volumes.sql")),
    Capability("VAS", "GSP Group Correction to GSP Group Take", "correction", HERE,
               (f"{_DBT}/intermediate/int_gsp_group_correction.sql", f"{_DBT}/marts/gsp_group_correction.sql")),
    Capability("VAS", "Run the settlement timetable (II, SF, R1, RF, DF) and its rules", "settlement", HERE,
               ("pipelines/settle/run.py::start_run", "pipelines/reference/standing_data/calendar.py",
                "dags/mhhs_settlement.py::mhhs_settlement")),
    Capability("VAS", "Settle a run in GSP Group partitions on several workers", "settlement", HERE,
               ("pipelines/settle/partition.py::settle_partition", "pipelines/jobs/settlement.py::finish_run")),
    Capability("VAS", "Re-settle a day for an upheld dispute (DF with its reference)", "disputes", HERE,
               ("pipelines/settle/run.py::start_run",)),
    Capability("VAS", "Flag MPANs for review (zero runs, spikes, de-energised actuals)", "collection", HERE,
               (f"{_DBT}/intermediate/int_review_flags.sql", f"{_DBT}/marts/review_flags.sql")),
    # Load Shaping Service
    Capability("LSS", "Provide load shapes for estimation", "load_shaping", HERE,
               (f"{_DBT}/staging/stg_standing__load_shapes.sql", f"{_DBT}/staging/stg_standing__load_shape_default.sql",
                f"{_DBT}/staging/stg_standing__load_shape_season.sql",
                f"{_DBT}/intermediate/int_estimation_load_shapes.sql"),
               "shapes from standing data `load_shapes.csv`, else the bundled seasonal default"),
    Capability("LSS", "Build shapes from each day's actual data and publish them (`load_shapes`)", "load_shaping", HERE,
               (f"{_DBT}/intermediate/int_load_shape_actuals.sql", f"{_DBT}/intermediate/int_load_shapes_of_the_day.sql",
                f"{_DBT}/intermediate/int_load_shapes.sql", f"{_DBT}/marts/load_shapes.sql",
                "pipelines/settle/load_shape_history.py"),
               "inside each settlement run, per GSP Group; history of published shapes in the lake"),
    # Market-wide Data Service
    Capability("MDS", "Publish each run's outputs, all or nothing, after the quality gate", "reporting", HERE,
               ("pipelines/settle/publish.py", "pipelines/quality/gate.py")),
    Capability("MDS", "Give each participant only its own data (supplier, distributor, data service, SAA)", "reporting",
               HERE, ("pipelines/outputs/participants.py", "dags/mhhs_settlement.py::mhhs_settlement")),
    Capability("MDS", "Report data quality to auditors", "reporting", HERE, ("pipelines/quality/report.py",)),
    Capability("MDS", "Let analysts compare runs of a day", "reporting", HERE,
               (f"{_DBT}/analyst/run_comparison.sql", "pipelines/outputs/warehouse.py")),
    # ISD, CDCA, SAA
    Capability("ISD", "Maintain GSP Groups, LLFs, CCCs and the calendar", "settlement", OUTSIDE,
               ("pipelines/reference/standing_data/__init__.py",), "this system validates the files it is given"),
    Capability("CDCA", "Measure GSP Group Take", "correction", OUTSIDE,
               (f"{_DBT}/staging/stg_standing__gsp_group_take.sql",), "read by this system as `gsp_group_take.csv`"),
    Capability("SAA", "Settle imbalances from BM Unit volumes", "settlement", OUTSIDE, (),
               "this system sends it `participants/saa/bm_unit_volumes.csv` each run"),
)


def status(capability: Capability) -> str:
    """The capability's status, with the probe's word when the code now has what was not yet there."""
    if capability.status == NOT_YET and capability.probe and capability.probe[1]():
        return f"in the code now ({capability.probe[0]}): link it here"
    return STATUS_TEXT[capability.status]


def references() -> set[str]:
    return {ref for capability in CAPABILITIES for ref in capability.where}


def page(process_names: dict[str, str]) -> str:
    lines = [
        "<!-- Generated by `make docs` (pipelines/architecture/capabilities.py); do not edit. -->",
        "# Capability model",
        "",
        "For each market role of the [market model](market_model.md): its business purpose and the capabilities "
        "MHHS needs of it, each linked to what implements it in this repository or marked as outside this system "
        "(AWG product description, Table 2: \"Capability Model\"; Table 3 requirements 7 and 9). Each capability "
        "names the business process of the [Level-0 BPM list](bpm_list.md) it serves. Every link is checked by "
        "`tests/test_architecture.py`: a linked path that disappears fails the build.",
        "",
    ]
    counts = {key: sum(1 for c in CAPABILITIES if c.status == key) for key in (HERE, PARTLY, NOT_YET, OUTSIDE)}
    lines += ["| status | capabilities |", "|---|---:|"]
    lines += [f"| {STATUS_TEXT[key]} | {count} |" for key, count in counts.items()]
    lines.append("")
    for role in ROLES.values():
        mine = [c for c in CAPABILITIES if c.role == role.key]
        if not mine:
            continue
        lines += [f"## {role.name}", "", f"Purpose: {role.purpose}.", "",
                  "| capability | process | status | implemented by |", "|---|---|---|---|"]
        for capability in mine:
            where = "<br>".join(link(ref) for ref in capability.where)
            note = f" ({capability.note})" if capability.note else ""
            lines.append(f"| {capability.name}{note} | [{process_names[capability.process]}](bpm_list.md#{capability.process}) "
                         f"| {status(capability)} | {where} |")
        lines.append("")
    return "\n".join(lines)
