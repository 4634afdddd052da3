"""JSON Schema of a DIP-style consumption message (docs/interfaces/dip_consumption.md), generated from the
data catalogue: each mapped field takes its catalogue item's type, pattern, allowed values and range.

Ingestion validates every message with it (pipelines.ingest). Faults in the message's shape quarantine it
with a MESSAGE_* reason code; a mapped field's value that breaks its item's rule is left to the catalogue's
SQL rules, which name the rule exactly (MPAN_CORE_CHECK_DIGIT, KWH_TOO_MANY_DECIMALS, ...), as for CSV.
"""

import copy
from dataclasses import dataclass, replace
from functools import cache

from pipelines import catalogue
from pipelines.catalogue import Item
from pipelines.catalogue.sql_rules import DATE_RE, TIMESTAMP_RE, VALID_OFFSET_RE

SCHEMA_ID = "urn:mhhs-settlement:dip-consumption-message"
SCHEMA_VERSIONS = ("1.0",)
# Where each consumption column sits in a message: envelope fields by their path, period fields by name.
ENVELOPE_FIELDS = {
    ("CommonBlock", "M0", "mpanCore"): "mpan_core",
    ("CommonBlock", "S1", "senderId"): "data_service_id",
    ("CommonBlock", "S1", "sentAt"): "received_at",
    ("CustomBlock", "measurementQuantity"): "measurement_quantity",
}
PERIOD_FIELDS = {"utcPeriodStart": "utc_period_start", "kwh": "kwh", "qualityFlag": "quality_flag"}


def _unsigned_decimal(scale: int | None) -> str:
    places = "+" if scale is None else "{1," + str(scale) + "}"
    return r"^[0-9]+(\.[0-9]" + places + r")?$"


def item_schema(item: Item) -> dict:
    """One catalogue item as a JSON Schema. Decimals travel as strings, which keep their exact digits; a JSON
    number is accepted too (its decimal places are checked at ingestion, not here: binary floats are inexact)."""
    schema: dict = {"description": item.description + (f" Unit: {item.unit}." if item.unit else ""),
                    "type": copy.copy(catalogue.TYPE_MAP[item.type].json_schema)}
    if item.type == "timestamp":
        schema |= {"format": "date-time", "pattern": TIMESTAMP_RE + VALID_OFFSET_RE}
    elif item.type == "date":
        schema |= {"format": "date", "pattern": DATE_RE}
    elif item.type == "decimal" and item.min is not None and item.min >= 0:
        schema["pattern"] = _unsigned_decimal(item.scale)
    if item.pattern:
        schema["pattern"] = item.pattern
    if item.allowed_values:
        schema["enum"] = list(item.allowed_values)
    if item.type in catalogue.NUMERIC_TYPES:
        for bound, keyword in ((item.min, "minimum"), (item.max, "maximum")):
            if bound is not None:
                schema[keyword] = bound
    rules_beyond_schema = {"mpan_check_digit": "valid MPAN check digit", "half_hour_boundary": "on a :00 or :30 boundary"}
    if item.checks:
        schema["description"] += " Also checked at ingestion: " + ", ".join(rules_beyond_schema[c] for c in item.checks) + "."
    return schema


def _object(properties: dict, required: list[str], description: str | None = None) -> dict:
    schema = {"type": "object", "properties": properties, "required": required}
    return ({"description": description} | schema) if description else schema


def _envelope_block(block: str, dataset: catalogue.Dataset) -> dict:
    """The mapped fields under one envelope block (e.g. CommonBlock.S1), as JSON Schema properties."""
    return {path[-1]: item_schema(dataset.column(column)) for path, column in ENVELOPE_FIELDS.items()
            if path[:-1] == tuple(block.split("."))}


