"""The simulation: latent health and the account lifecycle (renewals, churn, reactivation), one
vectorised step per day."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from healthmart.generate.accounts import Accounts, choice_rows
from healthmart.generate.catalogue import (
    CHURN_FLOOR,
    CHURN_MID,
    CHURN_SPAN,
    CHURN_STEEP,
    CHURNED,
    CONTRACTED,
    EXPANDED,
    MIDTERM_CHURN_HEALTH,
    MIDTERM_CHURN_P,
    NEVER,
    P_CHAMPION_LEFT,
    P_MIDTERM_EXPANSION,
    P_NEW_SPONSOR,
    P_OUTAGE,
    P_REACTIVATE,
    R_IDX,
    REACTIVATE_AFTER_DAYS,
    REACTIVATED,
    RENEWED,
    SIGMA,
    THETA,
)
from healthmart.generate.dates import Calendar, add_years, day_of_month


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
    return choice_rows(rng, probs)  # CHURN_REASONS come first in REASONS


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
