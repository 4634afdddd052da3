"""The interface sequence diagrams: the exchanges between market participants, scenario by scenario (a
registration change reaching central settlement, meter data from the DCC through a data service to central
settlement, load shapes, settlement data to suppliers, distributors and the SAA, refusals back to data services,
a dispute settled by a DF run).

Each step is a flow of the communication diagram (pipelines.architecture.roles.FLOWS, named by sender, receiver
and the start of what it carries, so a flow renamed or removed stops the generation) and is implemented when an
interface of the code carries it, as on the communication diagram. Steps not implemented are drawn dashed and
marked "planned". The order of Airflow tasks and dbt models inside this system is another page (sequence.md).
"""

from dataclasses import dataclass

from pipelines.architecture.market import ROLES
from pipelines.architecture.roles import FLOWS, Flow, implemented

PAGE = "interface_sequences.md"


@dataclass(frozen=True)
class Note:
    over: tuple[str, ...]  # role keys
    text: str


@dataclass(frozen=True)
class Exchange:
    key: str
    title: str
    purpose: str
    steps: tuple  # (sender, receiver, start of what the flow carries) or a Note


EXCHANGES = (
    Exchange("registration", "Registration update to central settlement",
             "a change of supplier or of data service reaches the Registration Service, which tells the data services "
             "and central settlement; settlement uses the registration in force on each date",
             (("SUP", "CSS", "switch requests"), ("CSS", "REGS", "switch notifications"),
              ("SUP", "REGS", "data service appointments"), ("REGS", "DS", "service appointments"),
              ("REGS", "VAS", "registration snapshots"), ("REGS", "VAS", "registration updates"),
              Note(("VAS",), "the newest snapshot holding an MPAN replaces its older rows"))),
    Exchange("collection", "Meter data: DCC to data service to central services",
             "smart meter reads travel through the DCC to the smart data service, which validates, estimates and "
             "sends UTC period consumption to central settlement (through the DIP, or as files)",
             (("DCC", "DS", "smart meter reads"), Note(("DS",), "validate, estimate, convert to UTC periods"),
              ("DS", "DIP", "UTC period consumption"), ("DIP", "VAS", "UTC period consumption (DIP"),
              ("DS", "VAS", "UTC period consumption (CSV"), ("DS", "VAS", "register reads"),
              Note(("VAS",), "validated in bulk, the latest valid value per MPAN and period wins"))),
    Exchange("load_shapes", "Load shape publication",
             "the Load Shaping Service builds shapes from each day's actual data, publishes them, and central "
             "settlement estimates with them",
             (("VAS", "LSS", "actual settlement data"), Note(("LSS",), "a shape per load shape category and period"),
              ("LSS", "MDS", "published load shapes"), ("LSS", "VAS", "load shapes for estimation"))),
    Exchange("publication", "Central settlement to suppliers, distributors and the SAA",
             "a run's gated outputs go to the market-wide data service, which gives each participant its own data",
             (("ISD", "VAS", "GSP Groups"), ("CDCA", "VAS", "GSP Group Take"),
              Note(("VAS",), "settle, GSP Group Correction, the quality gate: all or nothing"),
              ("VAS", "MDS", "supplier volumes"), ("MDS", "SUP", "each supplier its own volumes"),
              ("MDS", "DIST", "DUoS volumes"), ("MDS", "SAA", "BM Unit volumes"),
              ("VAS", "Auditors", "data-quality report"))),
    Exchange("rejections", "Refusals back to data services",
             "what central settlement refuses is kept with a reason code and goes back to the data service that "
             "sent it",
             (("DS", "VAS", "UTC period consumption (CSV"),
              Note(("VAS",), "a refused row is quarantined as received, with its reason code"),
              ("VAS", "DS", "rejected consumption"), ("VAS", "Analysts", "warehouse views, quarantine"))),
    Exchange("dispute", "Dispute to Dispute Final",
             "after Final Reconciliation only an upheld trading dispute re-settles a date, by a DF run that names "
             "the dispute",
             (("SUP", "TDC", "trading dispute"), ("TDC", "VAS", "upheld dispute"),
              Note(("VAS",), "DF run: a new version of the date, the dispute reference in its record"),
              ("VAS", "MDS", "supplier volumes"), ("MDS", "SUP", "each supplier its own volumes"))),
)


