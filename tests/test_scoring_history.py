"""Scores a CSM can act on: deltas, drivers, lifecycle presets, overrides, actions, value and
config versions, on hand-made exports whose scores are worked out by hand below.

Only CSM assessments carry signal data for the smb accounts (no usage, billing, tickets or
surveys), so under hbr (default seeds) their score is simple:
  relationship R = mean of the signals present among csm_sentiment (sentiment s -> 25 (s - 1))
                   and renewal_intent (likely 100, neutral 50, unlikely 0); nps when given;
  product usage  = mean(adoption 0 (no active user), breadth 50 (every smb account ties at 0
                   distinct features: mid-rank percentile 50)) = 25;
  value realisation: no invoices -> excluded, weights renormalised over the two others;
  score = (R + 25) / 2.
An assessment is in force from the day after it is made; the score of day D sees data before D.
Data: 2026-01-01 .. 2026-06-30, so scoring dates 2026-01-31 (first activity + 30 days of
warm-up) .. 2026-07-01 (the day after the last activity).

  A  s=5 likely -> 62.5 (attention); on 2026-03-01 s=1 unlikely -> 12.5 (critical) from 03-02.
     Highest ARR of all: critical_high_arr from 03-02.
  B  s=3 neutral -> 37.5 (at_risk); renewal 2026-06-15.
  C  s=5 likely -> 62.5; override score 85 from 02-01 until 05-02 (healthy); renewal 05-01.
  D  s=5 likely -> 62.5; override score 20 from 04-01, no valid_until: 60 days, to 05-30.
  E  s=5 likely -> 62.5; tier-only override at_risk from 02-10 until 02-20.
  F  enterprise, used the product every day until 2026-04-30, then silent.
  G  enterprise, uses the product every day (so some feature is always in use: breadth, the
     share of the features in use that an account uses, stays defined for everyone).
  Z  churned 2026-01-10, before the first scoring date: never scored (its current row has
     no score and tier unscored, which the mart's expectation suite must accept).
  N  signed up 2026-02-15, so in the onboarding stage until its tenure reaches 90 days on
     05-16; s=4 (75), no renewal intent, NPS 10 on 02-20 (a promoter: NPS +100 -> 100).
     The default config scores both stages with hbr; a rebuild with the onboarding preset
     assigned to onboarding accounts checks the switch.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import run_job_once

from healthmart.core.settings import DBT_PROJECT_DIR, PROJECT_ROOT, Settings
from healthmart.defs.dbt.project import dbt_executable

ACCOUNTS = """account_id,account_name,industry,employees,segment,plan,region,csm_owner,signup_date,contract_start,contract_end,arr,licensed_seats,updated_at
A,Acme,retail,80,smb,growth,EMEA,Ann,2025-01-01,2025-01-01,2027-12-31,90000,10,
B,Beta,retail,20,smb,starter,EMEA,Ann,2025-01-01,2025-06-16,2026-06-15,20000,10,
C,Core,retail,50,smb,growth,EMEA,Bob,2025-01-01,2025-05-02,2026-05-01,30000,10,
D,Delta,media,30,smb,starter,NA,Bob,2025-01-01,2025-01-01,2027-12-31,10000,10,
E,Echo,media,30,smb,starter,NA,Bob,2025-01-01,2025-01-01,2027-12-31,10000,10,
F,Fox,software,900,enterprise,enterprise,NA,Cy,2025-01-01,2025-01-01,2027-12-31,50000,10,
G,Gem,software,900,enterprise,enterprise,NA,Cy,2025-01-01,2025-01-01,2027-12-31,40000,10,
N,Nova,software,10,smb,starter,NA,Cy,2026-02-15,2026-02-15,2027-02-14,5000,10,
Z,Zed,retail,10,smb,starter,NA,Ann,2025-01-01,2025-01-01,2026-12-31,7000,10,
"""

CSM = """account_id,assessed_at,sentiment,renewal_intent,author,note,valid_until
A,2026-01-01 09:00:00,5,likely,Ann,,2026-12-31
A,2026-03-01 09:00:00,1,unlikely,Ann,champion left,2026-12-31
B,2026-01-01 09:00:00,3,neutral,Ann,,2026-12-31
B,2026-06-30 09:00:00,3,neutral,Ann,,2026-12-31
C,2026-01-01 09:00:00,5,likely,Bob,,2026-12-31
D,2026-01-01 09:00:00,5,likely,Bob,,2026-12-31
E,2026-01-01 09:00:00,5,likely,Bob,,2026-12-31
F,2026-01-01 09:00:00,5,likely,Cy,,2026-12-31
G,2026-01-01 09:00:00,5,likely,Cy,,2026-12-31
N,2026-02-16 09:00:00,4,,Cy,,2026-12-31
"""

SURVEY = '{"response_id": "N1", "account_id": "N", "responded_at": "2026-02-20T12:00:00Z", "survey_type": "nps", "score": 10}\n'

OUTCOMES = """account_id,event_date,event_type,reason,arr_change
Z,2026-01-10,churned,budget,-7000
"""

OVERRIDES = """account_id,health_score,tier,author,reason,valid_from,valid_until
C,85,,Bob,Exec sponsor confirmed the renewal,2026-02-01,2026-05-02
D,20,,Zoe,Champion left; budget frozen,2026-04-01,
E,,at_risk,Bob,Open escalation,2026-02-10,2026-02-20
"""

FIRST_DAY, LAST_DAY = date(2026, 1, 31), date(2026, 7, 1)


def days(first: str, last: str) -> list[date]:
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def write_exports(exports: Path) -> None:
    for source in ("accounts", "csm", "survey", "usage", "outcomes", "overrides"):
        (exports / source).mkdir(parents=True, exist_ok=True)
    (exports / "accounts" / "accounts.csv").write_text(ACCOUNTS)
    (exports / "csm" / "assessments.csv").write_text(CSM)
    (exports / "survey" / "responses.ndjson").write_text(SURVEY)
    (exports / "overrides" / "overrides.csv").write_text(OVERRIDES)
    (exports / "outcomes" / "outcomes.csv").write_text(OUTCOMES)
    usage = [
        {
            "account_id": "F",
            "activity_date": d,
            "user_id": "f1",
            "feature": "reports",
            "event_count": 3,
            "minutes": 2.0,
        }
        for d in days("2026-01-01", "2026-04-30")
    ] + [
        {
            "account_id": "G",
            "activity_date": d,
            "user_id": "g1",
            "feature": "reports",
            "event_count": 3,
            "minutes": 2.0,
        }
        for d in days("2026-01-01", "2026-06-30")
    ]
    pq.write_table(pa.Table.from_pylist(usage), exports / "usage" / "usage.parquet")


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The real daily job (`healthmart run`) once on the exports above."""
    return run_job_once(tmp_path_factory.mktemp("history"), write_exports)


