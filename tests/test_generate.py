"""`mhhs generate`: synthetic landing files, their faults and the ground truth in the manifest."""

import json
from datetime import date, datetime
from pathlib import Path

import duckdb
import jinja2
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from pipelines import catalogue
from pipelines.catalogue import dataset_columns
from pipelines.core.errors import MhhsError
from pipelines.core.mpan import is_valid_mpan_core
from pipelines.core.periods import settlement_date_and_period, utc_period_starts
from pipelines.synthetic.generate import DEFAULT_FAULT_RATES, FAULT_NAMES, MANIFEST_FILE, ROW_FAULTS, generate

pytestmark = pytest.mark.integration

AUTUMN_START = date(2026, 10, 24)  # 2026-10-24 has 48 periods, 2026-10-25 (clock change) has 50
SPRING_DAY = date(2026, 3, 29)  # 46 periods
CLEAN = {"all": 0.0}
HIGH_RATES = {
    **{name: 0.02 for name in ROW_FAULTS},
    "absurd_values": 0.03,
    "missing_mpan_days": 0.05,
    "unregistered_mpans": 0.05,
}


def _run(root: Path, name: str, **kwargs) -> Path:
    arguments = {"mpans": 200, "days": 2, "start": AUTUMN_START, "seed": 7, "file_format": "csv", "fault_rates": {}}
    arguments.update(kwargs)
    out = root / name
    generate(out_dir=out, **arguments)
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Each landing directory is generated once for the whole module."""
    root = tmp_path_factory.mktemp("generate")
    cache = {}

    def get(name: str, **kwargs) -> Path:
        if name not in cache:
            cache[name] = _run(root, name, **kwargs)
        return cache[name]

    return get


@pytest.fixture
def default_run(runs):
    return runs("default")


@pytest.fixture
def clean_run(runs):
    return runs("clean", fault_rates=CLEAN)


@pytest.fixture
def faulty_run(runs):
    return runs("faulty", fault_rates=HIGH_RATES)


def _manifest(out: Path) -> dict:
    return json.loads((out / MANIFEST_FILE).read_text())


def _read_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _consumption(out: Path, restated: bool = False) -> pd.DataFrame:
    """All consumption rows as text, with the settlement date of the file they came from."""
    frames = []
    for path in sorted((out / "consumption").iterdir()):
        if path.stem.endswith("_restated") != restated:
            continue
        frame = pq.read_table(path).to_pandas() if path.suffix == ".parquet" else _read_csv(path)
        frame["file_date"] = path.stem.split("_")[1]
        frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=[*dataset_columns("consumption"), "file_date"])
    return pd.concat(frames, ignore_index=True)


def _updates(out: Path) -> pd.DataFrame:
    files = sorted((out / "registration_updates").glob("*.csv"))
    if not files:
        return pd.DataFrame(columns=dataset_columns("registration_updates"))
    return pd.concat([_read_csv(p) for p in files], ignore_index=True)


def _registrations(out: Path) -> pd.DataFrame:
    """The registration rows in force (CONTRACT.md): for each MPAN, the rows of the newest snapshot that contains
    it, then the updates sent after that snapshot in updated_at order, each stating the MPAN's values from its
    effective_from_date (rows before it kept, a row spanning it cut to end the day before)."""
    frame = pd.concat([_read_csv(p) for p in sorted((out / "registrations").glob("*.csv"))], ignore_index=True)
    newest = frame.groupby("mpan_core")["snapshot_date"].transform("max")
    rows = frame[frame["snapshot_date"] == newest].reset_index(drop=True)
    snapshot_of = rows.groupby("mpan_core")["snapshot_date"].first()
    key = ["mpan_core", "measurement_quantity"]
    for update in _updates(out).sort_values("updated_at").to_dict("records"):
        if update["mpan_core"] in snapshot_of and update["updated_at"][:10] <= snapshot_of[update["mpan_core"]]:
            continue  # a snapshot newer than the update replaces it
        held = (rows[key] == [update[k] for k in key]).all(axis=1)
        rows = rows[~held | (rows["effective_from_date"] < update["effective_from_date"])].copy()
        held = (rows[key] == [update[k] for k in key]).all(axis=1)
        day_before = (pd.Timestamp(update["effective_from_date"]) - pd.Timedelta(days=1)).date().isoformat()
        spans = held & ((rows["effective_to_date"] == "") | (rows["effective_to_date"] > day_before))
        rows.loc[spans, "effective_to_date"] = day_before
        stated = {k: v for k, v in update.items() if k not in ("update_id", "updated_at")}
        rows = pd.concat([rows, pd.DataFrame([{**stated, "snapshot_date": update["updated_at"][:10]}])],
                         ignore_index=True)
    return rows.reset_index(drop=True)


def _truth(out: Path) -> pd.DataFrame:
    """truth/register_read_truth.parquet as text, as the CSV files are read."""
    frame = pq.read_table(out / "truth" / "register_read_truth.parquet").to_pandas()
    return frame.astype(str)


def _register_reads(out: Path) -> pd.DataFrame:
    return pd.concat([_read_csv(p) for p in sorted((out / "register_reads").glob("*.csv"))], ignore_index=True)


def _valid_mask(cores: pd.Series) -> np.ndarray:
    return np.array([is_valid_mpan_core(core) for core in cores], dtype=bool)


def _parseable(frame: pd.DataFrame) -> np.ndarray:
    """Rows whose timestamp has an offset and sits on a half hour, kwh is a number and quantity is AI/AE."""
    utc = frame["utc_period_start"]
    on_boundary = utc.str.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:(00|30):00Z")
    numeric = frame["kwh"].str.fullmatch(r"-?\d+(\.\d{1,3})?")
    quantity = frame["measurement_quantity"].isin(["AI", "AE"])
    return (on_boundary & numeric & quantity).to_numpy()


def _with_registration(frame: pd.DataFrame, registrations: pd.DataFrame) -> pd.DataFrame:
    """Each consumption row joined to the registration row in force on its settlement date (inner join)."""
    rows = frame.reset_index().merge(registrations, on=["mpan_core", "measurement_quantity"], suffixes=("", "_reg"))
    ends = rows["effective_to_date"].where(rows["effective_to_date"] != "", "9999-12-31")
    in_force = (rows["effective_from_date"] <= rows["file_date"]) & (rows["file_date"] <= ends)
    return rows[in_force]


# --- files and columns ------------------------------------------------------------------------------------


def test_csv_files_have_exactly_the_catalogue_columns_in_order(default_run):
    consumption_files = sorted((default_run / "consumption").glob("*.csv"))
    registration_files = sorted((default_run / "registrations").glob("*.csv"))
    assert [p.name for p in consumption_files if "restated" not in p.name] == [
        "consumption_2026-10-24.csv",
        "consumption_2026-10-25.csv",
    ]
    assert len(registration_files) >= 2
    for path in consumption_files:
        assert path.read_text().splitlines()[0] == ",".join(dataset_columns("consumption"))
    for path in registration_files:
        assert path.read_text().splitlines()[0] == ",".join(dataset_columns("registrations"))
    assert (default_run / "standing" / "gsp_group_take.csv").is_file()
    assert (default_run / "standing" / "llf.csv").is_file()


def test_parquet_files_have_the_catalogue_columns_and_typed_values(runs):
    out = runs("parquet", file_format="parquet")
    files = sorted((out / "consumption").glob("*.parquet"))
    assert files and not list((out / "consumption").glob("*.csv"))
    for path in files:
        schema = pq.read_schema(path)
        assert schema.names == dataset_columns("consumption")
        assert schema.field("utc_period_start").type == pa.timestamp("us", tz="UTC")
        assert schema.field("kwh").type.scale == 3
    assert _manifest(out)["parameters"]["format"] == "parquet"


def test_csv_values_are_iso_timestamps_with_offset_and_kwh_with_three_decimals(clean_run):
    rows = _consumption(clean_run)
    assert rows["utc_period_start"].str.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:(00|30):00Z").all()
    assert rows["received_at"].str.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ").all()
    assert rows["kwh"].str.fullmatch(r"\d+\.\d{3}").all()
    assert rows["data_service_id"].str.fullmatch(r"[A-Z0-9]{4}").all()
    received = pd.to_datetime(rows["received_at"]).dt.tz_convert(None)
    assert (received > pd.to_datetime(rows["file_date"]) + pd.Timedelta(days=1)).all()


def test_manifest_lists_every_file_with_its_row_count(default_run):
    manifest = _manifest(default_run)
    listed = {entry["path"]: entry["rows"] for entry in manifest["files"] + manifest["truth_files"]}
    written = {
        str(p.relative_to(default_run)) for p in default_run.rglob("*") if p.is_file() and p.name != MANIFEST_FILE
    }
    assert set(listed) == written
    assert not any(entry["path"].startswith("truth/") for entry in manifest["files"])  # landing and standing only
    for path, rows in listed.items():
        if path.startswith(("consumption/", "registrations/", "registration_updates/", "register_reads/")):
            assert len(_read_csv(default_run / path)) == rows
        elif path.endswith(".parquet"):
            assert pq.read_metadata(default_run / path).num_rows == rows
    assert manifest["consumption_rows"] == sum(r for p, r in listed.items() if p.startswith("consumption/"))
    assert manifest["registration_update_rows"] == sum(
        r for p, r in listed.items() if p.startswith("registration_updates/")) > 0
    reads = manifest["register_read_rows"]
    assert reads["daily"] > 0 and reads["monthly"] > 0
    assert reads["daily"] + reads["monthly"] == sum(r for p, r in listed.items() if p.startswith("register_reads/"))
    assert manifest["truth"]["register_read_truth"] in listed
    assert listed[manifest["truth"]["register_read_truth"]] > 0
    assert set(manifest["fault_counts"]) == set(FAULT_NAMES)


# --- MPANs and registrations ------------------------------------------------------------------------------


def test_registered_mpans_have_valid_check_digits_and_their_distributors_prefix(default_run):
    registrations = pd.concat([_read_csv(p) for p in (default_run / "registrations").glob("*.csv")])
    assert _valid_mask(registrations["mpan_core"]).all()
    groups = _read_csv(default_run / "standing" / "gsp_groups.csv")
    host = registrations["gsp_group_id"].map(dict(zip(groups["gsp_group_id"], groups["distributor_id"])))
    distributors = _read_csv(default_run / "standing" / "distributors.csv")
    idnos = set(distributors.loc[distributors["distributor_type"] == "IDNO", "distributor_id"])
    prefix = registrations["mpan_core"].str[:2]
    # each core begins with its GSP Group's DNO or with an IDNO working inside the group
    assert ((prefix == host) | prefix.isin(idnos)).all()
    on_idno = registrations[prefix.isin(idnos)].drop_duplicates("mpan_core")
    assert 0.02 < len(on_idno) / registrations["mpan_core"].nunique() < 0.09  # IDNO_SHARE, 5%
    assert on_idno["gsp_group_id"].nunique() >= 3  # IDNOs in several GSP Groups
    # an IDNO's MPANs share LLFC ids with the host DNO's
    assert set(on_idno["llfc_id"]) & set(registrations.loc[prefix == host, "llfc_id"])
    assert registrations["supplier_id"].str.fullmatch(r"[A-Z0-9]{4}").all()
    assert registrations["llfc_id"].isin(_read_csv(default_run / "standing" / "llfc.csv")["llfc_id"]).all()


def test_registrations_have_a_realistic_mix(runs):
    out = runs("mix", mpans=3000, days=3, fault_rates=CLEAN)
    registrations = _registrations(out)
    per_mpan = registrations.drop_duplicates("mpan_core")
    segments = per_mpan["market_segment"].value_counts(normalize=True)
    assert segments["S"] > 0.8 and 0.02 < segments["A"] < 0.2 and 0 < segments["U"] < 0.06
    export_share = (per_mpan["measurement_quantity"] == "AE").mean()
    assert 0.03 < export_share < 0.12
    domestic = per_mpan[(per_mpan["domestic_premises"] == "Y") & (per_mpan["measurement_quantity"] == "AI")]
    assert 2_000 < domestic["annual_consumption_kwh"].astype(float).median() < 3_200
    assert set(per_mpan.loc[per_mpan["market_segment"] != "S", "domestic_premises"]) == {"N"}
    assert {"HH", "D", "M"} <= set(per_mpan["consent_granularity"])
    assert (per_mpan["bm_unit_id"] == "").mean() > 0.95
    assert per_mpan["supplier_id"].nunique() >= 10
    # histories: a closed row followed by the next day's row (supplier change or de-energisation)
    closed = registrations[registrations["effective_to_date"] != ""]
    assert len(closed) > 0
    following = registrations.merge(closed, on=["mpan_core", "measurement_quantity"], suffixes=("", "_prev"))
    following = following[
        pd.to_datetime(following["effective_from_date"])
        == pd.to_datetime(following["effective_to_date_prev"]) + pd.Timedelta(days=1)
    ]
    assert len(following) == len(closed)
    assert (following["supplier_id"] != following["supplier_id_prev"]).any()
    assert (following["energisation_status"] == "D").any()
    window = ("2026-10-24", "2026-10-26")
    assert following["effective_from_date"].between(*window).any()  # changes inside the window
    assert (following["effective_from_date"] < window[0]).any()  # and before it


def test_newer_snapshot_replaces_the_older_rows_of_a_subset_of_mpans(default_run):
    snapshots = sorted((default_run / "registrations").glob("*.csv"))
    older, newer = _read_csv(snapshots[0]), _read_csv(snapshots[-1])
    assert older["snapshot_date"].iloc[0] < newer["snapshot_date"].iloc[0]
    assert 0 < newer["mpan_core"].nunique() < older["mpan_core"].nunique()
    assert set(newer["mpan_core"]) <= set(older["mpan_core"])
    columns = [c for c in dataset_columns("registrations") if c != "snapshot_date"]
    for core in newer["mpan_core"].unique():
        before = older.loc[older["mpan_core"] == core, columns].reset_index(drop=True)
        after = newer.loc[newer["mpan_core"] == core, columns].reset_index(drop=True)
        assert not before.equals(after), core


def test_consumption_uses_the_registration_in_force_for_data_service_and_energisation(clean_run):
    rows = _consumption(clean_run)
    joined = _with_registration(rows, _registrations(clean_run))
    assert len(joined) == len(rows)  # every row has a registration in force on its date
    assert (joined["data_service_id"] == joined["data_service_id_reg"]).all()
    assert (joined["energisation_status"] == "E").all()
    assert (joined["consent_granularity"] == "HH").all()  # daily / monthly consent: register reads instead


# --- register reads and registration updates (contract v2) ------------------------------------------------


def _milli(kwh: pd.Series) -> pd.Series:
    return (kwh.astype(float) * 1000).round().astype(np.int64)


def test_register_read_mpans_send_reads_of_their_true_values_and_no_half_hourly_consumption(clean_run):
    registrations = _registrations(clean_run)
    per_mpan = registrations.drop_duplicates("mpan_core").set_index("mpan_core")
    readers = per_mpan[per_mpan["consent_granularity"] != "HH"]
    assert set(readers["consent_granularity"]) == {"D", "M"}
    # consistent with the load shape categories: only domestic smart import customers choose their consent
    assert (readers["domestic_premises"] == "Y").all() and (readers["market_segment"] == "S").all()
    assert (readers["measurement_quantity"] == "AI").all()
    assert not _consumption(clean_run)["mpan_core"].isin(readers.index).any()

    truth, reads = _truth(clean_run), _register_reads(clean_run)
    assert set(truth["mpan_core"]) <= set(readers.index)
    periods = truth.groupby(["mpan_core", "settlement_date"]).size()
    assert (periods == periods.index.get_level_values(1).map({"2026-10-24": 48, "2026-10-25": 50})).all()
    assert (truth["consent_granularity"] == truth["mpan_core"].map(readers["consent_granularity"])).all()
    day_totals = truth.assign(milli=_milli(truth["kwh"])).groupby(["mpan_core", "settlement_date"])["milli"].sum()
    assert reads["kwh"].str.fullmatch(r"\d+\.\d{3}").all()
    assert reads["received_at"].str.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ").all()
    assert (pd.to_datetime(reads["received_at"]).dt.tz_convert(None)
            >= pd.to_datetime(reads["read_end_date"]) + pd.Timedelta(days=1)).all()
    kind = reads["mpan_core"].map(readers["consent_granularity"])
    assert kind.notna().all()

    # daily: one read per MPAN and energised day, its kwh exactly the day's true values added up
    daily = reads[kind == "D"]
    assert (daily["read_start_date"] == daily["read_end_date"]).all()
    assert not daily.duplicated(["mpan_core", "read_start_date"]).any()
    daily_truth = day_totals[truth.groupby("mpan_core")["consent_granularity"].first().eq("D").reindex(
        day_totals.index.get_level_values(0)).to_numpy()]
    assert sorted(zip(daily["mpan_core"], daily["read_start_date"], _milli(daily["kwh"]))) == sorted(
        (core, day, int(milli)) for (core, day), milli in daily_truth.items())

    # monthly: the whole of October (split only at a change of supplier or data service), received after it
    monthly = reads[kind == "M"].sort_values(["mpan_core", "read_start_date"])
    assert len(monthly) > 0
    for core, parts in monthly.groupby("mpan_core"):
        assert parts["read_start_date"].iloc[0] >= "2026-10-01" and parts["read_end_date"].iloc[-1] <= "2026-10-31"
        following = pd.to_datetime(parts["read_start_date"].iloc[1:]).to_numpy()
        assert (following == (pd.to_datetime(parts["read_end_date"].iloc[:-1]) + pd.Timedelta(days=1)).to_numpy()).all()
        covering = parts[(parts["read_start_date"] <= "2026-10-24") & (parts["read_end_date"] >= "2026-10-25")]
        if len(covering) and core in day_totals.index.get_level_values(0):
            # the read holds the generated days' true values and the other days' of the month
            assert _milli(covering["kwh"]).iloc[0] > day_totals.loc[core].sum()
    whole = monthly.groupby("mpan_core").agg(first=("read_start_date", "min"), last=("read_end_date", "max"))
    assert ((whole["first"] == "2026-10-01") & (whole["last"] == "2026-10-31")).mean() > 0.5

    # every read comes from the data service appointed on its days
    joined = _with_registration(reads.assign(file_date=reads["read_start_date"]), registrations)
    assert len(joined) == len(reads)
    assert (joined["data_service_id"] == joined["data_service_id_reg"]).all()
    assert (joined["energisation_status"] == "E").all()


def test_a_monthly_read_is_the_sum_of_the_true_values_of_its_month(runs):
    """Generating the whole of November: each monthly read adds up exactly the true values the truth file holds
    for its days (the days outside a window come from the same true-consumption functions)."""
    out = runs("november", mpans=400, days=30, start=date(2026, 11, 1), fault_rates=CLEAN)
    truth, reads = _truth(out), _register_reads(out)
    monthly = reads[reads["mpan_core"].isin(truth.loc[truth["consent_granularity"] == "M", "mpan_core"])]
    assert len(monthly) >= 3
    assert ((monthly["read_start_date"] == "2026-11-01") & (monthly["read_end_date"] == "2026-11-30")).any()
    truth["milli"] = _milli(truth["kwh"])
    for read in monthly.to_dict("records"):
        days = truth[(truth["mpan_core"] == read["mpan_core"])
                     & truth["settlement_date"].between(read["read_start_date"], read["read_end_date"])]
        expected_days = (pd.Timestamp(read["read_end_date"]) - pd.Timestamp(read["read_start_date"])).days + 1
        assert days["settlement_date"].nunique() == expected_days, read
        assert int(days["milli"].sum()) == _milli(pd.Series([read["kwh"]])).iloc[0], read
    # the received time is after the month (or the part's) end
    assert (monthly.loc[monthly["read_end_date"] == "2026-11-30", "received_at"] >= "2026-12-01").all()


def test_registration_updates_change_mpans_inside_the_window_instead_of_the_newer_snapshot(runs):
    out = runs("mix", mpans=3000, days=3, fault_rates=CLEAN)
    manifest = _manifest(out)
    updates = _updates(out)
    kinds = manifest["population"]["registration_updates"]
    assert all(kinds[name] > 0 for name in ("supplier_change", "llfc_change", "de_energisation", "resent"))
    assert len(updates) == manifest["registration_update_rows"] == sum(kinds.values())
    assert 0.01 < updates["mpan_core"].nunique() / 3000 < 0.03  # UPDATE_SHARE, 2%
    assert list(updates.columns) == dataset_columns("registration_updates")
    assert updates["update_id"].is_unique
    assert updates["updated_at"].str.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ").all()
    older, newer = (sorted((out / "registrations").glob("*.csv"))[i] for i in (0, -1))
    assert (updates["updated_at"].str[:10] > older.stem.split("_")[1]).all()  # sent after the older snapshot
    assert not updates["mpan_core"].isin(_read_csv(newer)["mpan_core"]).any()  # the truth is unambiguous
    assert updates["effective_from_date"].between("2026-10-25", "2026-10-26").all()
    assert (updates["effective_to_date"] == "").all()
    # a resent update: the later updated_at corrects the data service of the earlier one
    resent = updates[updates.duplicated("mpan_core", keep=False)].sort_values("updated_at")
    assert len(resent) == 2 * kinds["resent"]
    for _, pair in resent.groupby("mpan_core"):
        assert pair["data_service_id"].nunique() == 2
    # consumption follows the update: the later one's data service, nothing once de-energised
    rows = _consumption(out)
    joined = _with_registration(rows[rows["mpan_core"].isin(updates["mpan_core"])], _registrations(out))
    assert len(joined) == rows["mpan_core"].isin(updates["mpan_core"]).sum() > 0
    assert (joined["data_service_id"] == joined["data_service_id_reg"]).all()
    assert (joined["energisation_status"] == "E").all()
    final = updates.drop_duplicates("mpan_core", keep="last")
    reads = _register_reads(out)
    for update in final[final["energisation_status"] == "D"].to_dict("records"):
        if update["consent_granularity"] == "HH":
            sent = rows.loc[rows["mpan_core"] == update["mpan_core"], "file_date"]
        else:  # the last read ends the day before
            sent = reads.loc[reads["mpan_core"] == update["mpan_core"], "read_end_date"]
        assert len(sent) and (sent < update["effective_from_date"]).all(), update


# --- settlement periods -----------------------------------------------------------------------------------


def _periods_per_mpan(rows: pd.DataFrame) -> dict[str, set[int]]:
    counts = rows.groupby(["file_date", "mpan_core", "measurement_quantity"])["utc_period_start"].nunique()
    return {day: set(counts.loc[day].unique()) for day in counts.index.get_level_values(0).unique()}


def test_clean_autumn_clock_change_day_has_50_half_hours_and_a_normal_day_48(clean_run):
    rows = _consumption(clean_run)
    assert _periods_per_mpan(rows) == {"2026-10-24": {48}, "2026-10-25": {50}}
    for utc, file_date in rows[["utc_period_start", "file_date"]].drop_duplicates().itertuples(index=False):
        instant = datetime.fromisoformat(utc.replace("Z", "+00:00"))
        assert settlement_date_and_period(instant)[0].isoformat() == file_date


def test_clean_spring_clock_change_day_has_46_half_hours(runs):
    out = runs("spring", mpans=60, days=1, start=SPRING_DAY, fault_rates=CLEAN)
    assert _periods_per_mpan(_consumption(out)) == {"2026-03-29": {46}}
    take = _read_csv(out / "standing" / "gsp_group_take.csv")
    assert take["settlement_period"].astype(int).max() == 46


# --- determinism ------------------------------------------------------------------------------------------


def _file_bytes(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def test_same_seed_gives_byte_identical_files(tmp_path, default_run):
    again = _run(tmp_path, "again")
    assert _file_bytes(again) == _file_bytes(default_run)


def test_same_seed_gives_byte_identical_parquet_files(tmp_path, runs):
    again = _run(tmp_path, "again", file_format="parquet")
    assert _file_bytes(again) == _file_bytes(runs("parquet", file_format="parquet"))


def test_different_seed_gives_different_files(tmp_path, default_run):
    other = _run(tmp_path, "other", seed=8)
    ours, theirs = _file_bytes(default_run), _file_bytes(other)
    for name in ("consumption/consumption_2026-10-24.csv", "registrations/registrations_2026-10-23.csv",
                 "standing/gsp_group_take.csv"):
        assert ours[name] != theirs[name]


def test_fault_rates_do_not_change_the_true_values(clean_run, faulty_run):
    clean_take = (clean_run / "standing" / "gsp_group_take.csv").read_bytes()
    assert (faulty_run / "standing" / "gsp_group_take.csv").read_bytes() == clean_take


# --- faults -----------------------------------------------------------------------------------------------


def test_injected_fault_counts_are_close_to_rate_times_eligible(faulty_run):
    faults = _manifest(faulty_run)["faults"]
    for name in FAULT_NAMES:
        fault = faults[name]
        expected = fault["rate"] * fault["eligible"]
        assert fault["eligible"] > 0, name
        assert abs(fault["injected"] - expected) <= 4 * np.sqrt(expected) + 2, (name, fault)
        assert fault["injected"] > 0, name


def test_bad_check_digit_rows_are_exactly_the_manifest_count(default_run, faulty_run):
    for out in (default_run, faulty_run):
        rows = pd.concat([_consumption(out), _consumption(out, restated=True)])
        assert (~_valid_mask(rows["mpan_core"])).sum() == _manifest(out)["faults"]["bad_check_digits"]["injected"]
    assert _manifest(faulty_run)["faults"]["bad_check_digits"]["injected"] > 0


def test_injected_faults_are_present_in_the_files(faulty_run):
    manifest = _manifest(faulty_run)
    injected = manifest["fault_counts"]
    rows = _consumption(faulty_run)
    registrations = _registrations(faulty_run)
    parseable = _parseable(rows)

    assert (~parseable).sum() == injected["malformed_rows"]
    assert sum(manifest["malformed_kinds"].values()) == injected["malformed_rows"]
    assert all(count > 0 for count in manifest["malformed_kinds"].values())

    assert rows.duplicated(keep="first").sum() == injected["duplicate_submissions"]

    good = rows[parseable]
    kwh = good["kwh"].astype(float)
    assert (kwh < 0).sum() == injected["negative_values"]
    assert (kwh > 100).sum() >= injected["absurd_values"]
    registered = good["mpan_core"].isin(registrations["mpan_core"])
    valid = _valid_mask(good["mpan_core"])
    unregistered = good[valid & ~registered]
    assert unregistered["mpan_core"].nunique() == injected["unregistered_mpans"]
    assert len(unregistered) == manifest["faults"]["unregistered_mpans"]["rows"]

    domestic = _with_registration(good[valid & registered], registrations)
    domestic = domestic[(domestic["domestic_premises"] == "Y") & (domestic["measurement_quantity"] == "AI")]
    assert (domestic["kwh"].astype(float) > 100).sum() == injected["absurd_values"]

    joined = _with_registration(good[valid & registered], registrations)
    assert (joined["data_service_id"] != joined["data_service_id_reg"]).sum() == injected["wrong_data_service"]


def test_restated_submissions_follow_with_a_later_received_at_and_a_different_value(faulty_run):
    injected = _manifest(faulty_run)["fault_counts"]["restated_submissions"]
    restated = _consumption(faulty_run, restated=True)
    assert len(restated) == injected > 0
    key = ["mpan_core", "measurement_quantity", "utc_period_start"]
    original = _consumption(faulty_run).drop_duplicates()
    pairs = restated.merge(original, on=key, suffixes=("", "_original"))
    assert len(pairs) == len(restated)
    assert (pairs["received_at"] > pairs["received_at_original"]).all()
    assert (pairs["kwh"].astype(float) != pairs["kwh_original"].astype(float)).all()
    assert (pairs["quality_flag_original"] == "E").all() and (pairs["quality_flag"] == "A").all()


def test_missing_periods_and_mpan_days_are_the_rows_not_sent(faulty_run):
    manifest = _manifest(faulty_run)
    faults = manifest["faults"]
    rows = _consumption(faulty_run)
    registrations = _registrations(faulty_run)
    registered = rows[rows["mpan_core"].isin(registrations["mpan_core"])]
    mpan_days = registered[["file_date", "mpan_core"]].drop_duplicates()
    assert faults["missing_mpan_days"]["eligible"] - len(mpan_days) == faults["missing_mpan_days"]["injected"]
    periods = {"2026-10-24": 48, "2026-10-25": 50}
    expected_rows = int(mpan_days["file_date"].map(periods).sum())
    # a sent row is parseable or malformed; bad check digits make the core unknown, so add them back
    sent = len(registered.drop_duplicates()) + faults["bad_check_digits"]["injected"]
    assert expected_rows - sent == faults["missing_periods"]["injected"]
    assert faults["missing_periods"]["eligible"] == expected_rows


def test_all_zero_gives_clean_data(clean_run):
    manifest = _manifest(clean_run)
    assert set(manifest["parameters"]["fault_rates"].values()) == {0.0}
    assert set(manifest["fault_counts"].values()) == {0}
    rows = _consumption(clean_run)
    assert _parseable(rows).all()
    assert _valid_mask(rows["mpan_core"]).all()
    assert not rows.duplicated().any()
    assert (rows["kwh"].astype(float) >= 0).all()
    assert rows["mpan_core"].isin(_registrations(clean_run)["mpan_core"]).all()
    assert _consumption(clean_run, restated=True).empty
    assert not list((clean_run / "consumption").glob("*_restated*"))


def test_default_fault_rates_are_small_and_all_named():
    assert set(DEFAULT_FAULT_RATES) == set(FAULT_NAMES)
    assert all(0 < rate <= 0.01 for rate in DEFAULT_FAULT_RATES.values())


# --- GSP Group Take ---------------------------------------------------------------------------------------


def test_gsp_group_take_is_close_to_the_loss_adjusted_total_of_the_files(clean_run):
    """Consumption files and the true values of register-read MPANs (truth/) make up the take."""
    rows = _consumption(clean_run)
    periods = {
        utc: settlement_date_and_period(datetime.fromisoformat(utc.replace("Z", "+00:00")))
        for utc in rows["utc_period_start"].unique()
    }
    rows["settlement_date"] = rows["utc_period_start"].map(lambda u: periods[u][0].isoformat())
    rows["settlement_period"] = rows["utc_period_start"].map(lambda u: str(periods[u][1]))
    truth = _truth(clean_run)
    assert len(truth) > 0
    rows = pd.concat([rows, truth.assign(file_date=truth["settlement_date"])], ignore_index=True)
    rows = _with_registration(rows, _registrations(clean_run))
    rows = rows[rows["energisation_status"] == "E"]
    llf = _read_csv(clean_run / "standing" / "llf.csv")
    rows["distributor_id"] = rows["mpan_core"].str[:2]  # line losses are the distributor's, not the group's
    key = ["distributor_id", "llfc_id", "settlement_date", "settlement_period"]
    rows = rows.merge(llf, on=key, how="left", validate="many_to_one")
    assert rows["llf"].ne("").all() and rows["llf"].notna().all()
    sign = np.where(rows["measurement_quantity"] == "AE", -1.0, 1.0)
    rows["signed"] = sign * rows["kwh"].astype(float) * rows["llf"].astype(float)
    total = rows.groupby(["gsp_group_id", "settlement_date", "settlement_period"])["signed"].sum()

    take = _read_csv(clean_run / "standing" / "gsp_group_take.csv")
    take = take.set_index(["gsp_group_id", "settlement_date", "settlement_period"])["gsp_group_take_kwh"]
    take = take.astype(float)
    assert len(take) == 14 * (48 + 50)
    compared = pd.concat([take.rename("take"), total.rename("total")], axis=1).fillna(0.0)
    compared = compared[compared["total"].abs() > 0.1]
    assert len(compared) > 0.8 * len(take)
    ratio = compared["take"] / compared["total"]
    assert ratio.between(0.96, 1.04).all()
    assert (ratio - 1).abs().max() > 0.001
    assert 0.002 < ratio.std() < 0.02


# --- shapes -----------------------------------------------------------------------------------------------


def test_shapes_follow_local_time_and_annual_consumption(runs):
    out = runs("mix", mpans=3000, days=3, fault_rates=CLEAN)
    rows = _with_registration(_consumption(out), _registrations(out))
    rows["kwh"] = rows["kwh"].astype(float)
    local = pd.to_datetime(rows["utc_period_start"]).dt.tz_convert("Europe/London")
    rows["hour"] = local.dt.hour
    domestic = rows[(rows["domestic_premises"] == "Y") & (rows["measurement_quantity"] == "AI")]
    by_hour = domestic.groupby("hour")["kwh"].mean()
    assert by_hour.loc[17:20].mean() > 2.5 * by_hour.loc[1:4].mean()  # evening peak
    assert by_hour.loc[7:8].mean() > 1.3 * by_hour.loc[2:4].mean()  # morning peak
    assert domestic["kwh"].max() < 100
    export = rows[rows["measurement_quantity"] == "AE"]
    night = export["hour"].isin([0, 1, 2, 3, 22, 23])
    assert (export.loc[night, "kwh"] == 0).all() and export.loc[~night, "kwh"].sum() > 0
    # day totals ~ AC / 365 x a seasonal factor near 1 in late October
    days = domestic.groupby(["mpan_core", "file_date"]).agg(kwh=("kwh", "sum"), ac=("annual_consumption_kwh", "first"))
    ratio = days["kwh"].sum() / (days["ac"].astype(float) / 365).sum()
    assert 0.85 < ratio < 1.25
    # non-domestic: working hours, lower at the weekend (2026-10-24/25 is a weekend, 10-26 a Monday)
    business = rows[(rows["domestic_premises"] == "N") & (rows["market_segment"] == "S")
                    & (rows["measurement_quantity"] == "AI")]
    per_day = business.groupby("file_date")["kwh"].sum()
    assert per_day["2026-10-26"] > 1.3 * per_day["2026-10-24"]
    monday = business[business["file_date"] == "2026-10-26"].groupby("hour")["kwh"].mean()
    assert monday.loc[10:15].mean() > 2 * monday.loc[0:5].mean()


# --- arguments --------------------------------------------------------------------------------------------


def test_unknown_fault_name_is_rejected_with_the_valid_names(tmp_path):
    with pytest.raises(MhhsError, match="valid names") as error:
        generate(tmp_path / "x", 10, 1, AUTUMN_START, 1, "csv", {"missing_period": 0.1})
    assert "missing_periods" in str(error.value) and "all" in str(error.value)
    assert not (tmp_path / "x").exists()


def test_row_fault_rates_adding_up_to_more_than_one_are_rejected(tmp_path):
    with pytest.raises(MhhsError, match="at most 1"):
        generate(tmp_path / "x", 10, 1, AUTUMN_START, 1, "csv", {"all": 0.5})


def test_a_named_rate_applies_after_all(tmp_path):
    out = tmp_path / "x"
    generate(out, 50, 1, AUTUMN_START, 1, "csv", {"duplicate_submissions": 0.1, "all": 0})
    counts = _manifest(out)["fault_counts"]
    assert counts["duplicate_submissions"] > 0
    assert sum(counts.values()) == counts["duplicate_submissions"]


def test_refuses_to_write_into_a_non_empty_directory(tmp_path):
    (tmp_path / "existing.csv").write_text("keep me\n")
    with pytest.raises(MhhsError, match="not empty"):
        generate(tmp_path, 10, 1, AUTUMN_START, 1, "csv", {})
    assert [p.name for p in tmp_path.iterdir()] == ["existing.csv"]


def test_writes_into_an_existing_empty_directory(tmp_path):
    summary = generate(tmp_path, 10, 1, AUTUMN_START, 1, "csv", CLEAN)
    assert summary["consumption_rows"] > 0 and summary["registration_rows"] >= 10
    assert (tmp_path / MANIFEST_FILE).is_file()


# --- every size settles ----------------------------------------------------------------------------------
# The settlement stops a run on the stopping checks of the data catalogue (dbt_project/tests/settlement); those
# about the standing data are run here, as dbt compiles them, over the values the settlement will take from a
# generated landing directory, so a generated day is known to settle without running dbt.

DBT_PROJECT = Path(__file__).resolve().parents[1] / "dbt_project"
STANDING_DATA_CHECKS = (
    "assert_gsp_group_take_for_every_period",
    "assert_line_loss_factor_for_every_period",
    "assert_ccc_for_every_volume",
    "assert_gsp_group_correction_possible",
    "assert_corrected_volumes_add_up_to_gsp_group_take",
)
SETTLES_DAYS = (date(2026, 10, 24), date(2026, 10, 25), date(2026, 3, 29))  # 48, 50 and 46 periods
SETTLES_SEEDS = (1, 2, 3, 4, 5)


def _dbt_sql(path: Path, parameters: dict) -> str:
    """A dbt model or singular test compiled for one run: ref() names the relation of that name."""
    tolerance = dict(catalogue.load().settlement_rules["correction_identity"].parameters)["tolerance_kwh"]
    return jinja2.Environment(undefined=jinja2.StrictUndefined).from_string(path.read_text()).render(
        ref=lambda name: name, config=lambda **_: "", run_parameter=lambda name: parameters[name],
        in_partition=lambda column: "true", partitioned=lambda: False, correction_tolerance_kwh=lambda: tolerance,
    )


def _settlement_inputs(con: duckdb.DuckDBPyConnection, out: Path, day: date) -> None:
    """Relations named as the dbt models the checks read, from the landing files and standing data of one day.

    The values are those the settlement takes as sent: registered (newest snapshot of the MPAN, then the
    updates after it), energised,
    sent once by the appointed data service, readable, not negative, not above the physical maximum and not
    restated later. A value it has to estimate, or derive from a register read (daily / monthly consent: no
    half-hourly consumption is sent), is left out (relation `estimated`): its volume is unknown here, so a GSP
    Group and period holding one must have a weighted value among the others.
    """
    standing = out / "standing"
    text = {"all_varchar": True, "header": True}
    con.execute("create table settlement_periods (settlement_period integer, utc_period_start varchar)")
    con.executemany("insert into settlement_periods values (?, ?)", [
        (number, start.strftime("%Y-%m-%dT%H:%M:%SZ")) for number, start in enumerate(utc_period_starts(day), 1)])
    con.execute("create view int_settlement_periods as select settlement_period from settlement_periods")
    con.read_csv(str(standing / "gsp_group_take.csv"), **text).create_view("take_text")
    con.execute("""create table stg_standing__gsp_group_take as select gsp_group_id, settlement_date::date as
        settlement_date, settlement_period::integer as settlement_period,
        gsp_group_take_kwh::decimal(18, 3) as gsp_group_take_kwh from take_text""")
    con.read_csv(str(standing / "llf.csv"), **text).create_view("llf_text")
    con.execute("""create table stg_standing__llf as select distributor_id, llfc_id, settlement_date::date as
        settlement_date, settlement_period::integer as settlement_period, llf::decimal(18, 4) as llf from llf_text""")
    con.read_csv(str(standing / "ccc.csv"), **text).create_view("ccc_text")
    con.execute("""create table stg_standing__ccc as select * replace (scaling_weight::double as scaling_weight)
        from ccc_text""")
    maxima = yaml.safe_load((DBT_PROJECT / "dbt_project.yml").read_text())["vars"]["physical_max_kwh"]
    con.execute("create table physical_max (market_segment varchar, domestic_premises varchar, kwh double)")
    con.executemany("insert into physical_max values (?, ?, ?)",
                    [(*key.split("_"), float(value)) for key, value in maxima.items()])

    in_force = _registrations(out).replace("", None)  # the newest snapshot holding the MPAN, then its updates
    con.register("in_force", in_force)
    con.execute("create table registered as select * from in_force")
    con.execute(f"""create table expected as
        select r.*, substr(r.mpan_core, 1, 2) as distributor_id, p.settlement_period
        from registered as r cross join settlement_periods as p
        where r.effective_from_date::date <= date '{day}'
          and (r.effective_to_date is null or r.effective_to_date::date >= date '{day}')
          and r.energisation_status = 'E'""")

    files = sorted((out / "consumption").glob(f"consumption_{day}*.csv"))
    main = [path for path in files if not path.stem.endswith("_restated")]
    assert len(main) == 1, files
    con.read_csv(str(main[0]), **text).create_view("sent_text")
    restated = [path for path in files if path.stem.endswith("_restated")]
    if restated:
        con.read_csv(str(restated[0]), **text).create_view("restated")
    else:
        con.execute("create view restated as select * from sent_text where false")
    # how many different rows (a restatement counts) were sent for the key
    con.execute("""create table sent as
        select *, count(*) over (partition by mpan_core, measurement_quantity, utc_period_start) as versions
        from (select * from sent_text union select * from restated)""")
    con.execute("""create table taken as
        select e.*, try_cast(s.kwh as decimal(18, 3)) as kwh, s.quality_flag as actual_estimated
        from expected as e
        join settlement_periods as p using (settlement_period)
        join sent as s on s.mpan_core = e.mpan_core and s.measurement_quantity = e.measurement_quantity
            and s.utc_period_start = p.utc_period_start and s.data_service_id = e.data_service_id
        join physical_max as m on m.market_segment = e.market_segment and m.domestic_premises = e.domestic_premises
        where try_cast(s.kwh as decimal(18, 3)) between 0 and m.kwh and s.quality_flag in ('A', 'E')
          and s.versions = 1""")
    con.execute("""create table estimated as
        select * from expected anti join taken using (mpan_core, measurement_quantity, settlement_period)""")
    con.execute("create view int_consumption_estimated as select * from expected")
    con.execute(f"""create table int_supplier_period_volumes as
        select t.gsp_group_id, t.supplier_id, t.bm_unit_id, t.market_segment, t.measurement_quantity,
               t.settlement_period, t.actual_estimated, c.component,
               sum(case c.component when 'C' then t.kwh else t.kwh * (l.llf - 1) end)::decimal(38, 7) as volume_kwh,
               count(*) as mpan_count, ccc.ccc_id, ccc.scaling_weight
        from taken as t
        cross join (values ('C'), ('L')) as c(component)
        left join stg_standing__llf as l on l.distributor_id = t.distributor_id and l.llfc_id = t.llfc_id
            and l.settlement_date = date '{day}' and l.settlement_period = t.settlement_period
        left join stg_standing__ccc as ccc on ccc.market_segment = t.market_segment
            and ccc.measurement_quantity = t.measurement_quantity and ccc.actual_estimated = t.actual_estimated
            and ccc.component = c.component
        group by all""")


def _stopping_problems(out: Path, day: date) -> list[str]:
    """What would stop `mhhs settle` for the day on the standing data: each check's message and first rows."""
    checks = catalogue.load().stopping_checks
    parameters = {"settlement_date": day.isoformat(), "run_id": f"SF-{day}-v1", "run_type": "SF",
                  "gsp_group_ids": None}
    con = duckdb.connect()
    _settlement_inputs(con, out, day)
    for model in ("intermediate/int_gsp_group_correction", "marts/gsp_group_correction", "marts/supplier_volumes"):
        name = model.split("/")[1]
        con.execute(f"create table {name} as {_dbt_sql(DBT_PROJECT / 'models' / f'{model}.sql', parameters)}")
    problems = []
    for name in STANDING_DATA_CHECKS:
        rows = con.sql(_dbt_sql(DBT_PROJECT / "tests" / "settlement" / f"{name}.sql", parameters)).fetchall()
        if rows:
            problems.append(f"{checks[name].message}: {rows[:3]}")
    # where the settlement estimates a value, W stays above 0 whatever the estimate is (weights are never negative)
    rows = con.sql("""select distinct c.gsp_group_id, c.settlement_period, c.weighted_kwh
        from int_gsp_group_correction as c join estimated as e using (gsp_group_id, settlement_period)
        where c.weighted_kwh <= 0""").fetchall()
    if rows:
        problems.append(f"values to estimate where no value is weighted (W could be 0): {rows[:3]}")
    return problems


