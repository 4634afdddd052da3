"""`mhhs ingest` (CONTRACT.md): a committed bad-input corpus, and the lake and warehouse guarantees.

tests/corpus/ingest/<case>/ is a landing directory (consumption/, registrations/, sometimes other folders
that must be left alone) plus expected.json, written by hand:

    description   what the case is about
    exit_code     0 when only rows were refused, 1 when a whole file was refused
    files         per landing file: status (ingested | refused), reason_code of a refused file, rows_in,
                  rows_accepted, rows_quarantined (a refused file counts as one quarantined record)
    rejections    quarantined records by reason code, over the whole case
    quarantined   every quarantined record: source_file, row_number (null for a whole file), reason_code,
                  and the fault in words
    consumption_values (some cases)  every accepted consumption value, as the warehouse view must show it

Each case is ingested with the real command line (pipelines.cli.main) into a data directory in tmp_path,
and check_outcome() compares the --json summary, the warehouse views, the refused-file copies, stderr and
the exit status with expected.json. Parquet inputs are written by the tests themselves (typed columns).

Tests named test_regression_* pin defects found in an early version of ingestion (now fixed).
"""

import hashlib
import json
import shutil
import subprocess
from collections import Counter
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines import catalogue
from pipelines import cli
from pipelines import ingest as ingest_module
from pipelines.ingest import passes as ingest_passes
from pipelines.catalogue.sql_rules import rules_for
from pipelines.core.errors import ExitCode
from pipelines.core.mpan import is_valid_mpan_core, mpan_cores
from pipelines.core.periods import utc_period_starts
from pipelines.outputs.warehouse import refresh_views
from pipelines.reference.lake import Lake
from pipelines.synthetic.generate import MANIFEST_FILE, generate
from tests.conftest import BIN_DIR, PROJECT_ROOT

pytestmark = pytest.mark.integration

CORPUS = Path(__file__).resolve().parent / "corpus" / "ingest"
CASES = sorted(p.name for p in CORPUS.iterdir() if (p / "expected.json").is_file())
DIP_EXAMPLES = PROJECT_ROOT / "docs" / "interfaces" / "examples"
C_COLUMNS = catalogue.dataset_columns("consumption")
R_COLUMNS = catalogue.dataset_columns("registrations")
C_HEADER = ",".join(C_COLUMNS)
R_HEADER = ",".join(R_COLUMNS)
MPAN_A, MPAN_B, MPAN_C = "1200012345679", "2000012345672", "1400012345678"


# ---- helpers ---------------------------------------------------------------------------------------------


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def run_ingest(capsys, landing: Path, data_dir: Path):
    """The real command line, in process: (exit status, --json summary, stderr). No traceback allowed."""
    capsys.readouterr()
    code = cli.main(["--data-dir", str(data_dir), "ingest", str(landing), "--json"])
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "Traceback" not in out
    try:
        summary = json.loads(out)
    except json.JSONDecodeError:
        raise AssertionError(f"mhhs ingest exited {code} without a JSON summary; stderr: {err.strip()}") from None
    return code, summary, err


def query(data_dir: Path, sql: str, params=None) -> list[tuple]:
    con = duckdb.connect(str(Path(data_dir) / "warehouse.duckdb"), read_only=True,
                         config={"file_search_path": str(Path(data_dir).resolve())})
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def scalar(data_dir: Path, sql: str, params=None):
    return query(data_dir, sql, params)[0][0]


def lake_files(data_dir: Path, with_log: bool = True) -> dict[str, bytes]:
    root = Path(data_dir) / "lake"
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*.parquet"))
        if with_log or "ingestion_log" not in p.parts
    }


def log_entries(data_dir: Path) -> dict[str, dict]:
    """Ingestion log entries by file, without the wall-clock ingested_at (read per file with pyarrow)."""
    entries = {}
    for path in sorted((Path(data_dir) / "lake" / "ingestion_log").glob("*.parquet")):
        record = pq.read_table(path).to_pylist()[0]
        record.pop("ingested_at")
        entries[path.name] = record
    return entries