@pytest.fixture(scope="module")
def mart(history: Settings) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(history.serving_path), read_only=True)
    yield con
    con.close()


def rows(con: duckdb.DuckDBPyConnection, sql: str, *params) -> list[tuple]:
    return con.execute(sql, list(params)).fetchall()


def score(con, account: str, day: str) -> tuple:
    found = rows(
        con,
        "select health_score, computed_score, tier, computed_tier, preset, delta_7d, delta_30d "
        "from marts.fct_health_scores where account_id = ? and score_date = ?",
        account,
        day,
    )
    assert len(found) == 1, (account, day, found)
    return found[0]


def fired(con, rule: str, account: str) -> list[date]:
    return [
        d
        for (d,) in rows(
            con,
            "select score_date from marts.fct_account_actions where rule = ? and account_id = ? "
            "order by score_date",
            rule,
            account,
        )
    ]


# --- history and trend -------------------------------------------------------------------


def test_one_row_per_account_and_day(mart) -> None:
    counts = dict(rows(mart, "select account_id, count(*) from marts.fct_health_scores group by 1"))
    full = (LAST_DAY - FIRST_DAY).days + 1  # 152 scoring dates
    assert counts == {
        "A": full,
        "B": full,
        "C": full,
        "D": full,
        "E": full,
        "F": full,
        "G": full,
        "N": (LAST_DAY - date(2026, 2, 16)).days + 1,  # a customer from the day after signup
    }


