"""The health report: one self-contained HTML page drawn from the serving file (read-only).

`healthmart report` writes it, and so does the end of `healthmart run`. Every number is
aggregated in SQL on the marts; plotly.js is embedded in the page, so it opens offline.
"""

from __future__ import annotations

import html
import os
from collections.abc import Mapping
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from healthmart.core.settings import PROJECT_ROOT
from healthmart.defs.report.charts import (
    churn_figure,
    drivers_figure,
    scores_figure,
    tier_label,
    tiers_figure,
    trend_figure,
)
from healthmart.defs.report.data import (
    SCORE_BIN_WIDTH,
    ReportData,
    load_report_data,
    not_predictive,
)
from healthmart.defs.report.style import FONT, css_colour

ENV_REPORT_PATH = "HEALTHMART_REPORT_PATH"
DEFAULT_REPORT_PATH = "reports/health_report.html"

CHART_IDS = ("chart-tiers", "chart-churn", "chart-scores", "chart-trend", "chart-drivers")


def report_path(out: str | Path | None = None, environ: Mapping[str, str] | None = None) -> Path:
    """Where the report goes: explicit value, else HEALTHMART_REPORT_PATH, else the default.

    Resolved when called (never at import); relative paths are taken from the project root.
    """
    env = os.environ if environ is None else environ
    value = str(out) if out not in (None, "") else (env.get(ENV_REPORT_PATH) or DEFAULT_REPORT_PATH)
    path = Path(value).expanduser()
    return path if path.is_absolute() else PROJECT_ROOT / path


def _fmt(value: object, pattern: str = "{:,.0f}", missing: str = "–") -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return missing
    return pattern.format(value)


def _compact(value: float | None) -> str:
    if value is None or pd.isna(value):
        return "–"
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            return f"{value / limit:,.1f}{suffix}"
    return f"{value:,.0f}"


def _kpi(label: str, value: str, note: str = "", kpi_id: str = "", colour: str = "") -> str:
    attrs = f' id="{kpi_id}"' if kpi_id else ""
    style = f' style="border-top-color:{colour}"' if colour else ""
    return (
        f'<div class="kpi"{attrs}{style}><div class="kpi-label">{html.escape(label)}</div>'
        f'<div class="kpi-value">{html.escape(value)}</div>'
        f'<div class="kpi-note">{html.escape(note)}</div></div>'
    )


def kpi_tiles(data: ReportData) -> str:
    o = data.overview
    counts = data.tier_counts
    tiles = [
        _kpi("Customers", f"{o.customers:,}", f"of {o.accounts:,} accounts", "kpi-customers"),
        _kpi(
            "Mean health score",
            _fmt(o.mean_score, "{:.1f}"),
            f"{o.low_confidence:,} low confidence",
            "kpi-mean-score",
        ),
    ]
    for row in counts.itertuples():
        share = row.accounts / o.customers if o.customers else 0.0
        tiles.append(
            _kpi(
                tier_label(row.tier),
                f"{row.accounts:,}",
                f"{share:.0%} · ARR {_compact(row.arr)}",
                f"kpi-tier-{row.tier}",
                css_colour(row.colour),
            )
        )
    tiles.append(
        _kpi(
            "Need action today",
            f"{len(data.actions):,}",
            f"ARR {_compact(data.actions.arr.sum()) if not data.actions.empty else '0'}",
            "kpi-actions",
        )
    )
    if o.last_month:
        start, churned, at_start, rate = o.last_month
        tiles.append(
            _kpi(
                f"Churn {start:%b %Y}",
                f"{rate:.1%}",
                f"{churned:,} of {at_start:,} accounts",
                "kpi-churn",
            )
        )
    return '<section class="kpis">' + "".join(tiles) + "</section>"


