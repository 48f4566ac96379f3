"""End to end: hand-made exports -> Dagster job (ingest, dbt build, publish) -> serving file.

Every expected value below is worked out by hand from the exports in `write_exports`, with
the default config (seeds/) and the hbr preset:
  hbr = relationship 25 % (nps, survey_csat, csm_sentiment, renewal_intent)
      + product usage 25 % (adoption, breadth, usage_trend, support_burden, support_csat)
      + value realisation 50 % (payment, revenue_trend), equal weights inside a dimension,
  missing signals excluded (weights renormalised) except csm_sentiment (neutral = 50).
The score of day D sees the data of the days before D; windows are the N days before D.

Data spans 2025-12-01 .. 2026-03-31, so the scoring dates are 2025-12-31 (first activity
+ 30 days of warm-up) .. 2026-04-01 (the day after the last activity).
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from healthmart.core.settings import DBT_PROJECT_DIR, Settings
from healthmart.defs.dbt.project import dbt_executable

ACCOUNTS = """account_id,account_name,industry,employees,segment,plan,region,csm_owner,signup_date,contract_start,contract_end,arr,licensed_seats,updated_at
A,Acme,retail,80,smb,growth,EMEA,Ann,2024-01-01,2026-01-01,2026-12-31,12000,10,2026-01-01T00:00:00Z
B,Beta,retail,20,smb,starter,EMEA,Ann,2024-06-01,2025-06-01,2026-05-31,4800,4,2026-01-01T00:00:00Z
C,Core,software,900,enterprise,enterprise,NA,Bob,2025-01-01,2026-01-01,2026-12-31,50000,20,2026-01-01T00:00:00Z
D,Dormant,media,30,smb,starter,NA,Bob,2024-01-01,2026-01-01,2026-12-31,6000,5,2026-01-01T00:00:00Z
"""

# A: on time except A2 (paid a week late). B: B1 failed, never paid. C: one annual invoice.
# D (a ghost: pays, never uses the product) pays everything on time. One bad row
# (status 'pending' is not in the contract) is quarantined, not loaded.
BILLING = """invoice_id,account_id,issued_date,due_date,amount,currency,paid_date,status,updated_at
A0,A,2025-12-01,2025-12-31,1000,USD,2025-12-15,paid,2025-12-15T00:00:00Z
A1,A,2026-01-01,2026-01-31,1000,USD,2026-01-20,paid,2026-01-20T00:00:00Z
A2,A,2026-02-01,2026-03-03,1000,USD,2026-03-10,paid,2026-03-10T00:00:00Z
A3,A,2026-03-01,2026-03-31,1000,USD,2026-03-25,paid,2026-03-25T00:00:00Z
B1,B,2025-12-01,2025-12-31,400,USD,,failed,2026-01-05T00:00:00Z
C1,C,2026-01-01,2026-01-31,50000,USD,2026-01-30,paid,2026-01-30T00:00:00Z
D1,D,2026-01-01,2026-01-31,500,USD,2026-01-15,paid,2026-01-15T00:00:00Z
D2,D,2026-02-01,2026-03-03,500,USD,2026-02-20,paid,2026-02-20T00:00:00Z
D3,D,2026-03-01,2026-03-31,500,USD,2026-03-20,paid,2026-03-20T00:00:00Z
X1,A,2026-03-01,2026-03-31,999,USD,,pending,2026-03-01T00:00:00Z
"""

SUPPORT = """ticket_id,account_id,opened_at,closed_at,priority,category,csat,first_response_minutes,updated_at
TA1,A,2026-03-20T10:00:00Z,2026-03-21T10:00:00Z,normal,question,4,30,2026-03-21T10:00:00Z
TB1,B,2026-02-10T10:00:00Z,2026-02-12T10:00:00Z,urgent,incident,1,240,2026-02-12T10:00:00Z
"""

SURVEY = [
    {
        "response_id": "SA1",
        "account_id": "A",
        "responded_at": "2026-02-01T12:00:00Z",
        "survey_type": "nps",
        "score": 9,
    },
    {
        "response_id": "SA2",
        "account_id": "A",
        "responded_at": "2026-03-01T12:00:00Z",
        "survey_type": "nps",
        "score": 10,
    },
    {
        "response_id": "SA3",
        "account_id": "A",
        "responded_at": "2026-03-05T12:00:00Z",
        "survey_type": "nps",
        "score": 6,
    },
    {
        "response_id": "SA4",
        "account_id": "A",
        "responded_at": "2026-03-15T12:00:00Z",
        "survey_type": "csat",
        "score": 5,
    },
    {
        "response_id": "SB1",
        "account_id": "B",
        "responded_at": "2026-02-01T12:00:00Z",
        "survey_type": "nps",
        "score": 2,
    },
]

CSM = """account_id,assessed_at,sentiment,renewal_intent,author,note,valid_until
A,2026-03-01 09:00:00,4,likely,Ann,steady,
B,2026-02-15 09:00:00,1,unlikely,Ann,budget cut,
"""

OUTCOMES = """account_id,event_date,event_type,reason,arr_change
B,2026-03-15,churned,budget,-4800
"""


def usage_rows() -> list[dict]:
    rows = []
    for user in range(1, 6):  # A: five users on 2026-02-10 (reports) and 2026-03-10 (dashboards)
        rows.append(("A", "2026-02-10", f"a{user}", "reports", 5))
        rows.append(("A", "2026-03-10", f"a{user}", "dashboards", 5))
    rows.append(("B", "2026-01-05", "b1", "reports", 3))  # B: one user, once
    for user in range(1, 3):  # C: 2, then 4, then 10 of its 20 seats
        rows.append(("C", "2026-01-15", f"c{user}", "api", 2))
    for user in range(1, 5):
        rows.append(("C", "2026-02-15", f"c{user}", "api", 2))
    for user in range(1, 11):
        rows.append(("C", "2026-03-31", f"c{user}", "api", 2))
    return [
        {
            "account_id": a,
            "activity_date": d,
            "user_id": u,
            "feature": f,
            "event_count": n,
            "minutes": 1.5,
        }
        for a, d, u, f, n in rows
    ]


def write_exports(exports: Path) -> None:
    for source in ("accounts", "billing", "support", "survey", "usage", "csm", "outcomes"):
        (exports / source).mkdir(parents=True, exist_ok=True)
    (exports / "accounts" / "accounts.csv").write_text(ACCOUNTS)
    with gzip.open(exports / "billing" / "invoices.csv.gz", "wt") as fh:
        fh.write(BILLING)
    (exports / "support" / "tickets.csv").write_text(SUPPORT)
    (exports / "survey" / "responses.ndjson").write_text(
        "\n".join(json.dumps(r) for r in SURVEY) + "\n"
    )
    pq.write_table(pa.Table.from_pylist(usage_rows()), exports / "usage" / "usage.parquet")
    (exports / "csm" / "assessments.csv").write_text(CSM)
    (exports / "outcomes" / "outcomes.csv").write_text(OUTCOMES)


@pytest.fixture(scope="module")
def serving(e2e_settings: Settings) -> duckdb.DuckDBPyConnection:
    # e2e_settings (tests/conftest.py) runs the real job once on write_exports' files.
    con = duckdb.connect(str(e2e_settings.serving_path), read_only=True)
    yield con
    con.close()


def one(con: duckdb.DuckDBPyConnection, sql: str, *params):
    rows = con.execute(sql, list(params)).fetchall()
    assert len(rows) == 1, rows
    return rows[0]


def signal(con, account: str, day: str, name: str) -> tuple[float | None, float | None]:
    return one(
        con,
        "select raw_value, signal_score from marts.fct_signal_scores "
        "where account_id = ? and score_date = ? and signal = ?",
        account,
        day,
        name,
    )


def test_every_row_is_accounted_for(serving) -> None:
    read, loaded, quarantined = one(
        serving,
        "select sum(rows_read), sum(rows_loaded), sum(rows_quarantined) from ingest_meta.load_log",
    )
    # 4 accounts + 10 invoices + 2 tickets + 5 responses + 27 usage rows + 2 csm + 1 outcome
    assert (read, loaded, quarantined) == (51, 50, 1)
    file, row, rule = one(serving, "select file, row_number, rule from ingest_meta.quarantine")
    assert (file, row, rule) == ("billing/invoices.csv.gz", 10, "not_accepted:status")


def test_scoring_dates_come_from_the_data(serving) -> None:
    first, last, days = one(
        serving,
        "select min(score_date), max(score_date), count(distinct score_date) from marts.fct_health_scores",
    )
    assert (str(first), str(last), days) == ("2025-12-31", "2026-04-01", 92)


def test_signals_of_acme_on_the_last_day(serving) -> None:
    day = "2026-04-01"
    # 5 distinct users in 2026-03-02..03-31 / 10 seats = 0.5 -> (0.5 - 0.1) / 0.7
    assert signal(serving, "A", day, "adoption") == pytest.approx((0.5, 400 / 7))
    # smb accounts active that day: A (1 feature) and D (none): mid-rank percentile 75
    assert signal(serving, "A", day, "breadth")[1] == pytest.approx(75.0)
    # 25 events in the last 30 days / 25 in the 30 before = 1.0 -> (1.0 - 0.5) / 0.6
    assert signal(serving, "A", day, "usage_trend") == pytest.approx((1.0, 250 / 3))
    # one normal question (1 x 0.5) per 10 seats = 0.5 = the healthy value
    assert signal(serving, "A", day, "support_burden") == pytest.approx((0.5, 100.0))
    assert signal(serving, "A", day, "support_csat") == pytest.approx((4.0, 75.0))
    # NPS: 2 promoters (9, 10), 1 detractor (6) of 3 -> +33.3 -> (33.3 + 100) / 2
    assert signal(serving, "A", day, "nps") == pytest.approx((100 / 3, 200 / 3))
    assert signal(serving, "A", day, "survey_csat") == pytest.approx((5.0, 100.0))
    assert signal(serving, "A", day, "csm_sentiment") == pytest.approx((4.0, 75.0))
    assert signal(serving, "A", day, "renewal_intent")[1] == pytest.approx(100.0)
    # 3 of 4 invoices due in the year paid on time, nothing overdue -> (0.75 - 0.5) / 0.5
    assert signal(serving, "A", day, "payment") == pytest.approx((0.75, 50.0))
    # invoiced 3000 in the last 90 days vs 1000 in the 90 before: 3.0, clamped at 100
    assert signal(serving, "A", day, "revenue_trend") == pytest.approx((3.0, 100.0))


def test_health_scores_on_the_last_day(serving) -> None:
    rows = {
        r[0]: r[1:]
        for r in serving.execute(
            """
            select account_id, health_score, computed_score, tier, colour, coverage, low_confidence,
                   relationship_score, product_usage_score, value_realisation_score
            from marts.fct_health_scores where score_date = '2026-04-01' order by account_id
            """
        ).fetchall()
    }
    assert set(rows) == {"A", "C", "D"}  # B churned on 2026-03-15
    relationship = (200 / 3 + 100 + 75 + 100) / 4
    product = (400 / 7 + 75 + 250 / 3 + 100 + 75) / 5
    expected_a = 0.25 * relationship + 0.25 * product + 0.5 * (50 + 100) / 2
    assert expected_a == pytest.approx(78.377976, abs=1e-6)
    a = rows["A"]
    assert a[0] == a[1] == pytest.approx(78.38)
    assert a[2:6] == ("healthy", "green", pytest.approx(1.0), False)
    assert a[6:] == pytest.approx((relationship, product, 75.0))

    # C: relationship = csm_sentiment neutral 50 only; product = adoption 10/20,
    # breadth 50 (alone in its segment), trend 20/8 clamped 100, burden 0 tickets = 100;
    # value = payment 100 (revenue trend has no earlier invoice: missing)
    c = rows["C"]
    expected_c = 0.25 * 50 + 0.25 * (400 / 7 + 50 + 100 + 100) / 4 + 0.5 * 100
    assert c[0] == pytest.approx(round(expected_c, 2))
    # coverage: adoption, breadth, trend, burden (4 x 0.05) + payment 0.25 = 0.45 < 0.6
    assert c[2:6] == ("healthy", "green", pytest.approx(0.45), True)

    # D, the ghost, pays on time but never uses the product: not healthy
    d = rows["D"]
    expected_d = 0.25 * 50 + 0.25 * (0 + 25) / 2 + 0.5 * 100
    assert expected_d == 65.625
    assert d[0] == pytest.approx(65.63)  # rounded half away from zero
    assert d[2:6] == ("attention", "yellow", pytest.approx(0.35), True)


def test_churned_account_scored_until_its_churn(serving) -> None:
    # B on 2026-03-01: adoption 0, breadth 100/3 (tied with D at 0), trend 0, burden 0,
    # support csat 0 -> product 20/3; relationship nps 0, csm 0, renewal 0 -> 0; payment 0
    score, tier = one(
        serving,
        "select health_score, tier from marts.fct_health_scores where account_id = 'B' and score_date = '2026-03-01'",
    )
    assert (score, tier) == (pytest.approx(round(0.25 * 20 / 3, 2)), "critical")
    last_day, churned = one(
        serving,
        "select score_date, is_churned from marts.fct_health_current where account_id = 'B'",
    )
    assert (str(last_day), churned) == ("2026-03-15", True)


def test_health_current_has_one_row_per_account(serving) -> None:
    rows = serving.execute(
        "select account_id, score_date from marts.fct_health_current order by account_id"
    ).fetchall()
    assert [(a, str(d)) for a, d in rows] == [
        ("A", "2026-04-01"),
        ("B", "2026-03-15"),
        ("C", "2026-04-01"),
        ("D", "2026-04-01"),
    ]


def test_cohort_churn_rates(serving) -> None:
    rows = serving.execute(
        """
        select period_type, cast(period_start as varchar), accounts_at_start, churned, churn_rate,
               arr_at_start, arr_churned
        from marts.fct_cohort_churn where cohort_type = 'all' order by period_type, period_start
        """
    ).fetchall()
    assert rows == [
        ("month", "2026-01-01", 4, 0, 0.0, 72800.0, 0.0),
        ("month", "2026-02-01", 4, 0, 0.0, 72800.0, 0.0),
        ("month", "2026-03-01", 4, 1, 0.25, 72800.0, 4800.0),
        ("quarter", "2026-01-01", 4, 1, 0.25, 72800.0, 4800.0),
    ]
    # B was critical at the start of March and churned in it: the critical cohort's rate is 1
    critical = one(
        serving,
        """select accounts_at_start, churned, churn_rate from marts.fct_cohort_churn
           where period_type = 'month' and period_start = '2026-03-01'
             and cohort_type = 'tier' and cohort = 'critical'""",
    )
    assert critical == (1, 1, 1.0)
    segment = one(
        serving,
        """select accounts_at_start, churned, churn_rate from marts.fct_cohort_churn
           where period_type = 'quarter' and cohort_type = 'segment' and cohort = 'smb'""",
    )
    assert segment == (3, 1, pytest.approx(1 / 3))


def test_dim_accounts_lifecycle(serving) -> None:
    rows = serving.execute(
        "select account_id, lifecycle_stage, tenure_days from marts.dim_accounts order by account_id"
    ).fetchall()
    # as of 2026-04-01; B's tenure ends at its churn
    assert rows == [
        ("A", "mature", 821),
        ("B", "churned", 652),
        ("C", "mature", 455),
        ("D", "mature", 821),
    ]


def test_dbt_unit_tests_pass(e2e_settings: Settings, tmp_path: Path) -> None:
    """The dbt unit tests (the normalisation and scoring maths on fixed rows) run here, on the
    end-to-end warehouse, not in every run of the job: each must pass, and all must run."""
    manifest = json.loads((DBT_PROJECT_DIR / "target" / "manifest.json").read_text())
    expected = set(manifest.get("unit_tests", {}))
    assert len(expected) >= 10
    result = subprocess.run(
        [dbt_executable(), "test", "--select", "test_type:unit", "--profiles-dir", "."]
        + ["--target-path", str(tmp_path / "target")],
        cwd=DBT_PROJECT_DIR,
        env={**os.environ, **e2e_settings.dbt_env()},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    results = json.loads((tmp_path / "target" / "run_results.json").read_text())["results"]
    assert {r["unique_id"] for r in results} == expected
    assert {r["status"] for r in results} == {"pass"}
