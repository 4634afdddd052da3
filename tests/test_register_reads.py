"""Register reads (CONTRACT.md v2, "Register reads for MPANs without half-hourly consent"): ingested by the real
`mhhs ingest` into lake/register_reads/read_end_month=YYYY-MM/, every refused read quarantined with its reason,
and read by the real dbt staging model stg_lake__register_reads, which keeps the reads of the run's landing
files whose interval holds the run's settlement date (both ends inclusive)."""

from datetime import date
from decimal import Decimal

import duckdb
import pytest

from pipelines import catalogue
from pipelines.reference.ingestion_log import snapshot_landing_files
from pipelines.reference.lake import Lake
from tests.test_registration_updates import dbt_models, ingest, query, warehouse_query, write_csv

pytestmark = pytest.mark.integration

HEADER = ",".join(catalogue.dataset_columns("register_reads"))
DAILY_MPAN, MONTHLY_MPAN, ACROSS_MPAN = "1200012345679", "2000012345672", "1400012345678"
READS = "SELECT mpan_core, read_start_date, read_end_date, kwh FROM stg_lake__register_reads ORDER BY ALL"


def read(mpan=DAILY_MPAN, mq="AI", ds="SDSA", rx="2026-11-01T09:00:00Z", start="2026-10-01", end="2026-10-31",
         kwh="250.000") -> str:
    values = {"mpan_core": mpan, "measurement_quantity": mq, "data_service_id": ds, "received_at": rx,
              "read_start_date": start, "read_end_date": end, "kwh": kwh}
    return ",".join(values[c] for c in catalogue.dataset_columns("register_reads"))


# each refused read and its reason, one a row (row 1 is good)
REFUSED = [
    (read(mpan="1200012345670"), "MPAN_CORE_CHECK_DIGIT"),
    (read(mpan="120001234567"), "MPAN_CORE_BAD_FORMAT"),
    (read(mq="AX"), "MEASUREMENT_QUANTITY_NOT_ALLOWED"),
    (read(ds="SD"), "DATA_SERVICE_ID_BAD_FORMAT"),
    (read(rx="2026-11-01T09:00:00"), "RECEIVED_AT_WITHOUT_OFFSET"),
    (read(rx="2026-11-01"), "RECEIVED_AT_NOT_A_TIMESTAMP"),  # a date, no time
    (read(start="2026-13-01"), "READ_START_DATE_NOT_A_DATE"),
    (read(end=""), "READ_END_DATE_MISSING"),
    (read(kwh="-0.001"), "KWH_BELOW_MIN"),
    (read(kwh="1.2345"), "KWH_TOO_MANY_DECIMALS"),
    (read(kwh="many"), "KWH_NOT_A_NUMBER"),
    (read(start="2026-10-31", end="2026-10-30"), "READ_END_BEFORE_START"),
    (read(start="2026-10-01", end="2026-11-01"), "READ_LONGER_THAN_A_MONTH"),  # 32 days
    (read(start="2026-02-01", end="2026-03-04"), "READ_LONGER_THAN_A_MONTH"),  # 32 days
]


def test_every_refused_read_is_quarantined_with_its_reason_and_counts_add_up(capsys, tmp_path):
    """Row 1 is a good monthly read (31 days); rows 2.. each break one rule, named beside it in REFUSED. Row
    len(REFUSED) + 2 is row 1 again (DUPLICATE_ROW). Rows in = accepted + quarantined, per reason."""
    landing, data_dir = tmp_path / "landing", tmp_path / "data"
    rows = [read(), *(row for row, _ in REFUSED), read()]
    write_csv(landing / "register_reads" / "reads.csv", HEADER, rows)
    summary = ingest(capsys, landing, data_dir)
    [result] = summary["files"]
    assert (result["rows_in"], result["rows_accepted"], result["rows_quarantined"]) == (len(rows), 1, len(rows) - 1)
    quarantined = warehouse_query(data_dir, "SELECT row_number, reason_code, reason, raw_record FROM quarantine ORDER BY 1")
    expected = [(n, code) for n, (_, code) in enumerate(REFUSED, start=2)] + [(len(rows), "DUPLICATE_ROW")]
    assert [(n, code) for n, code, _, _ in quarantined] == expected
    for n, _, reason, raw in quarantined:
        assert reason and raw == rows[n - 1]
    assert sum(summary["rejections"].values()) == len(rows) - 1
    assert warehouse_query(data_dir, "SELECT count(*) FROM register_reads") == [(1,)]


