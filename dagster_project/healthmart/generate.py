"""Sample exports generator: a synthetic B2B SaaS customer base written as the v1 export contract.

The model. Every account has a hidden *latent health* h in [0, 1]. Each day h takes a
mean-reverting step towards the account's baseline b (an Ornstein-Uhlenbeck-like walk) plus
noise; b drifts slowly and shocks hit now and then (a champion leaves: h and b drop; an outage:
h drops and recovers; a new sponsor: b rises). Everything observable is drawn from h with noise:
product usage (active users per seat, breadth of features, event counts), support tickets (more,
more urgent and worse CSAT when h is low), surveys (NPS, CSAT), payments (late or failed when h is
low) and CSM assessments (a lagged, noisy reading of h). At each annual renewal an account churns
with a probability that rises steeply (logistic) as its recent health falls, else it renews and
sometimes expands or contracts; very unhealthy accounts may also churn mid-contract, and a few
churned accounts come back later. A churned account produces nothing more. "Ghost" accounts pay
their invoices but are otherwise silent. The same arguments always give byte-identical files.

Output, one sub-folder per source under ``--out``: accounts/accounts.csv, billing/billing.csv.gz,
support/support.csv, survey/survey.ndjson, usage/usage_YYYY-MM.parquet (one per month), csm/csm.csv,
outcomes/outcomes.csv and overrides/overrides.csv, with exactly the columns of
``healthmart.core.contract``. Files are written to a hidden temporary name and renamed; a re-run
replaces only the generator's own files.

Usage: ``python -m healthmart.generate --out data/exports --accounts 2000 --months 18 --seed 42``
"""

from __future__ import annotations

import argparse
import calendar
import gzip
import json
import os
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from healthmart.core.contract import SOURCES

EPOCH = date(1970, 1, 1)
SECONDS_PER_DAY = 86_400
NEVER = np.iinfo(np.int64).max // 4

# ----------------------------------------------------------------------------------------------
# Catalogues
# ----------------------------------------------------------------------------------------------
SEGMENTS = ("smb", "mid_market", "enterprise")
SEGMENT_P = (0.75, 0.19, 0.06)
SEATS_RANGE = ((5, 25), (25, 100), (100, 300))  # log-uniform per segment
EMPLOYEES_RANGE = ((10, 250), (200, 2_500), (2_000, 40_000))
ANNUAL_BILLING_P = (0.12, 0.30, 0.55)
CSM_CADENCE_DAYS = (100, 60, 30)  # mean days between CSM assessments, per segment

PLANS = ("starter", "growth", "enterprise")
PLAN_P = ((0.70, 0.30, 0.00), (0.10, 0.70, 0.20), (0.00, 0.15, 0.85))  # rows: segment
PRICE_PER_SEAT = (360.0, 600.0, 960.0)  # USD per seat per year, per plan

REGIONS = ("NA", "EMEA", "APAC", "LATAM")
REGION_P = (0.50, 0.30, 0.13, 0.07)
AUGUST_FACTOR = (0.88, 0.62, 0.92, 0.85)  # summer holiday dip, per region
CURRENCIES = ("USD", "EUR", "GBP")
INVOICE_STATUSES = ("paid", "open", "void", "failed", "refunded")
PAID, OPEN, VOID, FAILED, REFUNDED = range(5)
FX_FROM_USD = (1.0, 0.92, 0.79)

INDUSTRIES = (
    "Software",
    "Healthcare",
    "Financial Services",
    "Retail",
    "Manufacturing",
    "Education",
    "Logistics",
    "Media",
    "Professional Services",
    "Public Sector",
)
INDUSTRY_SUFFIXES = (
    ("Software", "Labs", "Systems", "Technologies"),
    ("Health", "Clinics", "Medical", "Care"),
    ("Capital", "Bank", "Financial", "Insurance"),
    ("Retail", "Stores", "Outfitters", "Goods"),
    ("Manufacturing", "Industries", "Works", "Fabrication"),
    ("Learning", "Academy", "University", "Schools"),
    ("Logistics", "Freight", "Shipping", "Transport"),
    ("Media", "Studios", "Publishing", "Broadcasting"),
    ("Partners", "Consulting", "Advisory", "Group"),
    ("County", "Authority", "Services", "Agency"),
)
NAME_FIRST = (
    "North", "Blue", "Bright", "Clear", "Silver", "Summit", "Iron", "Cedar", "Harbor", "Quantum",
    "Vertex", "Nova", "Apex", "Pioneer", "Granite", "Maple", "Sterling", "Beacon", "Orbit", "Ever",
    "Crescent", "Atlas", "Falcon", "Horizon", "Lumen", "Meridian", "Pacific", "Red", "Sapphire",
    "Tidal", "Union", "Vantage", "Willow", "Zenith", "Copper", "Delta", "Ember", "Fjord", "Juniper",
    "Key",
)  # fmt: skip
NAME_SECOND = (
    "wind", "stone", "field", "bridge", "point", "gate", "wave", "peak", "line", "works", "path",
    "light", "ridge", "brook", "forge",
)  # fmt: skip
NAME_LEGAL = ("", "", "", " Inc.", ", Inc.", " Ltd", " LLC", " GmbH")

CSM_OWNERS = (
    "Alex Morgan", "Priya Natarajan", "Jordan Lee", "Sofia Rossi", "Daniel Okafor",
    "Emma Schultz", "Lucas Martin", "Hannah Kim", "Mateo Garcia", "Olivia Brown",
    "Noah Fischer", "Aisha Rahman", "Ben Carter", "Chloe Dubois",
)  # fmt: skip
# Which CSMs serve which segment (enterprise gets the strategic team).
CSM_POOLS = ((9, 10, 11, 12, 13), (4, 5, 6, 7, 8), (0, 1, 2, 3))
SMB_UNOWNED_P = 0.10  # tech-touch SMB accounts with no named CSM

# name, popularity weight, mean events per user-day, minutes per event (nan: machine traffic)
FEATURES = (
    ("dashboards", 1.00, 8.0, 1.5),
    ("reports", 0.90, 5.0, 2.5),
    ("search", 0.70, 10.0, 0.3),
    ("alerts", 0.55, 6.0, 0.4),
    ("exports", 0.50, 3.0, 0.8),
    ("collaboration", 0.50, 7.0, 1.0),
    ("workflows", 0.45, 6.0, 1.8),
    ("integrations", 0.40, 20.0, np.nan),
    ("data_import", 0.35, 2.0, 3.0),
    ("api", 0.35, 60.0, np.nan),
    ("mobile_app", 0.30, 5.0, 0.7),
    ("admin", 0.30, 3.0, 1.2),
    ("training_academy", 0.25, 2.0, 6.0),
    ("user_management", 0.20, 2.0, 1.0),
    ("sso", 0.15, 1.0, np.nan),
    ("billing_portal", 0.10, 1.0, 2.0),
)
FEATURE_NAMES = tuple(f[0] for f in FEATURES)
FEATURE_WEIGHT = np.array([f[1] for f in FEATURES])
FEATURE_EVENTS = np.array([f[2] for f in FEATURES])
FEATURE_MINUTES = np.array([f[3] for f in FEATURES])
FEATURE_EVENTS_32 = FEATURE_EVENTS.astype(np.float32)
FEATURE_MINUTES_32 = FEATURE_MINUTES.astype(np.float32)
N_FEATURES = len(FEATURES)

WEEKDAY_FACTOR = np.array([1.0, 1.05, 1.05, 1.0, 0.85, 0.12, 0.08])  # Monday first

PRIORITIES = ("low", "normal", "high", "urgent")
CATEGORIES = ("question", "bug", "incident", "feature_request", "other")
FIRST_RESPONSE_MEDIAN_MIN = np.array([300.0, 120.0, 45.0, 12.0])
RESOLUTION_MEDIAN_H = np.array([60.0, 30.0, 14.0, 6.0])
CATEGORY_RESOLUTION_MULT = np.array([0.5, 1.5, 1.0, 3.0, 0.8])

