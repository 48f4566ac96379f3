"""The health report: rendered from the end-to-end serving file and from hand-made marts, then
opened in headless Chromium (Debian's `chromium` package) to check that every chart drew and
no script error occurred.

The end-to-end mart (tests/test_end_to_end.py, as of 2026-04-01): customers A (healthy,
78.38), C (healthy) and D (attention, 65.63); B churned on 2026-03-15 while critical.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from healthmart.cli.main import main
from healthmart.core.settings import PROJECT_ROOT, Settings
from healthmart.defs.report.data import load_actions
from healthmart.defs.report.page import CHART_IDS, render_report, report_path
from healthmart.defs.report.summary import backtest_lines

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--virtual-time-budget=10000",
)


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail(
            "Chromium is not installed: the report test needs Debian's chromium package "
            "(apt-get install -y chromium; .ci/run installs it).",
            pytrace=False,
        )
    return path


def dump_dom(page: Path, profile: Path) -> str:
    """The DOM of the page after its scripts ran, as headless Chromium serialises it."""
    result = subprocess.run(
        [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0 and "</html>" in result.stdout, result.stderr[-2000:]
    return result.stdout


def chart_segments(dom: str) -> dict[str, str]:
    """The DOM from each chart div to the next one (charts follow one another in the page)."""
    starts = sorted((dom.index(f'id="{chart_id}"'), chart_id) for chart_id in CHART_IDS)
    ends = [s for s, _ in starts[1:]] + [dom.index("<footer")]
    return {chart_id: dom[start:end] for (start, chart_id), end in zip(starts, ends, strict=True)}


def script_errors(dom: str) -> str:
    match = re.search(r'<pre id="report-errors"[^>]*>(.*?)</pre>', dom, re.DOTALL)
    assert match, "the page has no #report-errors element"
    return match.group(1)


def kpi_value(page: str, kpi_id: str) -> str:
    match = re.search(rf'id="{kpi_id}".*?<div class="kpi-value">([^<]*)</div>', page)
    assert match, f"no KPI tile {kpi_id}"
    return match.group(1)


def assert_all_charts_drew(dom: str) -> None:
    assert script_errors(dom) == ""
    assert 'data-charts-expected="5"' in dom
    assert 'data-charts-rendered="5"' in dom
    for chart_id, segment in chart_segments(dom).items():
        assert 'class="main-svg"' in segment, f"{chart_id} did not draw"
        assert "plot-container" in segment, f"{chart_id} did not draw"


# --------------------------------------------------------------------------- end to end


@pytest.fixture(scope="module")
def e2e_report(e2e_settings: Settings) -> Path:
    # `healthmart run` (the e2e_settings fixture) writes the report to HEALTHMART_REPORT_PATH.
    return e2e_settings.serving_path.parent / "health_report.html"


def test_run_writes_a_self_contained_report(e2e_report: Path) -> None:
    page = e2e_report.read_text(encoding="utf-8")
    for chart_id in CHART_IDS:
        assert f'id="{chart_id}"' in page
    assert 'data-charts-expected="5"' in page
    # plotly.js is inline: the page loads nothing from the network
    assert "<script src" not in page and "<link" not in page
    assert "Plotly.newPlot" in page and len(page) > 3_000_000
    assert "as of <b>2026-04-01</b> · preset <b>hbr</b> · 4 accounts · 3 current customers" in page


def test_report_numbers_match_the_mart(e2e_settings: Settings, e2e_report: Path) -> None:
    page = e2e_report.read_text(encoding="utf-8")
    con = duckdb.connect(str(e2e_settings.serving_path), read_only=True)
    try:
        tiers = dict(
            con.execute(
                "select tier, count(*) from marts.fct_health_current where not is_churned "
                "group by tier"
            ).fetchall()
        )
        critical_months, critical_churned = con.execute(
            "select sum(accounts_at_start), sum(churned) from marts.fct_cohort_churn "
            "where period_type = 'month' and cohort_type = 'tier' and cohort = 'critical'"
        ).fetchone()
    finally:
        con.close()
    assert tiers == {"healthy": 2, "attention": 1}  # A and C healthy, D attention
    assert kpi_value(page, "kpi-customers") == "3"
    assert kpi_value(page, "kpi-tier-healthy") == "2"
    assert kpi_value(page, "kpi-tier-attention") == "1"
    assert "kpi-tier-critical" not in page  # B, the only critical account, churned
    # C by hand (tests/test_end_to_end.py): 0.25 x 50 + 0.25 x mean(400/7, 50, 100, 100)
    # + 0.5 x 100 = 81.70; the mean of A 78.38, C 81.70 and D 65.63 is 75.24
    assert kpi_value(page, "kpi-mean-score") == "75.2"
    # March 2026: 1 of the 4 accounts churned (B)
    assert kpi_value(page, "kpi-churn") == "25.0%"
    # churn by tier sums the months: B, critical at a month start, is the one churn
    assert critical_churned == 1
    assert f"1 of {critical_months} account-months" in page
    # needing action on 2026-04-01 (fct_account_actions): A (healthy) fell 14.6 points in
    # 30 days (78.38 vs 92.96), D has not used the product in 30 days
    assert kpi_value(page, "kpi-actions") == "2"
    assert re.search(r"<td><b>A</b>.*?<td>fell 14\.6 points in 30 days</td>", page)
    assert re.search(r"<td><b>D</b>.*?<td>no product usage in 30 days</td>", page)


def test_report_draws_in_headless_chromium(e2e_report: Path, tmp_path: Path) -> None:
    dom = dump_dom(e2e_report, tmp_path / "profile")
    assert_all_charts_drew(dom)
    tiers = chart_segments(dom)["chart-tiers"]
    # bar labels as drawn: 2 of 3 customers healthy, 1 attention
    assert "2 · 67%" in tiers and "1 · 33%" in tiers


# --------------------------------------------------------------------------- hand-made marts

AS_OF = date(2026, 4, 1)

MART_COLUMNS = {
    "fct_health_current": (
        "account_id varchar, account_name varchar, preset varchar, score_date date, "
        "health_score double, tier varchar, colour varchar, tier_severity integer, "
        "low_confidence boolean, delta_30d double, top_drivers varchar, arr double, "
        "contract_end date, csm_owner varchar, is_churned boolean"
    ),
    "fct_health_scores": (
        "account_id varchar, preset varchar, score_date date, health_score double, "
        "tier varchar, colour varchar, tier_severity integer"
    ),
    "fct_signal_scores": (
        "account_id varchar, signal varchar, dimension varchar, preset varchar, "
        "score_date date, signal_score double, weight double"
    ),
    "fct_cohort_churn": (
        "period_type varchar, period_start date, period_end date, cohort_type varchar, "
        "cohort varchar, accounts_at_start bigint, churned hugeint, churn_rate double, "
        "arr_at_start double, arr_churned double"
    ),
    "fct_account_actions": (
        "account_id varchar, rule varchar, score_date date, next_renewal_date date, "
        "play varchar, priority integer, action_rank integer, reason varchar"
    ),
    "fct_customer_value": "account_id varchar, value_at_risk double",
    "fct_backtest_signals": (
        "signal varchar, preset varchar, observations bigint, churned bigint, "
        "churned_accounts bigint, retained_accounts bigint, with_data_share double, "
        "preset_weight double, auc double, auc_low double, auc_high double, verdict varchar, "
        "horizon_days integer"
    ),
    "fct_backtest_summary": "preset varchar, segment varchar, period varchar, auc double",
    "fct_backtest_churn_by_tier": (
        "preset varchar, tier varchar, tier_severity integer, horizon_days integer, "
        "scored_account_days bigint, accounts bigint, churned_within_horizon hugeint, "
        "churn_rate_within_horizon double"
    ),
}

TIER = {
    "healthy": ("green", 1),
    "attention": ("yellow", 2),
    "at_risk": ("orange", 3),
    "critical": ("red", 4),
}


def current(
    account: str,
    score: float,
    tier: str,
    delta_30d: float | None,
    renews_in: int | None,
    churned: bool = False,
) -> tuple:
    """A row of fct_health_current as of AS_OF; renews_in = days to contract_end."""
    colour, severity = TIER[tier]
    renewal = None if renews_in is None else AS_OF + timedelta(days=renews_in)
    return (account, score, tier, colour, severity, delta_30d, renewal, churned)


# Current customers on 2026-04-01 and the actions of fct_account_actions.
ACTION_CASES = [
    current("K1", 20.0, "critical", None, 400),
    current("K2", 45.0, "at_risk", -12.0, 30),
    current("K3", 60.0, "attention", -10.0, 120),
    current("K4", 65.0, "attention", -10.5, None),
    current("K7", 72.0, "healthy", -15.0, 60),
    current("K8", 10.0, "critical", -30.0, 20, churned=True),
]
YESTERDAY = AS_OF - timedelta(days=1)
# account, rule, date, play, priority, rank, reason
ACTIONS = [
    ("K1", "critical_high_arr", AS_OF, "executive_save", 1, 1, "critical with ARR 1000"),
    ("K1", "silent_account", AS_OF, "re_engage", 3, 2, "no product usage in 30 days"),
    ("K2", "renewal_at_risk", AS_OF, "renewal_save", 1, 1, "renewal in 30 days while at_risk"),
    ("K2", "score_drop", AS_OF, "investigate_drop", 3, 2, "fell 12.0 points in 30 days"),
    ("K3", "score_drop", YESTERDAY, "investigate_drop", 3, 1, "fell 11.0 points in 30 days"),
    ("K4", "score_drop", AS_OF, "investigate_drop", 3, 1, "fell 10.5 points in 30 days"),
    ("K7", "healthy_renewal", AS_OF, "expansion_ask", 4, 1, "healthy, renewal in 60 days"),
    ("K8", "entered_risk", AS_OF, "risk_review", 2, 1, "tier at_risk -> critical"),
]
VALUE_AT_RISK = {"K1": 500.0, "K2": 900.0, "K4": 100.0}


def make_marts(path: Path, accounts: list[tuple]) -> Path:
    """A serving file with the marts the report reads; fct_health_current has the given
    accounts, fct_account_actions and fct_customer_value the ACTIONS of those accounts."""
    con = duckdb.connect(str(path))
    try:
        con.execute("create schema marts")
        for table, columns in MART_COLUMNS.items():
            con.execute(f"create table marts.{table} ({columns})")
        for account, score, tier, colour, severity, delta, renewal, churned in accounts:
            con.execute(
                """
                insert into marts.fct_health_current values (
                    ?, 'Name of ' || ?, 'hbr', ?, ?, ?, ?, ?, false, ?,
                    'payment, nps', 1000, ?, 'Ann', ?
                )
                """,
                [account, account, AS_OF, score, tier, colour, severity, delta, renewal, churned],
            )
            for action in (a for a in ACTIONS if a[0] == account):
                con.execute(
                    "insert into marts.fct_account_actions values (?, ?, ?, ?, ?, ?, ?, ?)",
                    [*action[:3], renewal, *action[3:]],
                )
            if account in VALUE_AT_RISK:
                con.execute(
                    "insert into marts.fct_customer_value values (?, ?)",
                    [account, VALUE_AT_RISK[account]],
                )
    finally:
        con.close()
    return path


def test_accounts_needing_action_today(tmp_path: Path) -> None:
    serving = make_marts(tmp_path / "serving.duckdb", ACTION_CASES)
    con = duckdb.connect(str(serving), read_only=True)
    try:
        actions = load_actions(con)
    finally:
        con.close()
    # one row per account with its reasons in action_rank order; the most urgent play
    # first, then the largest value at risk; K3's action is of an earlier date, K8 churned
    assert list(zip(actions.account_id, actions.play, actions.reason, strict=True)) == [
        ("K2", "renewal_save", "renewal in 30 days while at_risk; fell 12.0 points in 30 days"),
        ("K1", "executive_save", "critical with ARR 1000; no product usage in 30 days"),
        ("K4", "investigate_drop", "fell 10.5 points in 30 days"),
        ("K7", "expansion_ask", "healthy, renewal in 60 days"),
    ]


def test_small_mart_with_empty_tables_shows_no_data(tmp_path: Path) -> None:
    serving = make_marts(tmp_path / "serving.duckdb", ACTION_CASES[:4])
    page = render_report(serving)
    assert "No churn history yet" in page  # fct_cohort_churn and the backtest are empty
    assert "No score history" in page and "No signal scores" in page
    assert kpi_value(page, "kpi-customers") == "4"
    assert kpi_value(page, "kpi-actions") == "3"  # K1, K2, K4
    assert "kpi-churn" not in page


def test_signals_that_do_not_predict_churn_are_marked(tmp_path: Path) -> None:
    """A weighted signal that points the wrong way or tells nothing is marked in the report
    and in the run summary; an unweighted one or one without enough churners is not."""
    serving = make_marts(tmp_path / "serving.duckdb", ACTION_CASES[:4])
    con = duckdb.connect(str(serving))
    con.executemany(
        "insert into marts.fct_backtest_signals values (?, 'hbr', 1000, 50, 20, 80, 1.0, ?, ?, "
        "?, ?, ?, 90)",
        [
            ("revenue_trend", 0.125, 0.33, 0.30, 0.36, "inverted"),
            ("usage_trend", 0.05, 0.51, 0.47, 0.55, "uninformative"),
            ("adoption", 0.05, 0.81, 0.78, 0.84, "predictive"),
            ("enablement", 0.0, 0.31, 0.28, 0.34, "inverted"),
            ("breadth", 0.05, None, None, None, "too_few_churners"),
        ],
    )
    con.execute("insert into marts.fct_backtest_summary values ('hbr', 'all', 'all', 0.8)")
    con.close()
    page = render_report(serving)
    start = page.index('id="signals-table"')
    table = page[start : page.index("</table>", start)]
    rows = re.findall(r"<tr class='(flagged)?'><td>([a-z_]+)</td>", table)
    assert [(signal, bool(flag)) for flag, signal in rows] == [
        ("revenue_trend", True),
        ("usage_trend", True),
        ("adoption", False),
        ("breadth", False),
        ("enablement", False),
    ]
    assert "inverted: points the wrong way" in table
    assert "uninformative: no better than chance" in table

    con = duckdb.connect(str(serving), read_only=True)
    lines = backtest_lines(con, "hbr", 90)
    con.close()
    assert "AUC of the hbr score 0.800" in lines[1]
    assert lines[-1].startswith("  2 weighted signal(s) not predictive: revenue_trend, usage_trend")
    assert [line.split()[0] for line in lines[3:-1]] == [
        "revenue_trend",
        "usage_trend",
        "adoption",
        "breadth",
        "enablement",
    ]


def test_empty_marts_render_and_draw(tmp_path: Path) -> None:
    serving = make_marts(tmp_path / "serving.duckdb", [])
    out = tmp_path / "report" / "health_report.html"
    assert main(["report", "--serving-path", str(serving), "--out", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    assert "as of <b>no scores yet</b>" in page
    assert "No data: no current customer needs action today." in page
    # every chart slot still draws (a "no data" figure), and no script fails
    assert_all_charts_drew(dump_dom(out, tmp_path / "profile"))


def test_report_path_setting(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("HEALTHMART_REPORT_PATH", raising=False)
    assert report_path() == PROJECT_ROOT / "reports" / "health_report.html"
    monkeypatch.setenv("HEALTHMART_REPORT_PATH", "out/r.html")
    assert report_path() == PROJECT_ROOT / "out" / "r.html"  # relative to the project
    assert report_path(tmp_path / "x.html") == tmp_path / "x.html"  # explicit wins
    assert report_path(environ={}) == PROJECT_ROOT / "reports" / "health_report.html"