@pytest.mark.unit
def test_the_standing_data_checks_are_stopping_checks_of_the_catalogue():
    checks = catalogue.load().stopping_checks
    assert set(STANDING_DATA_CHECKS) <= set(checks)
    assert all((DBT_PROJECT / "tests" / "settlement" / f"{name}.sql").is_file() for name in STANDING_DATA_CHECKS)


@pytest.mark.unit
def test_generated_ccc_weights_keep_w_growing_with_every_value():
    """What _stopping_problems relies on: an estimate the settlement adds can only make W larger."""
    ccc = _read_csv(Path(__file__).resolve().parents[1] / "pipelines/reference/standing_data/defaults/ccc.csv")
    weights = ccc["scaling_weight"].astype(float)
    assert (weights >= 0).all()
    assert (weights[ccc["measurement_quantity"] == "AE"] == 0).all()


def _every_size_arguments(mpans: int) -> tuple[int, date, dict]:
    seed = SETTLES_SEEDS[mpans % len(SETTLES_SEEDS)] + 10 * (mpans // len(SETTLES_SEEDS))
    return seed, SETTLES_DAYS[mpans % len(SETTLES_DAYS)], HIGH_RATES if mpans % 5 == 0 else {}


@pytest.mark.unit
def test_every_size_check_covers_register_read_mpans():
    """The sizes 1..50 below include MPANs with daily and monthly consent (whose GSP Group has an anchor), so the
    check's `estimated` relation holds register-read MPANs: their derived values are never counted on."""
    from pipelines.synthetic.generate import _context, _population, resolve_fault_rates

    consent = []
    for mpans in range(1, 51):
        seed, day, rates = _every_size_arguments(mpans)
        pop = _population(_context(seed, day, 1, "csv", resolve_fault_rates(rates)), 0, 0, mpans)
        consent.extend(pop.consent.tolist())
        anchored = set(pop.group[pop.anchor].tolist())
        assert set(pop.group[pop.consent != 0].tolist()) <= anchored, mpans
    assert consent.count(1) >= 5 and consent.count(2) >= 3, consent


@pytest.mark.unit
@pytest.mark.parametrize("mpans", range(1, 51))
def test_generated_standing_data_settles_every_size(mpans, tmp_path):
    """Every size from 1 MPAN up gives standing data the settlement accepts (CONTRACT.md, mhhs generate): a
    different seed for every size, the three lengths of day in turn, and high fault rates for every fifth size
    (faults can take every MPAN of a small group out of settlement)."""
    seed, day, rates = _every_size_arguments(mpans)
    out = tmp_path / "landing"
    generate(out_dir=out, mpans=mpans, days=1, start=day, seed=seed, fault_rates=rates)
    assert _stopping_problems(out, day) == [], (mpans, seed, day, rates)


@pytest.mark.parametrize(("mpans", "seed", "day"), [
    (1, 3, date(2026, 10, 25)),  # one MPAN on the autumn clock-change day
    (7, 1, date(2026, 10, 24)),  # W = 0 in a group with only an export MPAN (issue 22)
    (50, 2, date(2026, 10, 24)),  # export and advanced only groups, a value to estimate among them
])
def test_generated_small_days_ingest_and_settle(mpans, seed, day, tmp_path, capsys):
    """`mhhs generate` then `mhhs ingest` and `mhhs settle` of the day: the run succeeds."""
    from pipelines import cli

    landing, data_dir = tmp_path / "landing", tmp_path / "data"
    assert cli.main(["generate", "--mpans", str(mpans), "--days", "1", "--start", day.isoformat(), "--seed",
                     str(seed), "--out", str(landing)]) == 0
    assert cli.main(["--data-dir", str(data_dir), "ingest", str(landing)]) == 0
    capsys.readouterr()
    code = cli.main(["--data-dir", str(data_dir), "settle", "--date", day.isoformat(), "--run-type", "SF",
                     "--standing-data", str(landing / "standing")])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert f"settlement run SF-{day}-v1 succeeded" in out + err
    assert (data_dir / "outbound" / "SF" / day.isoformat()).is_dir()
