"""The export tables of every source, drawn from the simulated accounts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from healthmart.generate.accounts import Accounts, choice_rows, sequence_ids
from healthmart.generate.arrow import (
    contract_table,
    dates_array,
    doubles,
    labels,
    seconds_in_day,
    timestamps,
)
from healthmart.generate.catalogue import (
    CATEGORIES,
    CATEGORY_RESOLUTION_MULT,
    COMMENTS,
    CSM_CADENCE_DAYS,
    CSM_DROP_NOTE,
    CSM_NOTES,
    CSM_OWNERS,
    CURRENCIES,
    FAILED,
    FEATURE_EVENTS_32,
    FEATURE_MINUTES_32,
    FEATURE_NAMES,
    FIRST_RESPONSE_MEDIAN_MIN,
    FX_FROM_USD,
    INDUSTRIES,
    INVOICE_STATUSES,
    N_FEATURES,
    NPS_WAVE_MONTHS,
    OPEN,
    OUTCOME_TYPES,
    PAID,
    PLANS,
    PRIORITIES,
    REASONS,
    REFUNDED,
    REGIONS,
    RESOLUTION_MEDIAN_H,
    ROLES,
    SECONDS_PER_DAY,
    SEGMENTS,
    USAGE_RATE,
    VOID,
)
from healthmart.generate.dates import Calendar, add_months, add_years
from healthmart.generate.simulation import Simulation


def accounts_table(
    rng: np.random.Generator, acc: Accounts, sim: Simulation, cal: Calendar
) -> pa.Table:
    out = sim.outcomes
    last_t = np.maximum(acc.signup_t, 0)
    if len(out["account"]):
        np.maximum.at(last_t, out["account"].astype(np.int64), out["t"].astype(np.int64))
    updated = (cal.epoch[0] + last_t) * SECONDS_PER_DAY + rng.integers(6 * 3600, 20 * 3600, acc.n)
    return contract_table(
        "accounts",
        {
            "account_id": acc.ids,
            "account_name": pa.array(acc.names, type=pa.string()),
            "industry": labels(INDUSTRIES, acc.industry),
            "employees": pa.array(acc.employees, type=pa.int64()),
            "segment": labels(SEGMENTS, acc.segment),
            "plan": labels(PLANS, acc.plan),
            "region": labels(REGIONS, acc.region),
            "csm_owner": labels(CSM_OWNERS, np.maximum(acc.csm, 0), mask=acc.csm < 0),
            "signup_date": dates_array(acc.signup_epoch),
            "contract_start": dates_array(sim.contract_start),
            "contract_end": dates_array(sim.contract_end),
            "arr": doubles(sim.arr, 2),
            "licensed_seats": pa.array(sim.seats_now, type=pa.int64()),
            "updated_at": timestamps(updated),
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
    return contract_table(
        "billing",
        {
            "invoice_id": sequence_ids("INV-", n, 7),
            "account_id": acc.ids.take(pa.array(a)),
            "issued_date": dates_array(cal.epoch[0] + t),
            "due_date": dates_array(cal.epoch[0] + due_t),
            "amount": doubles(amount, 2),
            "currency": labels(CURRENCIES, acc.currency[a]),
            "paid_date": dates_array(cal.epoch[0] + paid_t, mask=no_paid_date),
            "status": labels(INVOICE_STATUSES, status),
            "updated_at": timestamps(updated),
            # the service period: a year from the issue date for annual billing, else a month
            "period_start": dates_array(cal.epoch[0] + t),
            "period_end": dates_array(
                np.where(
                    monthly,
                    add_months(cal.epoch[0] + t, 1),
                    add_years(cal.epoch[0] + t, 1),
                )
                - 1
            ),
        },
    )


def month_chunks(cal: Calendar) -> list[tuple[str, int, int]]:
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
    return contract_table(
        "usage",
        {
            "account_id": account_ids,
            "activity_date": dates_array(day),
            "user_id": user_ids,
            "feature": labels(FEATURE_NAMES, feature),
            "event_count": pa.array(events, type=pa.int64()),
            "minutes": doubles(minutes, 1),
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
    opened = (cal.epoch[0] + t) * SECONDS_PER_DAY + seconds_in_day(rng, n)
    order = np.lexsort((a, opened))
    t, a, h, opened = t[order], a[order], h[order], opened[order]

    sick = 1 - h
    pri_p = np.stack(
        [0.35 * h, np.full(n, 0.5), 0.08 + 0.25 * sick, 0.02 + 0.12 * sick**1.5], axis=1
    )
    priority = choice_rows(rng, pri_p / pri_p.sum(axis=1, keepdims=True))
    cat_p = np.stack(
        [np.full(n, 0.35), np.full(n, 0.28), 0.04 + 0.2 * sick, np.full(n, 0.15), np.full(n, 0.1)],
        axis=1,
    )
    category = choice_rows(rng, cat_p / cat_p.sum(axis=1, keepdims=True))

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
    return contract_table(
        "support",
        {
            "ticket_id": sequence_ids("T-", n, 7),
            "account_id": acc.ids.take(pa.array(a)),
            "opened_at": timestamps(opened),
            "closed_at": timestamps(closed, mask=still_open),
            "priority": labels(PRIORITIES, priority),
            "category": labels(CATEGORIES, category),
            "csat": doubles(csat, 0, mask=~rated),
            "first_response_minutes": doubles(first_resp, 1, mask=no_first_resp),
            "updated_at": timestamps(updated),
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
    responded = (cal.epoch[0] + t) * SECONDS_PER_DAY + seconds_in_day(rng, n)
    order = np.lexsort((a, responded))
    t, a, nps, responded = t[order], a[order], nps[order], responded[order]

    role_p = np.where(nps[:, None], [0.15, 0.30, 0.50, 0.05], [0.03, 0.12, 0.80, 0.05])
    role = choice_rows(rng, role_p)  # 3 = not given
    score = _survey_score(rng, sim.health[t, a].astype(np.float64), role, nps)
    band = np.where(nps, np.digitize(score, [7, 9]), np.digitize(score, [3, 5]))
    no_comment = rng.random(n) >= 0.3
    pick = rng.integers(0, 1000, n)
    comment_count = np.array([len(c) for c in COMMENTS])
    comment_offset = np.cumsum(comment_count) - comment_count
    comment = comment_offset[band] + pick % comment_count[band]
    return contract_table(
        "survey",
        {
            "response_id": sequence_ids("R-", n, 7),
            "account_id": acc.ids.take(pa.array(a)),
            "responded_at": timestamps(responded),
            "survey_type": labels(("csat", "nps"), nps.astype(np.int64)),
            "score": pa.array(score.astype(np.int64), type=pa.int64()),
            "respondent_role": labels(ROLES, np.minimum(role, 2), mask=role == 3),
            "comment": labels(
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

    validity = choice_rows(rng, np.tile([0.60, 0.34, 0.03, 0.03], (m, 1)))
    valid_days = np.array([0, 90, 60, 30])[validity]
    return contract_table(
        "csm",
        {
            "account_id": acc.ids.take(pa.array(ii)),
            "assessed_at": timestamps(assessed, zone=False),
            "sentiment": doubles(sentiment, 0),
            "renewal_intent": labels(("likely", "neutral", "unlikely"), intent, mask=no_intent),
            "author": labels(CSM_OWNERS, author),
            "note": pa.array(notes.tolist(), mask=no_note, type=pa.string()),
            "valid_until": dates_array(cal.epoch[0] + t + valid_days, mask=validity == 0),
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
    return contract_table(
        "overrides",
        {
            "account_id": acc.ids.take(pa.array(ii)),
            "health_score": doubles(score, 0, mask=tier_only),
            "tier": labels(("healthy", "attention", "at_risk", "critical"), tier, mask=~tier_only),
            "author": labels(CSM_OWNERS, acc.csm[ii]),
            "reason": labels(OVERRIDE_REASONS, reason),
            "valid_from": dates_array(cal.epoch[0] + t),
            "valid_until": dates_array(cal.epoch[0] + t + valid_days, mask=valid_days == 0),
        },
    )


def outcomes_table(acc: Accounts, sim: Simulation, cal: Calendar) -> pa.Table:
    out = sim.outcomes
    a = out["account"].astype(np.int64)
    t = out["t"].astype(np.int64)
    kind = out["kind"].astype(np.int64)
    order = np.lexsort((kind, a, t))
    reason = out["reason"].astype(np.int64)[order]
    return contract_table(
        "outcomes",
        {
            "account_id": acc.ids.take(pa.array(a[order])),
            "event_date": dates_array(cal.epoch[0] + t[order]),
            "event_type": labels(OUTCOME_TYPES, kind[order]),
            "reason": labels(REASONS, np.maximum(reason, 0), mask=reason < 0),
            "arr_change": doubles(out["arr_change"][order], 2),
        },
    )
