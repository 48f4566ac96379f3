"""The synthetic accounts: segment, plan, seats, region, industry, CSM, signup and first term."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from healthmart.generate.catalogue import (
    ANNUAL_BILLING_P,
    CSM_POOLS,
    EMPLOYEES_RANGE,
    FEATURE_WEIGHT,
    INDUSTRIES,
    INDUSTRY_SUFFIXES,
    N_FEATURES,
    NAME_FIRST,
    NAME_LEGAL,
    NAME_SECOND,
    PLAN_P,
    PRICE_PER_SEAT,
    REGION_P,
    SEATS_RANGE,
    SEGMENT_P,
    SMB_UNOWNED_P,
)
from healthmart.generate.dates import Calendar, add_years


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


def sequence_ids(prefix: str, n: int, width: int) -> pa.Array:
    """prefix + zero-padded 1..n, e.g. ACC-000001."""
    digits = pc.utf8_lpad(pc.cast(pa.array(np.arange(1, n + 1)), pa.string()), width, "0")
    return pc.binary_join_element_wise(prefix, digits, "")


def _log_uniform(lo: np.ndarray, hi: np.ndarray, u: np.ndarray) -> np.ndarray:
    return np.exp(np.log(lo) + u * (np.log(hi) - np.log(lo)))


def choice_rows(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
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
    plan = choice_rows(rng, np.array(PLAN_P)[segment])
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

    eur_gbp = choice_rows(rng, np.tile([0.1, 0.6, 0.3], (n, 1)))
    currency = np.where(region == 1, eur_gbp, 0)
    net_days = choice_rows(rng, np.tile([0.08, 0.80, 0.12], (n, 1)))
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
        ids=sequence_ids("ACC-", n, 6),
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