def test_an_account_never_scored_is_unscored(mart) -> None:
    assert rows(
        mart,
        "select score_date, health_score, tier, is_churned from marts.fct_health_current "
        "where account_id = 'Z'",
    ) == [(None, None, "unscored", True)]


def test_exact_deltas_and_trend(mart) -> None:
    assert score(mart, "A", "2026-03-01")[1] == 62.5  # (100 + 25) / 2
    assert score(mart, "A", "2026-03-02")[1:] == (
        12.5,  # (0 + 25) / 2
        "critical",
        "critical",
        "hbr",
        -50.0,  # vs 62.5 on 02-23
        -50.0,  # vs 62.5 on 01-31
    )
    assert score(mart, "A", "2026-03-08")[5:] == (-50.0, -50.0)  # vs 03-01 (62.5) both
    assert score(mart, "A", "2026-03-09")[5:] == (0.0, -50.0)  # vs 03-02 (12.5) and 02-07
    assert score(mart, "A", "2026-03-31")[5:] == (0.0, -50.0)  # vs 03-24 and 03-01
    assert score(mart, "A", "2026-04-01")[5:] == (0.0, 0.0)  # vs 03-25 and 03-02
    assert score(mart, "A", "2026-01-31")[5:] == (None, None)  # nothing published before
    trend = dict(
        rows(
            mart,
            "select score_date, trend from marts.fct_health_scores where account_id = 'A' "
            "and score_date in ('2026-03-01', '2026-03-02', '2026-04-01')",
        )
    )
    assert trend == {
        date(2026, 3, 1): None,  # 01-30 was not scored: no 30-day change, no trend
        date(2026, 3, 2): "declining",
        date(2026, 4, 1): "stable",
    }


def test_every_row_carries_one_config_version(mart) -> None:
    versions = rows(mart, "select distinct config_version from marts.fct_health_scores")
    assert len(versions) == 1 and len(versions[0][0]) == 12
    seeds = rows(
        mart,
        "select seed_name from marts.dim_config_versions where config_version = ? order by 1",
        versions[0][0],
    )
    assert [s for (s,) in seeds] == [
        "enablement_features",
        "preset_assignments",
        "preset_weights",
        "scoring_settings",
        "signal_bands",
        "signal_config",
        "ticket_weights",
        "tier_bands",
    ]


# --- drivers ------------------------------------------------------------------------------


def test_drivers_split_the_drop_by_signal(mart) -> None:
    drivers = {
        signal: (contribution, data, weighting, restatement, total)
        for signal, contribution, data, weighting, restatement, total in rows(
            mart,
            "select signal, contribution, data_change, weighting_change, restatement_change, "
            "total_change from marts.fct_health_drivers where account_id = 'A' "
            "and score_date = '2026-03-02'",
        )
    }
    # effective weights: relationship 0.5 and product usage 0.5 (value realisation has no
    # data), each split over its two scored signals -> 0.25 each
    assert drivers["csm_sentiment"] == pytest.approx((0.0, -25.0, 0.0, 0.0, -25.0))
    assert drivers["renewal_intent"] == pytest.approx((0.0, -25.0, 0.0, 0.0, -25.0))
    assert drivers["breadth"] == pytest.approx((12.5, 0.0, 0.0, 0.0, 0.0))
    assert drivers["adoption"] == pytest.approx((0.0, 0.0, 0.0, 0.0, 0.0))
    assert sum(d[4] for d in drivers.values()) == pytest.approx(-50.0)  # = delta_30d
    movers = rows(
        mart,
        "select top_movers_30d from marts.fct_health_scores where account_id = 'A' "
        "and score_date = '2026-03-02'",
    )
    assert movers == [("csm_sentiment -25.0, renewal_intent -25.0",)]