@cache
def dip_consumption_schema() -> dict:
    dataset = catalogue.dataset("consumption")
    period = _object({name: item_schema(dataset.column(column)) for name, column in PERIOD_FIELDS.items()},
                     list(PERIOD_FIELDS), "One UTC half hour: one consumption row.")
    s1, m0 = _envelope_block("CommonBlock.S1", dataset), _envelope_block("CommonBlock.M0", dataset)
    custom = _envelope_block("CustomBlock", dataset)
    gsp_group = item_schema(catalogue.load().items["gsp_group_id"]) | {"description": "GSP Group of the MPAN; not read."}
    version = {"type": "string", "enum": list(SCHEMA_VERSIONS), "description": "Version of this message format."}
    common = {
        "S0": _object({"interfaceId": {"type": "string", "description": "Interface id; not read."}, "schemaVersion": version},
                      ["schemaVersion"]),
        "S1": _object(s1, sorted(s1)),
        "M0": _object(m0 | {"gspGroupId": gsp_group}, sorted(m0)),
        "A0": {"type": "array", "description": "Recipients; not read."},
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "DIP-style UTC period consumption message",
        "description": "Generated from pipelines/catalogue/catalogue.yml by `make docs`; do not edit. "
        "Keys not named here are allowed and not read.",
        **_object(
            {
                "CommonBlock": _object(common, ["S0", "S1", "M0"]),
                "CustomBlock": _object(custom | {"periods": {"type": "array", "minItems": 1, "items": period}},
                                       [*sorted(custom), "periods"]),
            },
            ["CommonBlock", "CustomBlock"],
        ),
    }


@cache
def validator():
    from jsonschema import Draft202012Validator

    schema = dip_consumption_schema()
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def _is_mapped_field(path: tuple) -> bool:
    return path in ENVELOPE_FIELDS or (len(path) == 4 and path[:2] == ("CustomBlock", "periods") and path[3] in PERIOD_FIELDS)


def _only_mapped_fields(path: tuple, schema: dict) -> bool:
    """Whether what is missing at path is a mapped field, or a block that requires only mapped fields (so the
    catalogue rules report each field as missing, e.g. DATA_SERVICE_ID_MISSING for a message without S1)."""
    if _is_mapped_field(path):
        return True
    required = schema.get("required", []) if schema.get("type") == "object" else None
    return bool(required) and all(_only_mapped_fields((*path, name), schema["properties"][name]) for name in required)


_SEVERITY = ("MESSAGE_BAD_ENVELOPE", "MESSAGE_WITHOUT_PERIODS", "MESSAGE_UNSUPPORTED_VERSION", "MESSAGE_SCHEMA_INVALID")


def _fault(error) -> tuple[str, int | None] | None:
    """(reason code, period index or None for the whole message) of one schema error; None when the error is
    a mapped field's value, which the catalogue rules judge."""
    path = tuple(error.absolute_path)
    if error.validator == "required":
        missing = [name for name in error.validator_value if name not in error.instance]
        if all(_only_mapped_fields((*path, name), error.schema["properties"][name]) for name in missing):
            return None
        if path == ():
            return "MESSAGE_BAD_ENVELOPE", None
        if path == ("CustomBlock",) and "periods" in missing:
            return "MESSAGE_WITHOUT_PERIODS", None
        if path == ("CommonBlock",) and "S0" in missing or path == ("CommonBlock", "S0") and "schemaVersion" in missing:
            return "MESSAGE_UNSUPPORTED_VERSION", None
    elif _is_mapped_field(path):
        return None
    if path in ((), ("CommonBlock",), ("CustomBlock",)) and error.validator == "type":
        return "MESSAGE_BAD_ENVELOPE", None
    if path == ("CustomBlock", "periods"):
        return "MESSAGE_WITHOUT_PERIODS", None
    if path == ("CommonBlock", "S0", "schemaVersion"):
        return "MESSAGE_UNSUPPORTED_VERSION", None
    if path[:2] == ("CustomBlock", "periods"):
        return "MESSAGE_SCHEMA_INVALID", path[2]
    return "MESSAGE_SCHEMA_INVALID", None


def message_faults(message) -> tuple[str | None, dict[int, str]]:
    """The message's shape faults: the reason code for the whole message (the most severe, or None) and the
    reason code of each period that is faulty on its own."""
    whole, periods = set(), {}
    if validator().is_valid(message):
        return None, periods
    for fault in filter(None, map(_fault, validator().iter_errors(message))):
        code, period = fault
        if period is None:
            whole.add(code)
        else:
            periods[period] = code
    return next((code for code in _SEVERITY if code in whole), None), periods


