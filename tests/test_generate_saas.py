"""The second generator (healthmart.generate_saas): same seed, same files; every row it writes
loads under the contract; and its mechanisms show in the files it writes."""

from __future__ import annotations

import filecmp
from datetime import date, timedelta
from itertools import pairwise
from pathlib import Path

import duckdb
import numpy as np
import pytest

from healthmart.defs.ingest.load import ingest_all
from healthmart.generate_saas.exports import DEFAULT_END, generate_exports
from healthmart.generate_saas.world import World, build_world

ACCOUNTS, MONTHS, SEED = 120, 14, 11


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    out = tmp_path_factory.mktemp("saas") / "exports"
    return out, generate_exports(out, ACCOUNTS, MONTHS, SEED)


@pytest.fixture(scope="module")
def world() -> World:
    # generate_exports draws the world first from the same seed
    return build_world(ACCOUNTS, MONTHS, DEFAULT_END, np.random.default_rng(SEED))


@pytest.fixture(scope="module")
def files(exports: tuple[Path, dict[str, int]]) -> duckdb.DuckDBPyConnection:
    out, _ = exports
    con = duckdb.connect()
    for source, pattern in (
        ("accounts", "accounts/*.csv"),
        ("billing", "billing/*.csv"),
        ("support", "support/*.csv.gz"),
        ("survey", "survey/*.csv"),
        ("csm", "csm/*.csv"),
        ("outcomes", "outcomes/*.csv"),
    ):
        con.execute(f"create view {source} as select * from read_csv('{out / pattern}')")
    con.execute(f"create view usage as select * from read_parquet('{out / 'usage/*.parquet'}')")
    return con


def test_same_seed_same_files_other_seed_other_files(
    exports: tuple[Path, dict[str, int]], tmp_path: Path
) -> None:
    out, counts = exports
    again = generate_exports(tmp_path / "again", ACCOUNTS, MONTHS, SEED)
    assert again == counts
    names = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert len(names) == 6 + MONTHS  # six CSV exports and one usage file per month
    match, mismatch, errors = filecmp.cmpfiles(out, tmp_path / "again", names, shallow=False)
    assert (mismatch, errors) == ([], [])
    small = [generate_exports(tmp_path / f"s{seed}", 40, 3, seed) for seed in (SEED, SEED + 1)]
    assert small[0] != small[1]


def test_every_row_loads(exports: tuple[Path, dict[str, int]], tmp_path: Path) -> None:
    out, counts = exports
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    results = ingest_all(con, out)
    loaded = {name: r.rows_loaded for name, r in results.items() if name in counts}
    assert loaded == counts
    assert all(r.rows_quarantined == 0 for r in results.values())
    assert con.execute("select count(*) from ingest_meta.quarantine").fetchone() == (0,)
    # every value the contract restricts is in the contract's vocabulary, every source present
    assert min(counts.values()) > 0


def test_only_mid_market_and_enterprise_have_a_csm(files: duckdb.DuckDBPyConnection) -> None:
    rows = files.sql(
        "select a.segment, count(distinct c.account_id), count(distinct a.account_id) "
        "from accounts a left join csm c using (account_id) group by 1 order by 1"
    ).fetchall()
    by_segment = {segment: (with_csm, total) for segment, with_csm, total in rows}
    assert by_segment["smb"][0] == 0
    for segment in ("mid_market", "enterprise"):
        assert by_segment[segment][0] > 0.8 * by_segment[segment][1]
    # irregular intervals: the gaps between one account's assessments vary
    gaps = files.sql(
        "select distinct date_diff('day', lag(assessed_at) over (partition by account_id "
        "order by assessed_at), assessed_at) from csm"
    ).fetchall()
    assert len(gaps) > 20


def _nth_anniversary(signup: date, years: int) -> date:
    try:
        return signup.replace(year=signup.year + years)
    except ValueError:  # 29 February
        return date(signup.year + years, 2, 28)


def _anniversary(signup: date, day: date) -> bool:
    return day.year > signup.year and day == _nth_anniversary(signup, day.year - signup.year)


def test_annual_accounts_are_invoiced_once_a_year_monthly_ones_every_month(
    world: World, files: duckdb.DuckDBPyConnection
) -> None:
    invoices = files.sql(
        "select account_id, issued_date, amount from billing where status <> 'void' order by 1, 2"
    ).fetchall()
    by_account: dict[str, list[tuple[date, float]]] = {}
    for account_id, issued, amount in invoices:
        by_account.setdefault(account_id, []).append((issued, amount))
    first, last = world.date(0), world.date(world.days - 1)
    checked = {"annual": 0, "monthly": 0}
    for acct in world.accounts:
        if len(acct.spells) != 1 or acct.account_id not in by_account:
            continue
        spell, signup = acct.spells[0], world.date(acct.signup)
        dates = by_account[acct.account_id]
        if spell.term == "annual":
            until = last if spell.churn is None else world.date(spell.churn - 1)
            due = [d for k in range(8) if first <= (d := _nth_anniversary(signup, k)) <= until]
            yearly = [a for d, a in dates if d == signup or _anniversary(signup, d)]
            assert len(yearly) == len(due), acct.account_id
            # the other invoices are seats added mid-term: a part of a year, never a whole one
            others = [a for d, a in dates if not (d == signup or _anniversary(signup, d))]
            assert not yearly or all(a < max(yearly) for a in others), acct.account_id
            checked["annual"] += 1
        elif spell.term == "monthly":
            after_first = [d for d, _ in dates if d != signup]
            assert all(d.day == 1 for d in after_first), acct.account_id
            assert all(27 < (b - a).days < 32 for a, b in pairwise(after_first)), acct.account_id
            checked["monthly"] += 1
    assert checked["annual"] > 15 and checked["monthly"] > 15


def test_churn_happens_at_renewals(world: World, files: duckdb.DuckDBPyConnection) -> None:
    churns = files.sql(
        "select o.account_id, o.event_date, a.signup_date, a.contract_end "
        "from outcomes o join accounts a using (account_id) where o.event_type = 'churned'"
    ).fetchall()
    terms = {a.account_id: a.spells[-1].term for a in world.accounts if len(a.spells) == 1}
    assert len(churns) > 15
    for account_id, day, signup, contract_end in churns:
        if account_id not in terms:
            continue  # came back after churning: its contract restarted
        if terms[account_id] == "monthly":
            assert (day + timedelta(days=1)).day == 1, (account_id, day)
        else:
            assert _anniversary(signup, day), (account_id, day, signup)
        assert contract_end == day
    # no product use after the churn (unless the account came back)
    assert files.execute(
        "select count(*) from usage u join outcomes o using (account_id) "
        "where o.event_type = 'churned' and u.activity_date > o.event_date "
        "and not exists (select 1 from outcomes r where r.account_id = o.account_id "
        "and r.event_type = 'reactivated')"
    ).fetchone() == (0,)


def test_usage_follows_the_week_and_some_exports_have_no_user_ids(
    files: duckdb.DuckDBPyConnection,
) -> None:
    weekday, weekend = files.execute(
        "select count(*) filter (where isodow(activity_date) <= 5) / 5, "
        "count(*) filter (where isodow(activity_date) > 5) / 2 from usage"
    ).fetchone()
    assert weekend < 0.25 * weekday
    mixed, without = files.execute(
        "select count(*) filter (where n_null > 0 and n_null < n), "
        "count(*) filter (where n_null = n) from (select account_id, count(*) n, "
        "count(*) filter (where user_id is null) n_null from usage group by 1)"
    ).fetchone()
    assert mixed == 0 and without > 0  # an account's export has user ids or none