def test_drivers_add_up_to_every_change(mart) -> None:
    mismatches = rows(
        mart,
        """
        select h.account_id, h.score_date, h.delta_30d, sum(d.total_change)
        from marts.fct_health_scores h
        join marts.fct_health_drivers d using (account_id, score_date)
        where h.delta_30d is not null
        group by all
        having abs(sum(d.total_change) - h.delta_30d) > 0.01
            or abs(sum(d.data_change + d.weighting_change + d.restatement_change)
                   - sum(d.total_change)) > 1e-9
        """,
    )
    assert mismatches == []
    checked = rows(mart, "select count(*) from marts.fct_health_scores where delta_30d is not null")
    assert checked[0][0] > 600


# --- segments and lifecycle ----------------------------------------------------------------


@pytest.fixture(scope="module")
def onboarding(history: Settings, tmp_path_factory: pytest.TempPathFactory):
    """The whole history rescored with onboarding accounts assigned the onboarding preset
    (seeds/preset_assignments.csv assigns the run's preset to both stages by default)."""
    warehouse = rebuild(
        history,
        tmp_path_factory.mktemp("onboarding"),
        "preset_assignments.csv",
        "onboarding,*,default,",
        "onboarding,*,onboarding,",
        FIRST_DAY.isoformat(),
        LAST_DAY.isoformat(),
    )
    con = duckdb.connect(str(warehouse), read_only=True)
    yield con
    con.close()


def test_stage_change_keeps_history(onboarding) -> None:
    mart = onboarding
    stages = rows(
        mart,
        "select lifecycle_stage, preset, min(score_date), max(score_date), count(*) "
        "from marts.fct_health_scores where account_id = 'N' group by 1, 2 order by 3",
    )
    assert stages == [
        ("onboarding", "onboarding", date(2026, 2, 16), date(2026, 5, 15), 89),
        ("mature", "hbr", date(2026, 5, 16), date(2026, 7, 1), 47),
    ]
    # onboarding preset: adoption dimension 0.4 (adoption 0.6 x 0 + breadth 0.4 x 50 = 20),
    # relationship 0.3 (csm_sentiment 75; support_csat has no data); enablement has no data
    # (no enablement feature in the exports at all: undefined, excluded) and its 0.3 is
    # renormalised away: (0.4 x 20 + 0.3 x 75) / 0.7 = 43.57 (at_risk)
    assert score(mart, "N", "2026-04-16")[1:5] == (43.57, "at_risk", "at_risk", "onboarding")
    # hbr: relationship = mean(nps 100, csm 75) = 87.5 -> (87.5 + 25) / 2 = 56.25
    assert score(mart, "N", "2026-05-16")[1:7] == (
        56.25,
        "attention",
        "attention",
        "hbr",
        12.68,  # vs 43.57 published on 05-09 (onboarding preset)
        12.68,  # vs 43.57 published on 04-16
    )


def test_stage_change_is_a_weighting_change(onboarding) -> None:
    mart = onboarding
    parts = rows(
        mart,
        "select sum(data_change), sum(weighting_change), sum(restatement_change), "
        "bool_and(preset_changed), min(preset_30d_ago) from marts.fct_health_drivers "
        "where account_id = 'N' and score_date = '2026-05-16'",
    )
    # 04-16 restated under hbr is 56.25 as well (same data): the whole move is the switch,
    # 56.25 - 305 / 7 before rounding
    assert parts == [
        (pytest.approx(0.0), pytest.approx(56.25 - 305 / 7), pytest.approx(0.0), True, "onboarding")
    ]


# --- overrides -----------------------------------------------------------------------------


def test_override_applies_then_expires(mart) -> None:
    assert score(mart, "D", "2026-03-31")[:4] == (62.5, 62.5, "attention", "attention")
    assert score(mart, "D", "2026-04-01")[:4] == (20.0, 62.5, "critical", "attention")
    assert score(mart, "D", "2026-05-30")[:4] == (20.0, 62.5, "critical", "attention")
    # no valid_until: 60 days (override_valid_days), so it expires on 05-31
    assert score(mart, "D", "2026-05-31")[:4] == (62.5, 62.5, "attention", "attention")
    beside = rows(
        mart,
        "select is_overridden, override_author, override_reason, override_expires_on "
        "from marts.fct_health_scores where account_id = 'D' and score_date = '2026-04-15'",
    )
    assert beside == [(True, "Zoe", "Champion left; budget frozen", date(2026, 5, 31))]
    listed = rows(
        mart,
        "select account_id, status, days_applied, uses_default_validity "
        "from marts.dim_overrides order by 1",
    )
    assert listed == [
        ("C", "expired", 90, False),
        ("D", "expired", 60, True),
        ("E", "expired", 10, False),
    ]


