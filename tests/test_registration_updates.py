"""Registration updates (CONTRACT.md v2, "Registration updates"): ingested by the real `mhhs ingest`, applied by
the real dbt models (stg_lake__registration_updates, int_registrations_current,
int_registrations_in_force_everywhere) on the lake it wrote, and by the warehouse view registrations_current,
which shares their SQL (pipelines/reference/registration_history.py).

Every expected history below is worked out by hand in the test's docstring. The snapshot holding an MPAN is
taken to hold every change of its own day: an update applies after it only when the UTC date of its updated_at is
after the snapshot's date (docs/interfaces/registration_updates.md).
"""

import json
import os
import subprocess
from datetime import date
from pathlib import Path

import duckdb
import pytest

from pipelines import catalogue
from pipelines import cli
from pipelines.reference.lake import Lake
from pipelines.settle.partition import write_run_inputs
from tests.conftest import BIN_DIR, PROJECT_ROOT

pytestmark = pytest.mark.integration

DBT_PROJECT = PROJECT_ROOT / "dbt_project"
MPAN_A, MPAN_B, MPAN_C = "1200012345679", "2000012345672", "1400012345678"
R_HEADER = ",".join(catalogue.dataset_columns("registrations"))
U_HEADER = ",".join(catalogue.dataset_columns("registration_updates"))
REGISTRATION_MODELS = ["stg_lake__registrations", "stg_lake__registration_updates", "int_registrations_current",
                       "int_registrations_in_force_everywhere"]


# ---- helpers shared with tests/test_register_reads.py ----------------------------------------------------------


