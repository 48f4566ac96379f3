"""The simulated SaaS business: accounts, their hidden health, contracts, seats and churn.

Everything observable (usage, tickets, surveys, CSM notes, invoices) is drawn later from the
`World` this module builds. Days are integers counted from the first day of the window.

Hidden health is a logit-scale random walk per account, pulled back towards the account's own
fit with the product and knocked by shocks: a champion leaving (with a lasting loss half of the
time), a reorganisation, a new champion, a budget squeeze (an episode of weeks to months), and
two bad releases that hit a third of the accounts at once. Churn is decided at renewals: an
annual contract (paid up front or quarterly) at its anniversary, 60 days ahead, from the health
of the 90 days before the decision; a monthly contract at any month end, from the last 30 days.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

SEGMENTS = ("smb", "mid_market", "enterprise")
SEGMENT_SHARE = (0.55, 0.32, 0.13)
# median and spread (log) of licensed seats at signup, and the cap
SEATS = {"smb": (8, 0.6), "mid_market": (45, 0.6), "enterprise": (180, 0.55)}
MAX_SEATS = 800
EMPLOYEES = {"smb": (60, 0.8), "mid_market": (700, 0.6), "enterprise": (8000, 0.9)}
# contract terms by segment: annual paid up front, annual paid quarterly, monthly
TERMS = ("annual", "quarterly", "monthly")
TERM_SHARE = {
    "smb": (0.30, 0.05, 0.65),
    "mid_market": (0.45, 0.25, 0.30),
    "enterprise": (0.60, 0.35, 0.05),
}
PLANS = {
    "smb": ("starter", "growth"),
    "mid_market": ("growth", "business"),
    "enterprise": ("business", "enterprise"),
}
PRICE_PER_SEAT = {"starter": 240.0, "growth": 480.0, "business": 720.0, "enterprise": 900.0}
INDUSTRIES = (
    "software",
    "retail",
    "healthcare",
    "financial_services",
    "manufacturing",
    "education",
    "media",
    "logistics",
)
REGIONS = ("north_america", "emea", "apac", "latam")
REGION_SHARE = (0.48, 0.32, 0.13, 0.07)
CSM_NAMES = tuple(
    f"{first} {last}"
    for first, last in (
        ("Ada", "Okafor"),
        ("Bruno", "Lindqvist"),
        ("Chiara", "Benedetti"),
        ("Dev", "Raman"),
        ("Elena", "Sokolova"),
        ("Femi", "Adeyemi"),
        ("Grace", "Whitfield"),
        ("Hiro", "Tanaka"),
        ("Ines", "Carvalho"),
        ("Jonas", "Weber"),
        ("Kira", "Novak"),
        ("Luis", "Ortega"),
    )
)

# hidden health dynamics (logit scale), per day
REVERSION = 1 / 120
DAILY_NOISE = 0.06
SHOCKS = {  # name: (rate per year, jump)
    "champion_left": (0.30, -1.0),
    "reorg": (0.25, -0.6),
    "new_champion": (0.30, 0.6),
}
CHAMPION_LASTING_LOSS = -0.3
BUDGET_SQUEEZE_RATE = 0.20  # episodes per year
BUDGET_SQUEEZE_DAYS = (60, 240)
BUDGET_SQUEEZE_PULL = -0.25
BAD_RELEASES = 2
BAD_RELEASE_REACH = 0.35
BAD_RELEASE_JUMP = -0.35
USAGE_LAG_HALF_LIFE = 21  # days: usage follows health with this lag
EXISTING_SHARE = 0.55  # accounts already customers when the window opens

# churn: logit of the probability at a renewal, around health 1.0
ANNUAL_CHURN_LOGIT = (-2.6, -1.6)  # intercept, slope per unit of health above 1.0
MONTHLY_CHURN_LOGIT = (-4.6, -1.4)
SQUEEZE_CHURN_LOGIT = 0.9
OUTSIDE_CHURN = {"annual": 0.03, "monthly": 0.003}  # acquired, closed: not health
ANNUAL_DECISION_DAYS = 60
REACTIVATION_SHARE = 0.06
REACTIVATION_GAP = (60, 240)
PRICE_UPLIFT = 0.04


@dataclass
class Spell:
    """One customer spell: from start (day) to churn (day, or None while a customer)."""

    start: int
    term: str
    anchor: int  # day the contract terms count from
    churn: int | None = None
    churn_reason: str | None = None
    decision: int | None = None  # day the churn was decided (notice given)


@dataclass
class Account:
    index: int
    account_id: str
    name: str
    segment: str
    industry: str
    region: str
    plan: str
    employees: int
    csm_owner: str | None
    signup: int  # day (negative: before the window)
    spells: list[Spell] = field(default_factory=list)
    seats: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))
    arr: np.ndarray = field(default_factory=lambda: np.zeros(0))
    events: list[tuple[int, str, str | None, float | None]] = field(default_factory=list)
    invoices: list[tuple[int, float, str]] = field(default_factory=list)  # day, amount, kind

    def alive(self, days: int) -> np.ndarray:
        mask = np.zeros(days, dtype=bool)
        for s in self.spells:
            end = days if s.churn is None else min(s.churn + 1, days)
            mask[max(s.start, 0) : end] = True
        return mask

    def tenure(self, days: np.ndarray) -> np.ndarray:
        """Days since the start of the spell each day belongs to."""
        since = days - self.signup
        for s in self.spells[1:]:
            since = np.where(days >= s.start, days - s.start, since)
        return since


@dataclass
class World:
    start: date
    days: int
    accounts: list[Account]
    health: np.ndarray  # accounts x days, logit scale
    lagged: np.ndarray  # the same, smoothed (what usage follows)
    squeeze: np.ndarray  # accounts x days, bool: budget squeeze
    release_hit: np.ndarray  # accounts x days, bool: within 14 days of a bad release that hit
    weekday: np.ndarray  # days: 0 = Monday
    month_starts: list[int]

    def date(self, day: int) -> date:
        return self.start + timedelta(days=int(day))


def sigmoid(x: np.ndarray | float) -> np.ndarray | float:
    return 1 / (1 + np.exp(-x))


def add_months(d: date, months: int) -> date:
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    last = (date(year + (month == 12), month % 12 + 1, 1) - timedelta(days=1)).day
    return date(year, month, min(d.day, last))


def build_world(accounts: int, months: int, end: date, rng: np.random.Generator) -> World:
    first = add_months(date(end.year, end.month, 1), -(months - 1))
    days = (end - first).days + 1
    month_starts = [
        (add_months(first, k) - first).days for k in range(months) if add_months(first, k) <= end
    ]
    weekday = (np.arange(days) + first.weekday()) % 7
    people = _draw_accounts(accounts, days, rng)
    health, squeeze, release_hit = _draw_health(people, days, rng)
    lagged = _smooth(health, USAGE_LAG_HALF_LIFE)
    world = World(first, days, people, health, lagged, squeeze, release_hit, weekday, month_starts)
    for acct in people:
        _live(world, acct, rng)
    return world


def _draw_accounts(n: int, days: int, rng: np.random.Generator) -> list[Account]:
    out = []
    for i in range(n):
        segment = SEGMENTS[rng.choice(3, p=SEGMENT_SHARE)]
        if rng.random() < EXISTING_SHARE:
            signup = -int(rng.integers(30, 4 * 365))
        else:
            signup = int(rng.integers(0, max(days - 21, 1)))
        emp_median, emp_sd = EMPLOYEES[segment]
        out.append(
            Account(
                index=i,
                account_id=f"C{100000 + i * 7 + int(rng.integers(0, 7))}",
                name=_company_name(rng),
                segment=segment,
                industry=INDUSTRIES[rng.integers(len(INDUSTRIES))],
                region=REGIONS[rng.choice(len(REGIONS), p=REGION_SHARE)],
                plan=PLANS[segment][int(rng.random() < 0.4)],
                employees=int(max(3, rng.lognormal(np.log(emp_median), emp_sd))),
                csm_owner=None if segment == "smb" else CSM_NAMES[rng.integers(len(CSM_NAMES))],
                signup=signup,
            )
        )
    return out


_SYLLABLES = ("nor", "vex", "tal", "qui", "bra", "lum", "sen", "dor", "kai", "mar", "zen", "ol")
_SUFFIXES = ("Labs", "Systems", "GmbH", "Ltd", "Group", "Inc", "Partners", "Works", "AG", "Co")


def _company_name(rng: np.random.Generator) -> str:
    stem = "".join(_SYLLABLES[k] for k in rng.integers(len(_SYLLABLES), size=2)).capitalize()
    return f"{stem} {_SUFFIXES[rng.integers(len(_SUFFIXES))]}"


def _draw_health(
    people: list[Account], days: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = len(people)
    fit = rng.normal(1.0, 0.9, n) + np.array([0.2 * (a.segment == "enterprise") for a in people])
    stationary_sd = DAILY_NOISE / np.sqrt(2 * REVERSION)
    new = np.array([a.signup >= 0 for a in people])
    h0 = fit + np.where(new, rng.normal(-0.3, 0.6, n), rng.normal(0, stationary_sd, n))

    jumps = np.zeros((n, days))
    lasting = np.zeros((n, days))
    for name, (rate, jump) in SHOCKS.items():
        hit = rng.random((n, days)) < rate / 365
        jumps += hit * jump
        if name == "champion_left":
            lasting += hit * (rng.random((n, days)) < 0.5) * CHAMPION_LASTING_LOSS
    squeeze = np.zeros((n, days), dtype=bool)
    for i in range(n):
        t = int(rng.integers(-200, 0))
        while True:
            t += int(rng.exponential(365 / BUDGET_SQUEEZE_RATE))
            if t >= days:
                break
            length = int(rng.integers(*BUDGET_SQUEEZE_DAYS))
            squeeze[i, max(t, 0) : t + length] = True
    release_hit = np.zeros((n, days), dtype=bool)
    for day in sorted(rng.integers(30, max(days - 30, 31), size=BAD_RELEASES)):
        hit = rng.random(n) < BAD_RELEASE_REACH
        jumps[hit, day] += BAD_RELEASE_JUMP
        release_hit[hit, day : day + 14] = True

    target = fit[:, None] + np.cumsum(lasting, axis=1) + squeeze * BUDGET_SQUEEZE_PULL
    noise = rng.normal(0, DAILY_NOISE, (n, days))
    health = np.empty((n, days))
    h = h0
    for t in range(days):
        h = h + REVERSION * (target[:, t] - h) + noise[:, t] + jumps[:, t]
        health[:, t] = h
    return health, squeeze, release_hit


def _smooth(x: np.ndarray, half_life: float) -> np.ndarray:
    alpha = 1 - 0.5 ** (1 / half_life)
    out = np.empty_like(x)
    s = x[:, 0]
    for t in range(x.shape[1]):
        s = s + alpha * (x[:, t] - s)
        out[:, t] = s
    return out


def _renewals(world: World, spell: Spell) -> list[int]:
    """Days a spell's contract renews (or may end): anniversaries, or month ends."""
    anchor = world.date(spell.anchor)
    out = []
    if spell.term == "monthly":
        k = 1
        while True:
            d = (
                add_months(date(anchor.year, anchor.month, 1), k) - timedelta(days=1)
            ) - world.start
            k += 1
            if d.days >= world.days:
                return out
            if d.days > max(spell.start, 0) + 14:
                out.append(d.days)
    k = 1
    while True:
        d = (add_months(anchor, 12 * k) - world.start).days
        k += 1
        if d >= world.days + ANNUAL_DECISION_DAYS:
            return out
        if d > max(spell.start, 0):
            out.append(d)