ROLES = ("executive", "decision_maker", "end_user")
NPS_WAVE_MONTHS = (2, 5, 8, 11)  # quarterly relationship NPS campaign, sent on the 10th
COMMENTS = (
    (
        "Too slow and too many bugs lately.",
        "We are evaluating alternatives.",
        "Support takes days to answer.",
        "Hard to get the team to use it.",
        "Price is hard to justify for what we use.",
    ),
    (
        "Does the job, reporting could be better.",
        "OK overall, onboarding new users is clunky.",
        "Fine, but we miss a few integrations.",
        'Decent tool, "exports" are slow on big accounts.',
    ),
    (
        "Great dashboards, the whole team relies on it.",
        "Support is fast and helpful.",
        "Saves us hours every week.",
        "The API and integrations are excellent.",
        "Love the alerts, we caught issues early.",
    ),
)
CSM_NOTES = (
    (
        "Escalation open; exec sponsor unhappy.",
        "Low adoption; usage keeps falling.",
        "Customer mentioned budget review and a competitor.",
        "Renewal at risk, recovery plan agreed.",
    ),
    (
        "Steady usage, few open issues.",
        "Asked for training on reports.",
        "New admin onboarding in progress.",
        "Waiting on feature request before expanding.",
    ),
    (
        "QBR went well; exec sponsor engaged.",
        "Strong adoption, expansion conversation started.",
        "Champion presented our ROI internally.",
        "Happy customer, open to a case study.",
    ),
)
CSM_DROP_NOTE = "Health dropped: main contact left, rebuilding relationships."

OUTCOME_TYPES = ("churned", "renewed", "expanded", "contracted", "reactivated")
CHURNED, RENEWED, EXPANDED, CONTRACTED, REACTIVATED = range(5)
CHURN_REASONS = (
    "budget",
    "competitor",
    "poor adoption",
    "champion left",
    "product gaps",
    "business closed",
    "acquired",
)
REASONS = (
    *CHURN_REASONS,
    "seat expansion",
    "plan upgrade",
    "seat reduction",
    "downgrade",
    "win-back",
)
R_IDX = {r: i for i, r in enumerate(REASONS)}

# Latent-health dynamics (per day).
THETA = 0.04  # mean reversion towards the baseline
SIGMA = 0.025  # daily noise
P_CHAMPION_LEFT = 1 / 700
P_OUTAGE = 1 / 500
P_NEW_SPONSOR = 1 / 900
# Churn at renewal: floor + span * logistic(-(ema - midpoint) * steepness).
CHURN_FLOOR, CHURN_SPAN, CHURN_MID, CHURN_STEEP = 0.02, 0.93, 0.35, 16.0
MIDTERM_CHURN_HEALTH, MIDTERM_CHURN_P = 0.22, 0.003
P_REACTIVATE = 0.10
REACTIVATE_AFTER_DAYS = (60, 300)
P_MIDTERM_EXPANSION = 0.00015

USAGE_RATE = 0.085  # base daily activity probability of an adopted user (x season, x health)
USAGE_FILE_RE = re.compile(r"usage_\d{4}-\d{2}\.parquet")
USAGE_PIECE_ACCOUNT_DAYS = 600_000  # account-days generated at once (bounds memory)
USAGE_ROW_GROUP = 1_000_000
USAGE_SCHEMA = pa.schema(
    [
        ("account_id", pa.string()),
        ("activity_date", pa.date32()),
        ("user_id", pa.string()),
        ("feature", pa.string()),
        ("event_count", pa.int64()),
        ("minutes", pa.float64()),
    ]
)


# ----------------------------------------------------------------------------------------------
# Calendar
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Calendar:
    """The data window, one entry per day: epoch day, weekday, month, day of month."""

    start: date
    end: date
    epoch: np.ndarray
    weekday: np.ndarray
    month: np.ndarray
    dom: np.ndarray

    @property
    def days(self) -> int:
        return len(self.epoch)

    @property
    def end_second(self) -> int:
        """Last second of the end date (epoch seconds): nothing may happen after it."""
        return int(self.epoch[-1] + 1) * SECONDS_PER_DAY - 1


def data_window(end_date: date, months: int) -> tuple[date, date]:
    """The window covers exactly ``months`` calendar months ending at ``end_date`` inclusive."""
    if months < 1:
        raise ValueError("months must be >= 1")
    nxt = end_date + timedelta(days=1)
    y, m = divmod(nxt.year * 12 + nxt.month - 1 - months, 12)
    day = min(nxt.day, calendar.monthrange(y, m + 1)[1])
    return date(y, m + 1, day), end_date


def make_calendar(end_date: date, months: int) -> Calendar:
    start, end = data_window(end_date, months)
    epoch = np.arange((start - EPOCH).days, (end - EPOCH).days + 1, dtype=np.int64)
    dt = epoch.astype("datetime64[D]")
    mstart = dt.astype("datetime64[M]")
    return Calendar(
        start=start,
        end=end,
        epoch=epoch,
        weekday=(epoch + 3) % 7,
        month=mstart.astype(np.int64) % 12 + 1,
        dom=(dt - mstart.astype("datetime64[D]")).astype(np.int64) + 1,
    )


def day_of_month(epoch_days: np.ndarray) -> np.ndarray:
    dt = np.asarray(epoch_days, dtype=np.int64).astype("datetime64[D]")
    return (dt - dt.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64) + 1


def add_years(epoch_days: np.ndarray, years: int | np.ndarray) -> np.ndarray:
    """Same month and day ``years`` later (29 Feb falls back to 28 Feb), on epoch days."""
    dt = np.asarray(epoch_days, dtype=np.int64).astype("datetime64[D]")
    m = dt.astype("datetime64[M]")
    dom0 = (dt - m.astype("datetime64[D]")).astype(np.int64)
    new_m = m + 12 * np.asarray(years, dtype=np.int64)
    new_start = new_m.astype("datetime64[D]")
    month_len = ((new_m + 1).astype("datetime64[D]") - new_start).astype(np.int64)
    return (new_start + np.minimum(dom0, month_len - 1)).astype(np.int64)


def season_factor(cal: Calendar) -> np.ndarray:
    """Usage multiplier per region and day: weekday pattern, year-end and August dips."""
    base = WEEKDAY_FACTOR[cal.weekday]
    year_end = ((cal.month == 12) & (cal.dom >= 20)) | ((cal.month == 1) & (cal.dom <= 2))
    base = np.where(year_end, base * 0.45, base)
    aug = cal.month == 8
    return np.stack([np.where(aug, base * f, base) for f in AUGUST_FACTOR])


# ----------------------------------------------------------------------------------------------
# Accounts
# ----------------------------------------------------------------------------------------------
@dataclass
class Accounts:
    """Static attributes of every account (index i = account i)."""

    ids: pa.Array
    names: list[str]
    industry: np.ndarray
    segment: np.ndarray
    plan: np.ndarray
    region: np.ndarray
    csm: np.ndarray  # index into CSM_OWNERS, -1 = none
    employees: np.ndarray
    seats: np.ndarray
    arr: np.ndarray  # USD
    signup_epoch: np.ndarray
    signup_t: np.ndarray  # day index in the window (negative: before it)
    contract_start: np.ndarray  # epoch days, the term running at the window start (or first term)
    contract_end: np.ndarray
    annual_billing: np.ndarray
    net_days: np.ndarray
    currency: np.ndarray
    ghost: np.ndarray
    aggregate_usage: np.ndarray
    baseline: np.ndarray
    drift: np.ndarray
    adopt: np.ndarray
    activity: np.ndarray
    breadth: np.ndarray
    ticket_rate: np.ndarray
    feature_rank: np.ndarray  # (n, N_FEATURES): the account's features, favourite first

    @property
    def n(self) -> int:
        return len(self.names)


def _sequence_ids(prefix: str, n: int, width: int) -> pa.Array:
    """prefix + zero-padded 1..n, e.g. ACC-000001."""
    digits = pc.utf8_lpad(pc.cast(pa.array(np.arange(1, n + 1)), pa.string()), width, "0")
    return pc.binary_join_element_wise(prefix, digits, "")


def _log_uniform(lo: np.ndarray, hi: np.ndarray, u: np.ndarray) -> np.ndarray:
    return np.exp(np.log(lo) + u * (np.log(hi) - np.log(lo)))