def actions_table(actions: pd.DataFrame) -> str:
    if actions.empty:
        return '<p class="no-data">No data: no current customer needs action today.</p>'
    head = (
        "<tr><th>account</th><th>reason</th><th>play</th><th class='num'>score</th>"
        "<th>tier</th><th class='num'>Δ 30 d</th><th class='num'>ARR</th>"
        "<th class='num'>value at risk</th><th>renewal</th><th>top drivers</th><th>CSM</th></tr>"
    )
    rows = []
    for r in actions.itertuples():
        renewal = (
            "–" if pd.isna(r.next_renewal_date) else f"{pd.Timestamp(r.next_renewal_date):%Y-%m-%d}"
        )
        rows.append(
            "<tr>"
            f"<td><b>{html.escape(str(r.account_id))}</b><br>"
            f"<span class='muted'>{html.escape(_fmt(r.account_name, '{}'))}</span></td>"
            f"<td>{html.escape(str(r.reason))}</td>"
            f"<td>{html.escape(str(r.play).replace('_', ' '))}</td>"
            f"<td class='num'>{_fmt(r.health_score, '{:.1f}')}</td>"
            f"<td><span class='pill' style='background:{css_colour(r.colour)}'>"
            f"{html.escape(tier_label(str(r.tier)))}</span></td>"
            f"<td class='num'>{_fmt(r.delta_30d, '{:+.1f}')}</td>"
            f"<td class='num'>{_fmt(r.arr)}</td>"
            f"<td class='num'>{_fmt(r.value_at_risk)}</td>"
            f"<td class='nowrap'>{renewal}</td>"
            f"<td>{html.escape(_fmt(r.top_drivers, '{}'))}</td>"
            f"<td>{html.escape(_fmt(r.csm_owner, '{}'))}</td>"
            "</tr>"
        )
    return (
        '<div class="table-wrap"><table id="actions-table">'
        f"<thead>{head}</thead><tbody>{''.join(rows)}</tbody></table></div>"
    )


def signals_table(signals: pd.DataFrame) -> str:
    """The backtest of each signal on its own: weight, AUC and its interval, verdict; a
    weighted signal that is not predictive is marked."""
    if signals.empty:
        return '<p class="no-data">No data: no backtest of the signals yet.</p>'
    head = (
        "<tr><th>signal</th><th class='num'>weight</th><th class='num'>AUC</th>"
        "<th class='num'>95 % interval</th><th class='num'>with data</th><th>verdict</th></tr>"
    )
    rows = []
    for r in signals.itertuples():
        wrong = not_predictive(r.preset_weight, r.verdict)
        flagged = wrong is not None
        verdict = html.escape(str(r.verdict).replace("_", " "))
        if flagged:
            verdict = f"<b>{verdict}: {wrong}</b>"
        interval = (
            "–"
            if pd.isna(r.auc_low)
            else f"{_fmt(r.auc_low, '{:.3f}')} – {_fmt(r.auc_high, '{:.3f}')}"
        )
        rows.append(
            f"<tr class='{'flagged' if flagged else ''}'>"
            f"<td>{html.escape(str(r.signal))}</td>"
            f"<td class='num'>{_fmt(100 * r.preset_weight, '{:.1f} %')}</td>"
            f"<td class='num'>{_fmt(r.auc, '{:.3f}')}</td>"
            f"<td class='num nowrap'>{interval}</td>"
            f"<td class='num'>{_fmt(r.with_data_share * 100, '{:.0f} %')}</td>"
            f"<td>{verdict}</td>"
            "</tr>"
        )
    return (
        '<div class="table-wrap"><table id="signals-table">'
        f"<thead>{head}</thead><tbody>{''.join(rows)}</tbody></table></div>"
    )


def _card(title: str, caption: str, body: str, wide: bool = False) -> str:
    cls = "card wide" if wide else "card"
    return (
        f'<section class="{cls}"><h2>{html.escape(title)}</h2>'
        f'<p class="caption">{html.escape(caption)}</p>{body}</section>'
    )


def _horizon(signals: pd.DataFrame) -> str:
    return "the horizon" if signals.empty else f"{int(signals.horizon_days.iloc[0])} days"