def write_csv(path: Path, header: str, rows: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def ingest(capsys, landing: Path, data_dir: Path) -> dict:
    """The real command line, in process: its --json summary (exit status 0 required)."""
    capsys.readouterr()
    code = cli.main(["--data-dir", str(data_dir), "ingest", str(landing), "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


def warehouse_query(data_dir: Path, sql: str) -> list[tuple]:
    """A query of the analysts' warehouse (the lake views) that `mhhs ingest` refreshed."""
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True,
                        config={"file_search_path": str(data_dir.resolve())}) as con:
        return con.execute(sql).fetchall()


def dbt_models(data_dir: Path, settlement_date: str, models: list[str], work: Path) -> Path:
    """The real dbt models built, as a settlement run of `settlement_date` builds them, in a DuckDB file of their
    own over the lake of `data_dir`: its schema settlement_run holds the run's parameters and every landing file
    committed so far (the run's landing_files). Returns the DuckDB file."""
    work.mkdir(parents=True, exist_ok=True)
    database = work / f"run_{settlement_date}.duckdb"
    database.unlink(missing_ok=True)
    parameters = {"settlement_date": settlement_date, "run_id": f"SF-{settlement_date}-v1", "run_type": "SF",
                  "run_started_at": "2027-01-01T00:00:00Z", "gsp_group_ids": None, "checks_unregistered": True}
    with duckdb.connect(str(database)) as con:
        write_run_inputs(con, parameters, Lake(data_dir).glob("ingestion_log"))
    env = {**os.environ, "MHHS_WAREHOUSE": str(database), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    built = subprocess.run(
        [str(BIN_DIR / "dbt"), "run", "--select", *models, "--vars", json.dumps({"lake_dir": str(Lake(data_dir).root)}),
         "--profiles-dir", ".", "--target-path", str(work / "target"), "--log-path", str(work / "logs")],
        cwd=DBT_PROJECT, env=env, capture_output=True, text=True,
    )
    assert built.returncode == 0, built.stdout[-3000:]
    return database


def query(database: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(database), read_only=True) as con:
        return con.execute(sql).fetchall()


# ---- the landing files ----------------------------------------------------------------------------------------


def snapshot_row(snap: str, mpan: str, frm: str = "2020-01-01", to: str = "", sup: str = "ALFA", mq: str = "AI") -> str:
    return ",".join([snap, mpan, mq, frm, to, sup, "SDSA", "_C", "A01", "S", "E", "Y", "HH", "3100.000", ""])


def update_row(update_id: str, at: str, mpan: str, frm: str, to: str = "", sup: str = "BRVO", mq: str = "AI") -> str:
    values = dict(zip(catalogue.dataset_columns("registration_updates"),
                      [update_id, at, mpan, mq, frm, to, sup, "SDSA", "_C", "A01", "S", "E", "Y", "HH", "3100.000", ""]))
    return ",".join(values[c] for c in catalogue.dataset_columns("registration_updates"))


HISTORY = ("SELECT supplier_id, effective_from_date, effective_to_date, update_id FROM {relation} "
           "WHERE mpan_core = '{mpan}' AND measurement_quantity = 'AI' ORDER BY effective_from_date")


@pytest.fixture(scope="module")
def updated(tmp_path_factory):
    """A landing directory of snapshots and updates, ingested in two rounds (the second round's updates come
    after a newer snapshot of MPAN C), and the dbt models built for settlement date 2026-10-25."""
    root = tmp_path_factory.mktemp("registration_updates")
    landing, data_dir = root / "landing", root / "data"
    write_csv(landing / "registrations" / "registrations_2026-10-20.csv", R_HEADER, [
        snapshot_row("2026-10-20", MPAN_A),
        snapshot_row("2026-10-20", MPAN_A, mq="AE", sup="ALFA"),
        snapshot_row("2026-10-20", MPAN_B),
        snapshot_row("2026-10-20", MPAN_C),
    ])
    write_csv(landing / "registration_updates" / "registration_updates_2026-10-22.csv", U_HEADER, [
        update_row("A-1", "2026-10-22T10:00:00Z", MPAN_A, "2026-10-23", sup="BRVO"),
        # B: two updates, written in the file against their order: B-2 was made later and wins from its date
        update_row("B-2", "2026-10-22T12:00:00Z", MPAN_B, "2026-10-24", sup="DLTA"),
        update_row("B-1", "2026-10-22T09:00:00Z", MPAN_B, "2026-10-22", sup="CHRL"),
        update_row("C-1", "2026-10-22T10:00:00Z", MPAN_C, "2026-10-23", sup="ECHO"),
    ])
    # a newer snapshot of C (2026-10-23) holds its own history: it replaces the update C-1 made before it
    write_csv(landing / "registrations" / "registrations_2026-10-23.csv", R_HEADER, [
        snapshot_row("2026-10-23", MPAN_C, sup="FXTR"),
    ])
    return root, landing, data_dir


def test_updates_apply_in_dbt_and_in_the_warehouse(updated, capsys, tmp_path):
    """Settlement date 2026-10-25; snapshot 2026-10-20 holds A, B and C with ALFA from 2020-01-01, open.

    A: update A-1 (sent 2026-10-22, after the snapshot's date) BRVO from 2026-10-23, open. History: ALFA
       2020-01-01..2026-10-22 (the earlier history kept, cut the day before), BRVO from 2026-10-23. In force on
       2026-10-25: BRVO. A's AE row, named by no update, stays ALFA, open.
    B: B-1 (09:00) CHRL from 2026-10-22, then B-2 (12:00, later) DLTA from 2026-10-24: B-2 applies last and
       wins from its date. History: ALFA ..2026-10-21, CHRL 2026-10-22..2026-10-23, DLTA from 2026-10-24. In
       force on 2026-10-25: DLTA.
    C: C-1 (sent 2026-10-22) ECHO from 2026-10-23, but the snapshot of 2026-10-23 is newer than the update (its
       UTC date 2026-10-22 is not after 2026-10-23): the snapshot replaces it. History: FXTR from 2020-01-01,
       open; in force: FXTR.
    """
    root, landing, data_dir = updated
    summary = ingest(capsys, landing, data_dir)
    assert summary["rows_rejected"] == 0 and summary["rows_accepted"] == 9
    database = dbt_models(data_dir, "2026-10-25", REGISTRATION_MODELS, tmp_path)
    expected = {
        MPAN_A: [("ALFA", date(2020, 1, 1), date(2026, 10, 22), None), ("BRVO", date(2026, 10, 23), None, "A-1")],
        MPAN_B: [("ALFA", date(2020, 1, 1), date(2026, 10, 21), None), ("CHRL", date(2026, 10, 22), date(2026, 10, 23), "B-1"),
                 ("DLTA", date(2026, 10, 24), None, "B-2")],
        MPAN_C: [("FXTR", date(2020, 1, 1), None, None)],
    }
    for mpan, history in expected.items():
        assert query(database, HISTORY.format(relation="int_registrations_current", mpan=mpan)) == history, mpan
        # the warehouse view applies the same SQL to the same lake
        assert warehouse_query(data_dir, HISTORY.format(relation="registrations_current", mpan=mpan)) == history, mpan
    in_force = query(database, "SELECT mpan_core, measurement_quantity, supplier_id FROM int_registrations_in_force_everywhere "
                               "ORDER BY ALL")
    assert in_force == [(MPAN_A, "AE", "ALFA"), (MPAN_A, "AI", "BRVO"), (MPAN_C, "AI", "FXTR"), (MPAN_B, "AI", "DLTA")]
    # a row from an update names the snapshot it applied after and the landing file it came in
    lineage = query(database, "SELECT snapshot_date, source_file FROM int_registrations_current WHERE update_id = 'A-1'")
    assert lineage == [(date(2026, 10, 20), "registration_updates/registration_updates_2026-10-22.csv")]


def test_reingesting_and_resending_updates_changes_nothing_and_a_reused_id_is_quarantined(updated, capsys, tmp_path):
    """After the first ingestion (test above, or here if run alone):

    * the same landing directory again: every file already_ingested, the lake's files unchanged;
    * a later file repeating A-1 as it was: UPDATE_REPEATED (nothing applied twice); B-1 with another supplier
      (GOLF): UPDATE_ID_REUSED, refused with its reason and raw record; a new update D-1 of an MPAN no snapshot
      holds (1200012345688) is accepted and stands alone as its history from 2026-10-24 (no snapshot date).
    The history of A and B (test above) is the same after all this.
    """
    root, landing, data_dir = updated
    ingest(capsys, landing, data_dir)  # the first round, unless the test above did it (then already ingested)
    lake_files = {p: p.read_bytes() for p in (data_dir / "lake").rglob("*.parquet") if "ingestion_log" not in p.parts}
    again = ingest(capsys, landing, data_dir)
    assert {f["status"] for f in again["files"]} == {"already_ingested"}
    assert again["rows_accepted"] == again["rows_rejected"] == 0
    assert {p: p.read_bytes() for p in (data_dir / "lake").rglob("*.parquet") if "ingestion_log" not in p.parts} == lake_files

    resent = root / "resent"
    write_csv(resent / "registration_updates" / "registration_updates_2026-10-24.csv", U_HEADER, [
        update_row("A-1", "2026-10-22T11:00:00+01:00", MPAN_A, "2026-10-23", sup="BRVO"),  # the same instant
        update_row("B-1", "2026-10-22T09:00:00Z", MPAN_B, "2026-10-22", sup="GOLF"),
        update_row("D-1", "2026-10-24T09:00:00Z", "1200012345688", "2026-10-24", sup="HTEL"),
    ])
    summary = ingest(capsys, resent, data_dir)
    assert summary["rejections"] == {"UPDATE_ID_REUSED": 1, "UPDATE_REPEATED": 1}
    assert summary["rows_accepted"] == 1
    quarantined = warehouse_query(data_dir, "SELECT row_number, reason_code, reason, raw_record FROM quarantine "
                                            "WHERE source_file LIKE 'registration_updates/%' ORDER BY row_number")
    assert [(n, code) for n, code, _, _ in quarantined] == [(1, "UPDATE_REPEATED"), (2, "UPDATE_ID_REUSED")]
    assert "other content" in quarantined[1][2] and ",GOLF," in quarantined[1][3]

    database = dbt_models(data_dir, "2026-10-25", REGISTRATION_MODELS, tmp_path)
    assert query(database, HISTORY.format(relation="int_registrations_current", mpan=MPAN_A)) == [
        ("ALFA", date(2020, 1, 1), date(2026, 10, 22), None), ("BRVO", date(2026, 10, 23), None, "A-1")]
    assert query(database, HISTORY.format(relation="int_registrations_current", mpan=MPAN_B)) == [
        ("ALFA", date(2020, 1, 1), date(2026, 10, 21), None), ("CHRL", date(2026, 10, 22), date(2026, 10, 23), "B-1"),
        ("DLTA", date(2026, 10, 24), None, "B-2")]
    assert query(database, "SELECT snapshot_date, supplier_id, effective_from_date, effective_to_date FROM "
                           "int_registrations_current WHERE mpan_core = '1200012345688'") == [
        (None, "HTEL", date(2026, 10, 24), None)]


def test_a_closed_update_keeps_what_held_after_it_and_a_run_sees_only_its_landing_files(capsys, tmp_path):
    """Snapshot 2026-10-20: A ALFA from 2020-01-01, open. Update A-9 (sent 2026-10-21) BRVO from 2026-10-24 to
    2026-10-25 (closed). History: ALFA ..2026-10-23, BRVO 2026-10-24..2026-10-25, ALFA again from 2026-10-26 (what
    held after a closed update stays). In force on 2026-10-25: BRVO; on 2026-10-26: ALFA.

    A run reads only the landing files committed when it started (settlement_run.landing_files): built with the
    ingestion log as it was before A-9's file came (the lake already holding another update, of B), the run
    still sees ALFA on 2026-10-25 once A-9's file is in the lake.
    """
    landing, data_dir = tmp_path / "landing", tmp_path / "data"
    write_csv(landing / "registrations" / "registrations_2026-10-20.csv", R_HEADER,
              [snapshot_row("2026-10-20", MPAN_A), snapshot_row("2026-10-20", MPAN_B)])
    write_csv(landing / "registration_updates" / "registration_updates_2026-10-20.csv", U_HEADER, [
        update_row("B-9", "2026-10-21T08:00:00Z", MPAN_B, "2026-10-22", sup="CHRL"),
    ])
    ingest(capsys, landing, data_dir)
    before = dbt_models(data_dir, "2026-10-25", REGISTRATION_MODELS, tmp_path / "before")
    write_csv(landing / "registration_updates" / "registration_updates_2026-10-21.csv", U_HEADER, [
        update_row("A-9", "2026-10-21T16:00:00Z", MPAN_A, "2026-10-24", "2026-10-25", sup="BRVO"),
    ])
    ingest(capsys, landing, data_dir)
    assert query(before, "SELECT supplier_id FROM int_registrations_in_force_everywhere ORDER BY mpan_core") == [
        ("ALFA",), ("CHRL",)]
    database = dbt_models(data_dir, "2026-10-25", REGISTRATION_MODELS, tmp_path / "after")
    assert query(database, HISTORY.format(relation="int_registrations_current", mpan=MPAN_A)) == [
        ("ALFA", date(2020, 1, 1), date(2026, 10, 23), None), ("BRVO", date(2026, 10, 24), date(2026, 10, 25), "A-9"),
        ("ALFA", date(2026, 10, 26), None, None)]
    assert query(database, "SELECT supplier_id FROM int_registrations_in_force_everywhere ORDER BY mpan_core") == [
        ("BRVO",), ("CHRL",)]
    next_day = dbt_models(data_dir, "2026-10-26", REGISTRATION_MODELS, tmp_path / "after")
    assert query(next_day, "SELECT supplier_id FROM int_registrations_in_force_everywhere ORDER BY mpan_core") == [
        ("ALFA",), ("CHRL",)]