def test_tier_only_override(mart) -> None:
    assert score(mart, "E", "2026-02-09")[:4] == (62.5, 62.5, "attention", "attention")
    assert score(mart, "E", "2026-02-10")[:4] == (62.5, 62.5, "at_risk", "attention")
    assert score(mart, "E", "2026-02-19")[:4] == (62.5, 62.5, "at_risk", "attention")
    assert score(mart, "E", "2026-02-20")[:4] == (62.5, 62.5, "attention", "attention")


# --- actions -------------------------------------------------------------------------------


def test_entered_risk(mart) -> None:
    assert fired(mart, "entered_risk", "A") == [date(2026, 3, 2)]  # attention -> critical
    assert fired(mart, "entered_risk", "B") == [FIRST_DAY]  # at_risk from its first score
    assert fired(mart, "entered_risk", "D") == [date(2026, 4, 1)]  # the override
    assert fired(mart, "entered_risk", "E") == [date(2026, 2, 10)]
    # N's first score (02-16, before its assessment is in force): csm_sentiment neutral 50
    # -> (50 + 25) / 2 = 37.5 (at_risk); (75 + 25) / 2 = 50 (at_risk) the next day
    assert score(mart, "N", "2026-02-16")[1:3] == (37.5, "at_risk")
    assert score(mart, "N", "2026-02-17")[1:3] == (50.0, "at_risk")
    assert fired(mart, "entered_risk", "N") == [date(2026, 2, 16)]
    assert fired(mart, "entered_risk", "C") == []


def test_score_drop(mart) -> None:
    assert fired(mart, "score_drop", "A") == days("2026-03-02", "2026-03-31")
    for account in ("B", "C", "D", "E", "N"):  # C and D: overrides do not move computed_score
        assert fired(mart, "score_drop", account) == []


def test_renewal_at_risk(mart) -> None:
    # B renews 2026-06-15: 90 days before is 03-17
    assert fired(mart, "renewal_at_risk", "B") == days("2026-03-17", "2026-06-15")
    # C renews 05-01: 90 days before is 01-31, the one day before its override made it healthy
    assert fired(mart, "renewal_at_risk", "C") == [FIRST_DAY]
    reason = rows(
        mart,
        "select reason, play, days_to_renewal from marts.fct_account_actions "
        "where rule = 'renewal_at_risk' and account_id = 'B' and score_date = '2026-05-16'",
    )
    assert reason == [("renewal in 30 days while at_risk", "renewal_save", 30)]


def test_critical_high_arr(mart) -> None:
    assert fired(mart, "critical_high_arr", "A") == days("2026-03-02", "2026-07-01")
    # D is critical under its override but its ARR is the lowest but one
    assert fired(mart, "critical_high_arr", "D") == []


def test_healthy_renewal(mart) -> None:
    assert fired(mart, "healthy_renewal", "C") == days("2026-02-01", "2026-05-01")
    play = rows(
        mart,
        "select play from marts.fct_account_actions where rule = 'healthy_renewal' limit 1",
    )
    assert play == [("expansion_ask",)]


def test_silent_account(mart) -> None:
    # F's last usage is 04-30: the 30 days before 05-31 are the first without any
    assert fired(mart, "silent_account", "F") == days("2026-05-31", "2026-07-01")
    assert len(fired(mart, "silent_account", "B")) == 152  # never used the product


def test_action_rank_orders_by_priority(mart) -> None:
    ranked = rows(
        mart,
        "select rule, action_rank from marts.fct_account_actions "
        "where account_id = 'A' and score_date = '2026-03-02' order by action_rank",
    )
    # priorities: critical_high_arr 1, entered_risk 2, score_drop 3, silent_account 3
    assert ranked == [
        ("critical_high_arr", 1),
        ("entered_risk", 2),
        ("score_drop", 3),
        ("silent_account", 4),
    ]


