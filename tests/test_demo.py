"""`mhhs demo`: the main job on sample data, start to finish, shows the v2 inputs (register reads, registration
updates) generated, ingested, and where the values settlement derived from the reads are."""

import json
import os
import re
import subprocess

import duckdb
import pytest

from tests.conftest import BIN_DIR

pytestmark = pytest.mark.integration


def test_demo_generates_ingests_and_settles_register_reads_and_registration_updates(tmp_path):
    data_dir = tmp_path / "data"
    env = {name: value for name, value in os.environ.items() if not name.startswith("MHHS_")}
    completed = subprocess.run([str(BIN_DIR / "mhhs"), "--data-dir", str(data_dir), "demo"], env=env,
                               capture_output=True, text=True)
    out = completed.stdout
    assert completed.returncode == 0, out + completed.stderr

    manifest = json.loads((data_dir / "landing" / "generation_manifest.json").read_text())
    reads, consent = manifest["register_read_rows"], manifest["population"]["consent_granularity"]
    assert reads["daily"] > 0 and reads["monthly"] > 0 and manifest["registration_update_rows"] > 0
    assert (f"register reads: {reads['daily']} daily, {reads['monthly']} monthly, from the {consent['D']} daily- "
            f"and {consent['M']} monthly-consent MPANs") in out
    assert f"registration updates: {manifest['registration_update_rows']} (" in out
    # every generated read and update is ingested (the demo's faults are in consumption only)
    assert (f"of them register reads: {reads['daily'] + reads['monthly']} accepted, 0 rejected; registration updates: "
            f"{manifest['registration_update_rows']} accepted, 0 rejected") in out
    assert re.search(r"SF-2026-10-24-v1: .*outbound/SF/2026-10-24", out)
    assert re.search(r"SF-2026-10-25-v1: .*outbound/SF/2026-10-25", out)

    # where to see shaped values: the basis file it names, whose register_read_mask marks the derived periods of
    # exactly the register-read MPANs active on the day (the truth file it names)
    basis = re.search(r"shaped register reads: (\S+)", out).group(1)
    truth = re.search(r"true values: (\S+)\)", out).group(1)
    con = duckdb.connect()
    derived = con.execute(f"""select mpan_core, bit_count(register_read_mask) from read_parquet('{basis}')
        where register_read_mask <> 0 order by 1""").fetchall()
    expected = con.execute(f"""select mpan_core, count(*) from read_parquet('{truth}')
        where settlement_date = date '2026-10-24' group by 1 order by 1""").fetchall()
    assert derived == expected and len(expected) > 0
