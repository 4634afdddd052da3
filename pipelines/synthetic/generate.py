"""Synthetic landing data for `mhhs generate` (CONTRACT.md): consumption, registration snapshots and updates,
register reads, standing data, and the ground truth behind them.

Layout written under the output directory:

* ``consumption/consumption_<settlement_date>.csv`` (or ``.parquet``): every submission for the UTC half
  hours of one LOCAL settlement date (46, 48 or 50 per MPAN). Restated submissions (same MPAN, quantity and
  period, a later ``received_at`` and a different value) go to ``consumption_<settlement_date>_restated.csv``.
* ``registrations/registrations_<snapshot_date>.csv``: an older snapshot (the day before the first generated
  date) with every registered MPAN, and a newer one (the day after the last generated date) whose rows for
  a subset of MPANs replace the older rows (supplier changes and de-energisations inside the window, and
  corrected appointments and annual consumptions).
* ``registration_updates/registration_updates_<first date>_<last date>.csv``: for a few other MPANs, a change
  inside the window (supplier, with or without a new data service; LLFC; de-energisation) sent as an update after
  the older snapshot instead of in the newer one (which does not hold them); some updates are sent twice, the
  later ``updated_at`` correcting the first's data service.
* ``register_reads/register_reads_<settlement_date>.csv`` (daily consent) and ``register_reads_<YYYY-MM>.csv``
  (monthly consent, the whole calendar month, received after it): domestic customers who opted out of
  half-hourly collection send no consumption; their reads are the sums of their true half-hourly values, which
  ``truth/register_read_truth.parquet`` holds for the generated days (what shaping should give back; ingestion
  never reads ``truth/``).
* ``standing/``: bundled standing data, line loss factors for the dates and a GSP Group Take that is the
  true loss-adjusted total of each group and period times (1 + a small metering error).
* ``generation_manifest.json``: parameters, files and row counts, population figures, and the exact number
  of every injected fault: the ground truth ingestion and settlement tests compare against.

How it scales: MPANs are processed in chunks of ``CHUNK_MPANS``; everything is numpy / pyarrow arrays, and
each chunk is streamed into the open output files (one CSV / Parquet writer per settlement date), so memory
is bounded by the chunk size, not by the number of MPANs.

Determinism: every random draw comes from ``numpy.random.default_rng`` seeded with a ``SeedSequence`` keyed
by (seed, stream, day, chunk); nothing depends on the wall clock or on dict / set ordering, so the same
arguments give byte-identical files. True consumption and fault injection use separate streams, so the
fault rates never change the true values (and GSP Group Take) of a seed.

Every size settles (CONTRACT.md: any ``--mpans`` from 1 upward). GSP Group Correction (DOMAIN.md section 6)
shares GSPGT - U in proportion to W, the volume of the CCCs with a scaling weight; where W = 0 the settlement
accepts only GSPGT = U (within 0.0005 kWh) and otherwise stops. With few MPANs a GSP Group and period can have
no weighted value: no MPAN in the group, only export or advanced actual import (weight 0), or street lighting
by day. So:

* the values settlement derives from register reads are not the true values and may be 0 (a shape, a refused
  read), so they never count as weighted: a domestic MPAN keeps daily or monthly consent only where its GSP
  Group has an *anchor* (an HH smart import MPAN energised all through the window), and where a group and period
  with register-read MPANs has no weighted value the anchor's 0 there becomes 0.001 kWh; the take, true total
  times the metering error there, then has a weighted value to be corrected against;
* where no true value of a GSP Group and period is weighted, its take is the exact true total rounded to 3
  decimals, without the metering error. The exact total (3-decimal kWh x 4-decimal LLF) is kept off a half
  unit of the third decimal, the one total no 3-decimal take is within 0.0005 kWh of: where it would fall
  there (not rare: an LLF such as 1.05 puts one total in 20 there), one value of the group and period with
  an LLF other than 1 is lowered by 0.001 kWh before anything is written. The change depends on the seed and
  the true values only, so the take still does not depend on the fault rates;
* faults must not change U or W there: a fault that makes the settlement refuse, replace or estimate a value
  would. So, per chunk, a GSP Group and period in which no weighted value survives the drawn faults untouched
  is *protected*: none of its rows carries a fault and none of its MPANs loses the day (``missing_mpan_days``).
  Then either a weighted value reaches the settlement as sent (W > 0 whatever it estimates, since weights and
  import values are never negative), or every value of the group and period is sent as it is (U is the true
  total and W = 0, as the take assumes). The draws are unchanged, so large populations, where nothing needs
  protecting, give the same files as before; the manifest's ``eligible`` counts leave protected rows and
  MPAN-days out.

Time: settlement periods are always the UTC instants of ``pipelines.core.periods.utc_period_starts``; behaviour
shapes (domestic, non-domestic) are evaluated at the Europe/London clock time of each instant (so the
50-period day repeats the 01:00 hour), sun-driven shapes (solar export, street lighting) at solar time.
"""

from __future__ import annotations

import functools
import json
import math
import queue
import threading
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from pipelines.catalogue import arrow_type_of, dataset, dataset_columns, load as load_catalogue
from pipelines.core.errors import MhhsError
from pipelines.core.mpan import mpan_cores
from pipelines.core.periods import LONDON, utc_period_starts
from pipelines.reference.standing_data import (
    DEFAULTS_DIR,
    default_distributors,
    default_gsp_groups,
    default_llfcs,
    expand_llf,
    read_standing_file,
    write_standing_data,
)
from pipelines.reference.standing_data.calendar import SettlementCalendar

CHUNK_MPANS = 50_000
FORMATS = ("csv", "parquet")
MANIFEST_FILE = "generation_manifest.json"

# ---------------------------------------------------------------------------------------------------------
# Faults. Row faults are mutually exclusive per consumption row (each row carries at most one), so every
# injected fault stays identifiable; their rates must add up to at most 1.
# ---------------------------------------------------------------------------------------------------------
ROW_FAULTS = (
    "missing_periods",  # the row is not sent
    "duplicate_submissions",  # the row is sent twice, byte for byte
    "restated_submissions",  # the row first carries a wrong estimate (E); the true actual follows later
    "negative_values",  # kwh < 0
    "absurd_values",  # 120..1000 kWh in a half hour for a domestic import MPAN
    "bad_check_digits",  # the MPAN core's check digit is wrong
    "wrong_data_service",  # sent by a data service not appointed to the MPAN on that date
    "malformed_rows",  # unparseable: see MALFORMED_KINDS
)
MPAN_DAY_FAULTS = ("missing_mpan_days",)  # a whole MPAN-day is not sent
MPAN_FAULTS = ("unregistered_mpans",)  # valid MPAN cores that are in no registration send every day
FAULT_NAMES = ROW_FAULTS + MPAN_DAY_FAULTS + MPAN_FAULTS
DEFAULT_FAULT_RATES = {
    "missing_periods": 0.002,
    "duplicate_submissions": 0.001,
    "restated_submissions": 0.002,
    "negative_values": 0.0002,
    "absurd_values": 0.0002,
    "bad_check_digits": 0.0002,
    "wrong_data_service": 0.0005,
    "malformed_rows": 0.0002,
    "missing_mpan_days": 0.005,
    "unregistered_mpans": 0.005,
}
FAULT_UNITS = {
    **{name: "rows" for name in ROW_FAULTS},
    "missing_mpan_days": "mpan_days",
    "unregistered_mpans": "mpans",
}
# Malformed rows per format: Parquet columns are typed, so a timestamp without an offset or a non-numeric
# kwh cannot be written there; a null kwh stands in for the unreadable value.
MALFORMED_KINDS = {
    "csv": ("timestamp_without_offset", "non_numeric_kwh", "off_boundary_period", "bad_measurement_quantity"),
    "parquet": ("missing_kwh", "off_boundary_period", "bad_measurement_quantity"),
}
NON_NUMERIC_KWH = ("n/a", "12kWh", "1.2.3")
ABSURD_MILLI_KWH = (120_000, 1_000_000)  # 120 .. 999.999 kWh in a half hour

# ---------------------------------------------------------------------------------------------------------
# Market participants and population mix (synthetic ids; 4 characters as the contract requires).
# ---------------------------------------------------------------------------------------------------------
SUPPLIERS = ("ALFA", "BRVO", "CHRL", "DLTA", "ECHO", "FXTR", "GOLF", "HOTL", "INDI", "JULT", "KILO", "LIMA")
SUPPLIER_SHARES = (0.20, 0.17, 0.13, 0.11, 0.09, 0.08, 0.06, 0.05, 0.04, 0.03, 0.02, 0.02)
SEGMENTS = ("S", "A", "U")
SEGMENT_SHARES = (0.90, 0.08, 0.02)
SEG_S, SEG_A, SEG_U = 0, 1, 2
DATA_SERVICES = ("SDSA", "SDSB", "SDSC", "ADSA", "ADSB", "UMSA", "UMSB")
DATA_SERVICES_BY_SEGMENT = {SEG_S: (0, 1, 2), SEG_A: (3, 4), SEG_U: (5, 6)}
DATA_SERVICE_SHARES = {SEG_S: (0.5, 0.3, 0.2), SEG_A: (0.6, 0.4), SEG_U: (0.7, 0.3)}
DOMESTIC_SHARE_OF_SMART = 0.88
EXPORT_SHARE = {"domestic": 0.08, "smart_non_domestic": 0.04, "advanced": 0.05}  # AE MPANs (own MPAN core)
CONSENT = ("HH", "D", "M")
CON_HH, CON_DAILY, CON_MONTHLY = range(3)
# Consent granularity of domestic import MPANs (DOMAIN.md section 3): an assumption, since no published count of
# opt-outs was found. The rules it rests on: Ofgem's decision on access to half-hourly data for settlement keeps a
# domestic opt-out from half-hourly collection, to daily reads (Citizens Advice's response to it:
# https://www.citizensadvice.org.uk/about-us/our-work/policy/policy-research-topics/energy-policy-research-and-
# consultation-responses/energy-consultation-responses/citizens-advice-response-to-ofgems-decision-for-access-to-
# half-hourly-electricity-data-for-settlement-purposes/, which also reports 89% of consumers valuing the opt-out
# "even where they do not make use of" it); meters installed before 3 November 2022 whose customers kept the older
# settings read daily by default and may opt down to monthly, newer ones read half-hourly by default and may opt
# down to daily only (https://advizzo.com/making-smarter-choices-navigating-opt-in-options-to-obtain-half-hourly-
# data). So: most HH, a small minority daily, fewer monthly. Daily / monthly MPANs send no half-hourly consumption:
# their data service sends register reads (register_reads/), which settlement shapes into half hours. Export,
# non-domestic, advanced and unmetered MPANs are always HH (consent is a domestic customer's choice), and so is a
# domestic MPAN whose GSP Group has no anchor (_population: what keeps every size settling).
DOMESTIC_CONSENT_SHARES = (0.90, 0.06, 0.04)
NON_BASE_BM_UNIT_SHARE = 0.05
# MPANs on an independent network (IDNO) inside their GSP Group, e.g. new-build estates: their cores begin with
# the IDNO's id and their LLFCs (the same ids as the host DNO's) have the IDNO's own factors.
IDNO_SHARE = 0.05  # advanced MPANs allocated to a named (non-base) BM Unit
# Approximate metering points per GSP Group (millions): weights for where MPANs are.
GSP_GROUP_WEIGHTS = {
    "_A": 3.7, "_B": 2.6, "_C": 2.4, "_D": 1.5, "_E": 2.5, "_F": 1.6, "_G": 2.4,
    "_H": 3.0, "_J": 2.4, "_K": 1.1, "_L": 1.6, "_M": 2.3, "_N": 2.0, "_P": 0.8,
}

# Registration history events (at most one per MPAN).
EV_NONE, EV_SC_BEFORE, EV_SC_IN, EV_DEEN_BEFORE, EV_DEEN_IN, EV_CORRECTION = range(6)
EVENT_NAMES = (
    "none",
    "supplier_change_before_window",
    "supplier_change_in_window",
    "de_energisation_before_window",
    "de_energisation_in_window",
    "corrected_in_newer_snapshot",
)
EVENT_SHARES = (0.895, 0.05, 0.02, 0.01, 0.005, 0.02)
CHANGES_DATA_SERVICE_ON_SUPPLIER_CHANGE = 0.5