# ---- outbound flows: the data each market participant receives (CONTRACT.md, "The data flows to each market
# participant"), as CSV and as DIP-style JSON messages ---------------------------------------------------------
#
# Each flow is named, not numbered: the public MHHS interface ids of these flows were not confirmed (DOMAIN.md
# section 2), so none is invented. Its columns are catalogue items, so its CSV header, its JSON Schema and its
# docs page say the same thing. A message is one recipient's file: CommonBlock S0 (flow name and schema version),
# S1 (sender: the Volume Allocation Service, and when the run published), A0 (the one recipient), no M0 (a flow
# is about many MPANs, or none); CustomBlock the run and the rows, each row an object keyed by column name.

FLOW_SCHEMA_VERSION = "1.0"
FLOW_SENDER_ROLE = "VAS"
SAA_ID = "SAA"  # the Settlement Administration Agent: one recipient, named by its role
# The folder kinds under OUT/<run_type>/<settlement_date>/participants/, and the catalogue item naming a recipient
# of each (None: the SAA, the only recipient of its kind).
RECIPIENT_ITEMS = {"supplier": "supplier_id", "distributor": "distributor_id", "data_service": "data_service_id",
                   "saa": None}


@dataclass(frozen=True)
class OutboundFlow:
    name: str  # the flow's name: its CSV and JSON file stem, S0.flowName and its schema file
    title: str
    recipient: str  # folder kind (RECIPIENT_ITEMS)
    description: str
    columns: tuple[Item, ...]
    order: str  # the row order of its files, so a rerun writes identical files
    file_stem: str | None = None  # its files' name in the recipient's folder (CONTRACT.md), else its name

    @property
    def csv_file(self) -> str:
        return f"{self.file_stem or self.name}.csv"

    @property
    def json_file(self) -> str:
        return f"{self.file_stem or self.name}.json"

    @property
    def column_names(self) -> list[str]:
        return [column.name for column in self.columns]

    @property
    def schema_file(self) -> str:
        return f"{self.name}_flow.schema.json"


def _items(*names: str, **refined: dict) -> tuple[Item, ...]:
    items = catalogue.load().items
    return tuple(replace(items[name], **refined.get(name, {})) for name in names)


@cache
def outbound_flows() -> tuple[OutboundFlow, ...]:
    supplier_volumes, bm_unit_volumes = catalogue.dataset("supplier_volumes"), catalogue.dataset("bm_unit_volumes")
    as_received = {"type": "string", "pattern": None, "checks": (), "nullable": True}
    return (
        OutboundFlow(
            "supplier_volumes", "Supplier volumes (to each supplier)", "supplier",
            "That supplier's rows of the run's supplier_volumes: its BM Unit volumes per CCC and period, before and "
            "after GSP Group Correction (the content of the D0398/D0400 family of settlement reports).",
            supplier_volumes.columns, "settlement_period, gsp_group_id, bm_unit_id, ccc_id"),
        OutboundFlow(
            "duos_volumes", "DUoS volumes (to each distributor)", "distributor",
            "The metered volume before losses of the MPANs whose core begins with the distributor's id, per settlement "
            "period, LLFC, supplier, measurement quantity and actual/estimated, for use-of-system charging.",
            _items("run_id", "settlement_date", "settlement_period", "distributor_id", "llfc_id", "supplier_id",
                   "measurement_quantity", "actual_estimated", "mpan_count", "kwh", **{
                       "actual_estimated": {"description": "Whether the values summed were actual (A) or estimated (E: "
                                                           "by the data service or by settlement) in the period."},
                       "mpan_count": {"description": "MPANs with a value in the period counted in the row: an MPAN "
                                                     "counts once per period and quantity, in the A or the E row."},
                       "kwh": {"description": "Metered volume before losses: the sum of the MPANs' settled values "
                                              "(after estimation) in the period."}}),
            "settlement_period, llfc_id, supplier_id, measurement_quantity, actual_estimated"),
        OutboundFlow(
            "data_service_rejections", "Rejections (to each data service)", "data_service",
            "The values the data service sent that ingestion (the landing row, for the settlement date) or this "
            "settlement run (the value) refused, and why: the content of IF-014 \"Rejected - UTC Settlement Period "
            "Consumption Data\", without claiming its format.",
            _items("source_file", "row_number", "reason_code", "reason", "mpan_core", "utc_period_start", **{
                "row_number": {"description": "1-based data row number in the landing file of a row ingestion "
                                              "refused; empty for a value this run refused (the lake keeps MPAN-days, "
                                              "not landing rows)."},
                "mpan_core": as_received | {"description": "The MPAN core as sent (empty when the row had none "
                                                           "readable)."},
                "utc_period_start": as_received | {"description": "The UTC period start as sent, or for a value this "
                                                                  "run refused its period start as YYYY-MM-DDTHH:MM:SSZ "
                                                                  "(empty when the row had none readable)."}}),
            "source_file, row_number, mpan_core, utc_period_start, reason_code", file_stem="rejections"),
        OutboundFlow(
            "bm_unit_volumes", "BM Unit volumes (to the Settlement Administration Agent)", "saa",
            "All of the run's bm_unit_volumes, for imbalance settlement.",
            bm_unit_volumes.columns, "settlement_period, gsp_group_id, supplier_id, bm_unit_id"),
    )