# --- customer value ------------------------------------------------------------------------


def test_customer_value(mart) -> None:
    value = dict(
        (a, (rate, life, clv))
        for a, rate, life, clv in rows(
            mart,
            "select account_id, segment_annual_churn_rate, expected_lifetime_years, "
            "customer_lifetime_value from marts.fct_customer_value",
        )
    )
    # nobody churned: the lifetime is capped at clv_max_years (10), CLV = ARR x 1.0 x 10
    assert value["A"] == (0.0, 10.0, 900000.0)
    assert value["N"] == (0.0, 10.0, 50000.0)
    assert len(value) == 8


# --- a config change -----------------------------------------------------------------------


def rebuild(
    history: Settings, root: Path, seed: str, old: str, new: str, start: str, end: str
) -> Path:
    """A copy of the history's warehouse, rebuilt by dbt for start .. end with one line of a
    config seed edited (the project and the seeds copied beside it)."""
    project = root / "dbt_models"
    shutil.copytree(DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs"))
    shutil.copytree(PROJECT_ROOT / "seeds", root / "seeds")
    text = (root / "seeds" / seed).read_text()
    assert old in text, (seed, old)
    (root / "seeds" / seed).write_text(text.replace(old, new, 1))
    warehouse = root / "warehouse.duckdb"
    shutil.copy(history.warehouse_path, warehouse)
    env = {**os.environ, **history.dbt_env(), "HEALTHMART_WAREHOUSE_PATH": str(warehouse)}
    subprocess.run(
        [
            dbt_executable(),
            "build",
            "--quiet",
            "--profiles-dir",
            str(project),
            "--select",
            "resource_type:seed int_config__fingerprints dim_config_versions tag:per_scoring_date",
            "--vars",
            json.dumps({"start_date": start, "end_date": end, "preset": "hbr"}),
        ],
        cwd=project,
        env=env,
        check=True,
    )
    return warehouse


@pytest.fixture(scope="module")
def restated(history: Settings, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The history rebuilt for 2026-06-20 .. 2026-07-01 only, after a config change:
    csm_sentiment's healthy value 5 -> 4 (so a 4 now scores 100)."""
    return rebuild(
        history,
        tmp_path_factory.mktemp("config_change"),
        "signal_config.csv",
        "csm_sentiment,csm,threshold,1.00,5.00",
        "csm_sentiment,csm,threshold,1.00,4.00",
        "2026-06-20",
        "2026-07-01",
    )


def test_config_change_keeps_past_rows_and_is_separated(restated: Path) -> None:
    con = duckdb.connect(str(restated), read_only=True)
    try:
        versions = rows(
            con,
            "select config_version, min(score_date), max(score_date) "
            "from marts.fct_health_scores group by 1 order by 2",
        )
        assert [(lo, hi) for _, lo, hi in versions] == [
            (FIRST_DAY, date(2026, 6, 19)),
            (date(2026, 6, 20), LAST_DAY),
        ]
        old, new = versions[0][0], versions[1][0]
        assert old != new
        assert rows(
            con, "select count(distinct config_version) from marts.dim_config_versions"
        ) == [(2,)]
        # N (sentiment 4): 56.25 before; now relationship = mean(100, 100) -> (100 + 25) / 2
        assert score(con, "N", "2026-06-19")[1] == 56.25
        assert score(con, "N", "2026-06-20")[1] == 62.5
        assert score(con, "N", "2026-06-20")[6] == 6.25  # vs 56.25 published on 05-21
        parts = rows(
            con,
            "select sum(data_change), sum(weighting_change), sum(restatement_change), "
            "bool_and(config_changed), min(config_version_30d_ago) "
            "from marts.fct_health_drivers where account_id = 'N' and score_date = '2026-06-20'",
        )
        # the whole move is the config: 05-21 restated under the new config is 62.5 too
        assert parts == [(pytest.approx(0.0), pytest.approx(0.0), pytest.approx(6.25), True, old)]
        # A (sentiment 1 -> 0 under both configs) did not move
        assert score(con, "A", "2026-06-20")[1] == 12.5
    finally:
        con.close()
