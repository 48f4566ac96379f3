"""Product usage: one row per account, day, user and feature (or per account, day and feature
for the accounts whose export has no user ids).

An account assigns a share of its licensed seats (by segment: small accounts use most of what
they buy, enterprises buy ahead), ramping up over its first weeks and shrinking as its health,
seen with a lag, falls; each assigned user has a habit of their own; days follow the week, a
summer dip (January in the south) and the last weeks of December. Once an annual customer has
decided not to renew, its use winds down until the contract ends. Features are adopted per
account; enablement features (training, academy, onboarding, webinars) are mostly used in the
first months and by few users after.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from healthmart.generate_saas.world import Account, World, sigmoid

# feature: (share of accounts that adopt it, chance an active user uses it that day, events/use)
FEATURES = {
    "dashboard": (1.00, 0.75, 4.0),
    "reports": (0.85, 0.40, 3.0),
    "search": (0.80, 0.30, 5.0),
    "collaboration": (0.60, 0.25, 6.0),
    "alerts": (0.55, 0.20, 2.0),
    "export": (0.50, 0.12, 1.5),
    "automation": (0.35, 0.12, 3.0),
    "mobile_app": (0.40, 0.15, 4.0),
    "integrations": (0.30, 0.06, 2.0),
    "api": (0.25, 0.08, 20.0),
    "admin_console": (0.90, 0.03, 2.0),
}
ENABLEMENT = ("onboarding_checklist", "training_course", "academy_lesson", "webinar")
FEATURE_NAMES = tuple(FEATURES) + ENABLEMENT
ASSIGNED_SHARE = {"smb": 0.85, "mid_market": 0.7, "enterprise": 0.55}
NO_USER_ID_SHARE = 0.12  # accounts whose usage export is aggregated per account
NO_MINUTES_SHARE = 0.08  # accounts whose export has no minutes
RAMP_DAYS = 45
WIND_DOWN = 0.55  # engagement multiplier between a churn decision and the churn


def season(world: World, region: str) -> np.ndarray:
    """Multiplier of activity per day of the window for a region."""
    f = np.where(world.weekday == 5, 0.12, np.where(world.weekday == 6, 0.07, 1.0))
    dates = [world.start + timedelta(days=d) for d in range(world.days)]
    month = np.array([d.month for d in dates])
    dom = np.array([d.day for d in dates])
    if region in ("north_america", "emea"):
        f = f * np.where(month == 7, 0.85, 1.0)
        f = f * np.where(month == 8, 0.55 if region == "emea" else 0.75, 1.0)
    else:
        f = f * np.where(month == 1, 0.8, 1.0)
    f = f * np.where((month == 12) & (dom >= 20), 0.45, 1.0)
    return f * np.where((month == 1) & (dom == 1), 0.15, 1.0)


def account_usage(
    world: World, acct: Account, rng: np.random.Generator, seasons: dict[str, np.ndarray]
) -> dict[str, np.ndarray] | None:
    """Columns (day, user, feature, events, minutes) of one account's usage rows."""
    alive = acct.alive(world.days)
    days = np.flatnonzero(alive)
    if days.size == 0:
        return None
    i = acct.index
    lagged = world.lagged[i, days]
    engagement = 0.25 + 0.75 * sigmoid(1.8 * (lagged - 0.3))
    since = acct.tenure(days)
    for s in acct.spells:
        if s.decision is not None:
            engagement[(days >= s.decision) & (days <= s.churn)] *= WIND_DOWN
    ramp = 0.15 + 0.85 * (1 - np.exp(-since / RAMP_DAYS))
    seats = acct.seats[days]
    assigned = np.round(seats * ASSIGNED_SHARE[acct.segment] * ramp * (0.4 + 0.6 * engagement))
    pool = int(seats.max())
    habit = rng.beta(1.5, 2.5, pool)
    day_p = engagement * seasons[acct.region][days]
    active = (np.arange(pool)[None, :] < assigned[:, None]) & (
        rng.random((days.size, pool)) < day_p[:, None] * habit[None, :]
    )
    d_idx, user = np.nonzero(active)
    if d_idx.size == 0:
        return None

    adopted = np.array([rng.random() < share for share, _, _ in FEATURES.values()])
    adopted[0] = True
    adopt_day = rng.exponential(40, len(FEATURES))  # days after start a feature is picked up
    base = np.array([p for _, p, _ in FEATURES.values()])
    rate = np.array([r for _, _, r in FEATURES.values()] + [1.5] * len(ENABLEMENT))
    k_core = len(FEATURES)
    probs = np.zeros((days.size, len(FEATURE_NAMES)))
    probs[:, :k_core] = (
        adopted[None, :]
        * (since[:, None] >= adopt_day[None, :])
        * base[None, :]
        * (0.6 + 0.4 * engagement[:, None])
    )
    onboarding = 0.20 * np.exp(-since / 40)
    for k, name in enumerate(ENABLEMENT):
        extra = 0.004 * sigmoid(lagged)  # healthy accounts keep learning a little
        if name == "webinar":
            extra = extra + 0.03 * (world.weekday[days] == 2) * (
                np.array([(world.start + timedelta(days=int(d))).day <= 7 for d in days])
            )
        probs[:, k_core + k] = onboarding * (0.6 if k else 1.0) + extra

    used = rng.random((d_idx.size, len(FEATURE_NAMES))) < probs[d_idx]
    used[~used.any(axis=1), 0] = True  # an active user saw at least the dashboard
    row, feature = np.nonzero(used)
    d_idx, user = d_idx[row], user[row]
    events = 1 + rng.poisson(rate[feature] * (0.5 + habit[user]))
    minutes = np.round(events * rng.lognormal(np.log(0.8), 0.6, events.size), 1)
    if rng.random() < NO_MINUTES_SHARE:
        minutes = np.full(events.size, np.nan)
    if rng.random() < NO_USER_ID_SHARE:
        return _per_account(days[d_idx], feature, events, minutes)
    return {
        "day": days[d_idx],
        "user": user,
        "feature": feature,
        "events": events,
        "minutes": minutes,
    }