# Registration updates (registration_updates/): a change inside the window sent by the Registration Service as an
# update instead of in the newer snapshot, for MPANs without another event (they are in the older snapshot only).
# Real rates are lower: with a few per cent of domestic accounts switching supplier a month in an active market,
# about 0.05% of MPANs change supplier on a given day, so a 2-day sample of 200 MPANs would hold none; 2% of the
# MPANs, whatever the window's length, exercises every kind in the committed sample (like the fault rates, a rate
# for testing, documented in the manifest).
UPD_NONE, UPD_SUPPLIER, UPD_LLFC, UPD_DE_ENERGISE = range(4)
UPDATE_KINDS = ("none", "supplier_change", "llfc_change", "de_energisation")
UPDATE_SHARE = 0.02
UPDATE_KIND_SHARES = (0.6, 0.2, 0.2)  # supplier change (half of them with a new data service), LLFC, de-energisation
UPDATE_RESENT_SHARE = 0.25  # first sent with a wrong data service appointment, corrected by a later update

# Load shapes.
SH_DOMESTIC, SH_NON_DOMESTIC, SH_UNMETERED, SH_SOLAR = range(4)
DAY_SIGMA = np.array([0.15, 0.10, 0.01, 0.10])  # lognormal spread of an MPAN's day total around its mean
VALUE_SIGMA = np.array([0.35, 0.15, 0.02, 0.15], dtype=np.float32)  # spread of single half hours
ESTIMATED_DAY_SHARE = 0.01  # MPAN-days the data service estimated (comms failure): flag E
ESTIMATED_PERIOD_SHARE = 0.003
UNMETERED_DARK_HOURS_PER_YEAR = 4380.0
BUSINESS_DAY = (1.14, 0.65)  # non-domestic demand of a working and a non-working day, against the mean day
SOLAR_NOON_UTC_HOUR = 12.1  # about 1.5 degrees west

MPAN_MULTIPLIER = 7_212_376_903  # coprime to 10**10: index -> 10-digit unique id is a bijection
RECEIVED_HOUR_UTC = 1  # first submission: 01:xx UTC the day after the settlement date
RESTATED_AFTER_DAYS = 4  # restatement: four days after the settlement date

# Random streams (SeedSequence spawn keys).
(_S_POPULATION, _S_UNREGISTERED, _S_CONSUMPTION, _S_UNREG_CONSUMPTION, _S_WEATHER, _S_FAULTS, _S_FAULT_VALUES,
 _S_GSPGT, _S_MPAN_OFFSET, _S_OUTSIDE_WINDOW) = range(1, 11)
GSPGT_ERROR_SD = 0.0075

EPOCH = date(1970, 1, 1)
_US = 1_000_000


def _rng(seed: int, *key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(entropy=seed % 2**64, spawn_key=tuple(key)))


# ---------------------------------------------------------------------------------------------------------
# Arguments
# ---------------------------------------------------------------------------------------------------------
def resolve_fault_rates(overrides: dict[str, float] | None) -> dict[str, float]:
    """Default rates with the user's overrides; ``all`` sets every rate first, named rates then apply."""
    rates = dict(DEFAULT_FAULT_RATES)
    overrides = dict(overrides or {})
    unknown = sorted(name for name in overrides if name != "all" and name not in rates)
    if unknown:
        raise MhhsError(
            f"unknown fault name(s) {', '.join(unknown)}; valid names are all, {', '.join(FAULT_NAMES)}"
        )
    if "all" in overrides:
        rates = {name: overrides["all"] for name in rates}
    for name in FAULT_NAMES:
        if name in overrides:
            rates[name] = overrides[name]
    for name, rate in rates.items():
        if not isinstance(rate, (int, float)) or not 0.0 <= float(rate) <= 1.0 or math.isnan(rate):
            raise MhhsError(f"fault rate {name}={rate} must be a number between 0 and 1")
        rates[name] = float(rate)
    row_total = sum(rates[name] for name in ROW_FAULTS)
    if row_total > 1.0 + 1e-12:
        raise MhhsError(
            f"the per-row fault rates ({', '.join(ROW_FAULTS)}) add up to {row_total:g}; a row carries at most "
            "one fault, so they must add up to at most 1"
        )
    return rates


def _prepare_out_dir(out_dir: Path) -> Path:
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise MhhsError(f"output path {out_dir} exists and is not a directory")
    if out_dir.is_dir() and any(out_dir.iterdir()):
        raise MhhsError(
            f"output directory {out_dir} is not empty; refusing to overwrite existing files "
            "(choose a new or empty directory, or remove it first)"
        )
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        for folder in ("consumption", "registrations", "registration_updates", "register_reads", "truth"):
            (out_dir / folder).mkdir()
    except OSError as error:
        raise MhhsError(f"cannot create output directory {out_dir}: {error}") from None
    return out_dir


# ---------------------------------------------------------------------------------------------------------
# Static context: GSP Groups, LLFCs, line loss factors
# ---------------------------------------------------------------------------------------------------------
@dataclass
class _Context:
    seed: int
    start: date
    days: int
    file_format: str
    rates: dict[str, float]
    group_ids: list[str]
    group_weights: np.ndarray
    distributor_numbers: np.ndarray  # int64 per distributor (distributors.csv order)
    host_distributor: np.ndarray  # per group: index of its DNO
    idnos: np.ndarray  # indices of the IDNOs
    llfc_ids: list[str]
    llfc_choice: dict[tuple[int, bool, bool], np.ndarray]  # (segment, domestic, export) -> candidate indices
    llf: np.ndarray  # [day, distributor, llfc, period-1]
    llf_units: np.ndarray  # the same in exact units of 0.0001 (int64; the factors have 4 decimals)
    weights: np.ndarray  # [segment, export, estimated, component C / L]: the CCC scaling weight written to ccc.csv
    mpan_offset: int
    bm_units: pa.Array  # "2__<group letter><supplier>001" per group x supplier

    @property
    def start_day(self) -> int:
        return (self.start - EPOCH).days


@dataclass(frozen=True)
class _Bundled:
    """The bundled standing data the generator builds on (read and validated once per process)."""

    gsp_groups: pa.Table
    distributors: pa.Table
    llfcs: pa.Table
    ccc: pa.Table  # the CCCs and scaling weights write_standing_data writes to ccc.csv
    calendar: SettlementCalendar


@functools.lru_cache(maxsize=1)
def _bundled() -> _Bundled:
    return _Bundled(gsp_groups=default_gsp_groups(), distributors=default_distributors(), llfcs=default_llfcs(),
                    ccc=read_standing_file(DEFAULTS_DIR / dataset("ccc").file, "ccc"),
                    calendar=SettlementCalendar.from_standing_data())


def _context(seed: int, start: date, days: int, file_format: str, rates: dict[str, float]) -> _Context:
    bundled = _bundled()
    groups = bundled.gsp_groups
    group_ids = [str(g) for g in groups.column("gsp_group_id").to_pylist()]
    distributors = bundled.distributors
    distributor_ids = [str(d) for d in distributors.column("distributor_id").to_pylist()]
    d_index = {d: i for i, d in enumerate(distributor_ids)}
    host = np.array([d_index[str(d)] for d in groups.column("distributor_id").to_pylist()], dtype=np.int16)
    idnos = np.array([i for i, kind in enumerate(distributors.column("distributor_type").to_pylist()) if kind == "IDNO"],
                     dtype=np.int16)
    mean_weight = float(np.mean(list(GSP_GROUP_WEIGHTS.values())))
    weights = np.array([GSP_GROUP_WEIGHTS.get(g, mean_weight) for g in group_ids])

    llfcs = bundled.llfcs
    llfc_ids = [str(v) for v in llfcs.column("llfc_id").to_pylist()]
    segs = llfcs.column("market_segment").to_pylist()
    doms = [v == "Y" for v in llfcs.column("domestic_premises").to_pylist()]
    exps = [v == "AE" for v in llfcs.column("measurement_quantity").to_pylist()]
    choice = {}  # an LLFC whose segment, domestic indicator and quantity match; else segment and quantity
    everything = range(len(llfc_ids))
    for seg_code, seg in enumerate(SEGMENTS):
        for domestic in (False, True):
            for export in (False, True):
                exact = [i for i in everything if segs[i] == seg and doms[i] == domestic and exps[i] == export]
                loose = [i for i in everything if segs[i] == seg and exps[i] == export]
                candidates = exact or loose
                if candidates:
                    choice[(seg_code, domestic, export)] = np.array(candidates, dtype=np.int16)

    dates = [start + timedelta(days=i) for i in range(days)]
    llf_table = expand_llf(distributors, llfcs, dates)  # = default_llf(dates), as write_standing_data writes
    llf = np.full((days, len(distributor_ids), len(llfc_ids), 50), np.nan)
    l_index = {l: i for i, l in enumerate(llfc_ids)}
    gi = np.array([d_index.get(d, -1) for d in llf_table.column("distributor_id").to_pylist()])
    li = np.array([l_index.get(l, -1) for l in llf_table.column("llfc_id").to_pylist()])
    di = np.array([(d - start).days for d in llf_table.column("settlement_date").to_pylist()])
    pi = llf_table.column("settlement_period").to_numpy().astype(np.int64) - 1
    values = llf_table.column("llf").cast(pa.float64()).to_numpy()
    ok = (gi >= 0) & (li >= 0) & (di >= 0) & (di < days)
    llf[di[ok], gi[ok], li[ok], pi[ok]] = values[ok]

    bm_units = pa.array(
        [f"2__{g.lstrip('_')}{s}001" for g in group_ids for s in SUPPLIERS], type=pa.string()
    )
    ccc = bundled.ccc.to_pylist()
    ccc_weights = np.zeros((len(SEGMENTS), 2, 2, 2))
    for row in ccc:
        if row["market_segment"] in SEGMENTS and row["measurement_quantity"] in ("AI", "AE"):
            ccc_weights[SEGMENTS.index(row["market_segment"]), int(row["measurement_quantity"] == "AE"),
                    int(row["actual_estimated"] == "E"), int(row["component"] == "L")] = float(row["scaling_weight"])
    offset = int(_rng(seed, _S_MPAN_OFFSET).integers(0, 10**10))
    return _Context(
        seed=seed,
        start=start,
        days=days,
        file_format=file_format,
        rates=rates,
        group_ids=group_ids,
        group_weights=weights / weights.sum(),
        distributor_numbers=np.array([int(d) for d in distributor_ids], dtype=np.int64),
        host_distributor=host,
        idnos=idnos,
        llfc_ids=llfc_ids,
        llfc_choice=choice,
        llf=llf,
        llf_units=np.rint(np.nan_to_num(llf) * 10_000).astype(np.int64),
        weights=ccc_weights,
        mpan_offset=offset,
        bm_units=bm_units,
    )


def _mpan_core_numbers(ctx: _Context, index: np.ndarray, distributor: np.ndarray) -> np.ndarray:
    """Distinct valid MPAN cores: the distributor's id + a 10-digit id unique per index + check digit."""
    unique = (index.astype(np.int64) * MPAN_MULTIPLIER + ctx.mpan_offset) % 10**10
    return mpan_cores(ctx.distributor_numbers[distributor] * 10**10 + unique)


def _distributors(ctx: _Context, rng: np.random.Generator, group: np.ndarray) -> np.ndarray:
    """The network each MPAN is on: its GSP Group's DNO, or for IDNO_SHARE of them one of the IDNOs."""
    on_idno = rng.random(len(group)) < IDNO_SHARE
    idno = ctx.idnos[rng.integers(0, len(ctx.idnos), size=len(group))] if len(ctx.idnos) else ctx.host_distributor[group]
    return np.where(on_idno, idno, ctx.host_distributor[group]).astype(np.int16)


def _lognormal(rng: np.random.Generator, median: float, sigma: float, size: int, low: float, high: float):
    return np.clip(median * np.exp(sigma * rng.standard_normal(size)), low, high)


