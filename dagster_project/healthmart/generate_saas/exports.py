"""Write a simulated world as a landing folder: one sub-folder per source, in the contract's
columns (CSV, the tickets as gzip CSV, the usage as one Parquet file per month)."""

from __future__ import annotations

import csv
import gzip
import io
from collections import defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from healthmart.core.contract import SOURCES
from healthmart.generate_saas import billing, voices
from healthmart.generate_saas.usage import usage_table
from healthmart.generate_saas.world import Account, World, add_months, build_world

DEFAULT_END = date(2026, 11, 30)


def generate_exports(
    out: Path, accounts: int, months: int, seed: int, end: date = DEFAULT_END
) -> dict[str, int]:
    """Simulate `accounts` accounts over the `months` months ending on `end` and write their
    exports under `out`; returns the rows written per source. Same arguments, same files."""
    rng = np.random.default_rng(seed)
    world = build_world(accounts, months, end, rng)
    rows: dict[str, list[dict]] = defaultdict(list)
    for acct in world.accounts:
        rows["accounts"].append(_account_row(world, acct))
        rows["billing"] += billing.invoices(world, acct, rng)
        rows["support"] += voices.tickets(world, acct, rng)
        rows["survey"] += voices.survey_answers(world, acct, rng)
        rows["csm"] += voices.csm_assessments(world, acct, rng)
        rows["outcomes"] += _outcomes(world, acct)
    _number(rows["billing"], "invoice_id", "INV-", ("issued_date", "account_id"))
    _number(rows["support"], "ticket_id", "TCK-", ("opened_at", "account_id"))
    _number(rows["survey"], "response_id", "RSP-", ("responded_at", "account_id"))
    out = Path(out)
    counts = {}
    for source, name in (
        ("accounts", "accounts.csv"),
        ("billing", "invoices.csv"),
        ("support", "tickets.csv.gz"),
        ("survey", "responses.csv"),
        ("csm", "assessments.csv"),
        ("outcomes", "lifecycle_events.csv"),
    ):
        counts[source] = _write_csv(out / source / name, source, rows[source])
    counts["usage"] = _write_usage(out / "usage", world, rng)
    return counts


def _account_row(world: World, acct: Account) -> dict:
    spell = acct.spells[-1]
    alive = np.flatnonzero(acct.alive(world.days))
    last = int(alive[-1]) if alive.size else 0
    today = world.date(min(last, world.days - 1))
    anchor = world.date(spell.anchor)
    if spell.term == "monthly":
        start = max(anchor, date(today.year, today.month, 1))
        renewal = add_months(date(today.year, today.month, 1), 1) - timedelta(days=1)
    else:
        years = max(0, (today - anchor).days // 365)
        start = add_months(anchor, 12 * years)
        if start > today:
            start = add_months(anchor, 12 * (years - 1))
        renewal = add_months(start, 12)
    if spell.churn is not None:
        renewal = world.date(spell.churn)
    return {
        "account_id": acct.account_id,
        "account_name": acct.name,
        "industry": acct.industry,
        "employees": acct.employees,
        "segment": acct.segment,
        "plan": acct.plan,
        "region": acct.region,
        "csm_owner": acct.csm_owner,
        "signup_date": world.date(acct.signup),
        "contract_start": start,
        "contract_end": renewal,
        "arr": round(float(acct.arr[last]), 2),
        "licensed_seats": int(acct.seats[last]),
        "updated_at": datetime.combine(world.date(world.days - 1), datetime.min.time()),
    }


def _outcomes(world: World, acct: Account) -> list[dict]:
    merged: dict[tuple[int, str], list] = {}
    for day, kind, reason, change in acct.events:
        if 0 <= day < world.days:
            if (day, kind) in merged:
                merged[(day, kind)][1] += change or 0.0
            else:
                merged[(day, kind)] = [reason, change]
    return [
        {
            "account_id": acct.account_id,
            "event_date": world.date(day),
            "event_type": kind,
            "reason": reason,
            "arr_change": None if change is None else round(change, 2),
        }
        for (day, kind), (reason, change) in sorted(merged.items())
    ]


def _number(rows: list[dict], column: str, prefix: str, order: tuple[str, ...]) -> None:
    rows.sort(key=lambda r: tuple(r[c] for c in order))
    for n, r in enumerate(rows, start=1):
        r[column] = f"{prefix}{n:07d}"


def _text(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _write_csv(path: Path, source: str, rows: list[dict]) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = SOURCES[source].column_names
    lines = [[_text(r.get(c)) for c in columns] for r in rows]
    with open(path, "wb") as raw:
        # gzip with a fixed time stamp: the same seed writes the same bytes
        stream = gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) if path.suffix == ".gz" else raw
        with io.TextIOWrapper(stream, encoding="utf-8", newline="") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(columns)
            writer.writerows(lines)
    return len(rows)


def _write_usage(folder: Path, world: World, rng: np.random.Generator) -> int:
    """One Parquet file per calendar month (the table is sorted by day)."""
    folder.mkdir(parents=True, exist_ok=True)
    table = usage_table(world, rng)
    day = table["activity_date"].cast(pa.int32()).to_numpy()
    epoch = date(1970, 1, 1)
    firsts = [world.start + timedelta(days=m) for m in world.month_starts]
    bounds = np.searchsorted(day, [(f - epoch).days for f in firsts] + [day.max() + 1])
    for first, lo, hi in zip(firsts, bounds[:-1], bounds[1:], strict=True):
        if hi > lo:
            name = f"usage_{first:%Y-%m}.parquet"
            pq.write_table(table.slice(lo, hi - lo), folder / name, compression="zstd")
    return table.num_rows