def _live(world: World, acct: Account, rng: np.random.Generator) -> None:
    """The account's spells, churn, renewals, seat changes, ARR and invoices."""
    i, days = acct.index, world.days
    term = TERMS[rng.choice(3, p=TERM_SHARE[acct.segment])]
    median, sd = SEATS[acct.segment]
    seats = int(np.clip(rng.lognormal(np.log(median), sd), 2, MAX_SEATS))
    price = PRICE_PER_SEAT[acct.plan] * (1 - min(0.3, 0.02 * np.log1p(seats)))
    seat_day = np.zeros(days, dtype=np.int32)
    arr_day = np.zeros(days)
    spell = Spell(start=acct.signup, term=term, anchor=acct.signup)
    while True:
        acct.spells.append(spell)
        if spell.start >= 0 and spell is not acct.spells[0]:
            acct.events.append((spell.start, "reactivated", "won_back", seats * price))
        seats, price = _run_spell(world, acct, spell, seats, price, seat_day, arr_day, rng)
        if spell.churn is None or spell.churn >= days - 1:
            break
        if rng.random() >= REACTIVATION_SHARE:
            break
        back = spell.churn + int(rng.integers(*REACTIVATION_GAP))
        if back >= days - 14:
            break
        term = TERMS[rng.choice(3, p=TERM_SHARE[acct.segment])]
        seats = max(2, int(seats * rng.uniform(0.5, 0.9)))
        spell = Spell(start=back, term=term, anchor=back)
        world.health[i, back:] += 0.5  # they come back because something changed
        world.lagged[i, back:] += 0.5
    acct.seats, acct.arr = seat_day, arr_day