def write_csv(path: Path, header: str, rows: list[str], newline: str = "\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes((newline.join([header, *rows]) + newline).encode())
    return path


def c_row(mpan=MPAN_A, mq="AI", utc="2026-10-25T00:00:00Z", kwh="0.120", flag="A", ds="SDSA", rx="2026-10-26T01:00:00Z"):
    return ",".join([mpan, mq, utc, kwh, flag, ds, rx])


def r_row(snap="2026-10-23", mpan=MPAN_A, mq="AI", frm="2026-01-01", to="", sup="ALFA", ds="SDSA", gsp="_C",
          llfc="A01", seg="S", en="E", dom="Y", consent="HH", ac="3100.000", bmu=""):
    return ",".join([snap, mpan, mq, frm, to, sup, ds, gsp, llfc, seg, en, dom, consent, ac, bmu])


def iso(value: datetime) -> str:
    return value.astimezone(timezone.utc).isoformat()


def nested_values(value):
    """The value and everything inside it (dict values, list items), recursively."""
    yield value
    if isinstance(value, dict):
        for item in value.values():
            yield from nested_values(item)
    elif isinstance(value, list):
        for item in value:
            yield from nested_values(item)


def dip_messages(path: Path) -> list:
    """The messages of a DIP JSON file, read the three ways docs/interfaces/dip_consumption.md describes."""
    text = path.read_text("utf-8").strip()
    if text.startswith("["):
        return json.loads(text)
    try:
        return [json.loads(text)]
    except json.JSONDecodeError:
        return [json.loads(line) for line in text.splitlines() if line.strip()]


def dip_received(path: Path) -> list:
    """What was received for each row number of a DIP file (1-based: index + 1): a period, or a whole message."""
    received = []
    for message in dip_messages(path):
        if not (isinstance(message, dict) and isinstance(message.get("CommonBlock"), dict)
                and isinstance(message.get("CustomBlock"), dict)):
            received.append(message)
            continue
        periods = message["CustomBlock"].get("periods")
        if not isinstance(periods, list) or not periods:
            received.append(message["CommonBlock"])
        else:
            received.extend(periods)
    return received


def check_raw_record(landing: Path, source_file: str, row_number, raw: str) -> None:
    path = landing / source_file
    data = path.read_bytes()
    if row_number is None:  # a refused file: its first bytes (of a registration file, only its header line)
        first = data[:500].split(b"\n", 1)[0] if source_file.startswith("registrations/") else data[:500]
        assert raw == first.decode("utf-8", errors="replace")
    elif path.suffix.lower() == ".csv":  # the line exactly as in the file (row 1 = the line after the header)
        assert raw == data.decode("utf-8").split("\n")[row_number].rstrip("\r")
    elif path.suffix.lower() == ".json":
        received = dip_received(path)[row_number - 1]
        assert received in list(nested_values(json.loads(raw))), (source_file, row_number, raw)
    elif path.suffix.lower() == ".parquet":
        record = pq.read_table(path).to_pylist()[row_number - 1]
        parsed = json.loads(raw)
        assert {k: parsed[k] for k in ("mpan_core", "measurement_quantity")} == {
            k: record[k] for k in ("mpan_core", "measurement_quantity")
        }
    else:
        raise AssertionError(f"no raw_record rule for {source_file}")


def check_outcome(landing: Path, data_dir: Path, expected: dict, code: int, summary: dict, err: str) -> None:
    """Compare one ingest run with its expectations (see the module docstring)."""
    files = {f["source_file"]: f for f in summary["files"]}
    assert set(files) == set(expected["files"]), "landing files reported"
    for name, want in expected["files"].items():
        got = files[name]
        assert got["file_sha256"] == sha256(landing / name), name
        assert (got["status"], got["reason_code"]) == (want["status"], want.get("reason_code")), name
        assert {k: got[k] for k in ("rows_in", "rows_accepted", "rows_quarantined")} == {
            k: want[k] for k in ("rows_in", "rows_accepted", "rows_quarantined")
        }, name
        assert got["rows_in"] == got["rows_accepted"] + got["rows_quarantined"], name
        assert sum(got["rejections"].values()) == got["rows_quarantined"], name
    assert summary["rejections"] == expected["rejections"]
    assert Counter(q["reason_code"] for q in expected["quarantined"]) == Counter(expected["rejections"])
    assert summary["rows_rejected"] == sum(expected["rejections"].values())
    assert summary["rows_accepted"] == sum(f["rows_accepted"] for f in expected["files"].values())

    # The warehouse quarantine view holds exactly the expected records and agrees with the summary.
    rows = query(data_dir, "SELECT source_file, row_number, reason_code, reason, raw_record FROM quarantine")
    assert sorted((r[0], r[1] or 0, r[2]) for r in rows) == sorted(
        (q["source_file"], q["row_number"] or 0, q["reason_code"]) for q in expected["quarantined"]
    )
    assert len(rows) == summary["rows_rejected"]
    assert dict(Counter(r[2] for r in rows)) == summary["rejections"]
    assert Counter(r[0] for r in rows) == +Counter({f["source_file"]: f["rows_quarantined"] for f in summary["files"]})
    for source_file, row_number, _, reason, raw in rows:
        assert reason and isinstance(reason, str)
        check_raw_record(landing, source_file, row_number, raw)

    # Refused files are kept whole; the command exits 1 naming them, and only them.
    refused = [name for name, f in expected["files"].items() if f["status"] == "refused"]
    for name in refused:
        kept = data_dir / "refused_files" / sha256(landing / name)[:16] / Path(name).name
        assert kept.read_bytes() == (landing / name).read_bytes(), name
        assert name in err
    assert len([p for p in (data_dir / "refused_files").rglob("*") if p.is_file()]) == len(refused)
    assert code == expected["exit_code"]
    if refused:
        assert code == 1
        for name in set(expected["files"]) - set(refused):
            assert name not in err
    else:
        assert code == 0 and err.strip() == ""

    # Every accepted row is visible once in the warehouse, with its value.
    accepted = Counter()
    for name, f in expected["files"].items():
        accepted[name.split("/")[0]] += f["rows_accepted"]
    assert scalar(data_dir, "SELECT count(*) FROM consumption_values") == accepted["consumption"]
    assert (scalar(data_dir, "SELECT coalesce(sum(period_count), 0) FROM consumption_submissions")
            == accepted["consumption"])
    assert scalar(data_dir, "SELECT count(*) FROM registrations_history") == accepted["registrations"]
    assert scalar(data_dir, "SELECT count(*) FROM registration_updates") == accepted["registration_updates"]
    assert scalar(data_dir, "SELECT count(*) FROM register_reads") == accepted["register_reads"]
    if "consumption_values" in expected:
        got = query(
            data_dir,
            "SELECT mpan_core, measurement_quantity, utc_period_start, kwh, quality_flag, data_service_id, "
            "received_at FROM consumption_values",
        )
        got = sorted([m, q, iso(u), f"{k:.3f}", f, d, iso(r)] for m, q, u, k, f, d, r in got)
        assert got == sorted(expected["consumption_values"])


# ---- the corpus ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES)
def test_corpus_case(case, tmp_path, capsys):
    landing = CORPUS / case
    expected = json.loads((landing / "expected.json").read_text())
    data_dir = tmp_path / "data"
    code, summary, err = run_ingest(capsys, landing, data_dir)
    check_outcome(landing, data_dir, expected, code, summary, err)


def every_reason_code() -> dict[str, set[str]]:
    """Reason codes ingestion can produce, by landing folder (all of them are reachable). Registration updates share
    their registration columns' rules with snapshots (registrations_* cases): their own are those of update_id and
    updated_at, the interval and the update ids."""
    codes = {}
    for name in ingest_module.LANDING_FORMATS:
        dataset = catalogue.dataset(name)
        codes[name] = {rule.reason_code for item in dataset.columns for rule in rules_for(item)}
    codes["registration_updates"] = {rule.reason_code for name in ("update_id", "updated_at")
                                     for rule in rules_for(catalogue.dataset("registration_updates").column(name))}
    codes["registrations"].add("EFFECTIVE_TO_BEFORE_FROM")
    codes["registration_updates"] |= {"EFFECTIVE_TO_BEFORE_FROM", "DUPLICATE_ROW", "UPDATE_ID_REUSED", "UPDATE_REPEATED"}
    codes["register_reads"] |= {"READ_END_BEFORE_START", "READ_LONGER_THAN_A_MONTH", "DUPLICATE_ROW", "CONFLICTING_DUPLICATE"}
    codes["any"] = set(ingest_module.ROW_REASONS) | set(ingest_module.FILE_REASONS)
    return codes


def test_the_installed_mhhs_command_exits_1_naming_the_refused_file(tmp_path):
    """The console script itself (not in process): exit status, stderr and the plain-text summary."""
    landing = CORPUS / "mixed_refused_file_and_row_faults"
    result = subprocess.run(
        [str(BIN_DIR / "mhhs"), "--data-dir", str(tmp_path / "data"), "ingest", str(landing)],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "consumption/consumption_2026-10-26.txt" in result.stderr and "FILE_UNSUPPORTED_TYPE" in result.stderr
    assert "refused_files" in result.stderr  # says where the file is kept
    assert "accepted 5 rows, rejected 2" in result.stdout
    # A clean landing directory exits 0 with nothing on stderr.
    clean = subprocess.run(
        [str(BIN_DIR / "mhhs"), "--data-dir", str(tmp_path / "data2"), "ingest", str(CORPUS / "ok_quoted_fields")],
        capture_output=True, text=True, timeout=120,
    )
    assert (clean.returncode, clean.stderr) == (0, "")


def test_corpus_covers_every_reason_code_and_at_least_25_faults():
    found = {name: set() for name in ingest_module.LANDING_FORMATS}
    faults = set()
    for case in CASES:
        expected = json.loads((CORPUS / case / "expected.json").read_text())
        for q in expected["quarantined"]:
            found[q["source_file"].split("/")[0]].add(q["reason_code"])
            faults.add((case, q["source_file"], q["row_number"]))
    codes = every_reason_code()
    assert codes["consumption"] - found["consumption"] == set(), "consumption rules without a corpus row"
    assert codes["registrations"] - found["registrations"] == set(), "registration rules without a corpus row"
    assert codes["registration_updates"] - found["registration_updates"] == set(), "update rules without a corpus row"
    assert codes["register_reads"] - found["register_reads"] == set(), "register read rules without a corpus row"
    assert codes["any"] - set().union(*found.values()) == set()
    assert len(faults) >= 25
    # The corpus's valid MPAN cores really are valid, and its bad ones really are not.
    assert all(is_valid_mpan_core(m) for m in (MPAN_A, MPAN_B, MPAN_C)) and not is_valid_mpan_core("1234567890123")


def test_corpus_files_are_tiny():
    sizes = {str(p.relative_to(CORPUS)): p.stat().st_size for p in CORPUS.rglob("*") if p.is_file()}
    assert max(sizes.values()) < 4096, sizes


# ---- Parquet (written here with typed columns) -----------------------------------------------------------


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def consumption_parquet(path: Path, rows: list[dict], tz: str | None = "UTC", received_tz: str | None = "UTC",
                        kwh_type=pa.decimal128(10, 3), drop: tuple = ()) -> Path:
    """rows: dicts of text values (kwh as text or None); timestamps are written as Parquet timestamps."""
    def stamps(key, zone):
        values = [utc(r[key]) for r in rows]
        if zone is None:
            values = [v.replace(tzinfo=None) for v in values]
        return pa.array(values, pa.timestamp("us", tz=zone))

    kwh = [None if r["kwh"] is None else (Decimal(r["kwh"]) if pa.types.is_decimal(kwh_type) else r["kwh"]) for r in rows]
    columns = {
        "mpan_core": pa.array([r["mpan_core"] for r in rows], pa.string()),
        "measurement_quantity": pa.array([r["measurement_quantity"] for r in rows], pa.string()),
        "utc_period_start": stamps("utc_period_start", tz),
        "kwh": pa.array(kwh, kwh_type),
        "quality_flag": pa.array([r["quality_flag"] for r in rows], pa.string()),
        "data_service_id": pa.array([r["data_service_id"] for r in rows], pa.string()),
        "received_at": stamps("received_at", received_tz),
        "meter_serial": pa.array(["S95A01234"] * len(rows), pa.string()),  # an extra column, ignored
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({k: v for k, v in columns.items() if k not in drop}), path)
    return path


def p_row(mpan=MPAN_A, mq="AI", utc_start="2026-10-25T00:00:00Z", kwh="0.120", flag="A", ds="SDSA",
          rx="2026-10-26T01:00:00Z"):
    return {"mpan_core": mpan, "measurement_quantity": mq, "utc_period_start": utc_start, "kwh": kwh,
            "quality_flag": flag, "data_service_id": ds, "received_at": rx}


def ingested(rows_in: int, accepted: int) -> dict:
    return {"status": "ingested", "rows_in": rows_in, "rows_accepted": accepted, "rows_quarantined": rows_in - accepted}


def expectation(files: dict, quarantined: list, values: list | None = None, exit_code: int = 0) -> dict:
    expected = {"exit_code": exit_code, "files": files, "quarantined": quarantined,
                "rejections": dict(Counter(q["reason_code"] for q in quarantined))}
    if values is not None:
        expected["consumption_values"] = values
    return expected


def test_parquet_consumption_with_typed_columns_is_accepted(tmp_path, capsys):
    landing = tmp_path / "landing"
    consumption_parquet(landing / "consumption" / "consumption_2026-10-25.parquet", [
        p_row(),
        p_row(utc_start="2026-10-25T00:30:00Z", kwh="0.500", flag="E"),
        p_row(mpan=MPAN_B, utc_start="2026-10-24T23:00:00Z", kwh="12.345", ds="ADSA"),
        p_row(utc_start="2026-10-25T01:00:00Z", kwh=None),  # row 4: no value
        p_row(utc_start="2026-10-25T01:30:00Z", kwh="-0.100"),  # row 5: negative
        p_row(mpan="1234567890123", utc_start="2026-10-25T02:00:00Z"),  # row 6: bad check digit
    ])
    consumption_parquet(landing / "consumption" / "consumption_2026-10-25_text_kwh.parquet", [
        p_row(mpan=MPAN_C, mq="AE", utc_start="2026-10-25T11:00:00Z", kwh="0.75", rx="2026-10-26T02:00:00Z"),
    ], kwh_type=pa.string())
    typed, text = "consumption/consumption_2026-10-25.parquet", "consumption/consumption_2026-10-25_text_kwh.parquet"
    expected = expectation(
        files={typed: ingested(rows_in=6, accepted=3), text: ingested(rows_in=1, accepted=1)},
        quarantined=[
            {"source_file": typed, "row_number": 4, "reason_code": "KWH_MISSING"},
            {"source_file": typed, "row_number": 5, "reason_code": "KWH_BELOW_MIN"},
            {"source_file": typed, "row_number": 6, "reason_code": "MPAN_CORE_CHECK_DIGIT"},
        ],
        values=[
            [MPAN_A, "AI", "2026-10-25T00:00:00+00:00", "0.120", "A", "SDSA", "2026-10-26T01:00:00+00:00"],
            [MPAN_A, "AI", "2026-10-25T00:30:00+00:00", "0.500", "E", "SDSA", "2026-10-26T01:00:00+00:00"],
            [MPAN_B, "AI", "2026-10-24T23:00:00+00:00", "12.345", "A", "ADSA", "2026-10-26T01:00:00+00:00"],
            [MPAN_C, "AE", "2026-10-25T11:00:00+00:00", "0.750", "A", "SDSA", "2026-10-26T02:00:00+00:00"],
        ],
    )
    data_dir = tmp_path / "data"
    code, summary, err = run_ingest(capsys, landing, data_dir)
    check_outcome(landing, data_dir, expected, code, summary, err)
    # 2026-10-24T23:00Z is local midnight of the 25th (BST): period 1 of 2026-10-25.
    assert query(data_dir, "SELECT settlement_date, settlement_period FROM consumption_values WHERE mpan_core = ?",
                 [MPAN_B]) == [(date(2026, 10, 25), 1)]


def test_parquet_timestamps_without_time_zone_are_rejected(tmp_path, capsys):
    landing = tmp_path / "landing"
    naive = "consumption/consumption_2026-10-25_naive.parquet"
    naive_received = "consumption/consumption_2026-10-25_naive_received.parquet"
    consumption_parquet(landing / naive, [p_row(), p_row(utc_start="2026-10-25T00:30:00Z")], tz=None, received_tz=None)
    consumption_parquet(landing / naive_received, [p_row(utc_start="2026-10-25T01:00:00Z")], received_tz=None)
    expected = expectation(
        files={naive: ingested(rows_in=2, accepted=0), naive_received: ingested(rows_in=1, accepted=0)},
        quarantined=[
            {"source_file": naive, "row_number": 1, "reason_code": "UTC_PERIOD_START_WITHOUT_OFFSET"},
            {"source_file": naive, "row_number": 2, "reason_code": "UTC_PERIOD_START_WITHOUT_OFFSET"},
            {"source_file": naive_received, "row_number": 1, "reason_code": "RECEIVED_AT_WITHOUT_OFFSET"},
        ],
        values=[],
    )
    data_dir = tmp_path / "data"
    code, summary, err = run_ingest(capsys, landing, data_dir)
    check_outcome(landing, data_dir, expected, code, summary, err)


def test_parquet_typed_columns_give_the_outcome_of_their_text(tmp_path, capsys):
    """Typed Parquet columns are checked on the text of each distinct value and matched by value: every
    row's outcome is the one the same file gets with every column written as text."""
    rows = [p_row(), p_row(utc_start="2026-10-25T00:30:00Z", kwh="0.5000", flag="E"),
            p_row(utc_start="2026-10-25T01:07:00Z"),  # off the half-hour boundary
            p_row(utc_start="2026-10-25T01:30:00Z", kwh=None), p_row(utc_start="2026-10-25T01:30:00Z", kwh="-0.100"),
            p_row(mpan=MPAN_B, utc_start="2026-10-25T02:00:00Z", kwh="7"), p_row(mpan=MPAN_B, utc_start="2026-10-25T02:00:00Z", kwh="7"),
            p_row(mpan="1234567890123", utc_start="2026-10-25T02:30:00Z"), p_row(mpan=MPAN_C, rx="2026-10-26T02:00:00Z")]
    typed = consumption_parquet(tmp_path / "typed.parquet", rows, kwh_type=pa.decimal128(12, 3))
    typed_columns = pq.read_table(typed)
    typed_columns = typed_columns.set_column(0, "mpan_core", pa.array([int(r["mpan_core"]) for r in rows], pa.int64()))
    starts = typed_columns.column("utc_period_start")
    typed_columns = typed_columns.set_column(2, "utc_period_start", pa.array(starts.to_pylist()[:-1] + [None], starts.type))
    text_columns = duckdb.sql("SELECT COLUMNS(*)::VARCHAR FROM typed_columns").fetch_arrow_table()
    outcomes = []
    for name, columns in [("typed", typed_columns), ("text", text_columns)]:
        landing = tmp_path / name / "landing"
        (landing / "consumption").mkdir(parents=True)
        pq.write_table(columns, landing / "consumption" / "consumption_2026-10-25.parquet")
        data_dir = tmp_path / name / "data"
        code, summary, _ = run_ingest(capsys, landing, data_dir)
        assert code == 0
        outcomes.append((
            summary["rejections"], summary["rows_accepted"],
            query(data_dir, "SELECT row_number, reason_code FROM quarantine ORDER BY row_number"),
            query(data_dir, "SELECT * EXCLUDE (file_sha256, source_file) FROM consumption_values ORDER BY ALL"),
        ))
    assert outcomes[0] == outcomes[1]
    assert outcomes[0][:2] == ({"DUPLICATE_ROW": 1, "KWH_BELOW_MIN": 1, "KWH_MISSING": 1, "MPAN_CORE_CHECK_DIGIT": 1,
                                "UTC_PERIOD_START_MISSING": 1, "UTC_PERIOD_START_NOT_HALF_HOUR": 1}, 3)


def test_parquet_without_a_required_column_is_refused_whole(tmp_path, capsys):
    landing = tmp_path / "landing"
    name = "consumption/consumption_2026-10-25.parquet"
    consumption_parquet(landing / name, [p_row()], drop=("quality_flag",))
    expected = expectation(
        files={name: {"status": "refused", "reason_code": "FILE_MISSING_COLUMNS", "rows_in": 1, "rows_accepted": 0,
                      "rows_quarantined": 1}},
        quarantined=[{"source_file": name, "row_number": None, "reason_code": "FILE_MISSING_COLUMNS"}],
        exit_code=1,
    )
    data_dir = tmp_path / "data"
    code, summary, err = run_ingest(capsys, landing, data_dir)
    check_outcome(landing, data_dir, expected, code, summary, err)


# ---- DIP JSON: the documented examples -------------------------------------------------------------------


def test_dip_documentation_examples_are_accepted_whole(tmp_path, capsys):
    """Every example message in docs/interfaces/examples/ is accepted."""
    examples = sorted(DIP_EXAMPLES.glob("*.json"))
    assert len(examples) >= 2
    landing = tmp_path / "landing"
    (landing / "consumption").mkdir(parents=True)
    periods = 0
    for example in examples:
        shutil.copy(example, landing / "consumption" / example.name)
        messages = dip_messages(example)
        assert all(m["CommonBlock"]["S0"]["schemaVersion"] == "1.0" for m in messages)
        periods += sum(len(m["CustomBlock"]["periods"]) for m in messages)
    layouts = {example.read_text().lstrip()[0] for example in examples}
    assert layouts == {"[", "{"}  # an array, and single message / one message per line

    data_dir = tmp_path / "data"
    code, summary, err = run_ingest(capsys, landing, data_dir)
    assert code == 0 and err.strip() == ""
    assert {f["status"] for f in summary["files"]} == {"ingested"}
    assert summary["rows_rejected"] == 0 and summary["rejections"] == {}
    assert summary["rows_accepted"] == periods
    for f in summary["files"]:
        assert f["rows_in"] == f["rows_accepted"] == len(dip_received(landing / f["source_file"]))
    assert scalar(data_dir, "SELECT count(*) FROM quarantine") == 0
    # Field mapping: every period of every example is in the warehouse with its envelope's values.
    want = sorted(
        (m["CommonBlock"]["M0"]["mpanCore"], m["CustomBlock"]["measurementQuantity"], iso(utc(p["utcPeriodStart"])),
         p["kwh"], p["qualityFlag"], m["CommonBlock"]["S1"]["senderId"], iso(utc(m["CommonBlock"]["S1"]["sentAt"])))
        for example in examples for m in dip_messages(example) for p in m["CustomBlock"]["periods"]
    )
    got = sorted(
        (mp, q, iso(u), f"{k:.3f}", f, d, iso(r))
        for mp, q, u, k, f, d, r in query(
            data_dir,
            "SELECT mpan_core, measurement_quantity, utc_period_start, kwh, quality_flag, data_service_id, received_at "
            "FROM consumption_values",
        )
    )
    assert got == want


# ---- re-ingesting ----------------------------------------------------------------------------------------


def test_reingesting_the_same_landing_directory_changes_nothing(tmp_path, capsys):
    landing = tmp_path / "landing"
    shutil.copytree(CORPUS / "mixed_refused_file_and_row_faults", landing)
    (landing / "expected.json").unlink()
    data_dir = tmp_path / "data"
    code, first, _ = run_ingest(capsys, landing, data_dir)
    assert code == 1 and first["rows_accepted"] == 5 and first["rows_rejected"] == 2
    before = lake_files(data_dir)
    refused_before = {str(p): p.read_bytes() for p in (data_dir / "refused_files").rglob("*") if p.is_file()}
    quarantine_before = sorted(query(data_dir, "SELECT * FROM quarantine"), key=str)

    _, second, _ = run_ingest(capsys, landing, data_dir)
    assert [f["status"] for f in second["files"]] == ["already_ingested"] * len(first["files"])
    assert all(f["rows_in"] == f["rows_accepted"] == f["rows_quarantined"] == 0 for f in second["files"])
    assert (second["rows_accepted"], second["rows_rejected"], second["rejections"]) == (0, 0, {})
    assert lake_files(data_dir) == before
    assert {str(p): p.read_bytes() for p in (data_dir / "refused_files").rglob("*") if p.is_file()} == refused_before
    assert sorted(query(data_dir, "SELECT * FROM quarantine"), key=str) == quarantine_before


# ---- generated samples (pipelines.synthetic.generate and its manifest) ---------------------------------------------


def generated(tmp_path: Path, fault_rates: dict, file_format: str = "csv") -> tuple[Path, dict]:
    landing = tmp_path / "landing"
    generate(out_dir=landing, mpans=50, days=2, start=date(2026, 10, 24), seed=3, file_format=file_format,
             fault_rates=fault_rates)
    return landing, json.loads((landing / MANIFEST_FILE).read_text())


def test_generated_clean_sample_is_accepted_whole(tmp_path, capsys):
    landing, manifest = generated(tmp_path, {"all": 0.0})  # note: fault_rates={} means the DEFAULT rates
    assert set(manifest["fault_counts"].values()) == {0}
    data_dir = tmp_path / "data"
    code, summary, err = run_ingest(capsys, landing, data_dir)
    assert code == 0 and err.strip() == ""
    assert summary["rows_rejected"] == 0 and summary["rejections"] == {}
    assert summary["rows_accepted"] == manifest["consumption_rows"] + manifest["registration_rows"]
    landed = {f["path"]: f["rows"] for f in manifest["files"] if not f["path"].startswith("standing/")}
    assert {f["source_file"]: f["rows_accepted"] for f in summary["files"]} == landed
    # standing/ is left alone
    assert not any(f["source_file"].startswith("standing/") for f in summary["files"])
    # Every MPAN-day is whole: 48 periods on the 24th, 50 on the 25th (clocks go back).
    per_day = query(
        data_dir,
        "SELECT settlement_date, min(n), max(n), count(*) FROM (SELECT mpan_core, measurement_quantity, settlement_date, "
        "count(*) AS n FROM consumption_values GROUP BY ALL) GROUP BY 1 ORDER BY 1",
    )
    assert per_day == [(date(2026, 10, 24), 48, 48, 50), (date(2026, 10, 25), 50, 50, 50)]


# Generator fault -> the reason code ingestion must give each faulted row.
FAULT_CODES = {
    "bad_check_digits": "MPAN_CORE_CHECK_DIGIT",
    "duplicate_submissions": "DUPLICATE_ROW",
    "negative_values": "KWH_BELOW_MIN",
}
MALFORMED_KIND_CODES = {
    "timestamp_without_offset": "UTC_PERIOD_START_WITHOUT_OFFSET",
    "non_numeric_kwh": "KWH_NOT_A_NUMBER",
    "off_boundary_period": "UTC_PERIOD_START_NOT_HALF_HOUR",
    "bad_measurement_quantity": "MEASUREMENT_QUANTITY_NOT_ALLOWED",
    "missing_kwh": "KWH_MISSING",
}
RAISED_RATES = {"bad_check_digits": 0.01, "duplicate_submissions": 0.01, "negative_values": 0.01, "malformed_rows": 0.01}


def expected_rejections(manifest: dict) -> Counter:
    expected = Counter()
    for fault, code in FAULT_CODES.items():
        expected[code] += manifest["faults"][fault]["rows"]
    for kind, count in manifest["malformed_kinds"].items():
        expected[MALFORMED_KIND_CODES[kind]] += count
    assert sum(manifest["malformed_kinds"].values()) == manifest["faults"]["malformed_rows"]["injected"]
    return +expected


@pytest.mark.parametrize("file_format", ["csv", "parquet"])
def test_generated_faults_are_quarantined_as_the_manifest_counts(tmp_path, capsys, file_format):
    landing, manifest = generated(tmp_path, RAISED_RATES, file_format)
    assert all(manifest["faults"][name]["injected"] > 0 for name in RAISED_RATES)
    expected = expected_rejections(manifest)
    data_dir = tmp_path / "data"
    code, summary, err = run_ingest(capsys, landing, data_dir)
    assert code == 0 and err.strip() == ""
    assert summary["rejections"] == dict(expected)
    assert summary["rows_accepted"] + summary["rows_rejected"] == manifest["consumption_rows"] + manifest["registration_rows"]
    assert dict(query(data_dir, "SELECT reason_code, count(*) FROM quarantine GROUP BY 1")) == dict(expected)
    assert scalar(data_dir, "SELECT count(*) FROM consumption_values") == (
        manifest["consumption_rows"] - sum(expected.values())
    )


# ---- the shape of the lake and the warehouse views -------------------------------------------------------


def test_consumption_is_partitioned_by_settlement_date_with_46_and_50_period_days(tmp_path, capsys):
    days = {date(2026, 3, 29): 46, date(2026, 10, 25): 50}
    rows = []
    for day in days:
        for i, start in enumerate(utc_period_starts(day)):
            rows.append(c_row(utc=start.isoformat().replace("+00:00", "Z"), kwh=f"{(i + 1) / 1000:.3f}"))
    landing = tmp_path / "landing"
    source = write_csv(landing / "consumption" / "consumption.csv", C_HEADER, rows)
    data_dir = tmp_path / "data"
    code, summary, _ = run_ingest(capsys, landing, data_dir)
    assert code == 0 and summary["rows_accepted"] == 96 and summary["rows_rejected"] == 0

    file_id = sha256(source)[:16]
    consumption = data_dir / "lake" / "consumption"
    # one part per settlement date, named after the landing file's id
    assert sorted(str(p.relative_to(consumption)) for p in consumption.rglob("*.parquet")) == [
        f"settlement_date=2026-03-29/{file_id}.parquet", f"settlement_date=2026-10-25/{file_id}.parquet"
    ]
    for day, periods in days.items():
        table = pq.read_table(consumption / f"settlement_date={day}" / f"{file_id}.parquet").to_pylist()
        assert [(r["mpan_core"], r["period_count"]) for r in table] == [(MPAN_A, periods)]
        values = query(
            data_dir,
            "SELECT settlement_period, utc_period_start, kwh FROM consumption_values WHERE settlement_date = ? "
            "ORDER BY settlement_period",
            [day],
        )
        assert len(values) == periods
        starts = utc_period_starts(day)
        assert [v[0] for v in values] == list(range(1, periods + 1))
        assert [v[1] for v in values] == starts
        assert [v[2] for v in values] == [Decimal(f"{p / 1000:.3f}") for p in range(1, periods + 1)]


def test_a_resubmission_is_added_beside_the_earlier_one(tmp_path, capsys):
    landing = tmp_path / "landing"
    first = write_csv(landing / "consumption" / "consumption_2026-10-25.csv", C_HEADER, [
        c_row(kwh="0.100", flag="E"), c_row(utc="2026-10-25T00:30:00Z", kwh="0.200"),
    ])
    data_dir = tmp_path / "data"
    assert run_ingest(capsys, landing, data_dir)[0] == 0
    first_lake = lake_files(data_dir, with_log=False)

    write_csv(landing / "consumption" / "consumption_2026-10-25_restated.csv", C_HEADER, [
        c_row(kwh="0.150", flag="A", rx="2026-10-29T01:00:00Z"),
    ])
    code, summary, _ = run_ingest(capsys, landing, data_dir)
    assert code == 0
    assert [(f["source_file"], f["status"]) for f in summary["files"]] == [
        ("consumption/consumption_2026-10-25.csv", "already_ingested"),
        ("consumption/consumption_2026-10-25_restated.csv", "ingested"),
    ]
    submissions = query(
        data_dir,
        "SELECT received_at, period_count, kwh_03, CASE WHEN (estimated_mask >> 3) & 1 = 1 THEN 'E' ELSE 'A' END, "
        "source_file FROM consumption_submissions "
        "WHERE mpan_core = ? ORDER BY received_at",
        [MPAN_A],
    )
    assert submissions == [
        (utc("2026-10-26T01:00:00Z"), 2, Decimal("0.100"), "E", "consumption/consumption_2026-10-25.csv"),
        (utc("2026-10-29T01:00:00Z"), 1, Decimal("0.150"), "A", "consumption/consumption_2026-10-25_restated.csv"),
    ]
    assert query(
        data_dir,
        "SELECT kwh, received_at FROM consumption_values WHERE utc_period_start = ? ORDER BY received_at",
        [utc("2026-10-25T00:00:00Z")],
    ) == [(Decimal("0.100"), utc("2026-10-26T01:00:00Z")), (Decimal("0.150"), utc("2026-10-29T01:00:00Z"))]
    # The earlier file's lake Parquet is untouched.
    for name, data in first_lake.items():
        if sha256(first)[:16] in name:
            assert (data_dir / "lake" / name).read_bytes() == data


def test_registrations_current_keeps_only_the_newest_snapshot_holding_each_mpan(tmp_path, capsys):
    landing = tmp_path / "landing"
    write_csv(landing / "registrations" / "registrations_2026-10-23.csv", R_HEADER, [
        r_row(mpan=MPAN_A),
        r_row(mpan=MPAN_A, mq="AE", gsp="_C", ac="500"),
        r_row(mpan=MPAN_B, sup="BRVO"),
    ])
    write_csv(landing / "registrations" / "registrations_2026-10-26.csv", R_HEADER, [
        r_row(snap="2026-10-26", mpan=MPAN_A, to="2026-10-24"),
        r_row(snap="2026-10-26", mpan=MPAN_A, frm="2026-10-25", sup="CHRL"),
    ])
    data_dir = tmp_path / "data"
    code, summary, _ = run_ingest(capsys, landing, data_dir)
    assert code == 0 and summary["rows_accepted"] == 5
    assert scalar(data_dir, "SELECT count(*) FROM registrations_history") == 5
    current = query(
        data_dir,
        "SELECT mpan_core, measurement_quantity, snapshot_date, effective_from_date, effective_to_date, supplier_id "
        "FROM registrations_current ORDER BY ALL",
    )
    assert current == [
        (MPAN_A, "AI", date(2026, 10, 26), date(2026, 1, 1), date(2026, 10, 24), "ALFA"),
        (MPAN_A, "AI", date(2026, 10, 26), date(2026, 10, 25), None, "CHRL"),
        (MPAN_B, "AI", date(2026, 10, 23), date(2026, 1, 1), None, "BRVO"),
    ]


def test_a_crash_mid_ingest_leaves_nothing_visible_and_a_rerun_completes(tmp_path, capsys):
    landing = tmp_path / "landing"
    shutil.copytree(CORPUS / "mixed_refused_file_and_row_faults", landing)
    (landing / "expected.json").unlink()
    victim = "consumption/consumption_2026-10-25.csv"
    file_id = sha256(landing / victim)[:16]
    data_dir = tmp_path / "data"
    run_ingest(capsys, landing, data_dir)
    assert scalar(data_dir, "SELECT count(*) FROM consumption_values WHERE source_file = ?", [victim]) == 2

    # The crash: the file's data and quarantine Parquet are in place, its log entry (the commit) is not,
    # and a half-written staging folder is left behind.
    lake = Lake(data_dir)
    lake.log_entry(file_id).unlink()
    junk = lake.staging / "0123456789abcdef"
    junk.mkdir(parents=True)
    (junk / "accepted_00000.parquet").write_bytes(b"half written")
    assert (lake.consumption / "settlement_date=2026-10-25" / f"{file_id}.parquet").exists()
    assert (lake.quarantine / f"{file_id}.parquet").exists()
    refresh_views(lake)
    for view in ("consumption_submissions", "consumption_values", "quarantine"):
        assert scalar(data_dir, f"SELECT count(*) FROM {view} WHERE source_file = ?", [victim]) == 0, view
    assert scalar(data_dir, "SELECT count(*) FROM registrations_history") == 3  # other files stay visible
    assert scalar(data_dir, "SELECT count(*) FROM quarantine") == 1  # the refused .txt

    code, summary, _ = run_ingest(capsys, landing, data_dir)
    assert code == 0  # the refused .txt is already ingested
    assert {f["source_file"]: f["status"] for f in summary["files"]} == {
        "registrations/registrations_2026-10-23.csv": "already_ingested",
        victim: "ingested",
        "consumption/consumption_2026-10-26.txt": "already_ingested",
    }
    assert not junk.exists()

    clean = tmp_path / "clean"
    run_ingest(capsys, landing, clean)
    assert lake_files(data_dir, with_log=False) == lake_files(clean, with_log=False)
    assert log_entries(data_dir) == log_entries(clean)
    for view in ("consumption_values", "quarantine", "registrations_current"):
        assert sorted(query(data_dir, f"SELECT * FROM {view}"), key=str) == sorted(query(clean, f"SELECT * FROM {view}"), key=str)


# ---- defects found in pipelines/ingest/: these fail until it is fixed ----------------------------------


def test_regression_a_readable_parquet_file_is_ingested(tmp_path, capsys):
    """BUG: _parquet_text_rows runs CREATE TEMP VIEW ... read_parquet(?) with a prepared parameter; DuckDB
    refuses ("Binder Error: Unexpected prepared parameter. This type of statement can't be prepared!"), so
    every Parquet file that has the required columns ends in a traceback (and aborts the rest of the run)."""
    landing = tmp_path / "landing"
    consumption_parquet(landing / "consumption" / "consumption_2026-10-25.parquet", [p_row()])
    code, summary, _ = run_ingest(capsys, landing, tmp_path / "data")
    assert (code, summary["files"][0]["status"], summary["rows_accepted"]) == (0, "ingested", 1)


def test_regression_a_dip_json_file_that_parses_is_ingested(tmp_path, capsys):
    """BUG: _reason_sql puts ROW_REASONS["MESSAGE_UNSUPPORTED_VERSION"] ("the DIP message's schema version
    ...") into a SQL string literal without doubling the apostrophe, so the quarantine COPY of every JSON
    file that parses fails with "Parser Error: unterminated string literal" (a traceback)."""
    landing = tmp_path / "landing"
    (landing / "consumption").mkdir(parents=True)
    shutil.copy(DIP_EXAMPLES / "dip_single_message.json", landing / "consumption" / "dip.json")
    code, summary, _ = run_ingest(capsys, landing, tmp_path / "data")
    assert (code, summary["files"][0]["status"], summary["rows_accepted"]) == (0, "ingested", 4)


def test_regression_ingestion_log_view_is_readable_after_ingested_and_refused_files(tmp_path, capsys):
    """BUG: a log entry of an ingested file has reason_code / reason typed NULL (pyarrow infers pa.null() from
    None), a refused file's are VARCHAR; read_parquet takes the schema of the first file, so the
    ingestion_log view fails ("failed to cast column reason_code from VARCHAR to NULL") whenever an ingested
    file's id sorts before a refused file's."""
    landing = tmp_path / "landing"
    good = write_csv(landing / "consumption" / "consumption_2026-10-25.csv", C_HEADER, [c_row()])
    bad = landing / "consumption" / "notes.txt"
    bad.write_text("x\n")
    assert sha256(good) < sha256(bad)  # the ingested file's log entry is read first
    data_dir = tmp_path / "data"
    assert run_ingest(capsys, landing, data_dir)[0] == 1
    rows = query(data_dir, "SELECT source_file, status, reason_code FROM ingestion_log ORDER BY source_file")
    assert rows == [("consumption/consumption_2026-10-25.csv", "ingested", None),
                    ("consumption/notes.txt", "refused", "FILE_UNSUPPORTED_TYPE")]


def test_regression_csv_with_carriage_return_line_endings_does_not_crash(tmp_path, capsys):
    """BUG: a CSV with old-Mac CR-only line endings is one "line"; _header's csv.reader raises csv.Error
    ("new-line character seen in unquoted field"), which escapes as a traceback and leaves the file
    unlogged. Expected: refused whole as FILE_NOT_CSV (or read with CR as the line separator)."""
    landing = tmp_path / "landing"
    path = landing / "consumption" / "consumption_2026-10-25.csv"
    path.parent.mkdir(parents=True)
    path.write_bytes((C_HEADER + "\r" + c_row() + "\r").encode())
    data_dir = tmp_path / "data"
    code, summary, err = run_ingest(capsys, landing, data_dir)
    (result,) = summary["files"]
    assert (result["status"], result["reason_code"], code) in {("refused", "FILE_NOT_CSV", 1), ("ingested", None, 0)}
    if result["status"] == "ingested":
        assert result["rows_accepted"] == 1


def test_regression_quoted_row_starting_with_an_empty_field_is_not_malformed(tmp_path, capsys):
    """BUG: _csv_text_rows splits quoted lines with regexp_extract_all('(?:^|,)("..."|[^,"]*)'); after the
    empty match of an empty FIRST field the regex engine skips one character, the comma, so the next field
    is lost and a valid row is refused as MALFORMED_ROW (here: an extra first column left empty, and a quoted
    value further on)."""
    landing = tmp_path / "landing"
    write_csv(landing / "consumption" / "consumption_2026-10-25.csv", "note," + C_HEADER, [
        ',1200012345679,AI,"2026-10-25T00:30:00Z",0.123,A,SDSA,2026-10-26T01:00:00Z',
    ])
    data_dir = tmp_path / "data"
    code, summary, _ = run_ingest(capsys, landing, data_dir)
    assert summary["rejections"] == {}
    assert query(data_dir, "SELECT kwh FROM consumption_values") == [(Decimal("0.123"),)]


def test_regression_a_number_too_large_for_the_lake_is_not_accepted_as_empty(tmp_path, capsys):
    """BUG: kwh and annual_consumption_kwh pass every rule (no maximum) but are stored as DECIMAL(18,3) with
    TRY_CAST, so a value of 10^15 or more becomes NULL: the row counts as accepted, yet its value is gone
    (consumption_values drops it; registrations get an empty annual consumption). Such a row must be
    quarantined (e.g. *_ABOVE_MAX) or stored whole."""
    landing = tmp_path / "landing"
    write_csv(landing / "consumption" / "consumption_2026-10-25.csv", C_HEADER, [c_row(kwh="1000000000000000")])
    write_csv(landing / "registrations" / "registrations_2026-10-23.csv", R_HEADER, [r_row(ac="1000000000000000")])
    data_dir = tmp_path / "data"
    _, summary, _ = run_ingest(capsys, landing, data_dir)
    stored_kwh = scalar(data_dir, "SELECT count(*) FROM consumption_values")
    stored_ac = scalar(data_dir, "SELECT count(*) FROM registrations_history WHERE annual_consumption_kwh IS NOT NULL")
    for f in summary["files"]:
        stored = stored_kwh if f["dataset"] == "consumption" else stored_ac
        assert f["rows_accepted"] == stored, f"{f['source_file']}: accepted {f['rows_accepted']}, value stored for {stored}"


def test_regression_an_offset_out_of_range_is_a_bad_offset(tmp_path, capsys):
    """BUG: DuckDB reads "+99:99" (99 hours 99 minutes) as an offset, so received_at 2026-10-26T01:00:00+99:99
    is accepted as 2026-10-21T20:21Z, and that instant then decides which submission is the latest. An
    ISO-8601 offset has minutes 00-59 (and real ones lie within -12:00..+14:00): RECEIVED_AT_BAD_OFFSET."""
    landing = tmp_path / "landing"
    write_csv(landing / "consumption" / "consumption_2026-10-25.csv", C_HEADER, [
        c_row(rx="2026-10-26T01:00:00+99:99"), c_row(utc="2026-10-25T00:30:00Z", rx="2026-10-26T01:00:00+01:60"),
    ])
    data_dir = tmp_path / "data"
    _, summary, _ = run_ingest(capsys, landing, data_dir)
    assert summary["rejections"] == {"RECEIVED_AT_BAD_OFFSET": 2}


def test_regression_a_zero_byte_json_file_is_refused(tmp_path, capsys):
    """BUG: an empty .json file reads as zero messages (_dip_messages falls through to "one message per line"
    with no lines) and would be logged as ingested with 0 rows, while an empty CSV is FILE_EMPTY. (Today it
    also crashes, see the DIP quoting bug.) Expected: refused whole, FILE_EMPTY or FILE_NOT_JSON."""
    landing = tmp_path / "landing"
    (landing / "consumption").mkdir(parents=True)
    (landing / "consumption" / "dip_2026-10-25.json").write_bytes(b"")
    data_dir = tmp_path / "data"
    code, summary, err = run_ingest(capsys, landing, data_dir)
    (result,) = summary["files"]
    assert result["status"] == "refused" and result["reason_code"] in {"FILE_EMPTY", "FILE_NOT_JSON"}
    assert code == 1 and "consumption/dip_2026-10-25.json" in err


def test_regression_dip_raw_record_keeps_a_period_that_is_not_an_object(tmp_path, capsys):
    """BUG (minor): _json_text_rows replaces a period that is not a JSON object by {} before writing
    raw_record, so the quarantine loses what was received (here the number 42). Such a period breaks the
    message JSON Schema."""
    landing = tmp_path / "landing"
    (landing / "consumption").mkdir(parents=True)
    message = json.loads((DIP_EXAMPLES / "dip_single_message.json").read_text())
    message["CustomBlock"]["periods"] = [42]
    (landing / "consumption" / "dip.json").write_text(json.dumps(message))
    data_dir = tmp_path / "data"
    _, summary, _ = run_ingest(capsys, landing, data_dir)
    assert summary["rejections"] == {"MESSAGE_SCHEMA_INVALID": 1}
    (raw,) = query(data_dir, "SELECT raw_record FROM quarantine")[0]
    assert 42 in list(nested_values(json.loads(raw)))


# ---- hashing beside the work, and memory (pipelines.core.resources) ------------------------------------------


def test_a_file_ingested_before_sizes_were_recorded_is_still_found_already_ingested(tmp_path, capsys):
    """A lake without size records (an older lake) hashes beside the work: the file is still recognised by
    its SHA-256 before anything is moved into place, so the lake does not change."""
    landing, _ = generated(tmp_path, {})
    data_dir = tmp_path / "data"
    run_ingest(capsys, landing, data_dir)
    before = lake_files(data_dir)
    shutil.rmtree(Lake(data_dir).ingested_sizes)
    code, second, _ = run_ingest(capsys, landing, data_dir)
    assert code == 0 and {f["status"] for f in second["files"]} == {"already_ingested"}
    assert lake_files(data_dir) == before
    assert not (Lake(data_dir).staging).exists() or not any(Lake(data_dir).staging.iterdir())


def test_a_memory_limit_below_the_days_footprint_spills_and_lands_the_same_lake(tmp_path, capsys, monkeypatch):
    landing = tmp_path / "landing"
    generate(out_dir=landing, mpans=20000, days=1, start=date(2026, 10, 24), seed=5, fault_rates=RAISED_RATES)
    code, roomy, _ = run_ingest(capsys, landing, tmp_path / "roomy")
    # about 1 million rows (66 MB of CSV) take about 380 MB without a limit
    monkeypatch.setenv("MHHS_MEMORY_LIMIT", "128MB")
    code_tight, tight, _ = run_ingest(capsys, landing, tmp_path / "tight")
    assert code == code_tight == 0
    assert tight["files"] == roomy["files"]
    assert lake_files(tmp_path / "tight", with_log=False) == lake_files(tmp_path / "roomy", with_log=False)


def test_a_memory_limit_too_small_to_work_in_says_so(tmp_path, capsys, monkeypatch):
    landing, _ = generated(tmp_path, {"all": 0.0})
    monkeypatch.setenv("MHHS_MEMORY_LIMIT", "1MB")
    capsys.readouterr()
    code = cli.main(["--data-dir", str(tmp_path / "data"), "ingest", str(landing)])
    err = capsys.readouterr().err
    assert code == ExitCode.OUT_OF_MEMORY and "Traceback" not in err
    assert "ran out of memory within MHHS_MEMORY_LIMIT=1MB" in err and "Raise MHHS_MEMORY_LIMIT" in err
    assert not Lake(tmp_path / "data").has_files("ingestion_log")


def test_an_unreadable_memory_limit_is_refused_with_its_form(tmp_path, capsys, monkeypatch):
    landing, _ = generated(tmp_path, {"all": 0.0})
    monkeypatch.setenv("MHHS_MEMORY_LIMIT", "lots")
    capsys.readouterr()
    code = cli.main(["--data-dir", str(tmp_path / "data"), "ingest", str(landing)])
    out, err = capsys.readouterr()
    assert code != 0 and "Traceback" not in err
    assert "MHHS_MEMORY_LIMIT must be a size such as 12GB" in err and "'lots'" in err


# ---- a day too large to gather within the memory limit: several passes ---------------------------------


def in_passes(monkeypatch, limit: str, bytes_per_row: int) -> None:
    """Ingest under MHHS_MEMORY_LIMIT=limit as if a gathered row took bytes_per_row (the sizing that makes
    a national day take several passes, made to bite on a small file)."""
    monkeypatch.setenv("MHHS_MEMORY_LIMIT", limit)
    monkeypatch.setattr(ingest_passes, "GATHER_BYTES_PER_ROW", bytes_per_row)


def lake_rows(data_dir: Path) -> dict[str, Counter]:
    """Every consumption submission, quarantined record and log entry of the lake, whichever file holds it."""
    root = Path(data_dir) / "lake"
    con = duckdb.connect()
    rows = {}
    for name, glob in [("consumption", "consumption/*/*.parquet"), ("quarantine", "quarantine/*.parquet")]:
        rows[name] = Counter(con.execute(f"SELECT * FROM read_parquet('{root / glob}')").fetchall())
    rows["log"] = Counter(con.execute(
        f"SELECT * EXCLUDE (ingested_at) FROM read_parquet('{root / 'ingestion_log' / '*.parquet'}')").fetchall())
    return rows


@pytest.mark.parametrize("file_format", ["csv", "parquet"])
def test_a_day_gathered_in_several_passes_lands_the_same_rows_as_in_one(tmp_path, capsys, monkeypatch, file_format):
    landing = tmp_path / "landing"
    generate(out_dir=landing, mpans=2000, days=1, start=date(2026, 10, 24), seed=5, file_format=file_format,
             fault_rates=RAISED_RATES)
    code, whole, _ = run_ingest(capsys, landing, tmp_path / "whole")
    # about 100,000 rows in the day's file: four passes of 122 MiB at 5 KB a row
    in_passes(monkeypatch, "128MB", 5116)
    code_passes, passes, _ = run_ingest(capsys, landing, tmp_path / "passes")
    assert code == code_passes == 0
    assert passes["files"] == whole["files"] and passes["rejections"] == whole["rejections"]
    assert whole["rejections"]["DUPLICATE_ROW"] > 0 and whole["rejections"]["MPAN_CORE_CHECK_DIGIT"] > 0
    assert lake_rows(tmp_path / "passes") == lake_rows(tmp_path / "whole")
    main_file_parts = sorted(p.name for p in (tmp_path / "passes" / "lake" / "consumption").glob("*/*_[0-9].parquet"))
    assert len(main_file_parts) >= 4


MULTI_PASS_CASES = [c for c in CASES if c.startswith(("consumption_", "dip_", "mixed_", "ok_"))]


@pytest.mark.parametrize("case", MULTI_PASS_CASES)
def test_corpus_case_gathered_in_many_passes_has_the_same_outcome(case, tmp_path, capsys, monkeypatch):
    """About one pass for every two rows: each repeat and each submission must still meet its other rows."""
    in_passes(monkeypatch, "1GB", 2**29)
    test_corpus_case(case, tmp_path, capsys)


def test_an_mpan_written_with_blanks_meets_its_repeat_in_the_same_pass(tmp_path, capsys, monkeypatch):
    mpans = [str(n) for n in mpan_cores(np.arange(120001234560, 120001234572))]
    rows = [c_row(mpan=m) for m in mpans] + [c_row(mpan=f" {mpans[1]}"), c_row(mpan=f"{mpans[4]} ")]
    landing = tmp_path / "landing"
    write_csv(landing / "consumption" / "c.csv", C_HEADER, rows)
    in_passes(monkeypatch, "1GB", 2**29)
    code, summary, _ = run_ingest(capsys, landing, tmp_path / "data")
    assert code == 0 and summary["rejections"] == {"DUPLICATE_ROW": 2}
    assert sorted(query(tmp_path / "data", "SELECT row_number FROM quarantine")) == [(13,), (14,)]


@pytest.mark.parametrize("many_passes", [False, True])
def test_a_submission_keeps_its_other_periods_and_flags_when_its_repeats_are_dropped(many_passes, tmp_path, capsys, monkeypatch):
    """Only the repeated periods of a submission are read again; the submission keeps the rest, and its
    estimated flags follow the rows kept (a period whose copies disagree on the flag is dropped whole)."""
    rows = [
        c_row(utc="2026-10-25T00:00:00Z", kwh="0.100", flag="E"),
        c_row(utc="2026-10-25T00:30:00Z", kwh="0.200", flag="A"),
        c_row(utc="2026-10-25T00:00:00Z", kwh="0.100", flag="E"),
        c_row(utc="2026-10-25T00:30:00Z", kwh="0.200", flag="E"),
        c_row(utc="2026-10-25T01:00:00Z", kwh="0.300", flag="A"),
        c_row(utc="2026-10-25T01:30:00Z", kwh="0.400", flag="E"),
    ]
    landing = tmp_path / "landing"
    write_csv(landing / "consumption" / "c.csv", C_HEADER, rows)
    if many_passes:
        in_passes(monkeypatch, "1GB", 2**29)
    code, summary, _ = run_ingest(capsys, landing, tmp_path / "data")
    assert code == 0 and summary["rejections"] == {"DUPLICATE_ROW": 1, "CONFLICTING_DUPLICATE": 2}
    assert sorted(query(tmp_path / "data", "SELECT row_number, reason_code FROM quarantine")) == [
        (2, "CONFLICTING_DUPLICATE"), (3, "DUPLICATE_ROW"), (4, "CONFLICTING_DUPLICATE")]
    values = query(tmp_path / "data", "SELECT utc_period_start, kwh, quality_flag FROM consumption_values ORDER BY 1")
    assert [(iso(u), f"{k:.3f}", f) for u, k, f in values] == [
        ("2026-10-25T00:00:00+00:00", "0.100", "E"), ("2026-10-25T01:00:00+00:00", "0.300", "A"),
        ("2026-10-25T01:30:00+00:00", "0.400", "E")]
    # settlement periods 3, 5 and 6 of the day are kept (it began at 23:00 UTC), and 3 and 6 are estimated
    assert query(tmp_path / "data", "SELECT period_count, estimated_mask FROM consumption_submissions") == [(3, 2**3 | 2**6)]


# ---- two data services: duplicates are judged within one data service only ----------------------------------


@pytest.mark.parametrize("many_passes", [False, True])
def test_two_data_services_with_the_same_period_and_received_at_are_both_accepted(many_passes, tmp_path, capsys, monkeypatch):
    """Ingestion does not know appointments: values of two data services for the same MPAN, quantity, period
    and received_at never conflict, whether they differ or agree. Both land, each in its own submission;
    settlement refuses the one not appointed (DATA_SERVICE_NOT_APPOINTED) and keeps the appointed one's."""
    rows = [
        c_row(utc="2026-10-25T00:00:00Z", kwh="0.100", flag="A", ds="SDSA"),
        c_row(utc="2026-10-25T00:30:00Z", kwh="0.200", flag="A", ds="SDSA"),
        c_row(utc="2026-10-25T00:00:00Z", kwh="0.150", flag="E", ds="SDSB"),  # same key but the service, other value
        c_row(utc="2026-10-25T00:30:00Z", kwh="0.200", flag="A", ds="SDSB"),  # same key but the service, same value
        c_row(utc="2026-10-25T01:00:00Z", kwh="0.300", flag="A", ds="SDSA"),
    ]
    landing = tmp_path / "landing"
    write_csv(landing / "consumption" / "c.csv", C_HEADER, rows)
    if many_passes:
        in_passes(monkeypatch, "1GB", 2**29)
    code, summary, _ = run_ingest(capsys, landing, tmp_path / "data")
    assert code == 0 and summary["rows_accepted"] == 5 and summary["rows_rejected"] == 0 and summary["rejections"] == {}
    assert query(tmp_path / "data", "SELECT count(*) FROM quarantine") == [(0,)]
    values = query(tmp_path / "data", "SELECT data_service_id, utc_period_start, kwh, quality_flag, received_at "
                                      "FROM consumption_values ORDER BY 1, 2")
    assert [(d, iso(u), f"{k:.3f}", f, iso(r)) for d, u, k, f, r in values] == [
        ("SDSA", "2026-10-25T00:00:00+00:00", "0.100", "A", "2026-10-26T01:00:00+00:00"),
        ("SDSA", "2026-10-25T00:30:00+00:00", "0.200", "A", "2026-10-26T01:00:00+00:00"),
        ("SDSA", "2026-10-25T01:00:00+00:00", "0.300", "A", "2026-10-26T01:00:00+00:00"),
        ("SDSB", "2026-10-25T00:00:00+00:00", "0.150", "E", "2026-10-26T01:00:00+00:00"),
        ("SDSB", "2026-10-25T00:30:00+00:00", "0.200", "A", "2026-10-26T01:00:00+00:00"),
    ]
    # the lake holds one row per MPAN-day submission: one per data service
    assert query(tmp_path / "data", "SELECT data_service_id, period_count, estimated_mask FROM consumption_submissions "
                                    "ORDER BY 1") == [("SDSA", 3, 0), ("SDSB", 2, 2**3)]


@pytest.mark.parametrize("many_passes", [False, True])
def test_within_one_data_service_repeats_and_conflicts_are_refused_as_before(many_passes, tmp_path, capsys, monkeypatch):
    """Beside another data service holding the same MPAN, quantity, period and received_at, each service's
    own repeats are DUPLICATE_ROW after the first copy and its own differing values CONFLICTING_DUPLICATE on
    every copy, as with one service; the other service's rows are neither refused nor taken as copies (a
    submission written two ways, here with a padded MPAN, is still one submission)."""
    rows = [
        c_row(utc="2026-10-25T00:00:00Z", kwh="0.100", ds="SDSA"),  # 1
        c_row(utc="2026-10-25T00:00:00Z", kwh="0.900", ds="SDSB"),  # 2
        c_row(utc="2026-10-25T00:00:00Z", kwh="0.100", ds="SDSA"),  # 3 repeats 1
        c_row(utc="2026-10-25T00:30:00Z", kwh="0.200", ds="SDSA"),  # 4 conflicts with 5
        c_row(utc="2026-10-25T00:30:00Z", kwh="0.250", ds="SDSA"),  # 5 conflicts with 4
        c_row(utc="2026-10-25T00:30:00Z", kwh="0.700", ds="SDSB"),  # 6
        c_row(utc="2026-10-25T00:30:00Z", kwh="0.700", ds="SDSB"),  # 7 repeats 6
        c_row(utc="2026-10-25T01:00:00Z", kwh="0.500", flag="A", ds="SDSB"),  # 8 conflicts with 9 (the flag)
        c_row(utc="2026-10-25T01:00:00Z", kwh="0.500", flag="E", ds="SDSB"),  # 9 conflicts with 8
        c_row(mpan=f" {MPAN_A}", utc="2026-10-25T01:30:00Z", kwh="0.400", ds="SDSB"),  # 10
        c_row(utc="2026-10-25T01:30:00Z", kwh="0.400", ds="SDSB"),  # 11 repeats 10, written another way
        c_row(utc="2026-10-25T01:30:00Z", kwh="0.450", ds="SDSA"),  # 12
    ]
    landing = tmp_path / "landing"
    write_csv(landing / "consumption" / "c.csv", C_HEADER, rows)
    if many_passes:
        in_passes(monkeypatch, "1GB", 2**29)
    code, summary, _ = run_ingest(capsys, landing, tmp_path / "data")
    assert code == 0 and summary["rejections"] == {"DUPLICATE_ROW": 3, "CONFLICTING_DUPLICATE": 4}
    assert sorted(query(tmp_path / "data", "SELECT row_number, reason_code FROM quarantine")) == [
        (3, "DUPLICATE_ROW"), (4, "CONFLICTING_DUPLICATE"), (5, "CONFLICTING_DUPLICATE"), (7, "DUPLICATE_ROW"),
        (8, "CONFLICTING_DUPLICATE"), (9, "CONFLICTING_DUPLICATE"), (11, "DUPLICATE_ROW")]
    values = query(tmp_path / "data", "SELECT data_service_id, utc_period_start, kwh FROM consumption_values ORDER BY 1, 2")
    assert [(d, iso(u), f"{k:.3f}") for d, u, k in values] == [
        ("SDSA", "2026-10-25T00:00:00+00:00", "0.100"), ("SDSA", "2026-10-25T01:30:00+00:00", "0.450"),
        ("SDSB", "2026-10-25T00:00:00+00:00", "0.900"), ("SDSB", "2026-10-25T00:30:00+00:00", "0.700"),
        ("SDSB", "2026-10-25T01:30:00+00:00", "0.400")]
    assert query(tmp_path / "data", "SELECT data_service_id, period_count FROM consumption_submissions ORDER BY 1") == [
        ("SDSA", 2), ("SDSB", 3)]


@pytest.mark.parametrize("blank_line", ["", "   "], ids=["empty line: plain text, bare lines", "spaces: lines with their kind"])
def test_blank_lines_are_no_rows_but_count_in_row_numbers_whichever_way_the_file_is_landed(blank_line, tmp_path, capsys):
    """A file without a double quote or a space is landed as bare lines, any other with each line's kind;
    either way a blank line is no row, and the rows after it are numbered by their line."""
    rows = [c_row(), blank_line, c_row(utc="2026-10-25T00:30:00Z", kwh="abc"), blank_line, c_row(utc="2026-10-25T01:00:00Z")]
    path = write_csv(tmp_path / "landing" / "consumption" / "c.csv", C_HEADER, rows)
    assert ingest_module.content_of(path).plain_text == (blank_line == "")
    code, summary, _ = run_ingest(capsys, tmp_path / "landing", tmp_path / "data")
    assert code == 0 and summary["files"][0]["rows_in"] == 3 and summary["rejections"] == {"KWH_NOT_A_NUMBER": 1}
    assert query(tmp_path / "data", "SELECT row_number FROM quarantine") == [(3,)]
    assert query(tmp_path / "data", "SELECT count(*) FROM consumption_values") == [(2,)]
