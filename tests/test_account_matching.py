"""Account matching at ingest: each tool's own id (or an e-mail domain) to our account_id,
through the accounts export's id columns and the crosswalk; what matches nothing, two accounts
or an account not exported is quarantined, never guessed, and heals when the accounts or the
crosswalk that match it arrive later. Real DuckDB files, the real ingest."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import duckdb
import pytest
from test_bad_input import write_files

from healthmart.defs.ingest.config import IngestConfig, parse_ingest_config
from healthmart.defs.ingest.load import ingest_all
from healthmart.defs.ingest.matching import domain_sql

ACCOUNTS = (
    "account_id,account_name,signup_date,stripe_customer_id,website\n"
    "A,Acme,2025-01-01,cus_A,https://www.acme.com/\n"
    "B,Beta,2025-01-01,cus_B,beta.io\n"
    "C,Gamma,2025-01-01,cus_shared,gamma.io\n"
    "D,Delta,2025-01-01,cus_shared,\n"
)
CROSSWALK = (
    "system,external_id,account_id\n"
    "stripe_customer_id,cus_old_b,B\n"  # a second id of B, known to the crosswalk only
    "stripe_customer_id,cus_gone,Z\n"  # an account the accounts export does not have
    "domain,acme.co.uk,A\n"
)
INVOICES = (
    "invoice_id,customer,issued_date,due_date,amount,status\n"
    "I1,cus_A,2026-03-01,2026-03-31,10,paid\n"
    "I2,cus_old_b,2026-03-02,2026-04-01,10,paid\n"
    "I3,cus_shared,2026-03-03,2026-04-02,10,paid\n"
    "I4,cus_nobody,2026-03-04,2026-04-03,10,paid\n"
    "I5,cus_gone,2026-03-05,2026-04-04,10,paid\n"
)
TICKETS = (
    "ticket_id,requester,opened_at\n"
    "T1,ann@acme.com,2026-03-01T10:00:00Z\n"
    "T2,Bob <bob@BETA.io>,2026-03-02T10:00:00Z\n"
    "T3,cy@acme.co.uk,2026-03-03T10:00:00Z\n"
    "T4,eve@gmail.com,2026-03-04T10:00:00Z\n"
)
BILLING = ["accounts", "crosswalk", "billing"]
CONFIG = {
    "sources": {
        "billing": {"columns": {"customer": "account_id"}, "account_match": "stripe_customer_id"},
        "support": {"columns": {"requester": "account_id"}, "account_match": "email_domain"},
    }
}


@pytest.fixture
def con(tmp_path: Path):
    c = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    yield c
    c.close()


@pytest.fixture
def exports(tmp_path: Path) -> Path:
    """The accounts, a Stripe and domain crosswalk, invoices and tickets as the tools name
    their customers."""
    folder = tmp_path / "exports"
    write_files(
        folder,
        {
            "accounts/accounts.csv": ACCOUNTS,
            "crosswalk/stripe.csv": CROSSWALK,
            "billing/invoices.csv": INVOICES,
            "support/tickets.csv": TICKETS,
        },
    )
    return folder


def config() -> IngestConfig:
    return parse_ingest_config(CONFIG, Path("ingest.yml"))


def quarantined(con, source: str) -> list[tuple]:
    return con.execute(
        "select row_number, rule, account_ref, detail from ingest_meta.quarantine "
        "where source = ? order by row_number",
        [source],
    ).fetchall()


def loaded(con, source: str, key: str) -> list[tuple]:
    return con.execute(
        f"select {key}, account_id, _source_account_ref from raw.{source} order by 1"
    ).fetchall()


def test_tool_ids_match_through_the_accounts_export_and_the_crosswalk(con, exports) -> None:
    results = ingest_all(con, exports, ["billing", "crosswalk", "accounts"], config=config())
    assert list(results) == ["accounts", "crosswalk", "billing"]  # references first
    assert loaded(con, "billing", "invoice_id") == [
        ("I1", "A", "cus_A"),  # the accounts export's stripe_customer_id column
        ("I2", "B", "cus_old_b"),  # the crosswalk
    ]
    assert quarantined(con, "billing") == [
        (
            3,
            "ambiguous_account",
            "cus_shared",
            "stripe_customer_id 'cus_shared' matches 2 accounts (C, D); fix the accounts "
            "export or the crosswalk",
        ),
        (
            4,
            "unmatched_account",
            "cus_nobody",
            "stripe_customer_id 'cus_nobody' matches no account (looked up in the accounts "
            "export's stripe_customer_id column or crosswalk system stripe_customer_id)",
        ),
        (
            5,
            "unknown_account",
            "cus_gone",
            "stripe_customer_id 'cus_gone' matches account 'Z', which is not in the accounts "
            "export",
        ),
    ]
    # the original row stays in the quarantine record, the counts in the load log
    (record,) = con.execute(
        "select record from ingest_meta.quarantine where rule = 'unmatched_account'"
    ).fetchone()
    assert json.loads(record)["customer"] == "cus_nobody"
    (by_rule,) = con.execute(
        "select quarantined_by_rule from ingest_meta.load_log where file = 'billing/invoices.csv'"
    ).fetchone()
    assert json.loads(by_rule) == {
        "ambiguous_account": 1,
        "unknown_account": 1,
        "unmatched_account": 1,
    }


def test_email_domains_match_the_accounts_website_and_the_crosswalk(con, exports) -> None:
    ingest_all(con, exports, ["accounts", "crosswalk", "support"], config=config())
    assert loaded(con, "support", "ticket_id") == [
        ("T1", "A", "ann@acme.com"),  # website https://www.acme.com/
        ("T2", "B", "Bob <bob@BETA.io>"),
        ("T3", "A", "cy@acme.co.uk"),  # crosswalk system domain
    ]
    assert [r[:3] for r in quarantined(con, "support")] == [
        (4, "unmatched_account", "eve@gmail.com")
    ]


@pytest.mark.parametrize(
    ("value", "domain"),
    [
        ("Ann <Ann@Acme.COM>", "acme.com"),
        ("https://www.acme.com/about?x=1", "acme.com"),
        ("http://acme.com:8080", "acme.com"),
        ("acme.com", "acme.com"),
        (" WWW.Beta.io ", "beta.io"),
        ("", None),
    ],
)
def test_domain_of_an_address(value: str, domain: str | None) -> None:
    with duckdb.connect() as con:
        assert con.execute(f"select {domain_sql('?')}", [value]).fetchone()[0] == domain


def test_late_accounts_and_crosswalk_heal_the_quarantined_rows(con, exports) -> None:
    """Rows that matched nothing load once the account or crosswalk row naming them arrives:
    their file is loaded again (no manual step), the load log reports their dates as added
    (what the run rescores from); rows that still match nothing cost no reload."""
    ingest_all(con, exports, BILLING, config=config())
    # the next day: the account Z is exported, the crosswalk learns cus_nobody
    write_files(
        exports,
        {
            "accounts/new.csv": "account_id,account_name,signup_date\nZ,Zed,2025-06-01\n",
            "crosswalk/stripe.csv": CROSSWALK + "stripe_customer_id,cus_nobody,C\n",
        },
    )
    results = ingest_all(con, exports, BILLING, config=config())
    (invoices,) = results["billing"].files
    assert (invoices.status, invoices.rows_loaded, invoices.rows_quarantined) == ("loaded", 4, 1)
    assert invoices.added_range == (date(2026, 3, 4), date(2026, 3, 5))
    assert loaded(con, "billing", "invoice_id")[2:] == [
        ("I4", "C", "cus_nobody"),
        ("I5", "Z", "cus_gone"),
    ]
    assert [r[:2] for r in quarantined(con, "billing")] == [(3, "ambiguous_account")]
    # nothing new: the ambiguous row alone does not reload its file
    again = ingest_all(con, exports, BILLING, config=config())
    assert [f.status for f in again["billing"].files] == ["skipped_unchanged"]


def test_unknown_accounts_without_matching(con, tmp_path) -> None:
    exports = tmp_path / "exports"
    outcomes = "account_id,event_date,event_type\nA,2026-03-01,renewed\nQ,2026-03-02,churned\n"
    # no accounts loaded yet: nothing to hold the rows against, they load
    write_files(exports, {"outcomes/outcomes.csv": outcomes})
    assert ingest_all(con, exports, ["outcomes"])["outcomes"].rows_quarantined == 0
    # accounts arrive: a new outcomes file is checked against them
    write_files(
        exports,
        {"accounts/accounts.csv": ACCOUNTS, "outcomes/later.csv": outcomes},
    )
    results = ingest_all(con, exports, ["accounts", "outcomes"])
    (later,) = [f for f in results["outcomes"].files if f.status == "loaded"]
    assert (later.file, later.rows_loaded, later.rows_quarantined) == ("outcomes/later.csv", 1, 1)
    assert con.execute(
        "select rule, account_ref, detail from ingest_meta.quarantine"
    ).fetchall() == [
        ("unknown_account", "Q", "account_id 'Q' is not in the accounts export"),
    ]
    # without an account_match no tool id is kept
    assert con.execute(
        "select count(*) from raw.outcomes where _source_account_ref is not null"
    ).fetchone() == (0,)


def test_dates_after_the_load_date_are_quarantined(con, tmp_path) -> None:
    exports = tmp_path / "exports"
    write_files(
        exports,
        {
            "survey/r.csv": "response_id,account_id,responded_at,survey_type,score\n"
            "S1,A,2026-03-11T23:30:00-05:00,nps,9\n"  # 2026-03-12 04:30 UTC: within a day
            "S2,A,2026-03-13T00:00:00Z,nps,9\n",
        },
    )
    result = ingest_all(con, exports, ["survey"], load_date=date(2026, 3, 11))["survey"]
    assert (result.rows_loaded, result.rows_quarantined) == (1, 1)
    assert con.execute("select rule, detail from ingest_meta.quarantine").fetchall() == [
        (
            "date_in_future",
            "responded_at=2026-03-13 00:00:00 is after 2026-03-12 (the load date plus the "
            "tolerance)",
        )
    ]
    strict = ingest_all(
        con, exports, ["survey"], load_date=date(2026, 3, 11), future_tolerance_days=0, force=True
    )["survey"]
    assert (strict.rows_loaded, strict.rows_quarantined) == (0, 2)


def test_a_changed_account_match_reloads_the_files(con, exports) -> None:
    plain = parse_ingest_config(
        {"sources": {"billing": {"columns": {"customer": "account_id"}}}}, Path("ingest.yml")
    )
    # as our own ids, the Stripe ids are unknown accounts
    assert ingest_all(con, exports, BILLING, config=plain)["billing"].rows_quarantined == 5
    (invoices,) = ingest_all(con, exports, BILLING, config=config())["billing"].files
    assert (invoices.status, invoices.rows_loaded) == ("loaded", 2)