def test_daily_and_monthly_reads_land_by_month_and_a_run_sees_those_holding_its_date(capsys, tmp_path):
    """A daily read of 2026-10-25 (8.125 kWh), a monthly read of October (250 kWh, 2026-10-01..2026-10-31) and a
    read from 2026-10-15 to 2026-11-14 (300 kWh) land in the lake folders of their read_end_date's month:
    read_end_month=2026-10 (the first two) and 2026-11 (the third).

    stg_lake__register_reads, run for:
      2026-10-25  all three (the daily read's only day; inside October; inside 10-15..11-14, found in the next
                  month's folder);
      2026-10-24  the monthly read and the third, not the daily read (the day before its only day);
      2026-10-14  the monthly read only (the third starts the day after);
      2026-11-14  the third only (its last day, inclusive);
      2026-11-15  none.
    A lake with no register read yet gives the model's columns and no rows.
    """
    landing, data_dir = tmp_path / "landing", tmp_path / "data"
    write_csv(landing / "registrations" / "registrations_2026-10-20.csv",
              ",".join(catalogue.dataset_columns("registrations")),
              [f"2026-10-20,{DAILY_MPAN},AI,2020-01-01,,ALFA,SDSA,_C,A01,S,E,Y,D,3100.000,"])
    ingest(capsys, landing, data_dir)
    empty = dbt_models(data_dir, "2026-10-25", ["stg_lake__register_reads"], tmp_path / "empty")
    assert query(empty, READS) == []
    assert [c[0] for c in query(empty, "DESCRIBE stg_lake__register_reads")] == [
        "mpan_core", "measurement_quantity", "data_service_id", "received_at", "read_start_date", "read_end_date", "kwh",
        "source_file", "row_number", "file_sha256"]

    write_csv(landing / "register_reads" / "register_reads_2026-11-15.csv", HEADER, [
        read(mpan=DAILY_MPAN, start="2026-10-25", end="2026-10-25", kwh="8.125", rx="2026-10-26T01:00:00Z"),
        read(mpan=MONTHLY_MPAN),
        read(mpan=ACROSS_MPAN, start="2026-10-15", end="2026-11-14", kwh="300", rx="2026-11-15T09:00:00Z"),
    ])
    summary = ingest(capsys, landing, data_dir)
    assert summary["rows_accepted"] == 3 and summary["rows_rejected"] == 0
    lake = Lake(data_dir)
    assert sorted(p.parent.name for p in lake.register_reads.rglob("*.parquet")) == ["read_end_month=2026-10",
                                                                                    "read_end_month=2026-11"]
    # the run's landing files (the ingestion log as a run takes it) include the register read file
    landing_files = snapshot_landing_files(lake, tmp_path / "basis")
    with duckdb.connect() as con:
        taken = con.execute(f"SELECT dataset, source_file FROM read_parquet('{landing_files}')").fetchall()
    assert ("register_reads", "register_reads/register_reads_2026-11-15.csv") in taken

    daily = (DAILY_MPAN, date(2026, 10, 25), date(2026, 10, 25), Decimal("8.125"))
    monthly = (MONTHLY_MPAN, date(2026, 10, 1), date(2026, 10, 31), Decimal("250.000"))
    across = (ACROSS_MPAN, date(2026, 10, 15), date(2026, 11, 14), Decimal("300.000"))
    expected = {
        "2026-10-25": [daily, across, monthly],
        "2026-10-24": [across, monthly],
        "2026-10-14": [monthly],
        "2026-11-14": [across],
        "2026-11-15": [],
    }
    for settlement_date, reads in expected.items():
        database = dbt_models(data_dir, settlement_date, ["stg_lake__register_reads"], tmp_path / "runs")
        assert query(database, READS) == sorted(reads), settlement_date
    database = dbt_models(data_dir, "2026-10-25", ["stg_lake__register_reads"], tmp_path / "runs")
    assert query(database, "SELECT DISTINCT source_file FROM stg_lake__register_reads") == [
        ("register_reads/register_reads_2026-11-15.csv",)]
