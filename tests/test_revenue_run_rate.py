"""revenue_trend from the recurring run-rate, end to end on hand-made exports with annual and
monthly contracts: one billing file without the period columns (periods inferred from the
billing cadence) and one with them (periods as exported).

revenue_trend (seeds/signal_config.csv): window 90 days, trend 0.7 -> 0, 1.1 -> 100. On the
scoring date 2025-10-01 the last window is 2025-07-03 .. 2025-09-30 and the one before it
2025-04-04 .. 2025-07-02 (90 days each). Exports span 2023-07-01 .. 2025-12-31: scoring dates
2023-07-31 .. 2026-01-01.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from conftest import run_job_once

from healthmart.core.settings import Settings

DAY = "2025-10-01"

ACCOUNTS = """account_id,signup_date,contract_start,contract_end,arr,licensed_seats
P,2023-07-01,2025-07-01,2026-07-01,3650,10
Q,2024-07-01,,,3650,10
R,2025-01-01,,,3600,10
S,2025-11-01,,,1200,2
"""

# Without period columns. P: annual, 3650 issued on the first day of each contract year.
# R: monthly, 300 on the 1st from January to August 2025, then nothing. S: one invoice in
# December, so that billing is not stale (an export whose newest row is more than 70 days
# behind the newest of all exports blocks the run).
BILLING_INFERRED = "invoice_id,account_id,issued_date,due_date,amount,status\n" + "".join(
    [
        "P0,P,2023-07-01,2023-07-31,3650,paid\n",
        "P1,P,2024-07-01,2024-07-31,3650,paid\n",
        "P2,P,2025-07-01,2025-07-31,3650,paid\n",
        *(f"R{m},R,2025-0{m}-01,2025-0{m}-28,300,paid\n" for m in range(1, 9)),
        "S1,S,2025-12-01,2025-12-31,100,open\n",
    ]
)

# With period columns. Q: a year, then two years billed at once (7300 for 730 days).
BILLING_EXPORTED = """\
invoice_id,account_id,issued_date,due_date,amount,status,period_start,period_end
Q0,Q,2024-07-01,2024-07-31,3650,paid,2024-07-01,2025-06-30
Q1,Q,2025-07-01,2025-07-31,7300,paid,2025-07-01,2027-06-30
"""

USAGE = """account_id,activity_date,user_id,feature,event_count,minutes
P,2025-12-31,p1,reports,1,1
"""


def write_exports(exports: Path) -> None:
    files = {
        "accounts/accounts.csv": ACCOUNTS,
        "billing/inferred.csv": BILLING_INFERRED,
        "billing/exported.csv": BILLING_EXPORTED,
        "usage/usage.csv": USAGE,
    }
    for name, text in files.items():
        (exports / name).parent.mkdir(parents=True, exist_ok=True)
        (exports / name).write_text(text)


@pytest.fixture(scope="module")
def run_rate(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return run_job_once(tmp_path_factory.mktemp("run_rate"), write_exports)


def revenue_trend(settings: Settings, account: str, day: str) -> tuple[float | None, float | None]:
    con = duckdb.connect(str(settings.serving_path), read_only=True)
    try:
        rows = con.execute(
            "select raw_value, signal_score from marts.fct_signal_scores "
            "where account_id = ? and score_date = ? and signal = 'revenue_trend'",
            [account, day],
        ).fetchall()
    finally:
        con.close()
    assert len(rows) == 1, rows
    return rows[0]


def periods(settings: Settings) -> dict[str, tuple[str, str, int, str]]:
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        rows = con.execute(
            "select invoice_id, cast(period_start as varchar), cast(period_end as varchar), "
            "period_days, period_source from intermediate.int_invoices__service_periods"
        ).fetchall()
    finally:
        con.close()
    return {r[0]: r[1:] for r in rows}


def test_periods_without_the_columns_follow_the_billing_cadence(run_rate: Settings) -> None:
    found = periods(run_rate)
    # P0: issued before P's current contract (2025-07-01 .. 2026-07-01): one month
    assert found["P0"] == ("2023-07-01", "2023-07-31", 31, "one_month")
    # P1: the 366 days since P0 (2024 is a leap year); P2: the 365 days since P1
    assert found["P1"] == ("2024-07-01", "2025-07-01", 366, "previous_gap")
    assert found["P2"] == ("2025-07-01", "2026-06-30", 365, "previous_gap")
    # R8: the 31 days since R7 (July 1)
    assert found["R8"] == ("2025-08-01", "2025-08-31", 31, "previous_gap")
    assert found["Q1"] == ("2025-07-01", "2027-06-30", 730, "exported")


def test_annual_invoice_mid_contract_is_flat_not_zero(run_rate: Settings) -> None:
    # Invoiced by issue date, P's trend would be 0 here: nothing issued in the last window,
    # 3650 (P2) in the one before. Spread: P2 bills 10 a day over the whole last window (900);
    # the window before has 89 days of P1 (Apr 4 .. Jul 1 at 3650 / 366: its 366 days since
    # P0 end on Jul 1, the day P2 starts) and 2 of P2 (Jul 1 .. 2: 20).
    previous = 89 * 3650 / 366 + 20
    ratio = 900 / previous
    assert ratio == pytest.approx(0.9916, abs=1e-4)
    assert revenue_trend(run_rate, "P", DAY) == pytest.approx((ratio, (ratio - 0.7) / 0.4 * 100))
    # 2026-01-01: both windows (2025-10-03 .. 12-31, 2025-07-05 .. 10-02) inside P2's year:
    # 900 / 900 = 1.0 -> (1.0 - 0.7) / 0.4 = 75
    assert revenue_trend(run_rate, "P", "2026-01-01") == pytest.approx((1.0, 75.0))


def test_exported_periods_are_used_as_they_are(run_rate: Settings) -> None:
    # Q1 bills 7300 over 730 days: 10 a day, as Q0 did. Last window: 900; the one before:
    # 88 days of Q0 (Apr 4 .. Jun 30) and 2 of Q1, 900. From the cadence alone Q1 would bill
    # 20 a day (7300 over the 365 days since Q0): 1800 / 920.
    assert revenue_trend(run_rate, "Q", DAY) == pytest.approx((1.0, 75.0))


def test_monthly_invoices_that_stop_bring_the_trend_down(run_rate: Settings) -> None:
    # R, each invoice as long as the gap since the one before (the first: one month):
    # Apr 1 .. May 1 at 300 / 31, May 1 .. 30 at 10, Jun 1 .. Jul 1 at 300 / 31, Jul 1 .. 30
    # at 10, Aug 1 .. 31 at 300 / 31, then nothing. Last window Jul 3 .. Sep 30: 28 days of
    # July's (280) and all of August's (300): 580. The window before, Apr 4 .. Jul 2: 28 days
    # of April's (8400 / 31), all of May's and June's (600) and 2 of July's (20).
    previous = 8400 / 31 + 600 + 20
    assert 580 / previous == pytest.approx(0.651, abs=1e-3)
    assert revenue_trend(run_rate, "R", DAY) == pytest.approx((580 / previous, 0.0))
