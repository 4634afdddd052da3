"""Known defects of `mhhs settle` found while writing the scenario tests, pinned with strict xfail marks:
each test states the behaviour the domain asks for; once the defect is fixed it passes and the mark must go.
"""

from datetime import datetime, timedelta, timezone

import pytest

from pipelines import catalogue, cli
from pipelines.periods import LONDON, utc_period_starts

MPAN = "1200012345679"


@pytest.mark.xfail(strict=True, reason=(
    "settle() never checks that the settlement date is over: values of periods that have not ended are refused "
    "as FUTURE_PERIOD and then estimated from annual consumption, and the run publishes settled volumes for "
    "half hours that have not happened yet"))
def test_a_settlement_date_that_has_not_ended_is_refused(tmp_path, capsys):
    today = datetime.now(LONDON).date()
    landing = tmp_path / "landing"
    (landing / "registrations").mkdir(parents=True)
    (landing / "consumption").mkdir()
    (landing / "registrations" / "registrations.csv").write_text(
        ",".join(catalogue.dataset_columns("registrations")) + "\n"
        f"{today - timedelta(days=30)},{MPAN},AI,2020-01-01,,SUPA,SDSA,_C,D01,S,E,Y,HH,3650,\n"
    )
    first = utc_period_starts(today)[0]
    (landing / "consumption" / "consumption.csv").write_text(
        ",".join(catalogue.dataset_columns("consumption")) + "\n"
        f"{MPAN},AI,{first:%Y-%m-%dT%H:%M:%SZ},0.500,A,SDSA,{datetime.now(timezone.utc):%Y-%m-%dT%H:%M:%SZ}\n"
    )
    standing = tmp_path / "standing"
    standing.mkdir()
    (standing / "gsp_group_take.csv").write_text(
        "gsp_group_id,settlement_date,settlement_period,gsp_group_take_kwh\n"
        + "".join(f"_C,{today},{p},0.660\n" for p in range(1, len(utc_period_starts(today)) + 1))
    )
    data_dir = tmp_path / "data"
    assert cli.main(["--data-dir", str(data_dir), "ingest", str(landing)]) == 0
    capsys.readouterr()
    code = cli.main(["--data-dir", str(data_dir), "settle", "--date", today.isoformat(), "--run-type", "II",
                     "--standing-data", str(standing)])
    err = capsys.readouterr().err
    assert code != 0, "a run of a settlement date that has not ended was settled and published"
    assert today.isoformat() in err
    assert not (data_dir / "outbound" / "II" / today.isoformat()).exists()