# ---------------------------------------------------------------------------------------------------------
# Population: one chunk of registered MPANs with their registration history
# ---------------------------------------------------------------------------------------------------------
@dataclass
class _Population:
    index: np.ndarray  # global MPAN index
    core: np.ndarray  # int64 MPAN core
    core_text: pa.Array  # the cores as strings
    group: np.ndarray
    distributor: np.ndarray  # index into distributors.csv
    segment: np.ndarray
    domestic: np.ndarray  # bool
    export: np.ndarray  # bool (AE)
    llfc: np.ndarray
    shape: np.ndarray
    ac_kwh: np.ndarray  # true annual consumption (kWh, 1 decimal)
    cap_milli: np.ndarray  # physical maximum per half hour (milli-kWh)
    supplier: np.ndarray
    data_service: np.ndarray  # true data service before any supplier change
    consent: np.ndarray
    named_bm_unit: np.ndarray  # bool
    base_from: np.ndarray  # day number (days since 1970-01-01)
    event: np.ndarray
    event_day: np.ndarray
    new_supplier: np.ndarray
    new_data_service: np.ndarray
    stale_data_service: np.ndarray  # what the older snapshot said (corrections)
    stale_ac_kwh: np.ndarray
    update: np.ndarray  # UPD_*: a change inside the window sent as a registration update
    update_day: np.ndarray  # its effective_from_date (day number)
    update_supplier: np.ndarray
    update_data_service: np.ndarray
    update_llfc: np.ndarray
    update_resent: np.ndarray  # bool: first sent with update_wrong_data_service, then corrected
    update_wrong_data_service: np.ndarray
    anchor: np.ndarray  # bool: an HH smart import MPAN energised all through the window (always weighted)

    @property
    def size(self) -> int:
        return len(self.index)

    def _updated(self, kind: int, day: int) -> np.ndarray:
        return (self.update == kind) & (day >= self.update_day)

    def active_on(self, day: int) -> np.ndarray:
        """Registered and energised on the day (so the data service sends consumption or register reads)."""
        de_energised = ((self.event == EV_DEEN_BEFORE) | (self.event == EV_DEEN_IN)) & (day >= self.event_day)
        return (self.base_from <= day) & ~de_energised & ~self._updated(UPD_DE_ENERGISE, day)

    def data_service_on(self, day: int) -> np.ndarray:
        changed = ((self.event == EV_SC_BEFORE) | (self.event == EV_SC_IN)) & (day >= self.event_day)
        service = np.where(changed, self.new_data_service, self.data_service)
        return np.where(self._updated(UPD_SUPPLIER, day), self.update_data_service, service)

    def supplier_on(self, day: int) -> np.ndarray:
        changed = ((self.event == EV_SC_BEFORE) | (self.event == EV_SC_IN)) & (day >= self.event_day)
        supplier = np.where(changed, self.new_supplier, self.supplier)
        return np.where(self._updated(UPD_SUPPLIER, day), self.update_supplier, supplier)

    def llfc_on(self, day: int) -> np.ndarray:
        return np.where(self._updated(UPD_LLFC, day), self.update_llfc, self.llfc)

    def reads_registers(self) -> np.ndarray:
        """Daily or monthly consent: register reads instead of half-hourly consumption."""
        return self.consent != CON_HH


def _pick(rng: np.random.Generator, options, shares, size: int) -> np.ndarray:
    return np.asarray(options)[rng.choice(len(options), size=size, p=np.asarray(shares) / np.sum(shares))]


def _data_services_for(rng: np.random.Generator, segment: np.ndarray) -> np.ndarray:
    out = np.zeros(len(segment), dtype=np.int8)
    for seg, services in DATA_SERVICES_BY_SEGMENT.items():
        where = np.flatnonzero(segment == seg)
        out[where] = _pick(rng, services, DATA_SERVICE_SHARES[seg], len(where))
    return out


def _other_data_service(rng: np.random.Generator, segment: np.ndarray, current: np.ndarray) -> np.ndarray:
    """A different data service of the same segment (the same one where the segment has only one)."""
    out = current.copy()
    for seg, services in DATA_SERVICES_BY_SEGMENT.items():
        where = np.flatnonzero(segment == seg)
        if len(services) < 2 or len(where) == 0:
            continue
        services = np.asarray(services)
        position = np.searchsorted(services, current[where])
        shift = rng.integers(1, len(services), size=len(where))
        out[where] = services[(position + shift) % len(services)]
    return out


def _caps(shape: np.ndarray, segment: np.ndarray, domestic: np.ndarray) -> np.ndarray:
    cap = np.full(len(shape), 10**9, dtype=np.int64)
    cap[(shape == SH_DOMESTIC)] = 11_500  # 100 A single phase: 23 kW for half an hour
    cap[(shape == SH_NON_DOMESTIC) & (segment == SEG_S)] = 35_000
    cap[(shape == SH_SOLAR) & domestic] = 2_500
    cap[(shape == SH_SOLAR) & ~domestic & (segment == SEG_S)] = 25_000
    return cap


def _population(ctx: _Context, chunk: int, first: int, n: int) -> _Population:
    rng = _rng(ctx.seed, _S_POPULATION, chunk)
    index = np.arange(first, first + n, dtype=np.int64)
    group = rng.choice(len(ctx.group_ids), size=n, p=ctx.group_weights).astype(np.int16)
    segment = rng.choice(3, size=n, p=SEGMENT_SHARES).astype(np.int8)
    domestic = (segment == SEG_S) & (rng.random(n) < DOMESTIC_SHARE_OF_SMART)
    u = rng.random(n)
    export = np.where(
        domestic,
        u < EXPORT_SHARE["domestic"],
        np.where(segment == SEG_S, u < EXPORT_SHARE["smart_non_domestic"],
                 (segment == SEG_A) & (u < EXPORT_SHARE["advanced"])),
    )
    llfc = np.zeros(n, dtype=np.int16)
    u = rng.random(n)
    for (seg, dom, exp), candidates in ctx.llfc_choice.items():
        where = np.flatnonzero((segment == seg) & (domestic == dom) & (export == exp))
        llfc[where] = candidates[(u[where] * len(candidates)).astype(np.int64)]
    for seg, dom, exp in [(s, d, e) for s in range(3) for d in (False, True) for e in (False, True)]:
        if (seg, dom, exp) not in ctx.llfc_choice and np.any((segment == seg) & (domestic == dom) & (export == exp)):
            raise MhhsError(
                f"the standing data has no LLFC for market segment {SEGMENTS[seg]}, "
                f"measurement quantity {'AE' if exp else 'AI'}"
            )

    shape = np.where(
        export, SH_SOLAR, np.where(domestic, SH_DOMESTIC, np.where(segment == SEG_U, SH_UNMETERED, SH_NON_DOMESTIC))
    ).astype(np.int8)
    ac = np.zeros(n)
    specs = (
        (shape == SH_DOMESTIC, 2_450.0, 0.45, 300.0, 20_000.0),
        ((shape == SH_NON_DOMESTIC) & (segment == SEG_S), 12_000.0, 0.8, 1_000.0, 250_000.0),
        ((shape == SH_NON_DOMESTIC) & (segment == SEG_A), 150_000.0, 1.0, 20_000.0, 10_000_000.0),
        (shape == SH_UNMETERED, 4_000.0, 1.0, 100.0, 200_000.0),
        ((shape == SH_SOLAR) & domestic, 2_800.0, 0.35, 300.0, 12_000.0),
        ((shape == SH_SOLAR) & ~domestic & (segment == SEG_S), 8_000.0, 0.6, 500.0, 100_000.0),
        ((shape == SH_SOLAR) & (segment == SEG_A), 60_000.0, 0.8, 5_000.0, 2_000_000.0),
    )
    for mask, median, sigma, low, high in specs:
        where = np.flatnonzero(mask)
        ac[where] = _lognormal(rng, median, sigma, len(where), low, high)
    ac = np.round(ac, 1)

    supplier = rng.choice(len(SUPPLIERS), size=n, p=np.asarray(SUPPLIER_SHARES) / sum(SUPPLIER_SHARES)).astype(np.int8)
    data_service = _data_services_for(rng, segment)
    consent = np.where(
        domestic & ~export, rng.choice(3, size=n, p=DOMESTIC_CONSENT_SHARES), 0
    ).astype(np.int8)
    named_bm_unit = (segment == SEG_A) & (rng.random(n) < NON_BASE_BM_UNIT_SHARE)

    window_first = ctx.start_day
    window_last = ctx.start_day + ctx.days - 1
    base_from = window_first - rng.integers(30, 3651, size=n)
    event = rng.choice(len(EVENT_SHARES), size=n, p=EVENT_SHARES).astype(np.int8)
    before = window_first - rng.integers(1, 366, size=n)
    inside = rng.integers(window_first + (1 if ctx.days > 1 else 0), window_last + 1, size=n)
    event_day = np.where(
        (event == EV_SC_BEFORE) | (event == EV_DEEN_BEFORE), before,
        np.where((event == EV_SC_IN) | (event == EV_DEEN_IN), inside, 0),
    )
    has_dated_event = (event >= EV_SC_BEFORE) & (event <= EV_DEEN_IN)
    base_from = np.where(has_dated_event, np.minimum(base_from, event_day - 30), base_from)
    new_supplier = ((supplier + rng.integers(1, len(SUPPLIERS), size=n)) % len(SUPPLIERS)).astype(np.int8)
    change_ds = rng.random(n) < CHANGES_DATA_SERVICE_ON_SUPPLIER_CHANGE
    new_data_service = np.where(change_ds, _other_data_service(rng, segment, data_service), data_service)
    stale_data_service = _other_data_service(rng, segment, data_service)
    stale_ac = np.round(ac / rng.uniform(0.7, 1.3, size=n), 1)

    # its own stream, so the draws above do not depend on whether the standing data has IDNOs
    distributor = _distributors(ctx, _rng(ctx.seed, _S_POPULATION, chunk, 1), group)
    core = _mpan_core_numbers(ctx, index, distributor)

    # Registration updates: their own stream too, so the draws above are those of a generator without updates.
    urng = _rng(ctx.seed, _S_POPULATION, chunk, 2)
    update = np.where((event == EV_NONE) & (urng.random(n) < UPDATE_SHARE),
                      urng.choice(len(UPDATE_KIND_SHARES), size=n, p=UPDATE_KIND_SHARES) + 1, UPD_NONE).astype(np.int8)
    update_day = urng.integers(window_first + (1 if ctx.days > 1 else 0), window_last + 1, size=n)
    update_supplier = ((supplier + urng.integers(1, len(SUPPLIERS), size=n)) % len(SUPPLIERS)).astype(np.int8)
    update_data_service = np.where(urng.random(n) < CHANGES_DATA_SERVICE_ON_SUPPLIER_CHANGE,
                                   _other_data_service(urng, segment, data_service), data_service).astype(np.int8)
    update_llfc = llfc.copy()
    u = urng.random(n)
    for seg in range(len(SEGMENTS)):
        for exp in (False, True):
            # another LLFC of the segment and quantity (the distributor reclassifies the connection)
            candidates = np.unique(np.concatenate([ctx.llfc_choice.get((seg, dom, exp), np.zeros(0, np.int16))
                                                   for dom in (False, True)]))
            where = np.flatnonzero((update == UPD_LLFC) & (segment == seg) & (export == exp))
            if len(candidates) < 2:  # no other LLFC for the MPAN's kind: a supplier change instead
                update[where] = UPD_SUPPLIER
                continue
            position = np.searchsorted(candidates, llfc[where])
            shift = 1 + (u[where] * (len(candidates) - 1)).astype(np.int64)
            update_llfc[where] = candidates[(position + shift) % len(candidates)]
    update_resent = (update != UPD_NONE) & (urng.random(n) < UPDATE_RESENT_SHARE)
    in_force = np.where(update == UPD_SUPPLIER, update_data_service, data_service)
    update_wrong_data_service = _other_data_service(urng, segment, in_force).astype(np.int8)

    # Register reads: a GSP Group and period whose settled values are all derived from register reads could have
    # W = 0 with the take other than U (a shape can be 0 in a period; the settlement may refuse a read). So a
    # domestic MPAN keeps daily or monthly consent only where its GSP Group has, in the chunk, an *anchor*: an HH
    # smart import MPAN energised all through the window and not updated in it, whose values are always weighted
    # (scaling weight 1, _take_of_chunk keeps them above 0 where needed). Large populations have anchors in every
    # group.
    de_energised = np.isin(event, (EV_DEEN_BEFORE, EV_DEEN_IN)) | (update == UPD_DE_ENERGISE)
    anchor = (segment == SEG_S) & ~export & (consent == CON_HH) & ~de_energised & (update == UPD_NONE)
    anchored = np.zeros(len(ctx.group_ids), dtype=bool)
    anchored[group[anchor]] = True
    consent = np.where(anchored[group], consent, CON_HH).astype(np.int8)
    return _Population(
        index=index,
        core=core,
        core_text=pa.array(core).cast(pa.string()),
        group=group,
        distributor=distributor,
        segment=segment,
        domestic=domestic,
        export=export,
        llfc=llfc,
        shape=shape,
        ac_kwh=ac,
        cap_milli=_caps(shape, segment, domestic),
        supplier=supplier,
        data_service=data_service.astype(np.int8),
        consent=consent,
        named_bm_unit=named_bm_unit,
        base_from=base_from.astype(np.int64),
        event=event,
        event_day=event_day.astype(np.int64),
        new_supplier=new_supplier,
        new_data_service=new_data_service.astype(np.int8),
        stale_data_service=np.where(event == EV_CORRECTION, stale_data_service, data_service).astype(np.int8),
        stale_ac_kwh=np.where(event == EV_CORRECTION, stale_ac, ac),
        update=update,
        update_day=update_day.astype(np.int64),
        update_supplier=update_supplier,
        update_data_service=update_data_service,
        update_llfc=update_llfc.astype(np.int16),
        update_resent=update_resent,
        update_wrong_data_service=update_wrong_data_service,
        anchor=anchor,
    )