def _per_account(
    day: np.ndarray, feature: np.ndarray, events: np.ndarray, minutes: np.ndarray
) -> dict[str, np.ndarray]:
    """The same rows summed per day and feature, without user ids."""
    key = day * len(FEATURE_NAMES) + feature
    uniq, inv = np.unique(key, return_inverse=True)
    ev = np.bincount(inv, weights=events).astype(np.int64)
    mins = np.round(np.bincount(inv, weights=np.nan_to_num(minutes)), 1)
    if np.isnan(minutes).all():
        mins = np.full(uniq.size, np.nan)
    return {
        "day": uniq // len(FEATURE_NAMES),
        "user": np.full(uniq.size, -1),
        "feature": uniq % len(FEATURE_NAMES),
        "events": ev,
        "minutes": mins,
    }


def usage_table(world: World, rng: np.random.Generator) -> pa.Table:
    """Every account's usage rows as one Arrow table sorted by day, then account."""
    seasons = {r: season(world, r) for r in sorted({a.region for a in world.accounts})}
    parts, owners = [], []
    for acct in world.accounts:
        cols = account_usage(world, acct, rng, seasons)
        if cols is not None:
            parts.append(cols)
            owners.append(np.full(cols["day"].size, acct.index, dtype=np.int32))
    cat = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    owner = np.concatenate(owners)
    order = np.lexsort((cat["feature"], cat["user"], owner, cat["day"]))
    ids = pa.array([a.account_id for a in world.accounts])
    account = ids.take(pa.array(owner[order]))
    user = cat["user"][order]
    user_id = pc.binary_join_element_wise(
        account, pc.utf8_lpad(pc.cast(pa.array(user), pa.string()), 4, "0"), "-u"
    )
    user_id = pc.if_else(pa.array(user < 0), pa.scalar(None, pa.string()), user_id)
    epoch = (world.start - world.start.__class__(1970, 1, 1)).days
    return pa.table(
        {
            "account_id": account,
            "activity_date": pa.array((cat["day"][order] + epoch).astype(np.int32), pa.date32()),
            "user_id": user_id,
            "feature": pa.array(FEATURE_NAMES).take(pa.array(cat["feature"][order])),
            "event_count": pa.array(cat["events"][order].astype(np.int64)),
            "minutes": pa.array(cat["minutes"][order], from_pandas=True),
        }
    )
