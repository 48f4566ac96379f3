"""Invoices and how they are paid.

Monthly contracts pay by card on the day of the invoice: a card fails more often when the
account is unhealthy or squeezed, and most failures are recovered by a retry days later.
Annual and quarterly contracts pay by transfer on 30-day terms (enterprises often later, their
payables run slow whatever their health); late payment grows with poor health and budget
squeezes. A few invoices are voided and issued again, a few refunded (more often just after a
bad release). Amounts are in the account's currency.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

import numpy as np

from healthmart.generate_saas.world import Account, World, sigmoid

CURRENCIES = {"north_america": ("USD",), "emea": ("EUR", "GBP"), "apac": ("USD", "AUD")}
FX = {"USD": 1.0, "EUR": 0.92, "GBP": 0.79, "AUD": 1.52}


def _term_on(acct: Account, day: int) -> str:
    term = acct.spells[0].term
    for s in acct.spells:
        if s.start <= day:
            term = s.term
    return term


def invoices(world: World, acct: Account, rng: np.random.Generator) -> list[dict]:
    i, last = acct.index, world.days - 1
    currency = str(rng.choice(CURRENCIES.get(acct.region, ("USD",))))
    out = []
    for day, amount, _kind in sorted(acct.invoices):
        term = _term_on(acct, day)
        issued = world.date(day)
        amount = round(amount * FX[currency], 2)
        at = min(day, last)
        health = float(sigmoid(world.health[i, at]))
        squeezed = bool(world.squeeze[i, at])
        if term == "monthly":
            due = issued
            paid: object = issued
            if rng.random() < 0.02 + 0.10 * (1 - health) + 0.08 * squeezed:
                paid = issued + timedelta(days=int(rng.integers(2, 21)))
                if rng.random() < 0.35 + 0.3 * (1 - health):
                    paid = "failed"
        else:
            terms = 30 if acct.segment != "enterprise" or rng.random() < 0.5 else 60
            due = issued + timedelta(days=terms)
            logit = 1.5 + 3 * (health - 0.6) - 1.2 * squeezed - 0.4 * (acct.segment == "enterprise")
            if rng.random() < sigmoid(logit):
                paid = due - timedelta(days=int(rng.integers(0, terms)))
            else:
                late = rng.lognormal(np.log(10 + 20 * squeezed), 0.8)
                paid = due + timedelta(days=max(1, int(late)))
        status, paid_date = "paid", paid
        if paid == "failed":
            status, paid_date = "failed", None
        elif paid > world.date(last):
            status, paid_date = "open", None
        elif rng.random() < 0.008 + 0.03 * world.release_hit[i, at]:
            status = "refunded"
        if rng.random() < 0.01:  # issued wrongly, voided and issued again
            out.append(_row(acct, issued, due, amount, currency, "void", None))
        out.append(_row(acct, issued, due, amount, currency, status, paid_date))
    return out


def _row(acct: Account, issued, due, amount, currency, status, paid) -> dict:
    changed = paid or issued
    return {
        "account_id": acct.account_id,
        "issued_date": issued,
        "due_date": due,
        "amount": amount,
        "currency": currency,
        "paid_date": paid,
        "status": status,
        "updated_at": datetime.combine(changed, time(6, 0)),
    }
