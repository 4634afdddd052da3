"""Step 2 for a DIP JSON file: consumption messages (docs/interfaces/dip_consumption.md) flattened to one row
per period, each period checked against the message JSON Schema (pipelines.catalogue.dip_schema)."""

import json
from pathlib import Path

import pyarrow as pa

from pipelines import catalogue
from pipelines.catalogue.dip_schema import ENVELOPE_FIELDS, PERIOD_FIELDS, message_faults
from pipelines.ingest.reasons import FileRefused
from pipelines.ingest.source import RowIds, Source, where

ROWS = "json_rows"


def _dip_messages(text: str) -> list:
    """The messages of a file: one message, an array of them, or one per line."""
    stripped = text.strip()
    if stripped.startswith("["):
        return json.loads(stripped)
    try:
        return [json.loads(stripped)]
    except json.JSONDecodeError:
        return [json.loads(line) for line in stripped.splitlines() if line.strip()]


def _envelope_values(message: dict) -> dict:
    """The consumption columns the message's envelope carries (a block that is not an object gives none)."""
    values = {}
    for path, column in ENVELOPE_FIELDS.items():
        node = message
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        values[column] = node
    return values


def json_source(con, path: Path, dataset: catalogue.Dataset) -> Source:
    """The file's periods as rows of text, registered as the relation json_rows."""
    content = path.read_bytes()
    if not content.strip():
        raise FileRefused("FILE_EMPTY", "the file is empty")
    try:
        messages = _dip_messages(content.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise FileRefused.because("FILE_NOT_UTF8") from None
    except (json.JSONDecodeError, RecursionError):
        raise FileRefused.because("FILE_NOT_JSON") from None
    rows = {name: [] for name in ["row_number", "raw_record", "dip_problem", *dataset.column_names]}

    def add(record: dict, values: dict, problem: str | None) -> None:
        rows["row_number"].append(len(rows["row_number"]) + 1)
        rows["raw_record"].append(json.dumps(record, sort_keys=True))
        rows["dip_problem"].append(problem)
        for name in dataset.column_names:
            value = values.get(name)
            rows[name].append(None if value is None else str(value))

    for message in messages if isinstance(messages, list) else [messages]:
        whole, period_faults = message_faults(message)
        if whole == "MESSAGE_BAD_ENVELOPE":
            add({"message": message}, {}, whole)
            continue
        common, custom = message["CommonBlock"], message["CustomBlock"]
        envelope = _envelope_values(message)
        if whole == "MESSAGE_WITHOUT_PERIODS":
            add({"CommonBlock": common, "periods": custom.get("periods")}, envelope, whole)
            continue
        for index, period in enumerate(custom["periods"]):
            fields = period if isinstance(period, dict) else {}
            values = envelope | {column: fields.get(name) for name, column in PERIOD_FIELDS.items()}
            record = {"CommonBlock": common, "measurementQuantity": custom.get("measurementQuantity"), "period": period}
            add(record, values, whole or period_faults.get(index))
    table = pa.table({k: pa.array(v, pa.int64() if k == "row_number" else pa.string()) for k, v in rows.items()})
    con.register(ROWS, table)
    row_ids = RowIds("row_number", 0)

    def render(conditions: list[str]) -> str:
        return (
            "SELECT row_number, raw_record, false AS malformed, dip_problem, * EXCLUDE (row_number, raw_record, dip_problem) "
            f"FROM {ROWS}{where(conditions)}"
        )

    return Source(render, row_ids, native={})