def flow(sender: str, receiver: str, carries: str) -> Flow:
    """The one flow of the communication diagram from sender to receiver carrying what starts with `carries`."""
    found = [f for f in FLOWS if (f.sender, f.receiver) == (sender, receiver) and f.carries.startswith(carries)]
    if len(found) != 1:
        raise ValueError(f"{len(found)} flows {sender} -> {receiver} carrying {carries!r} in roles.FLOWS")
    return found[0]


def _text(text: str) -> str:
    return text.replace(";", ",").replace("#", "").replace("`", "")


def steps(exchange: Exchange) -> list:
    return [step if isinstance(step, Note) else flow(*step) for step in exchange.steps]


def diagram(exchange: Exchange, interface_names: set[str]) -> str:
    resolved = steps(exchange)
    keys = dict.fromkeys(k for step in resolved for k in ((step.sender, step.receiver) if isinstance(step, Flow) else step.over))
    lines = ["sequenceDiagram"] + [f"    participant {key} as {_text(ROLES[key].name)}" for key in keys]
    for step in resolved:
        if isinstance(step, Note):
            lines.append(f"    Note over {','.join(step.over)}: {_text(step.text)}")
        elif implemented(step, interface_names):
            lines.append(f"    {step.sender}->>{step.receiver}: {_text(step.carries)} [here]")
        elif step.interfaces:
            lines.append(f"    {step.sender}-->>{step.receiver}: {_text(step.carries)} (planned)")
        else:
            lines.append(f"    {step.sender}-){step.receiver}: {_text(step.carries)}")
    return "\n".join(lines)


def _how(step: Flow, interface_names: set[str]) -> str:
    if not implemented(step, interface_names):
        expected = ", ".join(f"`{name}`" for name in step.interfaces)
        return f"planned (interface {expected})" if expected else "outside this system"
    if step.how:
        return step.how
    if "internal" in step.interfaces:
        return "internal step of `mhhs settle`"
    return ", ".join(f"[{name}](../interfaces/{name}.md)" for name in step.interfaces if name in interface_names)


def page(interface_names: set[str]) -> str:
    lines = [
        "<!-- Generated by `make docs` (pipelines/architecture/exchanges.py); do not edit. -->",
        "# Interface sequence diagrams: exchanges between market participants",
        "",
        "The exchanges of data between the roles of the market, scenario by scenario (AWG product description, "
        "Table 2: \"Interface Sequence Diagram\"; Table 3 requirement 5). Every step is a flow of the "
        "[communication diagram](communication.md) between roles of the [market model](market_model.md). Marked "
        "[here]: an interface of this system's code carries it ([interface specification](../interfaces/README.md)). "
        "Dashed and marked (planned): this system's part of the exchange, not yet in the code. Unmarked, with an "
        "open arrowhead: an exchange between other roles of the market, outside this system. Notes say what "
        "happens between exchanges. The order of the "
        "Airflow tasks and dbt models inside this system is a separate page: "
        "[internal sequence diagram](sequence.md).",
        "",
    ]
    for exchange in EXCHANGES:
        lines += [f"<a id=\"{exchange.key}\"></a>", "", f"## {exchange.title}", "", exchange.purpose[0].upper()
                  + exchange.purpose[1:] + ".", "", "```mermaid", diagram(exchange, interface_names), "```", "",
                  "| from | to | carries | this system |", "|---|---|---|---|"]
        for step in steps(exchange):
            if isinstance(step, Flow):
                lines.append(f"| {ROLES[step.sender].name} | {ROLES[step.receiver].name} | {step.carries} | "
                             f"{_how(step, interface_names)} |")
        lines.append("")
    return "\n".join(lines)