def _run_spell(
    world: World,
    acct: Account,
    spell: Spell,
    seats: int,
    price: float,
    seat_day: np.ndarray,
    arr_day: np.ndarray,
    rng: np.random.Generator,
) -> tuple[int, float]:
    """Walk a spell through its renewals and month starts in order: churn or renew at each
    renewal, seats following use and budget, seats added mid-term by healthy accounts."""
    i, days = acct.index, world.days
    h, squeeze = world.health[i], world.squeeze[i]
    first = max(spell.start, 0)
    changes: list[tuple[int, int, float]] = [(first, seats, price)]  # from that day on
    timeline = sorted(
        [(r, "renewal") for r in _renewals(world, spell)]
        + [(m, "month") for m in world.month_starts if m > first + 30]
    )
    end = days
    for day, what in timeline:
        if what == "month":
            if day >= days:
                break
            if rng.random() < 0.025 * float(sigmoid(h[day])) * (1 + (acct.segment != "smb")):
                add = max(1, int(round(seats * rng.uniform(0.08, 0.35))))
                add = min(seats + add, MAX_SEATS) - seats
                if add > 0:
                    seats += add
                    changes.append((day, seats, price))
                    acct.events.append((day, "expanded", "seats_added", round(add * price, 2)))
            continue
        monthly = spell.term == "monthly"
        decided = day - 20 if monthly else day - ANNUAL_DECISION_DAYS
        if decided >= days:
            break
        look = 30 if monthly else 90
        lo = min(max(decided - look, 0), days - 1)
        recent = float(h[lo : max(min(decided, days), lo + 1)].mean())
        a, b = MONTHLY_CHURN_LOGIT if monthly else ANNUAL_CHURN_LOGIT
        outside = OUTSIDE_CHURN["monthly" if monthly else "annual"]
        sq = bool(squeeze[min(max(decided, 0), days - 1)])
        p = float(sigmoid(a + b * (recent - 1.0) + SQUEEZE_CHURN_LOGIT * sq))
        u = rng.random()
        if u < outside + p:
            if day >= days:  # decided inside the window, leaves after it
                break
            spell.churn, spell.decision = day, max(decided, first)
            spell.churn_reason = (
                str(rng.choice(["acquired", "closed_business", "consolidated_tools"]))
                if u < outside
                else _churn_reason(sq, rng)
            )
            end = day + 1
            break
        if day >= days:
            break
        util = _expected_utilisation(acct.segment, world.lagged[i, day])
        if not monthly:
            change = rng.normal(0.35 * (util - 0.55), 0.12) - 0.15 * sq
        elif rng.random() < 0.10 + 0.1 * sq:
            change = rng.normal(0.4 * (util - 0.55), 0.15) - 0.2 * sq
        else:
            change = 0.0
        new_seats = int(np.clip(round(seats * (1 + change)), 2, MAX_SEATS))
        new_price = price if monthly else price * (1 + PRICE_UPLIFT)
        if not monthly:  # the new term starts on the anniversary
            delta = round(new_seats * new_price - seats * price, 2)
            acct.events.append((day, "renewed", None, delta))
            changes.append((day, new_seats, new_price))
        elif new_seats != seats:  # from the first of the next month
            kind = "expanded" if new_seats > seats else "contracted"
            delta = round((new_seats - seats) * price, 2)
            acct.events.append((day + 1, kind, "seats", delta))
            changes.append((day + 1, new_seats, new_price))
        seats, price = new_seats, new_price
    for day, s, p in changes:
        if day < end:
            seat_day[day:end] = s
            arr_day[day:end] = s * p
    if spell.churn is not None:
        acct.events.append(
            (spell.churn, "churned", spell.churn_reason, -round(arr_day[end - 1], 2))
        )
    acct.invoices.extend(_invoices(world, spell, changes, end))
    return seats, price


