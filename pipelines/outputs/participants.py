"""The data flows to each market participant (CONTRACT.md, "The data flows to each market participant"): each
recipient's folder under OUT/<run_type>/<settlement_date>/participants/, holding only its own data.

    participants/
        manifest.json                          every folder, and the rejections no data service could be named for
        supplier/<supplier_id>/                supplier_volumes.csv  .json  manifest.json
        distributor/<distributor_id>/          duos_volumes.csv      .json  manifest.json
        data_service/<data_service_id>/        rejections.csv        .json  manifest.json
        saa/                                   bm_unit_volumes.csv   .json  manifest.json

They are cut per recipient when the run is staged (ARCHITECTURE.md principle 12), into the run's staged/ folder
before the gate, so publication (pipelines.settle.publish) swaps them in whole with the rest of the run's outputs.
Each flow's columns and its DIP-style JSON Schema come from the data catalogue (pipelines.catalogue.dip_schema);
each CSV has a JSON message beside it holding the same rows. Everything is written by DuckDB from the run's
combined relations, one recipient at a time from a table of the flow's rows (or in one COPY ... PARTITION_BY,
the other strategy measured in docs/benchmarks.md): no day is loaded into Python.

A recipient is named by a value of the data, so every id is checked against its catalogue pattern before it
names a folder; a refused landing row whose data service cannot be read is counted in the top manifest as
unattributed (it stays in the quarantine view, as every refused row does).
"""

import json
import re
import shutil
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from pipelines import catalogue
from pipelines.catalogue.dip_schema import (FLOW_SCHEMA_VERSION, FLOW_SENDER_ROLE, RECIPIENT_ITEMS, SAA_ID,
                                            OutboundFlow, outbound_flows)
from pipelines.core.atomic import file_sha256
from pipelines.core.periods import periods_in_day
from pipelines.reference.lake import Lake

PARTICIPANTS_DIR = "participants"
MANIFEST = "manifest.json"
STRATEGIES = ("per_recipient", "partition_by")
# The local settlement day of a UTC instant (DOMAIN.md section 4), in DuckDB (ICU).
LOCAL_DATE = "cast(timezone('Europe/London', {instant}) AS DATE)"
# Landing datasets whose refused rows a data service sent.
DATA_SERVICE_DATASETS = ("consumption", "register_reads")


@dataclass(frozen=True)
class RunFacts:
    """What every message and manifest of a run says about the run."""
    run_id: str
    run_type: str
    settlement_date: str  # YYYY-MM-DD
    sent_at: str  # the run's succeeded_at, ISO-8601 UTC