@dataclass
class _Unregistered:
    """MPANs with valid cores that no registration snapshot contains (a fault): domestic smart import."""

    core_text: pa.Array
    group: np.ndarray
    data_service: np.ndarray
    ac_kwh: np.ndarray

    @property
    def size(self) -> int:
        return len(self.group)


def _unregistered(ctx: _Context, chunk: int, n: int, total_mpans: int) -> _Unregistered:
    rng = _rng(ctx.seed, _S_UNREGISTERED, chunk)
    k = int(rng.binomial(n, ctx.rates["unregistered_mpans"])) if ctx.rates["unregistered_mpans"] > 0 else 0
    index = total_mpans + chunk * CHUNK_MPANS + np.arange(k, dtype=np.int64)  # beyond every registered index
    group = rng.choice(len(ctx.group_ids), size=k, p=ctx.group_weights).astype(np.int16)
    services = DATA_SERVICES_BY_SEGMENT[SEG_S]
    data_service = _pick(rng, services, DATA_SERVICE_SHARES[SEG_S], k).astype(np.int8)
    ac = np.round(_lognormal(rng, 2_450.0, 0.45, k, 300.0, 20_000.0), 1)
    core = _mpan_core_numbers(ctx, index, ctx.host_distributor[group])
    return _Unregistered(core_text=pa.array(core, type=pa.int64()).cast(pa.string()), group=group,
                         data_service=data_service, ac_kwh=ac)


# ---------------------------------------------------------------------------------------------------------
# Registration snapshots
# ---------------------------------------------------------------------------------------------------------
def _dictionary(indices: np.ndarray, values, mask: np.ndarray | None = None) -> pa.DictionaryArray:
    values = values if isinstance(values, pa.Array) else pa.array(list(values), type=pa.string())
    return pa.DictionaryArray.from_arrays(pa.array(np.asarray(indices, dtype=np.int32), mask=mask), values)