def _chart(fig: go.Figure, div_id: str) -> str:
    return fig.to_html(
        full_html=False,
        include_plotlyjs=False,
        div_id=div_id,
        default_width="100%",
        default_height=f"{fig.layout.height}px",
        config={"displayModeBar": False, "responsive": True},
    )


def chart_cards(data: ReportData) -> str:
    o = data.overview
    latest = f"on {o.as_of}" if o.as_of else "on the latest scoring date"
    cards = [
        _card(
            "Customers per tier",
            "Current customers by health tier; hover for ARR and mean score.",
            _chart(tiers_figure(data.tier_counts), "chart-tiers"),
        ),
        _card(
            "Churn by tier",
            "Does the tier predict churn? Top: monthly churn by the tier an account had at the "
            "start of the month. Bottom: the share of scored account-days followed by a churn.",
            _chart(
                churn_figure(data.churn_monthly, data.churn_backtest, data.tiers), "chart-churn"
            ),
        ),
        _card(
            "Do the signals predict churn?",
            "Each signal on its own in the backtest: the probability that an account-day "
            "followed by a churn within "
            f"{_horizon(data.signals)} had a lower signal score than one that was not "
            "(AUC; 0.5 = chance), with its 95 % interval over distinct accounts "
            "(fct_backtest_signals). Weight: in the preset "
            f"{_fmt(data.overview.preset, '{}')}; a weighted signal that is not predictive is "
            "marked.",
            signals_table(data.signals),
        ),
        _card(
            "Score distribution",
            f"Current customers by health score (bins of {SCORE_BIN_WIDTH:g} points), "
            "coloured by tier band.",
            _chart(scores_figure(data.score_bins, data.tiers), "chart-scores"),
        ),
        _card(
            "Signals pulling scores down",
            f"Points lost per signal {latest}, summed over the accounts scored that day.",
            _chart(drivers_figure(data.drivers), "chart-drivers"),
        ),
        _card(
            "Health over time",
            "Weekly mean health score (top) and the share of scored accounts in each tier "
            "(bottom).",
            _chart(trend_figure(data.trend, data.tiers), "chart-trend"),
            wide=True,
        ),
        _card(
            f"Accounts needing action today ({len(data.actions):,})",
            "Current customers with an action on the latest scoring date (fct_account_actions; "
            "rules and plays in seeds/action_plays.csv): most urgent play first, then the "
            "largest value at risk (fct_customer_value).",
            actions_table(data.actions),
            wide=True,
        ),
    ]
    return '<main class="grid">' + "".join(cards) + "</main>"


ERROR_HOOKS_JS = """
(function () {
  var pending = [];
  function record(message) {
    var box = document.getElementById('report-errors');
    if (box) { box.textContent += message + '\\n'; } else { pending.push(message); }
  }
  window.onerror = function (message, source, line, column, error) {
    record('error: ' + message + ' at ' + source + ':' + line + ':' + column +
           (error && error.stack ? '\\n' + error.stack : ''));
  };
  window.addEventListener('unhandledrejection', function (event) {
    var reason = event.reason;
    record('unhandled rejection: ' + (reason && (reason.stack || reason.message) || reason));
  });
  document.addEventListener('DOMContentLoaded', function () {
    pending.splice(0).forEach(record);
  });
})();
"""

CHARTS_DRAWN_JS = """
window.addEventListener('load', function () {
  var ids = %s;
  var drawn = ids.filter(function (id) {
    var el = document.getElementById(id);
    return el && el.querySelector('.main-svg');
  });
  document.documentElement.setAttribute('data-charts-rendered', String(drawn.length));
});
"""