def _literal(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def _recipient_pattern(flow: OutboundFlow) -> str:
    item = RECIPIENT_ITEMS[flow.recipient]
    return catalogue.load().items[item].pattern if item else f"^{SAA_ID}$"


# ---- the rows of each flow, with the recipient each row goes to -------------------------------------------


def _duos_sql(last_period: int) -> str:
    """DUoS volumes from the run's values after estimation (one row per MPAN-day, a column per period), summed per
    distributor, LLFC, supplier, quantity, period and A/E; an MPAN counts where it has a value. The distributor is
    the first two digits of the MPAN core (CONTRACT.md). Sums of decimal(18, 3) values stay exact.
    Two steps, because a period's A/E is its bit of estimated_mask: the MPAN-days are first summed per column
    within each group of the same keys and the same estimated_mask (a few per cent of the rows), and only those
    sums are unnested into periods and summed again per A/E. The same rows as unnesting every MPAN-day into its
    periods, 6.5 times faster at 3 M MPANs (docs/benchmarks.md, "Data flows to each market participant")."""
    columns = [f"kwh_{period:02d}" for period in range(1, last_period + 1)]
    return (
        "WITH same_mask AS ("
        "SELECT left(mpan_core, 2) AS distributor_id, llfc_id, supplier_id, measurement_quantity, estimated_mask, "
        f"[{', '.join(f'sum({c})' for c in columns)}] AS period_kwh, "
        f"[{', '.join(f'count({c})' for c in columns)}] AS period_mpans "
        "FROM int_consumption_estimated GROUP BY ALL) "
        "SELECT distributor_id AS recipient_id, NULL AS run_id, NULL AS settlement_date, settlement_period, "
        "distributor_id, llfc_id, supplier_id, measurement_quantity, "
        "CASE WHEN (estimated_mask >> settlement_period) & 1 = 1 THEN 'E' ELSE 'A' END AS actual_estimated, "
        "sum(mpans)::BIGINT AS mpan_count, sum(kwh) AS kwh "
        f"FROM (SELECT *, unnest(range(1, {last_period + 1})) AS settlement_period, unnest(period_kwh) AS kwh, "
        "unnest(period_mpans) AS mpans FROM same_mask) "
        "WHERE mpans > 0 GROUP BY ALL"
    )


def _csv_field(fields: str, pattern: str) -> str:
    """The one field of a split CSV line matching `pattern` (NULL when none or several do)."""
    return (f"CASE WHEN len(list_filter({fields}, lambda f: regexp_full_match(trim(f), '{pattern}'))) = 1 "
            f"THEN trim(list_filter({fields}, lambda f: regexp_full_match(trim(f), '{pattern}'))[1]) END")


def _ingestion_rejections_sql(run_dir: Path, lake: Lake, settlement_date: str) -> str | None:
    """The rows ingestion refused from the data services' landing files the run was given, that are about the
    settlement date, with the data service, MPAN core and period start read from the raw record.

    A Parquet or JSON row's raw record is JSON, read by name. A CSV row's raw record is the landing line, and
    the quarantine does not keep the file's header, so its fields are recognised by their form: the data service
    is the one field of four capitals or digits holding a letter (no other consumption field has that form), the
    MPAN core the one field of 13 digits, the period start the earliest field written as an ISO date-time (a value
    is sent after its half hour: received_at is later). A row is about the date its period start falls on; a row
    with no readable period start is about every date its landing file has values for."""
    with duckdb.connect() as con:
        files = con.execute(
            f"SELECT file_id, file_sha256 FROM read_parquet('{run_dir / 'basis' / 'landing_files.parquet'}') "
            f"WHERE status = 'ingested' AND dataset IN ({', '.join(map(_literal, DATA_SERVICE_DATASETS))})").fetchall()
    quarantined = {file_id: sha for file_id, sha in files if (lake.quarantine / f"{file_id}.parquet").exists()}
    if not quarantined:
        return None
    paths = "[" + ", ".join(_literal(lake.quarantine / f"{file_id}.parquet") for file_id in sorted(quarantined)) + "]"
    shas = "(VALUES " + ", ".join(f"({_literal(f)}, {_literal(s)})" for f, s in sorted(quarantined.items())) + ") AS f(file_id, file_sha256)"
    fields = "string_split(q.raw_record, ',')"
    is_json = "starts_with(ltrim(q.raw_record), '{')"
    timestamps = f"list_sort(list_filter({fields}, lambda f: regexp_matches(trim(f), '^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}[T ]')))"
    parsed = (
        "SELECT q.source_file, q.row_number, q.reason_code, q.reason, f.file_sha256, "
        f"CASE WHEN {is_json} THEN coalesce(json_extract_string(q.raw_record, '$.data_service_id'), "
        "json_extract_string(q.raw_record, '$.CommonBlock.S1.senderId')) "
        f"ELSE {_csv_field(fields, '[A-Z0-9]{4}')} END AS data_service_id, "
        f"CASE WHEN {is_json} THEN coalesce(json_extract_string(q.raw_record, '$.mpan_core'), "
        "json_extract_string(q.raw_record, '$.CommonBlock.M0.mpanCore')) "
        f"ELSE {_csv_field(fields, '[0-9]{13}')} END AS mpan_core, "
        f"CASE WHEN {is_json} THEN coalesce(json_extract_string(q.raw_record, '$.utc_period_start'), "
        "json_extract_string(q.raw_record, '$.period.utcPeriodStart')) "
        f"ELSE trim({timestamps}[1]) END AS utc_period_start "
        f"FROM read_parquet({paths}, filename = true) AS q "
        f"JOIN {shas} ON regexp_extract(q.filename, '([0-9a-f]{{16}})\\.parquet$', 1) = f.file_id"
    )
    day = _literal(settlement_date)
    local_date = LOCAL_DATE.format(instant="try_cast(utc_period_start AS TIMESTAMPTZ)")
    partition = lake.consumption / f"settlement_date={settlement_date}"
    accepted_on_day = (f"SELECT DISTINCT file_sha256 FROM read_parquet('{partition}/*.parquet')"
                       if any(partition.glob("*.parquet")) else "SELECT NULL::VARCHAR AS file_sha256 WHERE false")
    return (
        f"WITH parsed AS ({parsed}), "
        f"touching AS ({accepted_on_day} UNION SELECT file_sha256 FROM parsed WHERE {local_date} = {day}) "
        "SELECT data_service_id AS recipient_id, source_file, row_number, reason_code, reason, mpan_core, utc_period_start "
        f"FROM parsed WHERE {local_date} = {day} "
        f"OR ({local_date} IS NULL AND file_sha256 IN (SELECT file_sha256 FROM touching))"
    )


def _settlement_rejections_sql() -> str:
    """The values this run refused (dbt model int_consumption_refused) and the register reads it refused
    (int_register_reads_refused: a read has no period, so its utc_period_start is empty), to the data service
    that sent each."""
    reasons = " ".join(f"WHEN {_literal(code)} THEN {_literal(text)}"
                       for code, text in catalogue.reasons("settlement", "refusals").items())
    return (
        "SELECT data_service_id AS recipient_id, source_file, NULL::BIGINT AS row_number, reason_code, "
        f"CASE reason_code {reasons} END AS reason, mpan_core, "
        "strftime(timezone('UTC', utc_period_start), '%Y-%m-%dT%H:%M:%SZ') AS utc_period_start "
        "FROM int_consumption_refused "
        "UNION ALL "
        "SELECT data_service_id AS recipient_id, source_file, row_number::BIGINT AS row_number, reason_code, "
        f"CASE reason_code {reasons} END AS reason, mpan_core, NULL::VARCHAR AS utc_period_start "
        "FROM int_register_reads_refused"
    )


def _create_flow_tables(con: duckdb.DuckDBPyConnection, run_dir: Path, lake: Lake, facts: RunFacts) -> None:
    """One temporary table per flow: its rows with recipient_id, sorted by recipient so each recipient's
    query reads only its own blocks."""
    last_period = periods_in_day(datetime.fromisoformat(facts.settlement_date).date())
    flows = {flow.name: flow for flow in outbound_flows()}
    sources = {
        "supplier_volumes": "SELECT supplier_id AS recipient_id, * FROM supplier_volumes",
        "duos_volumes": _duos_sql(last_period),
        "bm_unit_volumes": f"SELECT {_literal(SAA_ID)} AS recipient_id, * FROM bm_unit_volumes",
    }
    ingestion = _ingestion_rejections_sql(run_dir, lake, facts.settlement_date)
    sources["data_service_rejections"] = _settlement_rejections_sql() + (f" UNION ALL SELECT * FROM ({ingestion})" if ingestion else "")
    for name, source in sources.items():
        flow = flows[name]
        columns = ", ".join(f"{c.name}::{c.duckdb_type} AS {c.name}" if c.name not in ("run_id", "settlement_date")
                            else f"{_literal(facts.run_id if c.name == 'run_id' else facts.settlement_date)}::{c.duckdb_type} AS {c.name}"
                            for c in flow.columns)
        con.execute(f"CREATE OR REPLACE TEMP TABLE flow_{name} AS SELECT recipient_id, {columns} FROM ({source}) "
                    f"ORDER BY recipient_id, {flow.order}")


def _recipients(con: duckdb.DuckDBPyConnection, flow: OutboundFlow) -> tuple[list[str], int]:
    """The flow's recipients (a valid id each) and the rows that name none validly (only rejections can)."""
    extra = {"data_service_rejections": " UNION SELECT DISTINCT data_service_id FROM int_registrations_in_force",
             "duos_volumes": " UNION SELECT DISTINCT left(mpan_core, 2) FROM int_consumption_estimated",
             "supplier_volumes": ""}.get(flow.name, f" UNION SELECT {_literal(SAA_ID)}")
    pattern = _literal(_recipient_pattern(flow))
    ids = [row[0] for row in con.execute(
        f"SELECT recipient_id FROM (SELECT DISTINCT recipient_id FROM flow_{flow.name}{extra}) "
        f"WHERE regexp_full_match(recipient_id, {pattern}) ORDER BY 1").fetchall()]
    unattributed = con.execute(f"SELECT count(*) FROM flow_{flow.name} WHERE recipient_id IS NULL "
                               f"OR NOT regexp_full_match(recipient_id, {pattern})").fetchone()[0]
    return ids, unattributed


# ---- writing one recipient's folder ---------------------------------------------------------------------


def _json_columns(flow: OutboundFlow) -> str:
    """The row as the JSON message carries it: decimals as exact text (JSON numbers are binary floats)."""
    return ", ".join(f"{c.name}::VARCHAR AS {c.name}" if c.type == "decimal" else c.name for c in flow.columns)


def _write_message(con, flow: OutboundFlow, table_filter: str, recipient_id: str, folder: Path, facts: RunFacts) -> None:
    """The JSON message beside the CSV: the envelope around the rows DuckDB writes as a JSON array, streamed
    into place (never the rows in Python)."""
    rows_file = folder / f".{flow.json_file}.rows"
    con.execute(f"COPY (SELECT {_json_columns(flow)} FROM flow_{flow.name} WHERE {table_filter} ORDER BY {flow.order}) "
                f"TO {_literal(rows_file)} (FORMAT json, ARRAY true)")
    envelope = {
        "CommonBlock": {"S0": {"flowName": flow.name, "schemaVersion": FLOW_SCHEMA_VERSION},
                        "S1": {"senderRole": FLOW_SENDER_ROLE, "sentAt": facts.sent_at},
                        "A0": [{"recipientRole": flow.recipient, "recipientId": recipient_id}]},
        "CustomBlock": {"runId": facts.run_id, "runType": facts.run_type, "settlementDate": facts.settlement_date,
                        "rows": None},
    }
    before, _, after = json.dumps(envelope).rpartition("null")
    with open(folder / flow.json_file, "wb") as message, open(rows_file, "rb") as rows:
        message.write(before.encode())
        shutil.copyfileobj(rows, message)
        message.write(after.encode() + b"\n")
    rows_file.unlink()


def _write_manifest(folder: Path, flow: OutboundFlow, recipient_id: str, rows: int, facts: RunFacts) -> dict:
    files = [{"file": name, "rows": rows, "bytes": (folder / name).stat().st_size, "sha256": file_sha256(folder / name)}
             for name in (flow.csv_file, flow.json_file)]
    manifest = {"run_id": facts.run_id, "run_type": facts.run_type, "settlement_date": facts.settlement_date,
                "recipient_role": flow.recipient, "recipient_id": recipient_id, "flow": flow.name,
                "schema_version": FLOW_SCHEMA_VERSION, "files": files}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def recipient_folder(root: Path, flow: OutboundFlow, recipient_id: str) -> Path:
    return root / flow.recipient if flow.recipient == "saa" else root / flow.recipient / recipient_id


def _write_flow(con, flow: OutboundFlow, root: Path, facts: RunFacts, strategy: str) -> dict:
    recipients, unattributed = _recipients(con, flow)
    for recipient_id in recipients:
        if not re.fullmatch(_recipient_pattern(flow), recipient_id):  # never a path from unchecked data
            raise ValueError(f"{flow.recipient} id {recipient_id!r} does not match its catalogue pattern")
        recipient_folder(root, flow, recipient_id).mkdir(parents=True, exist_ok=True)
    rows = dict.fromkeys(recipients, 0)
    if strategy == "partition_by":
        rows |= _write_csv_partitioned(con, flow, root, recipients)
    for recipient_id in recipients:
        folder = recipient_folder(root, flow, recipient_id)
        where = f"recipient_id = {_literal(recipient_id)}"
        if strategy == "per_recipient" or not (folder / flow.csv_file).exists():
            rows[recipient_id] = con.execute(
                f"COPY (SELECT {', '.join(flow.column_names)} FROM flow_{flow.name} WHERE {where} ORDER BY {flow.order}) "
                f"TO {_literal(folder / flow.csv_file)} (HEADER, DELIMITER ',')").fetchone()[0]
        _write_message(con, flow, where, recipient_id, folder, facts)
        _write_manifest(folder, flow, recipient_id, rows[recipient_id], facts)
    return {"recipients": len(recipients), "rows": sum(rows.values()), "unattributed_rows": unattributed}


def _write_csv_partitioned(con, flow: OutboundFlow, root: Path, recipients: list[str]) -> dict[str, int]:
    """Every recipient's CSV in one COPY ... PARTITION_BY (recipient_id), moved into the recipients' folders."""
    scratch = root / f".{flow.name}.partitioned"
    listed = ", ".join(map(_literal, recipients)) or "NULL"
    con.execute(f"COPY (SELECT recipient_id, {', '.join(flow.column_names)} FROM flow_{flow.name} "
                f"WHERE recipient_id IN ({listed}) ORDER BY recipient_id, {flow.order}) TO {_literal(scratch)} "
                "(FORMAT csv, HEADER, PARTITION_BY (recipient_id), FILENAME_PATTERN 'part')")
    counts = dict(con.execute(f"SELECT recipient_id, count(*) FROM flow_{flow.name} WHERE recipient_id IN ({listed}) "
                              "GROUP BY 1").fetchall())
    for recipient_id in counts:
        (part,) = (scratch / f"recipient_id={recipient_id}").glob("*.csv")
        part.rename(recipient_folder(root, flow, recipient_id) / flow.csv_file)
    shutil.rmtree(scratch, ignore_errors=True)
    return counts


def write_participant_flows(con: duckdb.DuckDBPyConnection, run_dir: Path, data_dir: Path, facts: RunFacts,
                            root: Path, strategy: str = "per_recipient") -> dict:
    """Every recipient's folder under `root` (the run's staged/participants/), from the run's combined relations
    in `con` (pipelines.settle.publish.combine); returns what was written, per flow."""
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {STRATEGIES}")
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    _create_flow_tables(con, Path(run_dir), Lake(data_dir), facts)
    written = {flow.name: _write_flow(con, flow, root, facts, strategy) for flow in outbound_flows()}
    for flow in outbound_flows():
        con.execute(f"DROP TABLE flow_{flow.name}")
    folders = sorted(str(path.parent.relative_to(root)) for path in root.rglob(MANIFEST) if path.parent != root)
    (root / MANIFEST).write_text(json.dumps(
        {"run_id": facts.run_id, "run_type": facts.run_type, "settlement_date": facts.settlement_date,
         "flows": written, "folders": folders}, indent=2) + "\n")
    return written


def run_facts(run_id: str, run_type: str, settlement_date, succeeded_at: datetime) -> RunFacts:
    sent_at = succeeded_at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return RunFacts(run_id, run_type, str(settlement_date), sent_at)