def _dates(day_numbers: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    return pa.array(np.asarray(day_numbers, dtype=np.int64).astype("datetime64[D]"), type=arrow_type_of("date"), mask=mask)


def _decimal(units: np.ndarray, scale: int, mask: np.ndarray | None = None) -> pa.Array:
    """The catalogue's decimal type of the scale from integers counting 10**-scale (no float formatting involved)."""
    units = np.ascontiguousarray(units, dtype=np.int64)
    words = np.empty((len(units), 2), dtype=np.int64)
    words[:, 0] = units
    words[:, 1] = units >> 63  # sign extension to 128 bits
    validity = None
    null_count = 0
    if mask is not None and mask.any():
        validity = pa.array(~mask).buffers()[1]
        null_count = int(mask.sum())
    return pa.Array.from_buffers(arrow_type_of("decimal", scale), len(units), [validity, pa.py_buffer(words)], null_count)


def _registration_rows(pop: _Population, snapshot_day: int, mpans: np.ndarray, stale: bool, ctx: _Context) -> pa.Table:
    """Registration rows of the chosen MPANs: their full true history, or what the older snapshot knew.

    The older snapshot (stale=True) does not know supplier changes and de-energisations after its date
    (the MPAN's first row is still open) and has the values corrected later (data service, annual
    consumption).
    """
    ev = pop.event[mpans]
    dated = (ev >= EV_SC_BEFORE) & (ev <= EV_DEEN_IN)
    if stale:
        dated &= ~((ev == EV_SC_IN) | (ev == EV_DEEN_IN))
    local = np.concatenate([mpans, mpans[dated]])
    second = np.concatenate([np.zeros(len(mpans), dtype=bool), np.ones(int(dated.sum()), dtype=bool)])
    order = np.lexsort((second, local))
    local, second = local[order], second[order]
    ev = pop.event[local]
    closes = ~second & ((ev >= EV_SC_BEFORE) & (ev <= EV_DEEN_IN))
    if stale:
        closes &= ~((ev == EV_SC_IN) | (ev == EV_DEEN_IN))
    supplier_change = second & ((ev == EV_SC_BEFORE) | (ev == EV_SC_IN))
    de_energised = second & ((ev == EV_DEEN_BEFORE) | (ev == EV_DEEN_IN))

    supplier = np.where(supplier_change, pop.new_supplier[local], pop.supplier[local])
    first_ds = pop.stale_data_service[local] if stale else pop.data_service[local]
    data_service = np.where(supplier_change, pop.new_data_service[local], first_ds)
    ac = pop.stale_ac_kwh[local] if stale else pop.ac_kwh[local]
    bm_mask = ~(pop.named_bm_unit[local] & ~supplier_change)
    n_rows = len(local)
    event_day = pop.event_day[local]
    columns = {
        "snapshot_date": _dates(np.full(n_rows, snapshot_day)),
        "mpan_core": _dictionary(local, pop.core_text),
        "measurement_quantity": _dictionary(pop.export[local].astype(np.int32), ("AI", "AE")),
        "effective_from_date": _dates(np.where(second, event_day, pop.base_from[local])),
        "effective_to_date": _dates(np.where(closes, event_day - 1, 0), mask=~closes),
        "supplier_id": _dictionary(supplier, SUPPLIERS),
        "data_service_id": _dictionary(data_service, DATA_SERVICES),
        "gsp_group_id": _dictionary(pop.group[local], ctx.group_ids),
        "llfc_id": _dictionary(pop.llfc[local], ctx.llfc_ids),
        "market_segment": _dictionary(pop.segment[local], SEGMENTS),
        "energisation_status": _dictionary(de_energised.astype(np.int32), ("E", "D")),
        "domestic_premises": _dictionary((~pop.domestic[local]).astype(np.int32), ("Y", "N")),
        "consent_granularity": _dictionary(pop.consent[local], CONSENT),
        "annual_consumption_kwh": _decimal(np.rint(ac * 10).astype(np.int64), 1),
        "bm_unit_id": _dictionary(
            pop.group[local].astype(np.int64) * len(SUPPLIERS) + supplier, ctx.bm_units, mask=bm_mask
        ),
    }
    return _table(columns, "registrations")


REGISTRATION_UPDATE_COLUMNS = (
    "update_id", "updated_at", "mpan_core", "measurement_quantity", "effective_from_date", "effective_to_date",
    "supplier_id", "data_service_id", "gsp_group_id", "llfc_id", "market_segment", "energisation_status",
    "domestic_premises", "consent_granularity", "annual_consumption_kwh", "bm_unit_id",
)
UPDATED_AT_HOURS_UTC = (5, 9)  # a resent update's first (wrong) version, then the update in force


def _registration_update_rows(pop: _Population, ctx: _Context) -> pa.Table:
    """The updates of the chunk's MPANs with a change inside the window (registration_updates/).

    Each states the MPAN's values from the change's day, open-ended (the history before it stays as the older
    snapshot has it); updated_at is on that day, after the older snapshot. A resent update is first sent with a
    wrong data service, then again with a later updated_at and the right one: the later is in force. The newer
    snapshot does not hold these MPANs, so the truth is the older snapshot with the update applied.
    """
    mpans = np.flatnonzero(pop.update != UPD_NONE)
    resent = mpans[pop.update_resent[mpans]]
    local = np.concatenate([resent, mpans])
    wrong = np.concatenate([np.ones(len(resent), dtype=bool), np.zeros(len(mpans), dtype=bool)])
    order = np.lexsort((~wrong, local))
    local, wrong = local[order], wrong[order]
    kind, day = pop.update[local], pop.update_day[local]
    supplier_change = kind == UPD_SUPPLIER
    supplier = np.where(supplier_change, pop.update_supplier[local], pop.supplier[local])
    data_service = np.where(supplier_change, pop.update_data_service[local], pop.data_service[local])
    data_service = np.where(wrong, pop.update_wrong_data_service[local], data_service)
    sequence = np.where(wrong | ~pop.update_resent[local], 1, 2)
    update_id = [f"RU{index:010d}-{number}" for index, number in zip(pop.index[local], sequence)]
    hour = np.where(wrong, UPDATED_AT_HOURS_UTC[0], UPDATED_AT_HOURS_UTC[1])
    updated_at = day * 86_400 + hour * 3_600 + (pop.index[local] % 60) * 60
    n_rows = len(local)
    columns = {
        "update_id": pa.array(update_id, type=pa.string()),
        "updated_at": _utc_text(updated_at),
        "mpan_core": _dictionary(local, pop.core_text),
        "measurement_quantity": _dictionary(pop.export[local].astype(np.int32), ("AI", "AE")),
        "effective_from_date": _dates(day),
        "effective_to_date": _dates(np.zeros(n_rows), mask=np.ones(n_rows, dtype=bool)),
        "supplier_id": _dictionary(supplier, SUPPLIERS),
        "data_service_id": _dictionary(data_service, DATA_SERVICES),
        "gsp_group_id": _dictionary(pop.group[local], ctx.group_ids),
        "llfc_id": _dictionary(np.where(kind == UPD_LLFC, pop.update_llfc[local], pop.llfc[local]), ctx.llfc_ids),
        "market_segment": _dictionary(pop.segment[local], SEGMENTS),
        "energisation_status": _dictionary((kind == UPD_DE_ENERGISE).astype(np.int32), ("E", "D")),
        "domestic_premises": _dictionary((~pop.domestic[local]).astype(np.int32), ("Y", "N")),
        "consent_granularity": _dictionary(pop.consent[local], CONSENT),
        "annual_consumption_kwh": _decimal(np.rint(pop.ac_kwh[local] * 10).astype(np.int64), 1),
        "bm_unit_id": _dictionary(pop.group[local].astype(np.int64) * len(SUPPLIERS) + supplier, ctx.bm_units,
                                  mask=~(pop.named_bm_unit[local] & ~supplier_change)),
    }
    return _table(columns, "registration_updates", REGISTRATION_UPDATE_COLUMNS)


def _columns(dataset: str, fallback: tuple[str, ...] | None = None) -> list[str]:
    """The catalogue's columns of a dataset, or (a v2 input not in the catalogue yet) the contract's."""
    if fallback is not None and dataset not in load_catalogue().datasets:
        return list(fallback)
    return dataset_columns(dataset)


def _table(columns: dict[str, pa.Array], dataset: str, fallback: tuple[str, ...] | None = None) -> pa.Table:
    names = _columns(dataset, fallback)
    missing = [name for name in names if name not in columns]
    if missing:
        raise MhhsError(f"the generator does not produce catalogue column(s) {', '.join(missing)} of {dataset}")
    return pa.table([columns[name] for name in names], names=names)


# ---------------------------------------------------------------------------------------------------------
# One settlement day: shapes by local / solar time of each UTC instant
# ---------------------------------------------------------------------------------------------------------
def _gauss(h, centre, width):
    return np.exp(-0.5 * ((h - centre) / width) ** 2)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _domestic_profile(working_day: bool) -> np.ndarray:
    """Share of a domestic day in each local half hour (48 slots): morning and evening peaks."""
    h = np.arange(48) / 2 + 0.25
    morning = 7.5 if working_day else 9.0
    profile = (
        0.32
        + 0.45 * _gauss(h, morning, 1.1)
        + 0.20 * _sigmoid((h - 9.5) * 2) * _sigmoid((16.0 - h) * 2)
        + 1.00 * _gauss(h, 18.5, 1.7)
        + 0.35 * _gauss(h, 21.5, 1.0)
    )
    return profile / profile.sum()


def _non_domestic_profile(working_day: bool) -> np.ndarray:
    h = np.arange(48) / 2 + 0.25
    hours = _sigmoid((h - 8.0) * 2.5) * _sigmoid((18.0 - h) * 2.5)
    profile = 0.25 + (1.0 if working_day else 0.25) * hours
    return profile / profile.sum()


def _season(doy: int) -> dict[int, float]:
    """A day's energy relative to the year's mean day, per demand and solar shape (day of the year 1..366)."""
    angle = 2 * np.pi * (doy - 15) / 365.25
    return {
        SH_DOMESTIC: 1 + 0.22 * np.cos(angle),
        SH_NON_DOMESTIC: 1 + 0.12 * np.cos(angle),
        SH_SOLAR: 1 + 0.65 * np.cos(2 * np.pi * (doy - 172) / 365.25),
    }


def _daylight(doy: int, utc_hours: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per period (mid-period UTC hours): how dark it is (0..1, street lighting) and the share of the
    day's sunshine (adds up to 1)."""
    daylight = 12 - 4.4 * np.cos(2 * np.pi * (doy + 10) / 365.25)  # hours of daylight at about 52 N
    sunrise, sunset = SOLAR_NOON_UTC_HOUR - daylight / 2, SOLAR_NOON_UTC_HOUR + daylight / 2
    dark = _sigmoid((sunrise - utc_hours) * 4) + _sigmoid((utc_hours - sunset) * 4)
    sun = np.clip(np.sin(np.pi * (utc_hours - sunrise) / daylight), 0, None) ** 1.3
    return dark, (sun / sun.sum() if sun.sum() > 0 else sun)


def seasonal_day_weights() -> pa.Table:
    """The bundled default season (standing/defaults/load_shape_season.csv): per load shape category of the
    default shape table and calendar day (month, day of month; 29 February included), the day's energy
    relative to the year's mean day on a working and on a non-working day (weekend or bank holiday), from
    this generator's own model: domestic demand peaks in mid-January (1.22) and is lowest in July (0.78);
    non-domestic demand varies less over the year but a non-working day has 0.65 / 1.14 of a working day's;
    street lighting follows the hours of darkness; export follows the sun."""
    categories = [(seg, dom, mq) for seg in SEGMENTS for dom in ("N", "Y") for mq in ("AI", "AE")]
    utc_hours = np.arange(48) / 2 + 0.25
    rows = {"market_segment": [], "domestic_premises": [], "measurement_quantity": [], "month": [],
            "day_of_month": [], "working_day_weight": [], "non_working_day_weight": []}
    day = date(2024, 1, 1)  # a leap year: every calendar day once
    while day.year == 2024:
        doy = day.timetuple().tm_yday
        season = _season(doy)
        dark_hours = float(_daylight(doy, utc_hours)[0].sum()) * 0.5
        for seg, dom, mq in categories:
            if mq == "AE":
                working = non_working = season[SH_SOLAR]
            elif seg == "U":
                working = non_working = dark_hours / (UNMETERED_DARK_HOURS_PER_YEAR / 365)
            elif dom == "Y":
                working = non_working = season[SH_DOMESTIC]
            else:
                working, non_working = (season[SH_NON_DOMESTIC] * factor for factor in BUSINESS_DAY)
            values = (seg, dom, mq, day.month, day.day, round(float(working), 6), round(float(non_working), 6))
            for name, value in zip(rows, values):
                rows[name].append(value)
        day += timedelta(days=1)
    return pa.table(rows)


@dataclass
class _Day:
    offset: int  # 0-based day of the window
    settlement_date: date
    day_number: int
    periods: int
    utc_text: pa.Array  # "2026-10-25T00:30:00Z" per period
    utc_us: np.ndarray  # microseconds since epoch per period
    no_offset_text: pa.Array  # "2026-10-25T00:30:00" per period (malformed)
    off_boundary_text: pa.Array  # per period x minute 1..29: "...T00:47:00Z" (malformed)
    shapes: np.ndarray  # [shape, period]: kWh per kWh of annual consumption
    weather: np.ndarray  # solar factor per GSP Group
    received_text: dict[str, pa.Array] = field(default_factory=dict)  # per data service: main / restated
    received_us: dict[str, np.ndarray] = field(default_factory=dict)


def _iso(instant: datetime) -> str:
    return instant.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _shapes(settlement_date: date, starts: list[datetime], calendar: SettlementCalendar) -> np.ndarray:
    """[shape, period]: kWh per kWh of annual consumption of each behaviour shape in each period of the date."""
    periods = len(starts)
    local = [s.astimezone(LONDON) for s in starts]
    slot = np.array([t.hour * 2 + t.minute // 30 for t in local])
    utc_hours = np.array([s.hour + s.minute / 60 for s in starts]) + 0.25  # mid-period, UTC

    doy = settlement_date.timetuple().tm_yday
    working = calendar.is_working_day(settlement_date)
    season = _season(doy)
    business_day = BUSINESS_DAY[0] if working else BUSINESS_DAY[1]
    dark, sun = _daylight(doy, utc_hours)

    shapes = np.zeros((4, periods))
    shapes[SH_DOMESTIC] = season[SH_DOMESTIC] / 365 * _domestic_profile(working)[slot]
    shapes[SH_NON_DOMESTIC] = season[SH_NON_DOMESTIC] * business_day / 365 * _non_domestic_profile(working)[slot]
    shapes[SH_UNMETERED] = dark * 0.5 / UNMETERED_DARK_HOURS_PER_YEAR
    shapes[SH_SOLAR] = season[SH_SOLAR] / 365 * sun
    return shapes


@dataclass
class _OutsideDay:
    """A date outside the generated window whose true values a monthly register read needs (what _true_milli
    reads of a _Day)."""

    settlement_date: date
    day_number: int
    periods: int
    shapes: np.ndarray
    weather: np.ndarray


def _outside_day(ctx: _Context, settlement_date: date, calendar: SettlementCalendar) -> _OutsideDay:
    day_number = (settlement_date - EPOCH).days
    shapes = _shapes(settlement_date, utc_period_starts(settlement_date), calendar)
    weather = _rng(ctx.seed, _S_OUTSIDE_WINDOW, day_number).beta(2.5, 1.5, size=len(ctx.group_ids)) / 0.625
    return _OutsideDay(settlement_date, day_number, shapes.shape[1], shapes, weather)


def _day(ctx: _Context, offset: int, calendar: SettlementCalendar) -> _Day:
    settlement_date = ctx.start + timedelta(days=offset)
    starts = utc_period_starts(settlement_date)
    periods = len(starts)
    shapes = _shapes(settlement_date, starts, calendar)

    weather = _rng(ctx.seed, _S_WEATHER, offset).beta(2.5, 1.5, size=len(ctx.group_ids)) / 0.625

    utc_us = np.array([int(s.timestamp()) * _US for s in starts], dtype=np.int64)
    off_boundary = [_iso(s + timedelta(minutes=m)) for s in starts for m in range(1, 30)]
    day = _Day(
        offset=offset,
        settlement_date=settlement_date,
        day_number=(settlement_date - EPOCH).days,
        periods=periods,
        utc_text=pa.array([_iso(s) for s in starts], type=pa.string()),
        utc_us=utc_us,
        no_offset_text=pa.array([_iso(s)[:-1] for s in starts], type=pa.string()),
        off_boundary_text=pa.array(off_boundary, type=pa.string()),
        shapes=shapes,
        weather=weather,
    )
    midnight = datetime(settlement_date.year, settlement_date.month, settlement_date.day, tzinfo=timezone.utc)
    for kind, after in (("main", timedelta(days=1, hours=RECEIVED_HOUR_UTC)),
                        ("restated", timedelta(days=RESTATED_AFTER_DAYS, hours=RECEIVED_HOUR_UTC + 2))):
        instants = [midnight + after + timedelta(minutes=7 * i, seconds=13 * i) for i in range(len(DATA_SERVICES))]
        day.received_text[kind] = pa.array([_iso(t) for t in instants], type=pa.string())
        day.received_us[kind] = np.array([int(t.timestamp()) * _US for t in instants], dtype=np.int64)
    return day


def _true_milli(day: _Day, ac_kwh, shape, group, cap_milli, rng: np.random.Generator) -> np.ndarray:
    """True half-hourly consumption (milli-kWh, int64) of MPANs x the day's periods."""
    n = len(ac_kwh)
    values = ac_kwh[:, None] * day.shapes[shape]
    solar = np.flatnonzero(shape == SH_SOLAR)
    values[solar] *= day.weather[group[solar]][:, None]
    day_sigma = DAY_SIGMA[shape]
    values *= np.exp(day_sigma * rng.standard_normal(n) - day_sigma**2 / 2)[:, None]
    sigma = VALUE_SIGMA[shape][:, None]
    noise = rng.standard_normal((n, day.periods), dtype=np.float32)
    noise *= sigma
    noise -= sigma * sigma / 2
    np.exp(noise, out=noise)
    values *= noise
    return np.minimum(np.rint(values * 1000), cap_milli[:, None]).astype(np.int64)


# ---------------------------------------------------------------------------------------------------------
# Consumption tables
# ---------------------------------------------------------------------------------------------------------
MQ_VALUES = ("AI", "AE", "AX", "IMP", "KWH")  # the last three only in malformed rows
_BAD_MQ = (2, 3, 4)


def _consumption_table(ctx: _Context, day: _Day, core_text: pa.Array, mpan: np.ndarray, mq: np.ndarray,
                       period: np.ndarray, milli: np.ndarray, quality: np.ndarray, data_service: np.ndarray,
                       received: str) -> pa.Table:
    if ctx.file_format == "parquet":
        utc = pa.array(day.utc_us[period], type=arrow_type_of("timestamp"))
        received_at = pa.array(day.received_us[received][data_service], type=arrow_type_of("timestamp"))
    else:
        utc = _dictionary(period, day.utc_text)
        received_at = _dictionary(data_service, day.received_text[received])
    columns = {
        "mpan_core": _dictionary(mpan, core_text),
        "measurement_quantity": _dictionary(mq, MQ_VALUES),
        "utc_period_start": utc,
        "kwh": _decimal(milli, 3),
        "quality_flag": _dictionary(quality, ("A", "E")),
        "data_service_id": _dictionary(data_service, DATA_SERVICES),
        "received_at": received_at,
    }
    return _table(columns, "consumption")


def _malformed_table(ctx: _Context, day: _Day, core_text, mpan, mq, period, milli, quality, data_service,
                     kinds: np.ndarray, rng: np.random.Generator) -> pa.Table:
    """Rows a parser must refuse; ``kinds`` indexes MALFORMED_KINDS[format]."""
    names = MALFORMED_KINDS[ctx.file_format]
    kind = {name: kinds == i for i, name in enumerate(names)}
    n = len(mpan)
    mq = np.where(kind["bad_measurement_quantity"], np.asarray(_BAD_MQ)[rng.integers(0, len(_BAD_MQ), n)], mq)
    minutes = rng.integers(1, 30, n)  # never on :00 / :30
    if ctx.file_format == "parquet":
        utc_us = day.utc_us[period] + np.where(kind["off_boundary_period"], minutes * 60 * _US, 0)
        utc = pa.array(utc_us, type=arrow_type_of("timestamp"))
        kwh = _decimal(milli, 3, mask=kind["missing_kwh"])
        received_at = pa.array(day.received_us["main"][data_service], type=arrow_type_of("timestamp"))
    else:
        p = day.periods
        index = np.where(kind["timestamp_without_offset"], p + period, period)
        index = np.where(kind["off_boundary_period"], 2 * p + period * 29 + (minutes - 1), index)
        utc = _dictionary(index, pa.concat_arrays([day.utc_text, day.no_offset_text, day.off_boundary_text]))
        text = _decimal(milli, 3).cast(pa.string())
        junk = pa.array(np.asarray(NON_NUMERIC_KWH, dtype=object)[rng.integers(0, len(NON_NUMERIC_KWH), n)],
                        type=pa.string())
        kwh = pc.if_else(pa.array(kind["non_numeric_kwh"]), junk, text)
        received_at = _dictionary(data_service, day.received_text["main"])
    columns = {
        "mpan_core": _dictionary(mpan, core_text),
        "measurement_quantity": _dictionary(mq, MQ_VALUES),
        "utc_period_start": utc,
        "kwh": kwh,
        "quality_flag": _dictionary(quality, ("A", "E")),
        "data_service_id": _dictionary(data_service, DATA_SERVICES),
        "received_at": received_at,
    }
    return _table(columns, "consumption")


@dataclass
class _Take:
    """What the GSP Group Take is made from, per [day,] GSP Group and period (up to 50)."""

    total: np.ndarray  # true signed loss-adjusted total, kWh (float64)
    exact: np.ndarray  # the same exactly, in units of 0.0000001 kWh (int64): 3-decimal kWh x 4-decimal LLF
    weighted: np.ndarray  # how many values are weighted (int64): 0 = W is 0 in settlement

    @classmethod
    def zeros(cls, days: int, groups: int) -> "_Take":
        shape = (days, groups, 50)
        return cls(np.zeros(shape), np.zeros(shape, dtype=np.int64), np.zeros(shape, dtype=np.int64))

    def day(self, offset: int) -> "_Take":
        return _Take(self.total[offset], self.exact[offset], self.weighted[offset])


@dataclass
class _ChunkDay:
    """What one chunk contributes to one settlement date."""

    tables: list[pa.Table]  # in file order: regular rows, unregistered MPANs, malformed rows
    restated: pa.Table | None
    counts: dict[str, int]  # injected faults, in FAULT_UNITS
    rows: dict[str, int]  # consumption rows affected by the MPAN-day and MPAN faults
    eligible: dict[str, int]
    malformed: dict[str, int]
    read_values: tuple[np.ndarray, np.ndarray]  # register-read MPANs active on the day (chunk rows), true milli-kWh


def _group_sums(ctx: _Context, group: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Per GSP Group sums of per-MPAN rows (``values``: [MPAN, period]) as [group, period] float64."""
    onehot = np.zeros((len(ctx.group_ids), len(group)))
    onehot[group, np.arange(len(group))] = 1.0
    return onehot @ values.astype(np.float64)


def _exposed(ctx: _Context, pop: _Population, kept_weighted: np.ndarray) -> np.ndarray:
    """[group, period] True where no MPAN of the chunk has a weighted value that reaches settlement as sent."""
    return _group_sums(ctx, pop.group, kept_weighted) == 0


def _take_of_chunk(ctx: _Context, day: _Day, pop: _Population, milli: np.ndarray, quality: np.ndarray,
                   active: np.ndarray, take: _Take) -> np.ndarray:
    """Add the chunk's true values to the take; returns [MPAN, period] True where a value is weighted.

    A value is weighted when it is sent as half-hourly consumption, is not zero and its CCCs' scaling weights
    give it a part in W (DOMAIN.md section 6): C x w_C + L x w_L with C = V, L = V x (LLF - 1). The true values
    of register-read MPANs count in the take but never as weighted: what the settlement derives from their reads
    is not their true value and may be 0. Where a GSP Group and period holds a register-read MPAN and no weighted
    value, its anchor's value (_population), 0 there, is raised to 0.001 kWh. Where a GSP Group and period has no
    weighted value (yet), the exact total is kept off a half unit of the take's last decimal: one value of the
    chunk with an LLF other than 1 is lowered by 0.001 kWh, so the take rounded to 3 decimals is within 0.0005 kWh
    of U, the correction the settlement needs when W = 0. ``milli`` is changed in place then.
    """
    periods = day.periods
    weighted = np.zeros((pop.size, periods), dtype=bool)
    idx = np.flatnonzero(active)
    llfc = pop.llfc_on(day.day_number)
    # one code per GSP Group, distributor and LLFC: the take is the group's, the factor the distributor's
    n_llfcs, n_distributors = len(ctx.llfc_ids), len(ctx.distributor_numbers)
    code = (pop.group[idx].astype(np.int64) * n_distributors + pop.distributor[idx]) * n_llfcs + llfc[idx]
    order = np.argsort(code, kind="stable")
    code, idx = code[order], idx[order]
    if not len(idx):
        return weighted
    starts = np.flatnonzero(np.r_[True, code[1:] != code[:-1]])
    groups = code[starts] // (n_distributors * n_llfcs)
    distributors, llfcs = (code[starts] // n_llfcs) % n_distributors, code[starts] % n_llfcs
    factors = ctx.llf[day.offset, distributors, llfcs, :periods]
    if np.isnan(factors).any():
        raise MhhsError(f"the standing data has no line loss factor for some LLFC on {day.settlement_date}")
    units = np.repeat(ctx.llf_units[day.offset, distributors, llfcs, :periods], np.diff(np.r_[starts, len(idx)]),
                      axis=0)  # [row, period] the row's LLF in units of 0.0001
    group = pop.group[idx]
    sign = np.where(pop.export[idx], -1, 1).astype(np.int64)

    w = ctx.weights[pop.segment[idx], pop.export[idx].astype(np.int64)]  # [row, actual / estimated, C / L]
    estimated = quality[idx]
    w_c = np.where(estimated, w[:, 1, 0][:, None], w[:, 0, 0][:, None])
    w_l = np.where(estimated, w[:, 1, 1][:, None], w[:, 0, 1][:, None])
    reads = pop.reads_registers()[idx][:, None]
    weighted[idx] = (milli[idx] != 0) & (w_c + (units / 10_000 - 1) * w_l != 0) & ~reads
    if reads.any():
        read_groups = np.zeros(len(ctx.group_ids), dtype=bool)
        read_groups[group[reads[:, 0]]] = True
        unweighted = read_groups[:, None] & (_group_sums(ctx, pop.group, weighted) == 0)
        for g, p in zip(*np.nonzero(unweighted)):
            row = np.flatnonzero(pop.anchor[idx] & (group == g))[0]  # an anchor is active on every day
            milli[idx[row], p] = 1
            weighted[idx[row], p] = True
    np.add.at(take.weighted[:, :periods], groups, np.add.reduceat(weighted[idx].astype(np.int64), starts, axis=0))

    signed = sign[:, None] * milli[idx]
    sums = np.add.reduceat(signed, starts, axis=0)  # [code, period] milli-kWh
    exact = np.zeros((len(ctx.group_ids), periods), dtype=np.int64)  # units of 0.0000001 kWh
    np.add.at(exact, groups, sums * ctx.llf_units[day.offset, distributors, llfcs, :periods])
    half = (take.weighted[:, :periods] == 0) & ((take.exact[:, :periods] + exact) % 10_000 == 5_000)
    for g, p in zip(*np.nonzero(half)):
        row = np.flatnonzero((group == g) & (milli[idx, p] > 0) & (units[:, p] % 10_000 != 0))[0]
        milli[idx[row], p] -= 1
        exact[g, p] -= sign[row] * units[row, p]
        sums[np.searchsorted(starts, row, side="right") - 1, p] -= sign[row]
    take.exact[:, :periods] += exact
    np.add.at(take.total[:, :periods], groups, sums * factors / 1000)
    return weighted


def _chunk_day(ctx: _Context, day: _Day, chunk: int, pop: _Population, unreg: _Unregistered,
               take: _Take) -> _ChunkDay:
    n, periods, rates = pop.size, day.periods, ctx.rates
    milli = _true_milli(day, pop.ac_kwh, pop.shape, pop.group, pop.cap_milli,
                        _rng(ctx.seed, _S_CONSUMPTION, day.offset, chunk))
    qrng = _rng(ctx.seed, _S_CONSUMPTION, day.offset, chunk, 1)
    estimated = qrng.random(n) < ESTIMATED_DAY_SHARE
    quality = (estimated[:, None] | (qrng.random((n, periods), dtype=np.float32) < ESTIMATED_PERIOD_SHARE))
    active = pop.active_on(day.day_number)
    data_service = pop.data_service_on(day.day_number)

    # GSP Group Take: the TRUE signed, loss-adjusted total of registered energised MPANs (before faults), the
    # register-read MPANs' true values included: their shaping error shows in the correction, as in real settlement.
    weighted = _take_of_chunk(ctx, day, pop, milli, quality, active, take)
    reads = active & pop.reads_registers()
    read_values = (np.flatnonzero(reads), milli[reads])
    active = active & ~reads  # what the data services send as half-hourly consumption

    # Faults: whole MPAN-days, then at most one fault per remaining row.
    frng = _rng(ctx.seed, _S_FAULTS, day.offset, chunk)
    missing_day = active & (frng.random(n) < rates["missing_mpan_days"])
    edges = np.cumsum([rates[name] for name in ROW_FAULTS])
    fault_all = np.searchsorted(edges, frng.random((n, periods), dtype=np.float32), side="right").astype(np.int8)
    clean = len(ROW_FAULTS)  # fault code of a row without a fault
    f = {name: i for i, name in enumerate(ROW_FAULTS)}
    absurd_eligible_mpan = pop.domestic & ~pop.export
    fault_all[(fault_all == f["absurd_values"]) & ~absurd_eligible_mpan[:, None]] = clean
    # A GSP Group and period in which no weighted value survives faults untouched could reach settlement with
    # W = 0 (or with U other than the take): no fault reaches its MPANs there (module docstring).
    exposed = _exposed(ctx, pop, weighted & (active & ~missing_day)[:, None] & (fault_all == clean))
    protected_rows = active[:, None] & exposed[pop.group, :periods]
    protected_days = active & protected_rows.any(axis=1)
    fault_all[protected_rows] = clean
    missing_day &= ~protected_days
    present = np.flatnonzero(active & ~missing_day)
    fault = fault_all[present].ravel()
    protected = protected_rows[present].ravel()
    rows = len(fault)
    mpan = np.repeat(present.astype(np.int32), periods)
    period = np.tile(np.arange(periods, dtype=np.int32), len(present))
    absurd_eligible = absurd_eligible_mpan[mpan] & ~protected
    milli_rows = milli[present].ravel()
    quality_rows = quality[present].ravel().astype(np.int8)
    ds_rows = data_service[mpan]
    mq_rows = pop.export[mpan].astype(np.int8)
    mpan_index = mpan.copy()

    def rows_with(name):
        return np.flatnonzero(fault == f[name])

    vrng = [_rng(ctx.seed, _S_FAULT_VALUES, day.offset, chunk, i) for i in range(len(ROW_FAULTS))]
    sent_milli = milli_rows.copy()
    sent_quality = quality_rows.copy()
    where = rows_with("negative_values")
    sent_milli[where] = -np.maximum(milli_rows[where], 1)
    where = rows_with("absurd_values")
    sent_milli[where] = vrng[f["absurd_values"]].integers(*ABSURD_MILLI_KWH, size=len(where))
    restated = rows_with("restated_submissions")
    factor = vrng[f["restated_submissions"]].uniform(0.3, 1.8, size=len(restated))
    wrong = np.rint(milli_rows[restated] * factor).astype(np.int64)
    wrong = np.where(wrong == milli_rows[restated], wrong + 1, wrong)
    sent_milli[restated] = wrong
    sent_quality[restated] = 1
    bad = rows_with("bad_check_digits")
    cores = pop.core[mpan[bad]]
    bad_cores = cores - cores % 10 + (cores % 10 + vrng[f["bad_check_digits"]].integers(1, 10, len(bad))) % 10
    mpan_index[bad] = n + np.arange(len(bad))
    where = rows_with("wrong_data_service")
    shift = vrng[f["wrong_data_service"]].integers(1, len(DATA_SERVICES), len(where))
    ds_rows[where] = (ds_rows[where] + shift) % len(DATA_SERVICES)

    unreg_index_base = n + len(bad)
    core_text = pa.concat_arrays([pop.core_text, pa.array(bad_cores, type=pa.int64()).cast(pa.string()),
                                  unreg.core_text])

    malformed = rows_with("malformed_rows")
    duplicate = fault == f["duplicate_submissions"]
    regular = np.flatnonzero((fault != f["missing_periods"]) & (fault != f["malformed_rows"]))
    out = np.repeat(regular, np.where(duplicate[regular], 2, 1))
    tables = [_consumption_table(ctx, day, core_text, mpan_index[out], mq_rows[out], period[out], sent_milli[out],
                                 sent_quality[out], ds_rows[out], "main")]

    unreg_rows = 0
    if unreg.size:
        urng = _rng(ctx.seed, _S_UNREG_CONSUMPTION, day.offset, chunk)
        shape = np.full(unreg.size, SH_DOMESTIC, dtype=np.int8)
        umilli = _true_milli(day, unreg.ac_kwh, shape, unreg.group, np.full(unreg.size, 11_500), urng).ravel()
        unreg_rows = len(umilli)
        umpan = np.repeat(unreg_index_base + np.arange(unreg.size), periods)
        tables.append(_consumption_table(
            ctx, day, core_text, umpan, np.zeros(unreg_rows, dtype=np.int8), np.tile(np.arange(periods), unreg.size),
            umilli, np.zeros(unreg_rows, dtype=np.int8), np.repeat(unreg.data_service, periods), "main"))

    kinds_names = MALFORMED_KINDS[ctx.file_format]
    malformed_counts = dict.fromkeys(kinds_names, 0)
    if len(malformed):
        mrng = vrng[f["malformed_rows"]]
        kinds = mrng.integers(0, len(kinds_names), len(malformed))
        tables.append(_malformed_table(ctx, day, core_text, mpan_index[malformed], mq_rows[malformed],
                                       period[malformed], sent_milli[malformed], sent_quality[malformed],
                                       ds_rows[malformed], kinds, mrng))
        for i, name in enumerate(kinds_names):
            malformed_counts[name] = int(np.sum(kinds == i))

    restated_table = None
    if len(restated):
        restated_table = _consumption_table(ctx, day, core_text, mpan_index[restated], mq_rows[restated],
                                            period[restated], milli_rows[restated],
                                            np.zeros(len(restated), dtype=np.int8), ds_rows[restated], "restated")

    counts = {name: int(np.sum(fault == i)) for i, name in enumerate(ROW_FAULTS)}
    counts["missing_mpan_days"] = int(missing_day.sum())
    affected_rows = {"missing_mpan_days": int(missing_day.sum()) * periods, "unregistered_mpans": unreg_rows}
    eligible = {name: rows - int(protected.sum()) for name in ROW_FAULTS}
    eligible["absurd_values"] = int(absurd_eligible.sum())
    eligible["missing_mpan_days"] = int(active.sum() - protected_days.sum())
    return _ChunkDay(tables=tables, restated=restated_table, counts=counts, rows=affected_rows, eligible=eligible,
                     malformed=malformed_counts, read_values=read_values)


# ---------------------------------------------------------------------------------------------------------
# Writers
# ---------------------------------------------------------------------------------------------------------
class _Sink:
    """One output file, opened on its first write: CSV with a plain header line, or Parquet."""

    def __init__(self, path: Path, file_format: str, dataset: str):
        self.path, self.file_format, self.dataset = path, file_format, dataset
        self.rows = 0  # rows submitted (counted on the generating thread)
        self.used = False
        self._file = None
        self._writer = None
        self._schema = None

    def write(self, table: pa.Table) -> None:
        if self.file_format == "parquet":
            if self._writer is None:
                self._schema = table.schema
                self._writer = pq.ParquetWriter(self.path, self._schema, store_schema=False, compression="zstd")
            elif table.schema != self._schema:
                table = table.cast(self._schema)
            self._writer.write_table(table)
        else:
            if self._file is None:
                self._file = pa.OSFile(str(self.path), "wb")
                self._file.write((",".join(table.column_names) + "\n").encode())
            if table.num_rows:
                options = pa_csv.WriteOptions(include_header=False, quoting_style="none", batch_size=65_536)
                pa_csv.write_csv(table, self._file, options)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        if self._file is not None:
            self._file.close()


class _Writer:
    """Writes tables on one background thread, in submission order, while the next chunk is generated.

    Arrow's writers release the GIL, so formatting the CSV / encoding Parquet of one chunk overlaps with
    generating the next; the bounded queue keeps at most ``depth`` chunks waiting (bounded memory).
    """

    def __init__(self, depth: int = 1):
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="mhhs-generate-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            task = self._queue.get()
            if task is None:
                return
            if self._error is None:
                try:
                    task[0](*task[1:])
                except BaseException as error:  # re-raised on the generating thread
                    self._error = error

    def _check(self) -> None:
        if self._error is not None:
            error = self._error
            if isinstance(error, OSError):
                raise MhhsError(f"cannot write output file: {error}") from error
            raise error

    def write(self, sink: _Sink, table: pa.Table) -> None:
        self._check()
        sink.rows += table.num_rows
        sink.used = True
        self._queue.put((sink.write, table))

    def close(self, sink: _Sink) -> None:
        self._queue.put((sink.close,))

    def finish(self) -> None:
        self._queue.put(None)
        self._thread.join()
        self._check()


# ---------------------------------------------------------------------------------------------------------
# The command
# ---------------------------------------------------------------------------------------------------------
def generate(out_dir: Path, mpans: int, days: int, start: date, seed: int, file_format: str = "csv",
             fault_rates: dict[str, float] | None = None) -> dict:
    """Write synthetic landing files and standing data; returns a summary (also in generation_manifest.json).

    ``fault_rates`` overrides DEFAULT_FAULT_RATES by name (``all`` sets every rate); an unknown name, a rate
    outside 0..1 or a non-empty ``out_dir`` raise MhhsError before anything is written.
    """
    if file_format not in FORMATS:
        raise MhhsError(f"unknown format {file_format!r}; use one of {', '.join(FORMATS)}")
    if int(mpans) < 1 or int(days) < 1:
        raise MhhsError("--mpans and --days must be at least 1")
    mpans, days, seed = int(mpans), int(days), int(seed)
    rates = resolve_fault_rates(fault_rates)
    out_dir = _prepare_out_dir(out_dir)
    ctx = _context(seed, start, days, file_format, rates)
    writer = _Writer()
    try:
        registrations, population = _write_registrations(ctx, out_dir, mpans, writer)
        consumption = _write_consumption(ctx, out_dir, mpans, writer)
    finally:
        writer.finish()
    dates = [start + timedelta(days=i) for i in range(days)]
    write_standing_data(out_dir / "standing", dates, _gsp_group_take(ctx, dates, consumption["take"]))

    files = {**registrations["files"], **consumption["files"]}
    for path in sorted((out_dir / "standing").iterdir()):
        with open(path, "rb") as handle:
            files[f"standing/{path.name}"] = max(sum(1 for _ in handle) - 1, 0)
    consumption_rows = sum(rows for name, rows in files.items() if name.startswith("consumption/"))
    registration_rows = sum(rows for name, rows in registrations["files"].items() if name.startswith("registrations/"))
    faults = consumption["faults"]
    manifest = {
        "parameters": {
            "mpans": mpans,
            "days": days,
            "start": start.isoformat(),
            "seed": seed,
            "format": file_format,
            "fault_rates": rates,
            "chunk_mpans": CHUNK_MPANS,
        },
        "settlement_dates": [d.isoformat() for d in dates],
        "registration_snapshots": registrations["snapshots"],
        "files": [{"path": path, "rows": rows} for path, rows in sorted(files.items())],
        "consumption_rows": consumption_rows,
        "restated_rows": consumption["restated_rows"],
        "registration_rows": registration_rows,
        "registration_update_rows": registrations["update_rows"],
        "register_read_rows": consumption["register_read_rows"],
        # not landing data (ingestion never reads truth/), so apart from "files"
        "truth": {"register_read_truth": TRUTH_FILE},
        "truth_files": [{"path": TRUTH_FILE, "rows": consumption["truth_rows"]}],
        "population": population,
        "fault_counts": {name: faults[name]["injected"] for name in FAULT_NAMES},
        "faults": faults,
        "malformed_kinds": consumption["malformed_kinds"],
        "notes": {
            "faults": "a faulted consumption row carries exactly one fault; 'injected' counts in 'unit' "
            "(rows, MPAN-days or MPANs) out of 'eligible'; 'rows' = consumption rows affected (for the missing "
            "faults: rows not sent; for duplicates: extra rows; for restatements: original rows, each with "
            "one restated row in consumption_<date>_restated)",
            "restated_submissions": "the original row carries a wrong estimate (E); the true actual (A) "
            "follows with a later received_at",
            "absurd_values": "only domestic import rows are eligible",
            "consent_granularity": "domestic import MPANs: HH / daily / monthly drawn with shares "
            f"{list(DOMESTIC_CONSENT_SHARES)}, kept only where the GSP Group has an HH smart import MPAN energised "
            "all through the window (otherwise HH); every other MPAN is HH",
            "register_reads": "daily / monthly consent MPANs send no half-hourly consumption but register reads: "
            "daily, one per generated day; monthly, one per calendar month touched, covering the whole month "
            "(split at a change of supplier or data service, energised days only), received after its end; kwh "
            f"= the sum of the true half-hourly values, which {TRUTH_FILE} holds for the generated days",
            "registration_updates": f"{UPDATE_SHARE:g} of the MPANs without another registration event change "
            "supplier, LLFC or energisation inside the window by an update (registration_updates/) instead of "
            f"the newer snapshot, which does not hold them; {UPDATE_RESENT_SHARE:g} of the updates are first sent "
            "with a wrong data service and corrected by a later updated_at",
            "gsp_group_take": "true signed loss-adjusted total of registered energised MPANs (before faults; "
            "register-read MPANs' true half-hourly values included) "
            f"x (1 + N(0, {GSPGT_ERROR_SD}))",
        },
    }
    (out_dir / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return {
        "out_dir": str(out_dir),
        "mpans": mpans,
        "days": days,
        "format": file_format,
        "files": len(files) + 2,
        "consumption_rows": consumption_rows,
        "registration_rows": registration_rows,
        "fault_counts": manifest["fault_counts"],
        "manifest": str(out_dir / MANIFEST_FILE),
    }


def _write_registrations(ctx: _Context, out_dir: Path, mpans: int, writer: _Writer):
    """Population chunk by chunk, streamed into the older and the newer snapshot files."""
    older_day, newer_day = ctx.start_day - 1, ctx.start_day + ctx.days
    snapshots = {"older": str(EPOCH + timedelta(days=older_day)), "newer": str(EPOCH + timedelta(days=newer_day))}
    names = {key: f"registrations/registrations_{value}.csv" for key, value in snapshots.items()}
    older = _Sink(out_dir / names["older"], "csv", "registrations")
    newer = _Sink(out_dir / names["newer"], "csv", "registrations")
    last_date = ctx.start + timedelta(days=ctx.days - 1)
    names["updates"] = f"registration_updates/registration_updates_{ctx.start}_{last_date}.csv"
    updates = _Sink(out_dir / names["updates"], "csv", "registration_updates")
    population = {"registered_mpans": mpans, "import_mpans": 0, "export_mpans": 0, "domestic_mpans": 0,
                  "market_segment": dict.fromkeys(SEGMENTS, 0), "events": dict.fromkeys(EVENT_NAMES[1:], 0),
                  "mpans_in_newer_snapshot": 0, "consent_granularity": dict.fromkeys(CONSENT, 0),
                  "registration_updates": {**dict.fromkeys(UPDATE_KINDS[1:], 0), "resent": 0}}
    for chunk, first in enumerate(range(0, mpans, CHUNK_MPANS)):
        n = min(CHUNK_MPANS, mpans - first)
        pop = _population(ctx, chunk, first, n)
        writer.write(older, _registration_rows(pop, older_day, np.arange(n), stale=True, ctx=ctx))
        changed = np.flatnonzero(np.isin(pop.event, (EV_SC_IN, EV_DEEN_IN, EV_CORRECTION)))
        writer.write(newer, _registration_rows(pop, newer_day, changed, stale=False, ctx=ctx))
        if np.any(pop.update != UPD_NONE):
            writer.write(updates, _registration_update_rows(pop, ctx))
        population["export_mpans"] += int(pop.export.sum())
        population["domestic_mpans"] += int(pop.domestic.sum())
        population["mpans_in_newer_snapshot"] += len(changed)
        for code, name in enumerate(SEGMENTS):
            population["market_segment"][name] += int(np.sum(pop.segment == code))
        for code, name in enumerate(EVENT_NAMES[1:], start=1):
            population["events"][name] += int(np.sum(pop.event == code))
        for code, name in enumerate(CONSENT):
            population["consent_granularity"][name] += int(np.sum(pop.consent == code))
        for code, name in enumerate(UPDATE_KINDS[1:], start=1):
            population["registration_updates"][name] += int(np.sum(pop.update == code))
        population["registration_updates"]["resent"] += int(pop.update_resent.sum())
    population["import_mpans"] = mpans - population["export_mpans"]
    writer.close(older)
    writer.close(newer)
    writer.close(updates)
    files = {names["older"]: older.rows, names["newer"]: newer.rows}
    if updates.used:
        files[names["updates"]] = updates.rows
    return {"files": files, "snapshots": snapshots, "update_rows": updates.rows}, population


def _write_consumption(ctx: _Context, out_dir: Path, mpans: int, writer: _Writer) -> dict:
    """One file per settlement date (and one for its restatements), streamed chunk by chunk.

    The population of a chunk is regenerated (deterministically) for every day rather than kept, so
    memory does not grow with the number of MPANs.
    """
    calendar = _bundled().calendar
    extension = "parquet" if ctx.file_format == "parquet" else "csv"
    files: dict[str, int] = {}
    injected = dict.fromkeys(FAULT_NAMES, 0)
    rows = dict.fromkeys(FAULT_NAMES, 0)
    eligible = dict.fromkeys(FAULT_NAMES, 0)
    eligible["unregistered_mpans"] = mpans
    malformed_kinds = dict.fromkeys(MALFORMED_KINDS[ctx.file_format], 0)
    take = _Take.zeros(ctx.days, len(ctx.group_ids))
    restated_rows = 0
    truth = _Sink(out_dir / TRUTH_FILE, "parquet", "register_read_truth")
    read_rows = {"daily": 0, "monthly": 0}
    monthly_totals: dict[int, np.ndarray] = {}  # per chunk: [monthly-consent MPAN, window day] true day totals
    for offset in range(ctx.days):
        day = _day(ctx, offset, calendar)
        name = f"consumption/consumption_{day.settlement_date}.{extension}"
        restated_name = f"consumption/consumption_{day.settlement_date}_restated.{extension}"
        main = _Sink(out_dir / name, ctx.file_format, "consumption")
        later = _Sink(out_dir / restated_name, ctx.file_format, "consumption")
        reads_name = f"register_reads/register_reads_{day.settlement_date}.csv"
        daily_reads = _Sink(out_dir / reads_name, "csv", "register_reads")
        for chunk, first in enumerate(range(0, mpans, CHUNK_MPANS)):
            n = min(CHUNK_MPANS, mpans - first)
            pop, unreg = _population(ctx, chunk, first, n), _unregistered(ctx, chunk, n, mpans)
            if offset == 0:
                injected["unregistered_mpans"] += unreg.size
            part = _chunk_day(ctx, day, chunk, pop, unreg, take.day(offset))
            for table in part.tables:
                writer.write(main, table)
            if part.restated is not None and part.restated.num_rows:
                writer.write(later, part.restated)
            read_mpans, read_milli = part.read_values
            if len(read_mpans):
                writer.write(truth, _truth_table(pop, day, read_mpans, read_milli))
            daily = pop.consent[read_mpans] == CON_DAILY
            if daily.any():
                table = _daily_reads(pop, day, read_mpans[daily], read_milli[daily].sum(axis=1))
                writer.write(daily_reads, table)
                read_rows["daily"] += table.num_rows
            monthly = np.flatnonzero(pop.consent == CON_MONTHLY)
            if len(monthly):  # inactive days stay -1: no read covers them
                totals = monthly_totals.setdefault(chunk, np.full((len(monthly), ctx.days), -1, dtype=np.int64))
                totals[np.searchsorted(monthly, read_mpans[~daily]), offset] = read_milli[~daily].sum(axis=1)
            for key, value in part.counts.items():
                injected[key] += value
            for key, value in part.rows.items():
                rows[key] += value
            for key, value in part.eligible.items():
                eligible[key] += value
            for key, value in part.malformed.items():
                malformed_kinds[key] += value
        writer.close(main)
        writer.close(later)
        writer.close(daily_reads)
        files[name] = main.rows
        if later.used:
            files[restated_name] = later.rows
            restated_rows += later.rows
        if daily_reads.used:
            files[reads_name] = daily_reads.rows
    if not truth.used:
        writer.write(truth, _truth_table(None, None, np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.int64)))
    writer.close(truth)
    truth_rows = truth.rows
    monthly_files = _write_monthly_reads(ctx, out_dir, mpans, writer, monthly_totals)
    files.update(monthly_files)
    read_rows["monthly"] = sum(monthly_files.values())
    for name in ROW_FAULTS:
        rows[name] = injected[name]
    faults = {
        name: {"rate": ctx.rates[name], "unit": FAULT_UNITS[name], "eligible": eligible[name],
               "injected": injected[name], "rows": rows[name]}
        for name in FAULT_NAMES
    }
    return {"files": files, "faults": faults, "malformed_kinds": malformed_kinds, "take": take,
            "restated_rows": restated_rows, "register_read_rows": read_rows, "truth_rows": truth_rows}


# ---------------------------------------------------------------------------------------------------------
# Register reads (MPANs with daily or monthly consent) and the true values behind them
# ---------------------------------------------------------------------------------------------------------
TRUTH_FILE = "truth/register_read_truth.parquet"
REGISTER_READ_COLUMNS = ("mpan_core", "measurement_quantity", "data_service_id", "received_at", "read_start_date",
                         "read_end_date", "kwh")
MONTHLY_READ_RECEIVED_HOUR_UTC = 3  # the day after the read's last day, 03:xx UTC


def _utc_text(seconds: np.ndarray) -> pa.Array:
    """'2026-11-01T03:07:00Z' of each instant (seconds since 1970-01-01 UTC)."""
    instants = np.asarray(seconds, dtype=np.int64).astype("datetime64[s]")
    text = np.char.add(np.datetime_as_string(instants, unit="s"), "Z")
    return pa.array(text.astype(object), type=pa.string())


def _register_read_table(pop: _Population, rows: np.ndarray, data_service: np.ndarray, received_at: pa.Array,
                         first_day: np.ndarray, last_day: np.ndarray, milli: np.ndarray) -> pa.Table:
    columns = {
        "mpan_core": _dictionary(rows, pop.core_text),
        "measurement_quantity": _dictionary(pop.export[rows].astype(np.int32), ("AI", "AE")),
        "data_service_id": _dictionary(data_service, DATA_SERVICES),
        "received_at": received_at,
        "read_start_date": _dates(first_day),
        "read_end_date": _dates(last_day),
        "kwh": _decimal(milli, 3),
    }
    return _table(columns, "register_reads", REGISTER_READ_COLUMNS)


def _daily_reads(pop: _Population, day: _Day, rows: np.ndarray, milli: np.ndarray) -> pa.Table:
    """One read per daily-consent MPAN active on the day: the day's true energy, sent with the consumption."""
    data_service = pop.data_service_on(day.day_number)[rows]
    received_at = _dictionary(data_service, day.received_text["main"])
    days = np.full(len(rows), day.day_number)
    return _register_read_table(pop, rows, data_service, received_at, days, days, milli)


def _truth_table(pop: _Population | None, day: _Day | None, rows: np.ndarray, milli: np.ndarray) -> pa.Table:
    """True half-hourly values of register-read MPANs (truth/register_read_truth.parquet): what shaping should give."""
    items = load_catalogue().items
    periods = milli.shape[1] if milli.ndim == 2 else 0
    core = pop.core_text.take(pa.array(np.repeat(rows, periods))) if pop is not None else pa.array([], pa.string())
    consent = np.repeat(pop.consent[rows], periods) if pop is not None else np.zeros(0, dtype=np.int8)
    export = np.repeat(pop.export[rows], periods) if pop is not None else np.zeros(0, dtype=bool)
    return pa.table({
        "mpan_core": core.cast(pa.string()),
        "measurement_quantity": pa.array(np.where(export, "AE", "AI").astype(object), type=pa.string()),
        "settlement_date": _dates(np.full(len(consent), day.day_number if day is not None else 0)),
        "settlement_period": pa.array(np.tile(np.arange(1, periods + 1), len(rows)),
                                      type=items["settlement_period"].arrow_type),
        "kwh": _decimal(milli.ravel(), 3),
        "consent_granularity": pa.array(np.asarray(CONSENT, dtype=object)[consent], type=pa.string()),
    })


def _months(ctx: _Context) -> list[tuple[date, date]]:
    """First and last day of every calendar month the window touches."""
    months, day = [], ctx.start.replace(day=1)
    last = ctx.start + timedelta(days=ctx.days - 1)
    while day <= last:
        following = (day + timedelta(days=32)).replace(day=1)
        months.append((day, following - timedelta(days=1)))
        day = following
    return months


def _write_monthly_reads(ctx: _Context, out_dir: Path, mpans: int, writer: _Writer,
                         window_totals: dict[int, np.ndarray]) -> dict[str, int]:
    """One read per monthly-consent MPAN and calendar month the window touches, covering the whole month and
    received after its end; split where the MPAN's supplier or data service changes or it is de-energised inside
    the month (the read at a change of supplier), a part only for days it is energised. The true values of days
    outside the window come from the same functions with their own random stream, for those MPANs only, chunk by
    chunk (bounded memory)."""
    calendar = _bundled().calendar
    outside: dict[date, _OutsideDay] = {}
    files = {}
    for first, last in _months(ctx):
        name = f"register_reads/register_reads_{first:%Y-%m}.csv"
        sink = _Sink(out_dir / name, "csv", "register_reads")
        dates = [first + timedelta(days=i) for i in range((last - first).days + 1)]
        for chunk, first_mpan in enumerate(range(0, mpans, CHUNK_MPANS)):
            if chunk not in window_totals:
                continue
            pop = _population(ctx, chunk, first_mpan, min(CHUNK_MPANS, mpans - first_mpan))
            rows = np.flatnonzero(pop.consent == CON_MONTHLY)
            totals = np.zeros((len(rows), len(dates)), dtype=np.int64)
            state = np.zeros((len(rows), len(dates)), dtype=np.int64)  # data service x supplier, -1 not energised
            for i, settlement_date in enumerate(dates):
                day_number = (settlement_date - EPOCH).days
                offset = (settlement_date - ctx.start).days
                if 0 <= offset < ctx.days:
                    totals[:, i] = window_totals[chunk][:, offset]
                else:
                    if settlement_date not in outside:
                        outside[settlement_date] = _outside_day(ctx, settlement_date, calendar)
                    milli = _true_milli(outside[settlement_date], pop.ac_kwh[rows], pop.shape[rows], pop.group[rows],
                                        pop.cap_milli[rows], _rng(ctx.seed, _S_OUTSIDE_WINDOW, day_number, chunk))
                    totals[:, i] = milli.sum(axis=1)
                service = pop.data_service_on(day_number)[rows].astype(np.int64)
                state[:, i] = np.where(pop.active_on(day_number)[rows],
                                       service * len(SUPPLIERS) + pop.supplier_on(day_number)[rows], -1)
            new = np.ones(state.shape, dtype=bool)
            new[:, 1:] = state[:, 1:] != state[:, :-1]
            starts = np.flatnonzero(new.ravel())
            if not len(starts):
                continue
            ends = np.r_[starts[1:], state.size] - 1
            milli = np.add.reduceat(totals.ravel(), starts)
            run_state = state.ravel()[starts]
            keep = run_state >= 0
            first_day = (first - EPOCH).days + starts[keep] % len(dates)
            last_day = (first - EPOCH).days + ends[keep] % len(dates)
            service = run_state[keep] // len(SUPPLIERS)
            received = _utc_text((last_day + 1) * 86_400 + MONTHLY_READ_RECEIVED_HOUR_UTC * 3_600 + service * 420)
            table = _register_read_table(pop, rows[starts[keep] // len(dates)], service, received, first_day,
                                         last_day, milli[keep])
            if table.num_rows:
                writer.write(sink, table)
        writer.close(sink)
        if sink.used:
            files[name] = sink.rows
    return files


def _gsp_group_take(ctx: _Context, dates: list[date], take: _Take) -> pa.Table:
    """GSP Group Take = true loss-adjusted total x (1 + metering error), deterministic from the seed.

    Where no value of a GSP Group and period is weighted (W = 0, nothing can be corrected: a group without
    MPANs, or with only export or only advanced actual import, or street lighting by day), the take is the
    exact total rounded to 3 decimals: the metering error is left out, as the settlement requires.
    """
    error = _rng(ctx.seed, _S_GSPGT).normal(0.0, GSPGT_ERROR_SD, size=take.total.shape)
    groups, settlement_dates, periods_col, milli = [], [], [], []
    for offset, settlement_date in enumerate(dates):
        periods = len(utc_period_starts(settlement_date))
        metered = np.rint(take.total[offset, :, :periods] * (1 + error[offset, :, :periods]) * 1000).astype(np.int64)
        exact = (take.exact[offset, :, :periods] + 5_000) // 10_000  # never a half unit (_take_of_chunk)
        values = np.where(take.weighted[offset, :, :periods] > 0, metered, exact)
        for g, group in enumerate(ctx.group_ids):
            groups.extend([group] * periods)
            settlement_dates.extend([settlement_date] * periods)
            periods_col.extend(range(1, periods + 1))
            milli.append(values[g])
    items = load_catalogue().items
    return pa.table({
        "gsp_group_id": pa.array(groups, type=items["gsp_group_id"].arrow_type),
        "settlement_date": pa.array(settlement_dates, type=items["settlement_date"].arrow_type),
        "settlement_period": pa.array(periods_col, type=items["settlement_period"].arrow_type),
        "gsp_group_take_kwh": _decimal(np.concatenate(milli), 3),
    })