def outbound_flow(name: str) -> OutboundFlow:
    return next(flow for flow in outbound_flows() if flow.name == name)


def _outbound_item_schema(item: Item) -> dict:
    """A column of an outbound row: its catalogue item as JSON Schema, decimals as exact strings (signed
    where the item may be negative), empty values as null where the column may be empty."""
    schema = item_schema(item)
    if item.type == "decimal":
        places = "+" if item.scale is None else "{1," + str(item.scale) + "}"
        sign = "" if item.min is not None and item.min >= 0 else "-?"
        schema |= {"type": "string", "pattern": f"^{sign}[0-9]+(\\.[0-9]{places})?$"}
        schema.pop("minimum", None)
        schema.pop("maximum", None)
    if item.nullable:
        schema["type"] = [schema["type"], "null"]
        if "enum" in schema:
            schema["enum"] = [*schema["enum"], None]
    return schema


@cache
def flow_message_schema(name: str) -> dict:
    """JSON Schema of one recipient's message of the flow, generated from the catalogue."""
    flow = outbound_flow(name)
    items = catalogue.load().items
    recipient_item = RECIPIENT_ITEMS[flow.recipient]
    recipient_id = (item_schema(items[recipient_item]) if recipient_item
                    else {"type": "string", "const": SAA_ID, "description": "The Settlement Administration Agent."})
    row = _object({item.name: _outbound_item_schema(item) for item in flow.columns}, flow.column_names,
                  "One row of the flow's CSV file, keyed by column name.") | {"additionalProperties": False}
    common = {
        "S0": _object({"flowName": {"type": "string", "const": flow.name, "description": "The flow's name (no "
                                    "official interface id: none was confirmed from a public source)."},
                       "schemaVersion": {"type": "string", "enum": [FLOW_SCHEMA_VERSION],
                                         "description": "Version of this message format."}},
                      ["flowName", "schemaVersion"]),
        "S1": _object({"senderRole": {"type": "string", "const": FLOW_SENDER_ROLE,
                                      "description": "The Volume Allocation Service, central settlement."},
                       "sentAt": item_schema(items["succeeded_at"]) | {"description": "When the run published "
                                                                                       "the flow (its succeeded_at)."}},
                      ["senderRole", "sentAt"]),
        "A0": {"type": "array", "minItems": 1, "maxItems": 1, "description": "The one recipient of the message.",
               "items": _object({"recipientRole": {"type": "string", "const": flow.recipient},
                                 "recipientId": recipient_id}, ["recipientRole", "recipientId"])},
    }
    custom = {"runId": item_schema(items["run_id"]), "runType": item_schema(items["run_type"]),
              "settlementDate": item_schema(items["settlement_date"]),
              "rows": {"type": "array", "items": row, "description": "Every row of the recipient's CSV file, "
                                                                     "in its order."}}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"urn:mhhs-settlement:flow:{flow.name}",
        "title": f"DIP-style message: {flow.title}",
        "description": f"{flow.description} Generated from pipelines/catalogue/catalogue.yml by `make catalogue` "
                       "(pipelines/catalogue/dip_schema.py); do not edit.",
        **_object({"CommonBlock": _object(common, ["S0", "S1", "A0"]),
                   "CustomBlock": _object(custom, ["runId", "runType", "settlementDate", "rows"])},
                  ["CommonBlock", "CustomBlock"]),
    }


@cache
def flow_validator(name: str):
    from jsonschema import Draft202012Validator

    schema = flow_message_schema(name)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)
