"""What customers and CSMs say: support tickets, NPS and CSAT survey answers, CSM assessments.

Tickets come more often from bigger, newer and unhappier accounts and in bursts after a bad
release (bugs and incidents); enterprises get faster first responses; a ticket's CSAT, given for
about a third of them, falls with slow responses and poor health. NPS is asked twice a year and
CSAT after onboarding and at random pulses; unhappy customers answer less often. Only
mid-market and enterprise accounts have a CSM, who assesses them at irregular intervals and
more often before a renewal, seeing the account's health late and through their own optimism.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

import numpy as np

from healthmart.generate_saas.world import Account, World, sigmoid

PRIORITIES = ("low", "normal", "high", "urgent")
CATEGORIES = ("question", "bug", "incident", "feature_request", "other")
FIRST_RESPONSE_MINUTES = {"low": 600, "normal": 240, "high": 60, "urgent": 20}
TICKET_CSAT_SHARE = 0.35
NPS_CAMPAIGNS = ((3, 10), (9, 15))  # month, day each year
ROLES = ("executive", "decision_maker", "end_user")
CSM_EVERY_DAYS = {"mid_market": 75, "enterprise": 35}
CSM_BIAS = 0.3  # CSMs see their accounts a little rosier than they are
NOTES = {
    "likely": ("Good QBR, expansion talk", "Champion engaged", "Stable, no concerns"),
    "neutral": ("Mixed feedback from users", "Waiting on roadmap item", "New stakeholder"),
    "unlikely": ("Budget under review", "Evaluating a competitor", "Champion gone quiet"),
}


def _at(world: World, day: int, rng: np.random.Generator, business_hours: bool = True) -> datetime:
    d = world.date(day)
    hour = rng.integers(8, 18) if business_hours else rng.integers(0, 24)
    return datetime.combine(d, time(int(hour), int(rng.integers(60)), int(rng.integers(60))))


def tickets(world: World, acct: Account, rng: np.random.Generator) -> list[dict]:
    alive = acct.alive(world.days)
    days = np.flatnonzero(alive)
    if days.size == 0:
        return []
    i = acct.index
    health = sigmoid(world.health[i, days])
    since = acct.tenure(days)
    new = np.clip(1 - since / 60, 0, 1)
    hit = world.release_hit[i, days]
    weekend = world.weekday[days] >= 5
    rate = (
        0.004
        * np.sqrt(np.maximum(acct.seats[days], 1))
        * (0.5 + 1.2 * (1 - health))
        * (1 + 1.5 * new)
        * (1 + 3 * hit)
        * np.where(weekend, 0.2, 1.0)
    )
    counts = rng.poisson(rate)
    out = []
    for day, health_d, hit_d, new_d in zip(
        np.repeat(days, counts),
        np.repeat(health, counts),
        np.repeat(hit, counts),
        np.repeat(new, counts),
        strict=True,
    ):
        cat_p = np.array([0.40 + 0.3 * new_d, 0.25, 0.08, 0.15 * health_d, 0.10])
        if hit_d:
            cat_p[1:3] *= 4
        category = CATEGORIES[rng.choice(5, p=cat_p / cat_p.sum())]
        pri_p = np.array([0.25, 0.55, 0.15, 0.05])
        if category == "incident":
            pri_p = np.array([0.0, 0.2, 0.5, 0.3])
        if acct.segment == "enterprise":
            pri_p = pri_p * np.array([0.6, 1.0, 1.5, 1.5])
        priority = PRIORITIES[rng.choice(4, p=pri_p / pri_p.sum())]
        opened = _at(world, int(day), rng, business_hours=rng.random() < 0.85)
        median = FIRST_RESPONSE_MINUTES[priority] * (0.5 if acct.segment == "enterprise" else 1.0)
        first = float(np.round(rng.lognormal(np.log(median), 0.7), 1))
        resolve_hours = rng.lognormal(np.log({"incident": 6, "bug": 72}.get(category, 20)), 1.0)
        closed = opened + timedelta(minutes=first) + timedelta(hours=float(resolve_hours))
        if closed > datetime.combine(world.date(world.days - 1), time(23, 59)):
            closed = None
        csat = None
        if closed is not None and rng.random() < TICKET_CSAT_SHARE:
            slow = np.log(first / median)
            latent = 1.2 + 3.5 * health_d - 0.4 * slow + rng.normal(0, 0.8)
            csat = float(np.clip(np.round(latent), 1, 5))
        out.append(
            {
                "account_id": acct.account_id,
                "opened_at": opened,
                "closed_at": closed,
                "priority": priority if rng.random() > 0.03 else None,
                "category": category,
                "csat": csat,
                "first_response_minutes": first,
                "updated_at": closed or opened,
            }
        )
    return out


def survey_answers(world: World, acct: Account, rng: np.random.Generator) -> list[dict]:
    alive = acct.alive(world.days)
    i = acct.index
    asks: list[tuple[int, str, int]] = []  # day, survey type, people asked
    first = world.start
    for year in range(first.year, world.date(world.days - 1).year + 1):
        for month, dom in NPS_CAMPAIGNS:
            day = (first.replace(year=year, month=month, day=dom) - first).days
            if 0 <= day < world.days:
                asks.append((day, "nps", int(min(acct.seats[day], 4 + acct.seats[day] // 10))))
    for s in acct.spells:
        if s.start >= 0 and s.start + 45 < world.days:
            asks.append((s.start + 45, "csat", 3))
    for day in rng.integers(0, world.days, size=rng.poisson(2 * world.days / 365)):
        asks.append((int(day), "csat", 2))
    out = []
    for day, kind, people in asks:
        for _ in range(people):
            answer_day = day + int(rng.exponential(4))
            if answer_day >= world.days or not alive[day] or not alive[answer_day]:
                continue
            health = float(sigmoid(world.health[i, answer_day]))
            if rng.random() >= 0.22 * (0.3 + 0.7 * health):  # the unhappy answer less
                continue
            role = ROLES[rng.choice(3, p=(0.1, 0.25, 0.65))]
            view = health if role != "end_user" else float(sigmoid(world.lagged[i, answer_day]))
            if kind == "nps":
                score = float(np.clip(np.round(2.5 + 8 * view + rng.normal(0, 1.6)), 0, 10))
            else:
                score = float(np.clip(np.round(1 + 4 * view + rng.normal(0, 0.8)), 1, 5))
            out.append(
                {
                    "account_id": acct.account_id,
                    "responded_at": _at(world, answer_day, rng, business_hours=False),
                    "survey_type": kind,
                    "score": score,
                    "respondent_role": role if rng.random() > 0.2 else None,
                    "comment": None,
                }
            )
    return out


def csm_assessments(world: World, acct: Account, rng: np.random.Generator) -> list[dict]:
    if acct.csm_owner is None:
        return []
    alive = acct.alive(world.days)
    i = acct.index
    bias = rng.normal(CSM_BIAS, 0.3)
    days = []
    day = int(rng.integers(0, CSM_EVERY_DAYS[acct.segment]))
    while day < world.days:
        days.append(day)
        day += max(7, int(rng.gamma(2.0, CSM_EVERY_DAYS[acct.segment] / 2)))
    for s in acct.spells:  # a check before each renewal the CSM knows of
        if s.term != "monthly":
            for r in range(s.anchor + 365, world.days + 90, 365):
                if 0 <= r - 90 < world.days and rng.random() < 0.7:
                    days.append(r - 90 + int(rng.integers(-10, 10)))
    out = []
    for day in sorted(set(d for d in days if 0 <= d < world.days and alive[d])):
        seen = world.health[i, max(day - 20, 0)] + bias + rng.normal(0, 0.5)
        perceived = float(sigmoid(seen))
        sentiment = float(np.clip(np.round((1 + 4 * perceived) * 2) / 2, 1, 5))
        intent = "likely" if perceived > 0.7 else "unlikely" if perceived < 0.4 else "neutral"
        out.append(
            {
                "account_id": acct.account_id,
                "assessed_at": _at(world, day, rng),
                "sentiment": sentiment,
                "renewal_intent": intent if rng.random() > 0.1 else None,
                "author": acct.csm_owner,
                "note": str(rng.choice(NOTES[intent])),
                "valid_until": world.date(day + 90) if rng.random() < 0.7 else None,
            }
        )
    return out