def _choice_rows(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One draw per row of a (n, k) matrix of probabilities (rows sum to 1)."""
    cum = np.cumsum(probs, axis=1)
    u = rng.random(len(probs))[:, None] * cum[:, -1:]
    return np.minimum((u >= cum).sum(axis=1), probs.shape[1] - 1)


def _account_names(rng: np.random.Generator, industry: np.ndarray) -> list[str]:
    n = len(industry)
    first = rng.integers(0, len(NAME_FIRST), n)
    second = rng.integers(0, len(NAME_SECOND), n)
    suffix = rng.integers(0, 4, n)
    legal = rng.integers(0, len(NAME_LEGAL), n)
    return [
        f"{NAME_FIRST[a]}{NAME_SECOND[b]} {INDUSTRY_SUFFIXES[i][c]}{NAME_LEGAL[d]}"
        for a, b, i, c, d in zip(first, second, industry, suffix, legal, strict=True)
    ]


def _signups(rng: np.random.Generator, n: int, cal: Calendar) -> np.ndarray:
    """Signup day index: ~72 % mature (up to ~5.5 years before the window), the rest inside it."""
    new = rng.random(n) < 0.28
    before = -(20 + np.floor(2_000 * rng.random(n) ** 1.4)).astype(np.int64)
    inside = rng.integers(0, cal.days, n)
    return np.where(new, inside, before)


def _first_terms(signup_epoch: np.ndarray, window_start: int) -> tuple[np.ndarray, np.ndarray]:
    """Annual terms from the signup anniversary: the one running at the window start."""
    years = np.maximum((window_start - signup_epoch) // 366, 0)
    for _ in range(3):  # settle the estimate: start <= window_start < end
        years = np.where(add_years(signup_epoch, years + 1) <= window_start, years + 1, years)
    years = np.where(signup_epoch > window_start, 0, years)
    return add_years(signup_epoch, years), add_years(signup_epoch, years + 1)


def make_accounts(rng: np.random.Generator, n: int, cal: Calendar) -> Accounts:
    segment = rng.choice(3, n, p=SEGMENT_P)
    lo_s, hi_s = np.array(SEATS_RANGE, dtype=float)[segment].T
    u_size = rng.random(n)
    seats = np.rint(_log_uniform(lo_s, hi_s, u_size)).astype(np.int64)
    lo_e, hi_e = np.array(EMPLOYEES_RANGE, dtype=float)[segment].T
    u_emp = np.clip(0.7 * u_size + 0.3 * rng.random(n), 0, 1)
    employees = np.rint(_log_uniform(lo_e, hi_e, u_emp)).astype(np.int64)
    plan = _choice_rows(rng, np.array(PLAN_P)[segment])
    platform_fee = np.where(plan == 2, rng.uniform(5_000, 25_000, n), 0.0)
    arr_usd = (
        np.round(
            (np.array(PRICE_PER_SEAT)[plan] * seats * rng.uniform(0.85, 1.15, n) + platform_fee)
            / 10
        )
        * 10
    )
    region = rng.choice(4, n, p=REGION_P)
    industry = rng.integers(0, len(INDUSTRIES), n)

    pool_pick = rng.random(n)
    csm = np.array(
        [CSM_POOLS[s][int(p * len(CSM_POOLS[s]))] for s, p in zip(segment, pool_pick, strict=True)]
    )
    csm = np.where((segment == 0) & (rng.random(n) < SMB_UNOWNED_P), -1, csm)

    signup_t = _signups(rng, n, cal)
    signup_epoch = cal.epoch[0] + signup_t
    c_start, c_end = _first_terms(signup_epoch, int(cal.epoch[0]))

    eur_gbp = _choice_rows(rng, np.tile([0.1, 0.6, 0.3], (n, 1)))
    currency = np.where(region == 1, eur_gbp, 0)
    net_days = _choice_rows(rng, np.tile([0.08, 0.80, 0.12], (n, 1)))
    net_days = np.array([15, 30, 45])[net_days]

    ghost = rng.random(n) < 0.05
    aggregate_usage = (rng.random(n) < 0.03) & ~ghost
    baseline = np.where(ghost, rng.uniform(0.35, 0.60, n), rng.beta(5.0, 2.2, n))
    # Slow drift of the baseline: most accounts wander a little, ~15 % decline steadily.
    decliner = rng.random(n) < 0.15
    drift = np.where(decliner, -rng.uniform(0.15, 0.45, n), rng.normal(0.0, 0.08, n)) / 365.0

    keys = rng.random((n, N_FEATURES)) ** (1.0 / FEATURE_WEIGHT)  # weighted shuffle
    feature_rank = np.argsort(-keys, axis=1).astype(np.int8)

    return Accounts(
        ids=_sequence_ids("ACC-", n, 6),
        names=_account_names(rng, industry),
        industry=industry,
        segment=segment,
        plan=plan,
        region=region,
        csm=csm,
        employees=employees,
        seats=seats,
        arr=arr_usd,
        signup_epoch=signup_epoch,
        signup_t=signup_t,
        contract_start=c_start,
        contract_end=c_end,
        annual_billing=rng.random(n) < np.array(ANNUAL_BILLING_P)[segment],
        net_days=net_days,
        currency=currency,
        ghost=ghost,
        aggregate_usage=aggregate_usage,
        baseline=baseline,
        drift=drift,
        adopt=rng.uniform(0.75, 1.05, n),
        activity=np.exp(rng.normal(0.0, 0.25, n)),
        breadth=rng.uniform(0.45, 0.9, n),
        ticket_rate=np.exp(rng.normal(0.0, 0.4, n)),
        feature_rank=feature_rank,
    )


# ----------------------------------------------------------------------------------------------
# Simulation: latent health and lifecycle, one vectorised step per day
# ----------------------------------------------------------------------------------------------
@dataclass
class Simulation:
    """Daily matrices are (days, accounts); event logs are flat arrays."""

    health: np.ndarray  # float32
    alive: np.ndarray  # bool
    seats: np.ndarray  # int16
    contract_start: np.ndarray
    contract_end: np.ndarray
    arr: np.ndarray
    seats_now: np.ndarray
    invoices: dict[str, np.ndarray]  # account, t, amount_usd
    outcomes: dict[str, np.ndarray]  # account, t, kind, arr_change, reason


class _Log:
    """Collects per-day event arrays and concatenates them at the end."""

    def __init__(self, *fields: str) -> None:
        self.parts: dict[str, list[np.ndarray]] = {f: [] for f in fields}

    def add(self, **cols: np.ndarray | int | float) -> None:
        n = len(cols["account"])  # type: ignore[arg-type]
        if n == 0:
            return
        for k, v in cols.items():
            self.parts[k].append(np.broadcast_to(np.asarray(v), (n,)).copy())

    def arrays(self) -> dict[str, np.ndarray]:
        return {
            k: np.concatenate(v) if v else np.empty(0, dtype=np.float64)
            for k, v in self.parts.items()
        }


@dataclass
class _State:
    h: np.ndarray
    b: np.ndarray
    ema: np.ndarray
    alive: np.ndarray
    c_start: np.ndarray
    c_end: np.ndarray
    arr: np.ndarray
    seats: np.ndarray
    bill_dom: np.ndarray
    react_t: np.ndarray
    last_champion: np.ndarray


def churn_probability(health: np.ndarray) -> np.ndarray:
    """Probability of churning at renewal given recent (30-day EMA) latent health."""
    return CHURN_FLOOR + CHURN_SPAN / (1.0 + np.exp(CHURN_STEEP * (health - CHURN_MID)))


def _churn_reasons(
    rng: np.random.Generator, acc: Accounts, st: _State, idx: np.ndarray, t: int
) -> np.ndarray:
    """A plausible churn reason (index into REASONS) given what the account went through."""
    n = len(idx)
    probs = np.tile([0.30, 0.20, 0.12, 0.05, 0.15, 0.08, 0.10], (n, 1))
    low = st.ema[idx] < 0.35
    probs[low] = [0.15, 0.20, 0.35, 0.05, 0.20, 0.03, 0.02]
    champion = (t - st.last_champion[idx]) < 180
    probs[champion] = [0.05, 0.10, 0.10, 0.65, 0.05, 0.02, 0.03]
    probs[acc.segment[idx] != 0, 5] = 0.0  # only small companies close down in the sample
    return _choice_rows(rng, probs)  # CHURN_REASONS come first in REASONS


def _renewals(
    rng: np.random.Generator,
    acc: Accounts,
    st: _State,
    idx: np.ndarray,
    t: int,
    outcomes: _Log,
    invoices: _Log,
) -> None:
    churn = rng.random(len(idx)) < churn_probability(st.ema[idx])
    gone = idx[churn]
    if len(gone):
        outcomes.add(
            account=gone,
            t=t,
            kind=CHURNED,
            arr_change=-st.arr[gone],
            reason=_churn_reasons(rng, acc, st, gone, t),
        )
        st.alive[gone] = False
        back = rng.random(len(gone)) < P_REACTIVATE
        st.react_t[gone[back]] = t + rng.integers(*REACTIVATE_AFTER_DAYS, back.sum())
    kept = idx[~churn]
    if not len(kept):
        return
    outcomes.add(account=kept, t=t, kind=RENEWED, arr_change=0.0, reason=-1)
    st.c_start[kept] = st.c_end[kept]
    st.c_end[kept] = add_years(st.c_end[kept], 1)
    hk = st.ema[kept]
    u = rng.random(len(kept))
    p_up = 0.45 * np.clip((hk - 0.55) / 0.35, 0, 1)
    p_down = 0.35 * np.clip((0.55 - hk) / 0.30, 0, 1)
    up, down = kept[u < p_up], kept[(u >= p_up) & (u < p_up + p_down)]
    if len(up):
        change = _change_size(st, up, rng.uniform(0.10, 0.40, len(up)))
        reason = np.where(
            rng.random(len(up)) < 0.75, R_IDX["seat expansion"], R_IDX["plan upgrade"]
        )
        outcomes.add(account=up, t=t, kind=EXPANDED, arr_change=change, reason=reason)
    if len(down):
        change = _change_size(st, down, -rng.uniform(0.10, 0.35, len(down)))
        reason = np.where(rng.random(len(down)) < 0.7, R_IDX["seat reduction"], R_IDX["downgrade"])
        outcomes.add(account=down, t=t, kind=CONTRACTED, arr_change=change, reason=reason)
    annual = kept[acc.annual_billing[kept]]
    invoices.add(account=annual, t=t, amount=st.arr[annual])


def _change_size(st: _State, idx: np.ndarray, frac: np.ndarray) -> np.ndarray:
    """Scale seats and ARR by (1 + frac); return the ARR change."""
    old = st.arr[idx].copy()
    st.seats[idx] = np.maximum(1, np.rint(st.seats[idx] * (1 + frac))).astype(np.int64)
    st.arr[idx] = np.round(old * (1 + frac) / 10) * 10
    return st.arr[idx] - old


def _health_step(rng: np.random.Generator, acc: Accounts, st: _State, t: int) -> None:
    n = len(st.h)
    st.h += THETA * (st.b - st.h) + SIGMA * rng.standard_normal(n)
    u = rng.random(n)
    champion = np.flatnonzero(u < P_CHAMPION_LEFT)
    outage = np.flatnonzero((u >= P_CHAMPION_LEFT) & (u < P_CHAMPION_LEFT + P_OUTAGE))
    sponsor = np.flatnonzero(u > 1.0 - P_NEW_SPONSOR)
    if len(champion):
        st.h[champion] -= rng.uniform(0.15, 0.35, len(champion))
        st.b[champion] -= rng.uniform(0.05, 0.20, len(champion))
        st.last_champion[champion] = t
    if len(outage):
        st.h[outage] -= rng.uniform(0.10, 0.25, len(outage))
    if len(sponsor):
        st.b[sponsor] += rng.uniform(0.05, 0.15, len(sponsor))
    st.b += acc.drift
    np.clip(st.b, 0.05, 0.97, out=st.b)
    np.clip(st.h, 0.0, 1.0, out=st.h)
    st.ema += (st.h - st.ema) / 30.0


def simulate(rng: np.random.Generator, acc: Accounts, cal: Calendar) -> Simulation:
    n, days = acc.n, cal.days
    h0 = np.clip(acc.baseline + rng.normal(0.0, 0.08, n), 0.0, 1.0)
    st = _State(
        h=h0,
        b=acc.baseline.copy(),
        ema=h0.copy(),
        alive=acc.signup_t <= 0,
        c_start=acc.contract_start.copy(),
        c_end=acc.contract_end.copy(),
        arr=acc.arr.copy(),
        seats=acc.seats.copy(),
        bill_dom=np.minimum(day_of_month(acc.contract_start), 28),
        react_t=np.full(n, NEVER, dtype=np.int64),
        last_champion=np.full(n, -NEVER, dtype=np.int64),
    )
    health = np.empty((days, n), dtype=np.float32)
    alive = np.empty((days, n), dtype=bool)
    seats = np.empty((days, n), dtype=np.int16)
    outcomes = _Log("account", "t", "kind", "arr_change", "reason")
    invoices = _Log("account", "t", "amount")
    monthly = ~acc.annual_billing

    for t in range(days):
        ep = int(cal.epoch[t])
        _health_step(rng, acc, st, t)
        health[t] = st.h

        new = np.flatnonzero(acc.signup_t == t)
        if len(new):
            st.alive[new] = True
            annual_new = new[acc.annual_billing[new]]
            invoices.add(account=annual_new, t=t, amount=st.arr[annual_new])

        back = np.flatnonzero(~st.alive & (st.react_t == t))
        if len(back):
            _reactivate(rng, acc, st, back, t, ep, outcomes, invoices)

        due = np.flatnonzero(st.alive & (st.c_end == ep))
        if len(due):
            _renewals(rng, acc, st, due, t, outcomes, invoices)

        at_risk = st.alive & (st.ema < MIDTERM_CHURN_HEALTH) & (acc.signup_t < t)
        leave = np.flatnonzero(at_risk & (rng.random(n) < MIDTERM_CHURN_P))
        if len(leave):
            outcomes.add(
                account=leave,
                t=t,
                kind=CHURNED,
                arr_change=-st.arr[leave],
                reason=_churn_reasons(rng, acc, st, leave, t),
            )
            st.alive[leave] = False

        grow = np.flatnonzero(
            st.alive & (st.ema > 0.72) & (st.c_end != ep) & (rng.random(n) < P_MIDTERM_EXPANSION)
        )
        if len(grow):
            change = _change_size(st, grow, rng.uniform(0.05, 0.25, len(grow)))
            outcomes.add(
                account=grow, t=t, kind=EXPANDED, arr_change=change, reason=R_IDX["seat expansion"]
            )

        bill = np.flatnonzero(st.alive & monthly & (st.bill_dom == cal.dom[t]))
        invoices.add(account=bill, t=t, amount=st.arr[bill] / 12.0)

        alive[t] = st.alive
        seats[t] = st.seats

    return Simulation(
        health=health,
        alive=alive,
        seats=seats,
        contract_start=st.c_start,
        contract_end=st.c_end,
        arr=st.arr,
        seats_now=st.seats,
        invoices=invoices.arrays(),
        outcomes=outcomes.arrays(),
    )


def _reactivate(
    rng: np.random.Generator,
    acc: Accounts,
    st: _State,
    idx: np.ndarray,
    t: int,
    ep: int,
    outcomes: _Log,
    invoices: _Log,
) -> None:
    st.alive[idx] = True
    st.react_t[idx] = NEVER
    st.c_start[idx] = ep
    st.c_end[idx] = add_years(np.full(len(idx), ep), 1)
    st.bill_dom[idx] = min(int(day_of_month(np.array([ep]))[0]), 28)
    _change_size(st, idx, -rng.uniform(0.0, 0.4, len(idx)))
    st.b[idx] = np.clip(np.maximum(st.b[idx], 0.6) + 0.05, 0.0, 0.97)
    st.h[idx] = st.b[idx]
    st.ema[idx] = st.b[idx]
    outcomes.add(
        account=idx, t=t, kind=REACTIVATED, arr_change=st.arr[idx], reason=R_IDX["win-back"]
    )
    annual = idx[acc.annual_billing[idx]]
    invoices.add(account=annual, t=t, amount=st.arr[annual])


# ----------------------------------------------------------------------------------------------
# Arrow helpers
# ----------------------------------------------------------------------------------------------
def _dates(epoch_days: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    return pa.array(np.asarray(epoch_days, dtype=np.int32), mask=mask).cast(pa.date32())


def _timestamps(seconds: np.ndarray, mask: np.ndarray | None = None, zone: bool = True) -> pa.Array:
    secs = np.where(mask, 0, seconds) if mask is not None else seconds
    text = np.datetime_as_string(
        np.asarray(secs, dtype=np.int64).astype("datetime64[s]"),
        unit="s",
        timezone="UTC" if zone else "naive",
    )
    return pa.array(text, mask=mask, type=pa.string())


def _labels(values: tuple[str, ...], codes: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    idx = pa.array(np.asarray(codes, dtype=np.int32), mask=mask)
    return pa.array(values, type=pa.string()).take(idx)


def _doubles(x: np.ndarray, decimals: int, mask: np.ndarray | None = None) -> pa.Array:
    vals = np.round(np.asarray(x, dtype=np.float64), decimals)
    nan = np.isnan(vals)
    mask = nan if mask is None else (mask | nan)
    return pa.array(np.where(mask, 0.0, vals), mask=mask, type=pa.float64())


def _table(source: str, cols: dict[str, pa.Array]) -> pa.Table:
    names = SOURCES[source].column_names
    assert tuple(cols) == names, (source, tuple(cols), names)
    return pa.table(cols)


def _seconds_in_day(rng: np.random.Generator, n: int) -> np.ndarray:
    """Mostly business hours, some around the clock."""
    office = rng.uniform(8 * 3600, 18 * 3600, n)
    anytime = rng.uniform(0, SECONDS_PER_DAY, n)
    return np.where(rng.random(n) < 0.85, office, anytime).astype(np.int64) // 60 * 60


# ----------------------------------------------------------------------------------------------
# Sources
# ----------------------------------------------------------------------------------------------
def accounts_table(
    rng: np.random.Generator, acc: Accounts, sim: Simulation, cal: Calendar
) -> pa.Table:
    out = sim.outcomes
    last_t = np.maximum(acc.signup_t, 0)
    if len(out["account"]):
        np.maximum.at(last_t, out["account"].astype(np.int64), out["t"].astype(np.int64))
    updated = (cal.epoch[0] + last_t) * SECONDS_PER_DAY + rng.integers(6 * 3600, 20 * 3600, acc.n)
    return _table(
        "accounts",
        {
            "account_id": acc.ids,
            "account_name": pa.array(acc.names, type=pa.string()),
            "industry": _labels(INDUSTRIES, acc.industry),
            "employees": pa.array(acc.employees, type=pa.int64()),
            "segment": _labels(SEGMENTS, acc.segment),
            "plan": _labels(PLANS, acc.plan),
            "region": _labels(REGIONS, acc.region),
            "csm_owner": _labels(CSM_OWNERS, np.maximum(acc.csm, 0), mask=acc.csm < 0),
            "signup_date": _dates(acc.signup_epoch),
            "contract_start": _dates(sim.contract_start),
            "contract_end": _dates(sim.contract_end),
            "arr": _doubles(sim.arr, 2),
            "licensed_seats": pa.array(sim.seats_now, type=pa.int64()),
            "updated_at": _timestamps(updated),
        },
    )


def billing_table(
    rng: np.random.Generator, acc: Accounts, sim: Simulation, cal: Calendar
) -> pa.Table:
    inv = sim.invoices
    order = np.lexsort((inv["account"], inv["t"]))
    a = inv["account"][order].astype(np.int64)
    t = inv["t"][order].astype(np.int64)
    n, last = len(a), cal.days - 1
    h = sim.health[t, a].astype(np.float64)
    ghost = acc.ghost[a]
    fx = np.array(FX_FROM_USD)[acc.currency[a]]
    monthly = ~acc.annual_billing[a]
    amount = inv["amount"][order] * fx * np.where(monthly, 1 + rng.normal(0, 0.015, n), 1.0)
    net = acc.net_days[a]
    due_t = t + net

    p_fail = np.where(ghost, 0.002, 0.004 + 0.30 * (1 - h) ** 4)
    p_late = np.where(ghost, 0.02, 0.03 + 0.85 * (1 - h) ** 2.5)
    u = rng.random(n)
    failed = u < p_fail
    void = ~failed & (u < p_fail + 0.008)
    late = rng.random(n) < p_late
    on_time_delay = np.floor(net * rng.beta(2.0, 2.5, n)).astype(np.int64)
    late_delay = net + 1 + np.floor(rng.exponential(4 + 40 * (1 - h))).astype(np.int64)
    paid_t = t + np.where(late, late_delay, on_time_delay)
    refunded = ~failed & ~void & (rng.random(n) < 0.004)
    refund_t = paid_t + rng.integers(3, 30, n)

    void_t = t + rng.integers(1, 10, n)
    status = np.select([failed, void, refunded], [FAILED, VOID, REFUNDED], PAID)
    event_t = np.select([failed, void, refunded], [due_t, void_t, refund_t], paid_t)
    # Refunded after the end date: still just paid. Anything else after it: still open.
    late_refund = refunded & (refund_t > last) & (paid_t <= last)
    status[late_refund], event_t[late_refund] = PAID, paid_t[late_refund]
    pending = event_t > last
    status[pending], event_t[pending] = OPEN, t[pending]
    no_paid_date = (status != PAID) & (status != REFUNDED)

    updated = (cal.epoch[0] + event_t) * SECONDS_PER_DAY + rng.integers(7 * 3600, 22 * 3600, n)
    return _table(
        "billing",
        {
            "invoice_id": _sequence_ids("INV-", n, 7),
            "account_id": acc.ids.take(pa.array(a)),
            "issued_date": _dates(cal.epoch[0] + t),
            "due_date": _dates(cal.epoch[0] + due_t),
            "amount": _doubles(amount, 2),
            "currency": _labels(CURRENCIES, acc.currency[a]),
            "paid_date": _dates(cal.epoch[0] + paid_t, mask=no_paid_date),
            "status": _labels(INVOICE_STATUSES, status),
            "updated_at": _timestamps(updated),
        },
    )


def _month_chunks(cal: Calendar) -> list[tuple[str, int, int]]:
    """(YYYY-MM, first day index, last day index + 1) for each calendar month of the window."""
    key = cal.epoch.astype("datetime64[D]").astype("datetime64[M]")
    cuts = np.flatnonzero(np.diff(key.astype(np.int64))) + 1
    bounds = [0, *cuts.tolist(), cal.days]
    return [(str(key[b0]), b0, b1) for b0, b1 in zip(bounds[:-1], bounds[1:], strict=True)]


def _expand(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For counts c_j: (parent index j repeated c_j times, rank 0..c_j-1 within the parent)."""
    parent = np.repeat(np.arange(len(counts)), counts)
    starts = np.cumsum(counts) - counts
    rank = np.arange(len(parent)) - np.repeat(starts, counts)
    return parent, rank


def _wrap(x: np.ndarray, m: np.ndarray) -> np.ndarray:
    """x mod m for 0 <= x < 2m (cheaper than %)."""
    return np.where(x >= m, x - m, x)


@dataclass(frozen=True)
class UserDirectory:
    """Every user id an account can ever show: ``ids[offset[account] + local user index]``."""

    ids: pa.Array
    offset: np.ndarray

    @classmethod
    def build(cls, acc: Accounts, sim: Simulation) -> UserDirectory:
        most = np.maximum(sim.seats.max(axis=0).astype(np.int64), 1)
        owner, local = _expand(most)
        local_text = pc.utf8_lpad(pc.cast(pa.array(local + 1), pa.string()), 4, "0")
        ids = pc.binary_join_element_wise(acc.ids.take(pa.array(owner)), local_text, "-u")
        return cls(ids=ids, offset=np.cumsum(most) - most)


def _usage_account_days(
    acc: Accounts, sim: Simulation, t0: int, t1: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Alive account-days of [t0, t1), day-major, aggregate-usage accounts moved to the end.

    Returns (account, day index, flat index into the (t1 - t0, n) block, number of
    account-days that report per user)."""
    n = acc.n
    flat = np.flatnonzero(sim.alive[t0:t1])
    agg = acc.aggregate_usage[flat % n]
    per_user = int(len(flat) - agg.sum())
    if per_user < len(flat):
        flat = np.concatenate([flat[~agg], flat[agg]])
    return flat % n, flat // n + t0, flat, per_user


def usage_table(
    rng: np.random.Generator,
    acc: Accounts,
    sim: Simulation,
    cal: Calendar,
    season: np.ndarray,
    users_dir: UserDirectory,
    t0: int,
    t1: int,
) -> pa.Table:
    """Usage rows for days [t0, t1): one row per active user-day and feature used.

    Aggregate-usage accounts get one row per day and feature, without user."""
    ii, t, flat, per_user = _usage_account_days(acc, sim, t0, t1)
    h = sim.health[t0:t1].ravel()[flat]
    ramp = np.clip(0.15 + 0.85 * (t - acc.signup_t[ii]) / 45.0, 0.15, 1.0)
    ghost = acc.ghost[ii]
    adoption = np.where(ghost, 0.03, acc.adopt[ii] * (0.15 + 0.9 * h) * ramp)
    seats = sim.seats[t0:t1].ravel()[flat]
    users = np.maximum(1, np.rint(seats * np.clip(adoption, 0.02, 1.0))).astype(np.int64)
    p = USAGE_RATE * season[acc.region[ii], t] * acc.activity[ii] * (0.3 + 0.9 * h)
    p = np.clip(np.where(ghost, p * 0.05, p), 0.0, 0.9)
    active = rng.binomial(users, p)

    # Active user-days: a contiguous block (mod the adopted users) from a random first user.
    ad, rank = _expand(active)
    users_ud = users[ad]
    user = _wrap(rng.integers(0, users)[ad] + rank, users_ud)

    # Features per user-day: 1-3 distinct ones from the account's current repertoire.
    n_feat = 1 + rng.binomial(2, 0.05 + 0.3 * h[ad])
    repertoire = np.clip(np.rint(acc.breadth[ii] * (0.3 + 0.8 * h) * N_FEATURES), 3, N_FEATURES)
    rep_ud = repertoire[ad].astype(np.int64)
    first_slot = (rep_ud * rng.random(len(ad), dtype=np.float32) ** 1.7).astype(np.int64)
    ud, rank2 = _expand(n_feat)
    slot = _wrap(first_slot[ud] + rank2, rep_ud[ud])
    row_ad = ad[ud]
    acct = ii[row_ad]
    feature = acc.feature_rank[acct, slot]

    n_rows = len(ud)
    noise = rng.standard_normal((2, n_rows), dtype=np.float32)
    mean_events = FEATURE_EVENTS_32[feature] * (0.5 + h[row_ad])
    events = np.ceil(mean_events * np.exp(0.7 * noise[0] - 0.245)).astype(np.int64)
    minutes = events * FEATURE_MINUTES_32[feature] * np.exp(0.4 * noise[1] - 0.08)
    day = cal.epoch[t[row_ad]]

    head = int(np.searchsorted(row_ad, per_user))  # rows of per-user accounts come first
    tables = [
        _usage_columns(
            acc.ids.take(pa.array(acct[:head])),
            day[:head],
            users_dir.ids.take(pa.array(users_dir.offset[acct[:head]] + user[ud[:head]])),
            feature[:head],
            events[:head],
            minutes[:head],
        )
    ]
    if head < n_rows:
        key = row_ad[head:] * N_FEATURES + feature[head:]
        _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
        src = head + first
        tables.append(
            _usage_columns(
                acc.ids.take(pa.array(acct[src])),
                day[src],
                pa.nulls(len(src), pa.string()),
                feature[src],
                np.bincount(inverse, weights=events[head:]).astype(np.int64),
                np.bincount(inverse, weights=minutes[head:]),
            )
        )
    return pa.concat_tables(tables)


def _usage_columns(
    account_ids: pa.Array,
    day: np.ndarray,
    user_ids: pa.Array,
    feature: np.ndarray,
    events: np.ndarray,
    minutes: np.ndarray,
) -> pa.Table:
    return _table(
        "usage",
        {
            "account_id": account_ids,
            "activity_date": _dates(day),
            "user_id": user_ids,
            "feature": _labels(FEATURE_NAMES, feature),
            "event_count": pa.array(events, type=pa.int64()),
            "minutes": _doubles(minutes, 1),
        },
    )


def _ticket_chunk(
    rng: np.random.Generator, acc: Accounts, sim: Simulation, cal: Calendar, t0: int, t1: int
) -> dict[str, np.ndarray]:
    h = sim.health[t0:t1].astype(np.float64)
    weekday = np.where(cal.weekday[t0:t1] >= 5, 0.25, 1.0)[:, None]
    lam = (
        0.005
        * sim.seats[t0:t1] ** 0.6
        * (0.35 + 2.6 * (1 - h) ** 2)
        * acc.ticket_rate[None, :]
        * weekday
    )
    lam = np.where(sim.alive[t0:t1] & ~acc.ghost[None, :], lam, 0.0)
    counts = rng.poisson(lam)
    tt, ii = np.nonzero(counts)
    reps = counts[tt, ii]
    return {"t": np.repeat(tt + t0, reps), "account": np.repeat(ii, reps)}


def _survey_csat_chunk(
    rng: np.random.Generator, acc: Accounts, sim: Simulation, cal: Calendar, t0: int, t1: int
) -> dict[str, np.ndarray]:
    weekday = np.where(cal.weekday[t0:t1] >= 5, 0.1, 1.0)[:, None]
    lam = 0.0035 * sim.seats[t0:t1] ** 0.3 * weekday
    lam = np.where(sim.alive[t0:t1] & ~acc.ghost[None, :], lam, 0.0)
    counts = rng.poisson(lam)
    tt, ii = np.nonzero(counts)
    reps = counts[tt, ii]
    return {"t": np.repeat(tt + t0, reps), "account": np.repeat(ii, reps)}


def support_table(
    rng: np.random.Generator, acc: Accounts, sim: Simulation, cal: Calendar, chunks: list
) -> pa.Table:
    parts = [_ticket_chunk(rng, acc, sim, cal, t0, t1) for _, t0, t1 in chunks]
    t = np.concatenate([p["t"] for p in parts]).astype(np.int64)
    a = np.concatenate([p["account"] for p in parts]).astype(np.int64)
    n = len(t)
    h = sim.health[t, a].astype(np.float64)
    opened = (cal.epoch[0] + t) * SECONDS_PER_DAY + _seconds_in_day(rng, n)
    order = np.lexsort((a, opened))
    t, a, h, opened = t[order], a[order], h[order], opened[order]

    sick = 1 - h
    pri_p = np.stack(
        [0.35 * h, np.full(n, 0.5), 0.08 + 0.25 * sick, 0.02 + 0.12 * sick**1.5], axis=1
    )
    priority = _choice_rows(rng, pri_p / pri_p.sum(axis=1, keepdims=True))
    cat_p = np.stack(
        [np.full(n, 0.35), np.full(n, 0.28), 0.04 + 0.2 * sick, np.full(n, 0.15), np.full(n, 0.1)],
        axis=1,
    )
    category = _choice_rows(rng, cat_p / cat_p.sum(axis=1, keepdims=True))

    weekend = cal.weekday[t] >= 5
    first_resp = FIRST_RESPONSE_MEDIAN_MIN[priority] * np.exp(0.8 * rng.standard_normal(n))
    first_resp *= np.where(weekend, 2.5, 1.0)
    first_resp = np.round(np.maximum(first_resp, 1.0), 1)
    no_first_resp = rng.random(n) < 0.03
    resolution_s = (
        RESOLUTION_MEDIAN_H[priority]
        * CATEGORY_RESOLUTION_MULT[category]
        * np.exp(0.9 * rng.standard_normal(n))
        * 3600
    )
    closed = opened + np.maximum(resolution_s, first_resp * 60 + 60).astype(np.int64)
    still_open = closed > cal.end_second
    rated = ~still_open & (rng.random(n) < 0.5)
    csat = np.clip(
        np.rint(1 + 4 * (0.15 + 0.8 * h) + rng.normal(0, 0.8, n) - 0.5 * (priority == 3)), 1, 5
    )
    replied = opened + (first_resp * 60).astype(np.int64)
    updated = np.where(still_open, np.where(no_first_resp, opened, replied), closed)
    rated_later = rated & (rng.random(n) < 0.6)
    updated = np.where(rated_later, closed + rng.integers(600, 2 * SECONDS_PER_DAY, n), updated)
    updated = np.minimum(updated, cal.end_second)
    return _table(
        "support",
        {
            "ticket_id": _sequence_ids("T-", n, 7),
            "account_id": acc.ids.take(pa.array(a)),
            "opened_at": _timestamps(opened),
            "closed_at": _timestamps(closed, mask=still_open),
            "priority": _labels(PRIORITIES, priority),
            "category": _labels(CATEGORIES, category),
            "csat": _doubles(csat, 0, mask=~rated),
            "first_response_minutes": _doubles(first_resp, 1, mask=no_first_resp),
            "updated_at": _timestamps(updated),
        },
    )


def _survey_score(
    rng: np.random.Generator, h: np.ndarray, role: np.ndarray, nps: np.ndarray
) -> np.ndarray:
    s = h + np.array([0.04, 0.0, -0.03, 0.0])[role] + rng.normal(0, 0.10, len(h))
    nps_score = np.clip(np.rint(1.5 + 9.5 * s + rng.normal(0, 1.1, len(h))), 0, 10)
    csat_score = np.clip(np.rint(1 + 4 * (0.1 + 0.85 * s) + rng.normal(0, 0.6, len(h))), 1, 5)
    return np.where(nps, nps_score, csat_score)


def _nps_invitations(
    rng: np.random.Generator, acc: Accounts, sim: Simulation, cal: Calendar
) -> dict[str, np.ndarray]:
    waves = np.flatnonzero(np.isin(cal.month, NPS_WAVE_MONTHS) & (cal.dom == 10))
    ts, accts = [], []
    for w in waves:
        ii = np.flatnonzero(sim.alive[w] & ~acc.ghost)
        contacts = np.clip(np.rint(sim.seats[w, ii] ** 0.5), 1, 15).astype(np.int64)
        answers = rng.binomial(contacts, 0.28)
        ii = np.repeat(ii, answers)
        delay = np.minimum(np.floor(rng.exponential(4.0, len(ii))), 21).astype(np.int64)
        ts.append(w + delay)
        accts.append(ii)
    if not ts:
        return {"t": np.empty(0, np.int64), "account": np.empty(0, np.int64)}
    return {"t": np.concatenate(ts), "account": np.concatenate(accts)}


def survey_table(
    rng: np.random.Generator, acc: Accounts, sim: Simulation, cal: Calendar, chunks: list
) -> pa.Table:
    nps_inv = _nps_invitations(rng, acc, sim, cal)
    csat_parts = [_survey_csat_chunk(rng, acc, sim, cal, t0, t1) for _, t0, t1 in chunks]
    t = np.concatenate([nps_inv["t"], *[p["t"] for p in csat_parts]]).astype(np.int64)
    a = np.concatenate([nps_inv["account"], *[p["account"] for p in csat_parts]]).astype(np.int64)
    nps = np.arange(len(t)) < len(nps_inv["t"])
    ok = t < cal.days
    t, a, nps = t[ok], a[ok], nps[ok]
    ok = sim.alive[t, a]  # nobody answers for a churned account
    t, a, nps = t[ok], a[ok], nps[ok]
    n = len(t)
    responded = (cal.epoch[0] + t) * SECONDS_PER_DAY + _seconds_in_day(rng, n)
    order = np.lexsort((a, responded))
    t, a, nps, responded = t[order], a[order], nps[order], responded[order]

    role_p = np.where(nps[:, None], [0.15, 0.30, 0.50, 0.05], [0.03, 0.12, 0.80, 0.05])
    role = _choice_rows(rng, role_p)  # 3 = not given
    score = _survey_score(rng, sim.health[t, a].astype(np.float64), role, nps)
    band = np.where(nps, np.digitize(score, [7, 9]), np.digitize(score, [3, 5]))
    no_comment = rng.random(n) >= 0.3
    pick = rng.integers(0, 1000, n)
    comment_count = np.array([len(c) for c in COMMENTS])
    comment_offset = np.cumsum(comment_count) - comment_count
    comment = comment_offset[band] + pick % comment_count[band]
    return _table(
        "survey",
        {
            "response_id": _sequence_ids("R-", n, 7),
            "account_id": acc.ids.take(pa.array(a)),
            "responded_at": _timestamps(responded),
            "survey_type": _labels(("csat", "nps"), nps.astype(np.int64)),
            "score": pa.array(score.astype(np.int64), type=pa.int64()),
            "respondent_role": _labels(ROLES, np.minimum(role, 2), mask=role == 3),
            "comment": _labels(
                tuple(c for band in COMMENTS for c in band), comment, mask=no_comment
            ),
        },
    )


def csm_table(rng: np.random.Generator, acc: Accounts, sim: Simulation, cal: Calendar) -> pa.Table:
    n, days = acc.n, cal.days
    cadence = np.array(CSM_CADENCE_DAYS, dtype=float)[acc.segment] * np.where(acc.ghost, 1.5, 1.0)
    k_max = int(days // (0.75 * min(CSM_CADENCE_DAYS))) + 2
    gaps = cadence[:, None] * rng.uniform(0.75, 1.25, (n, k_max))
    first = np.maximum(acc.signup_t, 0) + rng.uniform(0, 1, n) * cadence
    when = np.floor(first[:, None] + np.cumsum(gaps, axis=1) - gaps[:, :1]).astype(np.int64)
    ii, kk = np.nonzero((when < days) & (acc.csm[:, None] >= 0))
    t = when[ii, kk]
    keep = sim.alive[t, ii]
    ii, t = ii[keep], t[keep]
    m = len(t)
    assessed = (cal.epoch[0] + t) * SECONDS_PER_DAY + rng.integers(
        9 * 3600, 18 * 3600, m
    ) // 60 * 60
    order = np.lexsort((ii, assessed))
    ii, t, assessed = ii[order], t[order], assessed[order]

    h_now = sim.health[t, ii].astype(np.float64)
    h_past = sim.health[np.maximum(t - 30, 0), ii].astype(np.float64)
    perceived = 0.7 * h_now + 0.3 * h_past + rng.normal(0, 0.08, m)
    sentiment = np.clip(np.rint(0.6 + 5 * perceived), 1, 5)
    intent_h = perceived + rng.normal(0, 0.06, m)
    intent = np.select([intent_h > 0.62, intent_h < 0.38], [0, 2], 1)
    no_intent = rng.random(m) < 0.08

    author = acc.csm[ii].copy()
    cover = rng.random(m) < 0.05
    author[cover] = rng.integers(0, len(CSM_OWNERS), cover.sum())

    band = np.digitize(sentiment, [2.5, 4])
    note_pick = rng.integers(0, 1000, m)
    notes = np.array(
        [CSM_NOTES[b][p % len(CSM_NOTES[b])] for b, p in zip(band, note_pick, strict=True)]
    )
    notes = np.where(h_past - h_now > 0.15, CSM_DROP_NOTE, notes)
    no_note = (rng.random(m) < 0.45) & (notes != CSM_DROP_NOTE)

    validity = _choice_rows(rng, np.tile([0.60, 0.34, 0.03, 0.03], (m, 1)))
    valid_days = np.array([0, 90, 60, 30])[validity]
    return _table(
        "csm",
        {
            "account_id": acc.ids.take(pa.array(ii)),
            "assessed_at": _timestamps(assessed, zone=False),
            "sentiment": _doubles(sentiment, 0),
            "renewal_intent": _labels(("likely", "neutral", "unlikely"), intent, mask=no_intent),
            "author": _labels(CSM_OWNERS, author),
            "note": pa.array(notes.tolist(), mask=no_note, type=pa.string()),
            "valid_until": _dates(cal.epoch[0] + t + valid_days, mask=validity == 0),
        },
    )


OVERRIDE_SHARE = 0.03  # share of accounts with a CSM that get an override at some point
OVERRIDE_REASONS = (
    "Executive sponsor confirmed renewal on the QBR call.",
    "Usage dip is a planned migration to SSO; not a risk.",
    "Champion left the company; relationship at risk despite usage.",
    "Open escalation with legal about the contract terms.",
    "Budget freeze announced; renewal under review.",
    "Strategic logo: expansion signed, data lags behind.",
)


def overrides_table(
    rng: np.random.Generator, acc: Accounts, sim: Simulation, cal: Calendar
) -> pa.Table:
    """A few CSM overrides: a score or a tier set by hand on a day the account is a customer,
    in the direction the CSM perceives (latent health now), valid for 30-90 days or the
    default (no valid_until)."""
    n, days = acc.n, cal.days
    pick = np.nonzero((acc.csm >= 0) & (rng.random(n) < OVERRIDE_SHARE))[0]
    t = rng.integers(min(60, days - 1), days, len(pick))
    keep = sim.alive[t, pick]
    ii, t = pick[keep], t[keep]
    m = len(ii)
    order = np.lexsort((ii, t))
    ii, t = ii[order], t[order]
    perceived = sim.health[t, ii].astype(np.float64) + rng.normal(0, 0.05, m)
    score = np.clip(np.rint(100 * perceived), 0, 100)
    tier_only = rng.random(m) < 0.3
    tier = np.select([score >= 70, score > 50, score >= 30], [0, 1, 2], 3)
    reason = np.where(perceived >= 0.5, rng.integers(0, 2, m), rng.integers(2, 4, m))
    reason = np.where(rng.random(m) < 0.15, rng.integers(4, 6, m), reason)
    valid_days = rng.choice(np.array([0, 30, 90]), m, p=[0.5, 0.3, 0.2])
    return _table(
        "overrides",
        {
            "account_id": acc.ids.take(pa.array(ii)),
            "health_score": _doubles(score, 0, mask=tier_only),
            "tier": _labels(("healthy", "attention", "at_risk", "critical"), tier, mask=~tier_only),
            "author": _labels(CSM_OWNERS, acc.csm[ii]),
            "reason": _labels(OVERRIDE_REASONS, reason),
            "valid_from": _dates(cal.epoch[0] + t),
            "valid_until": _dates(cal.epoch[0] + t + valid_days, mask=valid_days == 0),
        },
    )


def outcomes_table(acc: Accounts, sim: Simulation, cal: Calendar) -> pa.Table:
    out = sim.outcomes
    a = out["account"].astype(np.int64)
    t = out["t"].astype(np.int64)
    kind = out["kind"].astype(np.int64)
    order = np.lexsort((kind, a, t))
    reason = out["reason"].astype(np.int64)[order]
    return _table(
        "outcomes",
        {
            "account_id": acc.ids.take(pa.array(a[order])),
            "event_date": _dates(cal.epoch[0] + t[order]),
            "event_type": _labels(OUTCOME_TYPES, kind[order]),
            "reason": _labels(REASONS, np.maximum(reason, 0), mask=reason < 0),
            "arr_change": _doubles(out["arr_change"][order], 2),
        },
    )


# ----------------------------------------------------------------------------------------------
# Writing
# ----------------------------------------------------------------------------------------------
def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def write_csv(table: pa.Table, path: Path) -> int:
    """Write a CSV (gzip-compressed, reproducibly, when the name ends in .gz); return rows."""
    buf = pa.BufferOutputStream()
    pacsv.write_csv(table, buf, write_options=pacsv.WriteOptions(quoting_style="needed"))
    data = buf.getvalue().to_pybytes()
    if path.name.endswith(".gz"):
        data = gzip.compress(data, compresslevel=6, mtime=0)
    _atomic_write(path, data)
    return table.num_rows


def write_ndjson(table: pa.Table, path: Path) -> int:
    """One JSON object per line, keys in column order, null for missing values; return rows."""
    parts: list[pa.ChunkedArray | str] = []
    for i, field in enumerate(table.schema):
        col = table.column(i)
        if pa.types.is_string(field.type):
            escaped = col
            for char, escape in (("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r")):
                escaped = pc.replace_substring(escaped, char, escape)
            text = pc.binary_join_element_wise('"', escaped, '"', "")
        else:
            text = pc.cast(col, pa.string())
        parts += [
            ("{" if i == 0 else ",") + json.dumps(field.name) + ":",
            pc.fill_null(text, "null"),
        ]
    lines = pc.binary_join_element_wise(*parts, "}", "").to_pylist() if table.num_rows else []
    _atomic_write(path, "".join(f"{line}\n" for line in lines).encode("utf-8"))
    return table.num_rows


def _rng(seed: int, stream: int, *keys: int) -> np.random.Generator:
    return np.random.default_rng([seed, stream, *keys])


def generate_exports(
    out_dir: Path,
    accounts: int = 2000,
    months: int = 18,
    seed: int = 42,
    end_date: date = date(2026, 9, 30),
) -> dict[str, int]:
    """Write all sample exports under ``out_dir``; return rows written per source."""
    if accounts < 1:
        raise ValueError("accounts must be >= 1")
    out_dir = Path(out_dir)
    cal = make_calendar(end_date, months)
    acc = make_accounts(_rng(seed, 1), accounts, cal)
    sim = simulate(_rng(seed, 2), acc, cal)
    chunks = _month_chunks(cal)
    folders = {source: out_dir / source for source in SOURCES}
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)

    writers: dict[str, Callable[[], int]] = {
        "accounts": lambda: write_csv(
            accounts_table(_rng(seed, 3), acc, sim, cal), folders["accounts"] / "accounts.csv"
        ),
        "billing": lambda: write_csv(
            billing_table(_rng(seed, 4), acc, sim, cal), folders["billing"] / "billing.csv.gz"
        ),
        "support": lambda: write_csv(
            support_table(_rng(seed, 5), acc, sim, cal, chunks), folders["support"] / "support.csv"
        ),
        "survey": lambda: write_ndjson(
            survey_table(_rng(seed, 6), acc, sim, cal, chunks), folders["survey"] / "survey.ndjson"
        ),
        "usage": lambda: _write_usage(seed, acc, sim, cal, chunks, folders["usage"]),
        "csm": lambda: write_csv(
            csm_table(_rng(seed, 7), acc, sim, cal), folders["csm"] / "csm.csv"
        ),
        "outcomes": lambda: write_csv(
            outcomes_table(acc, sim, cal), folders["outcomes"] / "outcomes.csv"
        ),
        "overrides": lambda: write_csv(
            overrides_table(_rng(seed, 9), acc, sim, cal), folders["overrides"] / "overrides.csv"
        ),
    }
    return {source: writers[source]() for source in SOURCES}


def _write_usage(
    seed: int, acc: Accounts, sim: Simulation, cal: Calendar, chunks: list, folder: Path
) -> int:
    """One Parquet file per month, written in pieces of a few days to bound memory."""
    season = season_factor(cal)
    users_dir = UserDirectory.build(acc, sim)
    alive_per_day = max(1.0, float(sim.alive.sum()) / cal.days)
    piece_days = int(np.clip(USAGE_PIECE_ACCOUNT_DAYS // alive_per_day, 1, 31))
    written, total = set(), 0
    for k, (month, t0, t1) in enumerate(chunks):
        name = f"usage_{month}.parquet"
        tmp = folder / f".{name}.tmp"
        with pq.ParquetWriter(tmp, USAGE_SCHEMA, compression="zstd") as writer:
            for j, p0 in enumerate(range(t0, t1, piece_days)):
                p1 = min(p0 + piece_days, t1)
                table = usage_table(_rng(seed, 8, k, j), acc, sim, cal, season, users_dir, p0, p1)
                writer.write_table(table, row_group_size=USAGE_ROW_GROUP)
                total += table.num_rows
        os.replace(tmp, folder / name)
        written.add(name)
    for stale in folder.iterdir():  # our own files from an earlier run with another window
        if USAGE_FILE_RE.fullmatch(stale.name) and stale.name not in written:
            stale.unlink()
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m healthmart.generate",
        description="Generate deterministic sample exports (every source of the export contract).",
    )
    parser.add_argument("--out", type=Path, default=Path("data/exports"), help="landing folder")
    parser.add_argument("--accounts", type=int, default=2000, help="number of accounts")
    parser.add_argument("--months", type=int, default=18, help="months of history")
    parser.add_argument("--seed", type=int, default=42, help="random seed")
    parser.add_argument(
        "--end-date", type=date.fromisoformat, default=date(2026, 9, 30), help="last day (ISO)"
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    rows = generate_exports(args.out, args.accounts, args.months, args.seed, args.end_date)
    start, end = data_window(args.end_date, args.months)
    print(f"Sample exports written to {args.out} ({start} .. {end}, seed {args.seed}):")
    for source, count in rows.items():
        print(f"  {source:<9} {count:>12,} rows")
    print(f"done in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
