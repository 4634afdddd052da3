"""`mhhs generate`: synthetic landing files, their faults and the ground truth in the manifest."""

import json
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.catalogue import dataset_columns
from pipelines.core.errors import MhhsError
from pipelines.core.mpan import is_valid_mpan_core
from pipelines.core.periods import settlement_date_and_period
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


def _registrations(out: Path) -> pd.DataFrame:
    """The registration rows in force: for each MPAN, the rows of the newest snapshot that contains it."""
    frame = pd.concat([_read_csv(p) for p in sorted((out / "registrations").glob("*.csv"))], ignore_index=True)
    newest = frame.groupby("mpan_core")["snapshot_date"].transform("max")
    return frame[frame["snapshot_date"] == newest].reset_index(drop=True)


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
    listed = {entry["path"]: entry["rows"] for entry in manifest["files"]}
    written = {
        str(p.relative_to(default_run)) for p in default_run.rglob("*") if p.is_file() and p.name != MANIFEST_FILE
    }
    assert set(listed) == written
    for path, rows in listed.items():
        if path.startswith(("consumption/", "registrations/")):
            assert len(_read_csv(default_run / path)) == rows
    assert manifest["consumption_rows"] == sum(r for p, r in listed.items() if p.startswith("consumption/"))
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


def test_consumption_uses_the_newest_registration_for_data_service_and_energisation(clean_run):
    rows = _consumption(clean_run)
    joined = _with_registration(rows, _registrations(clean_run))
    assert len(joined) == len(rows)  # every row has a registration in force on its date
    assert (joined["data_service_id"] == joined["data_service_id_reg"]).all()
    assert (joined["energisation_status"] == "E").all()


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
    rows = _with_registration(_consumption(clean_run), _registrations(clean_run))
    rows = rows[rows["energisation_status"] == "E"]
    periods = {
        utc: settlement_date_and_period(datetime.fromisoformat(utc.replace("Z", "+00:00")))
        for utc in rows["utc_period_start"].unique()
    }
    rows["settlement_date"] = rows["utc_period_start"].map(lambda u: periods[u][0].isoformat())
    rows["settlement_period"] = rows["utc_period_start"].map(lambda u: str(periods[u][1]))
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