CSS = """
* { box-sizing: border-box; }
body { margin: 0; background: #f4f5f7; color: #343a40; font: 14px/1.45 var(--report-font); }
header { background: #1f2937; color: #f8f9fa; padding: 20px 32px; }
header h1 { margin: 0 0 4px; font-size: 22px; font-weight: 600; }
header .meta { color: #ced4da; font-size: 14px; }
.page { max-width: 1360px; margin: 0 auto; padding: 20px 24px 40px; }
.kpis { display: grid; grid-template-columns: repeat(auto-fit, minmax(140px, 1fr)); gap: 12px;
        margin-bottom: 20px; }
.kpi { background: #fff; border-radius: 8px; padding: 12px 14px; border-top: 4px solid #495057;
       box-shadow: 0 1px 2px rgba(0,0,0,.06); }
.kpi-label { font-size: 12px; text-transform: uppercase; letter-spacing: .04em; color: #6c757d; }
.kpi-value { font-size: 26px; font-weight: 600; margin: 2px 0; }
.kpi-note { font-size: 12px; color: #6c757d; }
.grid { display: grid; grid-template-columns: 1fr 1fr; gap: 20px; }
.card { background: #fff; border-radius: 8px; padding: 16px 18px 10px;
        box-shadow: 0 1px 2px rgba(0,0,0,.06); min-width: 0; }
.card.wide { grid-column: 1 / -1; }
.card h2 { margin: 0; font-size: 16px; font-weight: 600; }
.caption { margin: 2px 0 8px; color: #6c757d; font-size: 13px; }
.no-data { color: #868e96; font-size: 15px; padding: 24px 0; text-align: center; }
.table-wrap { max-height: 560px; overflow: auto; border: 1px solid #e9ecef; border-radius: 6px;
              margin-bottom: 8px; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th { position: sticky; top: 0; background: #f8f9fa; text-align: left; font-weight: 600;
     padding: 8px 10px; border-bottom: 1px solid #dee2e6; white-space: nowrap; }
td { padding: 6px 10px; border-bottom: 1px solid #f1f3f5; vertical-align: top; }
tbody tr:hover { background: #f8f9fa; }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.nowrap { white-space: nowrap; }
.muted { color: #868e96; font-size: 12px; }
tr.flagged td { background: #fff4e6; }
.pill { display: inline-block; padding: 1px 8px; border-radius: 10px; color: #fff;
        font-size: 12px; white-space: nowrap; }
footer { color: #868e96; font-size: 12px; margin-top: 24px; }
@media (max-width: 900px) { .grid { grid-template-columns: 1fr; } }
"""


def render_html(data: ReportData, serving_path: Path) -> str:
    o = data.overview
    as_of = str(o.as_of) if o.as_of else "no scores yet"
    meta = (
        f"as of <b>{as_of}</b> · preset <b>{html.escape(o.preset or '–')}</b> · "
        f"{o.accounts:,} accounts · {o.customers:,} current customers"
    )
    ids = "[" + ", ".join(f"'{i}'" for i in CHART_IDS) + "]"
    return f"""<!doctype html>
<html lang="en" data-charts-expected="{len(CHART_IDS)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Customer health report · {html.escape(as_of)}</title>
<script>{ERROR_HOOKS_JS}</script>
<style>:root {{ --report-font: {FONT}; }}{CSS}</style>
<script>{get_plotlyjs()}</script>
</head>
<body>
<pre id="report-errors" hidden></pre>
<header><h1>Customer health report</h1><div class="meta">{meta}</div></header>
<div class="page">
{kpi_tiles(data)}
{chart_cards(data)}
<footer>Generated by healthmart from {html.escape(str(serving_path))} (marts schema).
Query it read-only with any DuckDB client.</footer>
</div>
<script>{CHARTS_DRAWN_JS % ids}</script>
</body>
</html>
"""


def render_report(serving_path: Path) -> str:
    """The report's HTML, from the serving file opened read-only."""
    return render_html(load_report_data(serving_path), serving_path)


def write_report(serving_path: Path, out: Path) -> Path:
    """Write the report next to its final place, then move it there (never half-written)."""
    page = render_report(serving_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(out)
    return out
