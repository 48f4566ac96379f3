"""The backtest marts agree with an independent computation, and no score sees the future."""

from __future__ import annotations

import json
import shutil
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest
from sklearn.metrics import roc_auc_score

from healthmart.cli.run import run
from healthmart.core.settings import Settings

HORIZON = 90
LAST_ACTIVITY = date(2026, 3, 31)  # of the hand-made exports (tests/test_end_to_end.py)


@pytest.fixture(scope="module")
def serving(e2e_settings: Settings):
    con = duckdb.connect(str(e2e_settings.serving_path), read_only=True)
    yield con
    con.close()


def independent_observations(
    con: duckdb.DuckDBPyConnection,
) -> list[tuple[str, date, float, str, bool]]:
    """(account, date, score, tier, churned within the horizon) from the plain marts."""
    churned_on = dict(
        con.execute("select account_id, churned_on from marts.dim_accounts").fetchall()
    )
    rows = con.execute(
        "select account_id, score_date, computed_score, tier from marts.fct_health_scores"
    ).fetchall()
    out = []
    for account, day, score, tier in rows:
        if day + timedelta(days=HORIZON - 1) > LAST_ACTIVITY or score is None:
            continue
        churn = churned_on.get(account)
        out.append(
            (
                account,
                day,
                score,
                tier,
                churn is not None and day <= churn < day + timedelta(days=HORIZON),
            )
        )
    return out


def test_auc_matches_an_independent_computation(serving) -> None:
    obs = independent_observations(serving)
    labels = [o[4] for o in obs]
    assert len(obs) == 8 and sum(labels) == 2  # 4 accounts x 2 dates; B churns within 90 days
    expected = roc_auc_score(labels, [-o[2] for o in obs])
    observations, churned, auc = serving.execute(
        "select observations, churned, auc from marts.fct_backtest_summary "
        "where preset = 'hbr' and segment = 'all' and period = 'all'"
    ).fetchone()
    assert (observations, churned) == (8, 2)
    assert auc == pytest.approx(expected)


def test_signal_auc_matches_an_independent_computation(serving) -> None:
    """Each signal's AUC over the observable account-days where it has a score, from the
    plain wide rows and sklearn; one churned account is too few for a verdict."""
    churned_on = dict(
        serving.execute("select account_id, churned_on from marts.dim_accounts").fetchall()
    )
    published = {
        row[0]: row[1:]
        for row in serving.execute(
            "select signal, observations, churned, auc, churned_accounts, verdict "
            "from marts.fct_backtest_signals"
        ).fetchall()
    }
    signals = [
        name.removeprefix("signal_score__")
        for (name,) in serving.execute(
            "select column_name from information_schema.columns where table_schema = 'marts' "
            "and table_name = 'fct_signal_scores_wide' and column_name like 'signal_score__%'"
        ).fetchall()
    ]
    assert sorted(published) == sorted(signals) and len(signals) >= 10
    compared = 0
    for signal in signals:
        rows = serving.execute(
            f"select account_id, score_date, signal_score__{signal} "
            "from marts.fct_signal_scores_wide "
            f"where signal_score__{signal} is not null"
        ).fetchall()
        labels, scores = [], []
        for account, day, score in rows:
            if day + timedelta(days=HORIZON - 1) > LAST_ACTIVITY:
                continue
            churn = churned_on.get(account)
            labels.append(churn is not None and day <= churn < day + timedelta(days=HORIZON))
            scores.append(-score)
        observations, churned, auc, churned_accounts, verdict = published[signal]
        assert (observations, churned) == (len(labels), sum(labels)), signal
        assert verdict == "too_few_churners" and churned_accounts <= 1, signal
        if 0 < sum(labels) < len(labels):
            assert auc == pytest.approx(roc_auc_score(labels, scores)), signal
            compared += 1
        else:
            assert auc is None, signal
    assert compared >= 3


def test_churn_by_tier_matches_an_independent_computation(serving) -> None:
    obs = independent_observations(serving)
    expected: dict[str, tuple[int, int]] = {}
    for _, _, _, tier, churned in obs:
        n, c = expected.get(tier, (0, 0))
        expected[tier] = (n + 1, c + int(churned))
    actual = {
        tier: (n, c)
        for tier, n, c in serving.execute(
            "select tier, scored_account_days, churned_within_horizon "
            "from marts.fct_backtest_churn_by_tier where preset = 'hbr'"
        ).fetchall()
    }
    assert actual == expected
    # B churned on 2026-03-15, within 90 days of both observable dates, scored critical on both
    assert expected["critical"][1] == 2


FUTURE_ROWS = {
    "usage/later.csv": "account_id,activity_date,user_id,feature,event_count,minutes\n"
    "A,2026-04-10,a9,reports,50,3\nC,2026-04-20,c1,api,1,1\n",
    "billing/later.csv": "invoice_id,account_id,issued_date,due_date,amount,currency,paid_date,status,updated_at\n"
    "A4,A,2026-04-01,2026-05-01,5000,USD,,open,2026-04-01T00:00:00Z\n",
    "support/later.csv": "ticket_id,account_id,opened_at,closed_at,priority,category,csat,first_response_minutes,updated_at\n"
    "TA2,A,2026-04-02T10:00:00Z,2026-04-03T10:00:00Z,urgent,incident,1,10,2026-04-03T10:00:00Z\n",
    "csm/later.csv": "account_id,assessed_at,sentiment,renewal_intent,author,note,valid_until\n"
    "C,2026-04-05 09:00:00,1,unlikely,Bob,escalation,\n",
    "outcomes/later.csv": "account_id,event_date,event_type,reason,arr_change\nD,2026-04-25,churned,unused,-6000\n",
}


def test_appending_future_data_leaves_past_scores_unchanged(
    e2e_settings: Settings, tmp_path: Path, monkeypatch
) -> None:
    settings = Settings(
        exports_dir=tmp_path / "exports",
        serving_path=tmp_path / "serving.duckdb",
        warehouse_path=tmp_path / "warehouse.duckdb",
        preset="hbr",
    )
    shutil.copytree(e2e_settings.exports_dir, settings.exports_dir)
    for name, text in FUTURE_ROWS.items():
        (settings.exports_dir / name).write_text(text)
    (settings.exports_dir / "survey" / "later.ndjson").write_text(
        json.dumps(
            {
                "response_id": "SA9",
                "account_id": "A",
                "responded_at": "2026-04-03T12:00:00Z",
                "survey_type": "nps",
                "score": 0,
            }
        )
        + "\n"
    )
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    monkeypatch.setenv("HEALTHMART_REPORT_PATH", str(tmp_path / "report.html"))
    assert run(settings, accounts=0, months=0, seed=0) == 0

    query = """
        select account_id, score_date, signal, raw_value, signal_score, weight
        from marts.fct_signal_scores where score_date <= '2026-04-01'
        order by all
    """
    with duckdb.connect(str(e2e_settings.serving_path), read_only=True) as before_con:
        before = before_con.execute(query).fetchall()
    with duckdb.connect(str(settings.serving_path), read_only=True) as after_con:
        after = after_con.execute(query).fetchall()
        later_days = after_con.execute(
            "select max(score_date) from marts.fct_health_scores"
        ).fetchone()[0]
    assert str(later_days) == "2026-04-26"  # the new data extends the scored history
    assert len(before) > 1000
    assert after == before
