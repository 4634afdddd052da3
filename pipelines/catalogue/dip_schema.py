"""JSON Schema of a DIP-style consumption message (docs/interfaces/dip_consumption.md), generated from the
data catalogue: each mapped field takes its catalogue item's type, pattern, allowed values and range.

Ingestion validates every message with it (pipelines.ingest). Faults in the message's shape quarantine it
with a MESSAGE_* reason code; a mapped field's value that breaks its item's rule is left to the catalogue's
SQL rules, which name the rule exactly (MPAN_CORE_CHECK_DIGIT, KWH_TOO_MANY_DECIMALS, ...), as for CSV.
"""

import copy
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
