"""Tests for the sample exports generator (healthmart.generate)."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import duckdb
import pytest

from healthmart.core.contract import SOURCES
from healthmart.generate.dates import data_window
from healthmart.generate.exports import generate_exports

END = date(2026, 9, 30)
SMALL = {"accounts": 60, "months": 4, "end_date": END}
READERS = {
    "accounts": "read_csv('{d}/accounts/*.csv', all_varchar = true)",
    "billing": "read_csv('{d}/billing/*.csv.gz', all_varchar = true)",
    "support": "read_csv('{d}/support/*.csv', all_varchar = true)",
    "survey": "read_json('{d}/survey/*.ndjson', format = 'newline_delimited')",
    "usage": "read_parquet('{d}/usage/*.parquet')",
    "csm": "read_csv('{d}/csm/*.csv', all_varchar = true)",
    "outcomes": "read_csv('{d}/outcomes/*.csv', all_varchar = true)",
    "overrides": "read_csv('{d}/overrides/*.csv', all_varchar = true)",
}
# The sources the sample generator writes: every source but the crosswalk (its exports name
# our own account ids).
GENERATED = {name: source for name, source in SOURCES.items() if name in READERS}
# Columns that record something happening (must fall inside the data window).
EVENT_COLUMNS = {
    "billing": ("issued_date", "paid_date", "updated_at"),
    "support": ("opened_at", "closed_at", "updated_at"),
    "survey": ("responded_at",),
    "usage": ("activity_date",),
    "csm": ("assessed_at",),
    "outcomes": ("event_date",),
    "overrides": ("valid_from",),
    "accounts": ("signup_date", "updated_at"),
}


def _connect(folder: Path) -> duckdb.DuckDBPyConnection:
    """Views raw_<source> (as written) and <source> (typed per the contract)."""
    con = duckdb.connect()
    for name, source in GENERATED.items():
        con.execute(f"create view raw_{name} as select * from {READERS[name].format(d=folder)}")
        typed = ", ".join(f'try_cast("{c.name}" as {c.type}) as "{c.name}"' for c in source.columns)
        con.execute(f"create view {name} as select {typed} from raw_{name}")
    return con


def _scalar(con: duckdb.DuckDBPyConnection, sql: str):
    return con.execute(sql).fetchall()[0][0]


def _digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    out = tmp_path_factory.mktemp("small")
    return out, generate_exports(out, seed=7, **SMALL)


@pytest.fixture(scope="module")
def con(small: tuple[Path, dict[str, int]]) -> duckdb.DuckDBPyConnection:
    return _connect(small[0])


def test_every_source_written_with_contract_columns(small, con) -> None:
    out, rows = small
    assert set(rows) == set(GENERATED) == set(SOURCES) - {"crosswalk"}
    for name, source in GENERATED.items():
        assert any((out / name).iterdir()), name
        cols = [r[0] for r in con.execute(f"describe raw_{name}").fetchall()]
        assert tuple(cols) == source.column_names, name
        assert _scalar(con, f"select count(*) from raw_{name}") == rows[name], name
        assert rows[name] > 0, name
    assert len(list((out / "usage").glob("usage_*.parquet"))) == SMALL["months"]


def test_values_cast_to_contract_types(con) -> None:
    for name, source in GENERATED.items():
        for c in source.columns:
            bad = _scalar(
                con,
                f'select count(*) from raw_{name} where "{c.name}" is not null '
                f'and try_cast("{c.name}" as {c.type}) is null',
            )
            assert bad == 0, f"{name}.{c.name} has values that are not {c.type}"


def test_required_accepted_and_ranges(con) -> None:
    for name, source in GENERATED.items():
        for c in source.columns:
            col = f'"{c.name}"'
            if c.required:
                assert _scalar(con, f"select count(*) from {name} where {col} is null") == 0
            if c.accepted:
                values = {
                    r[0] for r in con.execute(f"select distinct {col} from {name}").fetchall()
                }
                assert values - {None} <= set(c.accepted), (name, c.name, values)
            if c.min_value is not None:
                assert _scalar(con, f"select count(*) from {name} where {col} < {c.min_value}") == 0
            if c.max_value is not None:
                assert _scalar(con, f"select count(*) from {name} where {col} > {c.max_value}") == 0
        for rule, predicate in source.row_rules:
            assert _scalar(con, f"select count(*) from {name} where {predicate}") == 0, rule
        key = ", ".join(f'"{k}"' for k in source.key)
        dupes = _scalar(
            con, f"select count(*) from (select {key} from {name} group by all having count(*) > 1)"
        )
        assert dupes == 0, f"{name} has duplicate keys"


def test_account_ids_exist_in_accounts(con) -> None:
    for name in GENERATED:
        if name == "accounts":
            continue
        orphans = _scalar(
            con,
            f"select count(*) from {name} "
            "where account_id not in (select account_id from accounts)",
        )
        assert orphans == 0, name


def test_no_event_outside_the_window(con) -> None:
    start, end = data_window(END, SMALL["months"])
    for name, columns in EVENT_COLUMNS.items():
        for c in columns:
            late = _scalar(con, f"select count(*) from {name} where cast({c} as date) > '{end}'")
            assert late == 0, f"{name}.{c} after {end}"
            if name != "accounts":
                early = _scalar(
                    con, f"select count(*) from {name} where cast({c} as date) < '{start}'"
                )
                assert early == 0, f"{name}.{c} before {start}"


def test_churned_accounts_go_silent(con) -> None:
    after = _scalar(
        con,
        """
        with last_churn as (
            select account_id, max(event_date) churned_on from outcomes
            where event_type = 'churned'
              and account_id not in (
                  select account_id from outcomes where event_type = 'reactivated'
              )
            group by 1
        )
        select count(*) from usage join last_churn using (account_id)
        where activity_date >= churned_on
        """,
    )
    assert after == 0


def test_same_seed_same_bytes_other_seed_differs(small, tmp_path: Path) -> None:
    again, other = tmp_path / "again", tmp_path / "other"
    generate_exports(again, seed=7, **SMALL)
    generate_exports(other, seed=8, **SMALL)
    first = _digests(small[0])
    assert _digests(again) == first
    different = _digests(other)
    assert different.keys() == first.keys()
    assert all(different[f] != first[f] for f in first)


def test_rerun_overwrites_only_its_own_files(tmp_path: Path) -> None:
    generate_exports(tmp_path, seed=1, accounts=20, months=3, end_date=END)
    foreign = tmp_path / "usage" / "partner_feed.parquet"
    foreign.write_bytes(b"not ours")
    generate_exports(tmp_path, seed=1, accounts=20, months=2, end_date=END)
    usage = sorted(p.name for p in (tmp_path / "usage").iterdir())
    assert usage == ["partner_feed.parquet", "usage_2026-08.parquet", "usage_2026-09.parquet"]
    assert not list(tmp_path.rglob("*.tmp"))


def test_data_window_covers_whole_months() -> None:
    assert data_window(date(2026, 9, 30), 18) == (date(2025, 4, 1), date(2026, 9, 30))
    assert data_window(date(2026, 9, 15), 1) == (date(2026, 8, 16), date(2026, 9, 15))


def test_health_predicts_churn(tmp_path: Path) -> None:
    generate_exports(tmp_path, accounts=400, months=12, seed=3, end_date=END)
    con = _connect(tmp_path)
    by_type = dict(
        con.execute(
            """
            with ev as (
                select o.account_id, o.event_date, o.event_type, a.licensed_seats seats
                from outcomes o join accounts a using (account_id)
                where o.event_type in ('churned', 'renewed') and o.event_date >= date '2025-12-31'
            ),
            per_event as (
                select ev.account_id, ev.event_date, ev.event_type,
                       count(distinct (u.activity_date, u.user_id)) / 90.0 / any_value(ev.seats) x
                from ev left join usage u
                  on u.account_id = ev.account_id
                 and u.activity_date >= ev.event_date - 90 and u.activity_date < ev.event_date
                group by 1, 2, 3
            )
            select event_type, avg(x) from per_event group by 1
            """
        ).fetchall()
    )
    assert by_type["churned"] < 0.8 * by_type["renewed"], by_type
    churned = _scalar(con, "select count(*) from outcomes where event_type = 'churned'")
    assert 0.05 * 400 < churned < 0.35 * 400


def test_cli_prints_rows_per_source(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from healthmart.generate.exports import main

    args = ["--out", str(tmp_path), "--accounts", "10", "--months", "1", "--end-date", "2026-03-31"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "2026-03-01 .. 2026-03-31" in printed
    assert all(source in printed for source in GENERATED)
    assert (tmp_path / "usage" / "usage_2026-03.parquet").exists()