def _seats_at(changes: list[tuple[int, int, float]], day: int) -> tuple[int, float]:
    last = min(changes)
    for c in sorted(changes):
        if c[0] <= day:
            last = c
    return last[1], last[2]


def _expected_utilisation(segment: str, lagged: float) -> float:
    share = {"smb": 0.85, "mid_market": 0.7, "enterprise": 0.55}[segment]
    return share * float(0.25 + 0.75 * sigmoid(1.8 * (lagged - 0.3)))


def _churn_reason(squeezed: bool, rng: np.random.Generator) -> str:
    if squeezed:
        return "budget"
    return str(
        rng.choice(
            ["low_adoption", "competitor", "champion_left", "product_fit", "price"],
            p=[0.3, 0.25, 0.2, 0.15, 0.1],
        )
    )


def _invoices(
    world: World, spell: Spell, changes: list[tuple[int, int, float]], end: int
) -> list[tuple[int, float, str]]:
    """Invoice days and amounts of a spell: up front per year, per quarter or per month, and a
    prorated invoice for seats added mid-term on an annual or quarterly contract."""
    out: list[tuple[int, float, str]] = []
    anchor = world.date(spell.anchor)
    step = {"annual": 12, "quarterly": 3, "monthly": 1}[spell.term]
    stop = min(end if spell.churn is None else spell.churn, world.days)  # none on the churn day
    k = 0
    while True:
        if spell.term == "monthly" and k > 0:
            d = date(anchor.year, anchor.month, 1)
            day = (add_months(d, k) - world.start).days
        else:
            day = (add_months(anchor, step * k) - world.start).days
        k += 1
        if day >= stop:
            break
        if day < 0 or day < spell.start:
            continue
        seats, price = _seats_at(changes, day)
        amount = seats * price * step / 12
        if spell.term == "monthly" and k == 1 and spell.start >= 0:
            month_end = add_months(date(anchor.year, anchor.month, 1), 1)
            amount *= (month_end - anchor).days / 30
        out.append((day, round(amount, 2), "subscription"))
    if spell.term != "monthly":
        billed = {day for day, _, _ in out}
        for (_, s0, _), (d1, s1, p1) in zip(changes, changes[1:], strict=False):
            if s1 > s0 and d1 < stop and d1 not in billed:
                years = (world.date(d1) - anchor).days // 365 + 1
                left = max((add_months(anchor, 12 * years) - world.date(d1)).days, 1) / 365
                if spell.term == "quarterly":
                    left = min(left, 0.25)
                out.append((d1, round((s1 - s0) * p1 * left, 2), "seats_added"))
    return out
