"""The health report: one self-contained HTML page drawn from the serving file (read-only).

`healthmart report` writes it, and so does the end of `healthmart run`. Every number is
aggregated in SQL on the marts; plotly.js is embedded in the page, so it opens offline.
"""

from __future__ import annotations

import html
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs
from plotly.subplots import make_subplots

from healthmart.core.settings import PROJECT_ROOT

ENV_REPORT_PATH = "HEALTHMART_REPORT_PATH"
DEFAULT_REPORT_PATH = "reports/health_report.html"

CHART_IDS = ("chart-tiers", "chart-churn", "chart-scores", "chart-trend", "chart-drivers")


SCORE_BIN_WIDTH = 2.5

# The mart's colour names drawn in a palette that reads well on white.
CSS_COLOURS = {
    "green": "#2b9348",
    "yellow": "#e9b824",
    "orange": "#f3722c",
    "red": "#d62828",
    "grey": "#adb5bd",
}
DIMENSION_COLOURS = ("#4c6ef5", "#12b886", "#be4bdb", "#fab005", "#15aabf", "#868e96")
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"


def report_path(out: str | Path | None = None, environ: Mapping[str, str] | None = None) -> Path:
    """Where the report goes: explicit value, else HEALTHMART_REPORT_PATH, else the default.

    Resolved when called (never at import); relative paths are taken from the project root.
    """
    env = os.environ if environ is None else environ
    value = str(out) if out not in (None, "") else (env.get(ENV_REPORT_PATH) or DEFAULT_REPORT_PATH)
    path = Path(value).expanduser()
    return path if path.is_absolute() else PROJECT_ROOT / path


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class Tier:
    name: str
    colour: str  # CSS colour
    severity: int | None


@dataclass(frozen=True)
class Overview:
    as_of: date | None
    preset: str | None
    accounts: int
    customers: int
    mean_score: float | None
    low_confidence: int
    last_month: tuple[date, int, int, float] | None  # period start, churned, at start, rate


@dataclass(frozen=True)
class ReportData:
    overview: Overview
    tiers: list[Tier]
    tier_counts: pd.DataFrame
    churn_monthly: pd.DataFrame
    churn_backtest: pd.DataFrame
    score_bins: pd.DataFrame
    trend: pd.DataFrame
    drivers: pd.DataFrame
    actions: pd.DataFrame


def _frame(
    con: duckdb.DuckDBPyConnection, sql: str, params: Sequence | Mapping | None = None
) -> pd.DataFrame:
    """Run a query; a mart that does not exist (an older serving file) reads as no rows."""
    try:
        return con.execute(sql, params or []).df()
    except duckdb.CatalogException:
        return pd.DataFrame()


def load_overview(con: duckdb.DuckDBPyConnection) -> Overview:
    row = _frame(
        con,
        """
        select max(score_date) as as_of, mode(preset) as preset, count(*) as accounts,
               count(*) filter (where not is_churned) as customers,
               avg(health_score) filter (where not is_churned) as mean_score,
               count(*) filter (where not is_churned and low_confidence) as low_confidence
        from marts.fct_health_current
        """,
    )
    last = _frame(
        con,
        """
        select period_start, cast(churned as bigint) as churned, accounts_at_start, churn_rate
        from marts.fct_cohort_churn
        where period_type = 'month' and cohort_type = 'all'
        order by period_start desc
        limit 1
        """,
    )
    if row.empty:
        return Overview(None, None, 0, 0, None, 0, None)
    r = row.iloc[0]
    return Overview(
        as_of=None if pd.isna(r.as_of) else pd.Timestamp(r.as_of).date(),
        preset=None if pd.isna(r.preset) else str(r.preset),
        accounts=int(r.accounts),
        customers=int(r.customers),
        mean_score=None if pd.isna(r.mean_score) else float(r.mean_score),
        low_confidence=int(r.low_confidence),
        last_month=None
        if last.empty
        else (
            pd.Timestamp(last.period_start[0]).date(),
            int(last.churned[0]),
            int(last.accounts_at_start[0]),
            float(last.churn_rate[0]),
        ),
    )


def load_tiers(con: duckdb.DuckDBPyConnection) -> list[Tier]:
    """Every tier the marts use with its colour, best (healthy) first, unscored last."""
    rows = _frame(
        con,
        """
        select tier, any_value(colour) as colour, min(tier_severity) as severity
        from (
            select tier, colour, tier_severity from marts.fct_health_current
            union all
            select tier, colour, tier_severity from marts.fct_health_scores
        )
        where tier is not null
        group by tier
        order by severity nulls last, tier
        """,
    )
    return [
        Tier(
            name=str(r.tier),
            colour=css_colour(r.colour),
            severity=None if pd.isna(r.severity) else int(r.severity),
        )
        for r in rows.itertuples()
    ]


def load_tier_counts(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return _frame(
        con,
        """
        select tier, any_value(colour) as colour, min(tier_severity) as severity,
               count(*) as accounts, sum(arr) as arr, avg(health_score) as mean_score
        from marts.fct_health_current
        where not is_churned
        group by tier
        order by severity nulls last, tier
        """,
    )


def load_churn_monthly(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return _frame(
        con,
        """
        select cohort as tier, count(distinct period_start) as months,
               cast(sum(accounts_at_start) as bigint) as account_months,
               cast(sum(churned) as bigint) as churned,
               sum(churned) / nullif(sum(accounts_at_start), 0) as churn_rate,
               sum(arr_churned) / nullif(sum(arr_at_start), 0) as arr_churn_rate
        from marts.fct_cohort_churn
        where period_type = 'month' and cohort_type = 'tier'
        group by cohort
        """,
    )


def load_churn_backtest(con: duckdb.DuckDBPyConnection, preset: str | None) -> pd.DataFrame:
    return _frame(
        con,
        """
        select tier, horizon_days, accounts, scored_account_days,
               cast(churned_within_horizon as bigint) as churned, churn_rate_within_horizon
        from marts.fct_backtest_churn_by_tier
        where preset = ?
        """,
        [preset],
    )


def load_score_bins(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Current customers per tier and score bin (the histogram, binned in SQL)."""
    return _frame(
        con,
        """
        select tier, least(floor(health_score / $width), 100 / $width - 1) * $width as bin_start,
               count(*) as accounts
        from marts.fct_health_current
        where not is_churned and health_score is not null
        group by all
        order by bin_start
        """,
        {"width": SCORE_BIN_WIDTH},
    )


def load_trend(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Per week: the share of scored account-days in each tier and the mean score."""
    return _frame(
        con,
        """
        with daily as (
            select score_date, tier, count(*) as account_days,
                   sum(health_score) as score_sum, count(health_score) as scored
            from marts.fct_health_scores
            group by score_date, tier
        ),
        weekly as (
            select date_trunc('week', score_date) as week_start, tier,
                   sum(account_days) as account_days, sum(score_sum) as score_sum,
                   sum(scored) as scored
            from daily
            group by all
        )
        select week_start, tier, account_days,
               account_days / sum(account_days) over (partition by week_start) as share,
               sum(score_sum) over (partition by week_start)
                   / nullif(sum(scored) over (partition by week_start), 0) as mean_score
        from weekly
        order by week_start, tier
        """,
    )


def load_drivers(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Points lost per signal on the latest scoring date: sum of weight x (100 - score)."""
    return _frame(
        con,
        """
        select signal, any_value(dimension) as dimension, count(*) as accounts,
               sum(weight * (100 - signal_score)) as points_lost,
               avg(weight * (100 - signal_score)) as points_lost_per_account,
               avg(signal_score) as mean_signal_score
        from marts.fct_signal_scores
        where score_date = (select max(score_date) from marts.fct_signal_scores)
          and signal_score is not null and weight > 0
        group by signal
        order by points_lost desc
        """,
    )


def load_actions(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Current customers needing action on the latest scoring date (mart fct_account_actions),
    one row per account: its reasons, most urgent play first, then by value at risk."""
    return _frame(
        con,
        """
        with latest as (
            select max(score_date) as score_date
            from marts.fct_health_current
            where not is_churned
        ),
        actions as (
            select *
            from marts.fct_account_actions
            where score_date = (select score_date from latest)
        ),
        per_account as (
            select account_id,
                   string_agg(reason, '; ' order by action_rank) as reason,
                   arg_min(play, action_rank) as play,
                   min(priority) as priority,
                   min(next_renewal_date) as next_renewal_date
            from actions
            group by account_id
        )
        select c.account_id, c.account_name, p.reason, p.play, p.priority,
               c.health_score, c.tier, c.colour, c.delta_30d, c.arr,
               p.next_renewal_date, c.top_drivers, c.csm_owner, v.value_at_risk
        from per_account as p
        join marts.fct_health_current as c using (account_id)
        left join marts.fct_customer_value as v using (account_id)
        where not c.is_churned
        order by p.priority, v.value_at_risk desc nulls last, c.tier_severity desc nulls last,
                 c.health_score, c.account_id
        """,
    )


def load_report_data(serving_path: Path) -> ReportData:
    con = duckdb.connect(str(serving_path), read_only=True)
    try:
        overview = load_overview(con)
        return ReportData(
            overview=overview,
            tiers=load_tiers(con),
            tier_counts=load_tier_counts(con),
            churn_monthly=load_churn_monthly(con),
            churn_backtest=load_churn_backtest(con, overview.preset),
            score_bins=load_score_bins(con),
            trend=load_trend(con),
            drivers=load_drivers(con),
            actions=load_actions(con),
        )
    finally:
        con.close()


# --------------------------------------------------------------------------- charts


def css_colour(name: object) -> str:
    if not isinstance(name, str) or not name:
        return CSS_COLOURS["grey"]
    return CSS_COLOURS.get(name, name)


def tier_label(tier: str) -> str:
    return tier.replace("_", " ")


def _ordered(frame: pd.DataFrame, tiers: list[Tier], column: str = "tier") -> pd.DataFrame:
    """Rows in tier order (healthy first); tiers the palette does not know go last."""
    rank = {t.name: i for i, t in enumerate(tiers)}
    return frame.sort_values(column, key=lambda s: s.map(rank).fillna(len(rank)), kind="stable")


def _colour_of(tier: str, tiers: list[Tier]) -> str:
    return next((t.colour for t in tiers if t.name == tier), CSS_COLOURS["grey"])


def _style(fig: go.Figure, height: int) -> go.Figure:
    fig.update_layout(
        template="plotly_white",
        height=height,
        margin={"l": 56, "r": 24, "t": 36, "b": 48},
        font={"family": FONT, "size": 13, "color": "#343a40"},
        hoverlabel={"font": {"family": FONT}},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
        bargap=0.25,
    )
    return fig


def _whole_number_ticks(fig: go.Figure, top: float) -> None:
    """Counts get whole-number ticks (plotly would draw 0.2, 0.4, ... for small counts)."""
    if top < 10:
        fig.update_yaxes(tick0=0, dtick=1)


def no_data_figure(message: str = "No data") -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(
        text=message,
        showarrow=False,
        font={"size": 16, "color": "#868e96"},
        xref="paper",
        yref="paper",
        x=0.5,
        y=0.5,
    )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return _style(fig, 260)


def tiers_figure(counts: pd.DataFrame) -> go.Figure:
    if counts.empty:
        return no_data_figure("No current customers")
    total = int(counts.accounts.sum())
    share = counts.accounts / total
    fig = go.Figure(
        go.Bar(
            x=[tier_label(t) for t in counts.tier],
            y=counts.accounts,
            marker_color=[css_colour(c) for c in counts.colour],
            text=[f"{n:,} · {s:.0%}" for n, s in zip(counts.accounts, share, strict=True)],
            textposition="outside",
            cliponaxis=False,
            customdata=list(
                zip(share, counts.arr.fillna(0), counts.mean_score.fillna(0), strict=True)
            ),
            hovertemplate=(
                "<b>%{x}</b><br>%{y:,} customers (%{customdata[0]:.1%})"
                "<br>ARR %{customdata[1]:,.0f}<br>mean score %{customdata[2]:.1f}<extra></extra>"
            ),
        )
    )
    fig.update_yaxes(title="current customers", rangemode="tozero")
    _whole_number_ticks(fig, counts.accounts.max())
    return _style(fig, 340)


def _churn_bar(frame: pd.DataFrame, tiers: list[Tier], rate: str, counts: list[str]) -> go.Bar:
    return go.Bar(
        x=frame[rate],
        y=[tier_label(t) for t in frame.tier],
        orientation="h",
        marker_color=[_colour_of(t, tiers) for t in frame.tier],
        text=[
            f"<b>{r:.1%}</b>  {c}" if pd.notna(r) else f"–  {c}"
            for r, c in zip(frame[rate], counts, strict=True)
        ],
        textposition="outside",
        cliponaxis=False,
        showlegend=False,
        hovertemplate="%{y}<br>churn rate %{x:.2%}<extra></extra>",
    )


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


def _room_for_text(rates: pd.Series) -> list[float]:
    """An axis range whose longest bar leaves room for its label beside it."""
    top = rates.max()
    return [0.0, 2.4 * float(top) if pd.notna(top) and top > 0 else 1.0]


def churn_figure(monthly: pd.DataFrame, backtest: pd.DataFrame, tiers: list[Tier]) -> go.Figure:
    if monthly.empty and backtest.empty:
        return no_data_figure("No churn history yet")
    horizon = int(backtest.horizon_days.iloc[0]) if not backtest.empty else 90
    fig = make_subplots(
        rows=2,
        cols=1,
        vertical_spacing=0.2,
        subplot_titles=(
            "Monthly churn, by tier at the start of the month",
            f"Churned within {horizon} days after a score, by tier of that score",
        ),
    )
    if not monthly.empty:
        monthly = _ordered(monthly, tiers)
        counts = [
            f"{c:,} of {n:,} account-months"
            for c, n in zip(monthly.churned, monthly.account_months, strict=True)
        ]
        fig.add_trace(_churn_bar(monthly, tiers, "churn_rate", counts), row=1, col=1)
        fig.update_xaxes(range=_room_for_text(monthly.churn_rate), row=1, col=1)
    if not backtest.empty:
        backtest = _ordered(backtest, tiers)
        counts = [
            f"{_count(n, 'account')} · {_count(d, 'account-day')}"
            for n, d in zip(backtest.accounts, backtest.scored_account_days, strict=True)
        ]
        fig.add_trace(
            _churn_bar(backtest, tiers, "churn_rate_within_horizon", counts), row=2, col=1
        )
        fig.update_xaxes(range=_room_for_text(backtest.churn_rate_within_horizon), row=2, col=1)
    fig.update_xaxes(tickformat=".0%")
    fig.update_yaxes(autorange="reversed")
    fig.update_annotations(font_size=13, x=0, xanchor="left")
    _style(fig, 380)
    fig.update_layout(margin={"l": 80, "r": 24, "t": 36, "b": 32})
    return fig


def scores_figure(bins: pd.DataFrame, tiers: list[Tier]) -> go.Figure:
    if bins.empty:
        return no_data_figure("No scored customers")
    fig = go.Figure()
    for tier in _ordered(bins[["tier"]].drop_duplicates(), tiers).tier[::-1]:
        part = bins[bins.tier == tier]
        fig.add_trace(
            go.Bar(
                x=part.bin_start + SCORE_BIN_WIDTH / 2,
                y=part.accounts,
                width=SCORE_BIN_WIDTH,
                name=tier_label(tier),
                marker={"color": _colour_of(tier, tiers), "line": {"width": 0.5, "color": "#fff"}},
                customdata=list(zip(part.bin_start, part.bin_start + SCORE_BIN_WIDTH, strict=True)),
                hovertemplate=(
                    f"{tier_label(tier)}<br>score %{{customdata[0]:.1f}}–%{{customdata[1]:.1f}}"
                    "<br>%{y:,} customers<extra></extra>"
                ),
            )
        )
    fig.update_xaxes(title="health score", range=[0, 100], dtick=10)
    fig.update_yaxes(title="current customers")
    _whole_number_ticks(fig, bins.groupby("bin_start").accounts.sum().max())
    _style(fig, 340)
    fig.update_layout(barmode="stack", bargap=0, legend_traceorder="reversed")
    return fig


def trend_figure(trend: pd.DataFrame, tiers: list[Tier]) -> go.Figure:
    if trend.empty:
        return no_data_figure("No score history")
    mean = trend.groupby("week_start", as_index=False).mean_score.first()
    fig = make_subplots(
        rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08, row_heights=[0.4, 0.6]
    )
    fig.add_trace(
        go.Scatter(
            x=mean.week_start,
            y=mean.mean_score,
            name="mean score",
            mode="lines+markers",
            marker={"size": 4},
            line={"color": "#343a40", "width": 2},
            hovertemplate="mean score %{y:.1f}<extra></extra>",
        ),
        row=1,
        col=1,
    )
    # Worst tier at the bottom of the stack, healthy on top.
    for tier in [t.name for t in reversed(tiers) if t.name in set(trend.tier)]:
        part = trend[trend.tier == tier]
        fig.add_trace(
            go.Scatter(
                x=part.week_start,
                y=part.share,
                name=tier_label(tier),
                stackgroup="share",
                mode="lines",
                line={"width": 0.5, "color": _colour_of(tier, tiers)},
                fillcolor=_colour_of(tier, tiers),
                hovertemplate=f"{tier_label(tier)} %{{y:.1%}}<extra></extra>",
            ),
            row=2,
            col=1,
        )
    fig.update_yaxes(title="mean score", row=1, col=1)
    fig.update_yaxes(title="share of accounts", tickformat=".0%", range=[0, 1], row=2, col=1)
    _style(fig, 460)
    fig.update_layout(hovermode="x unified", legend_traceorder="reversed")
    return fig


def drivers_figure(drivers: pd.DataFrame) -> go.Figure:
    if drivers.empty:
        return no_data_figure("No signal scores")
    order = list(drivers.sort_values("points_lost").signal)
    fig = go.Figure()
    for i, (dimension, part) in enumerate(drivers.groupby("dimension", sort=True)):
        fig.add_trace(
            go.Bar(
                x=part.points_lost,
                y=part.signal,
                orientation="h",
                name=str(dimension).replace("_", " "),
                marker_color=DIMENSION_COLOURS[i % len(DIMENSION_COLOURS)],
                text=[f"{p:,.0f}" for p in part.points_lost],
                textposition="outside",
                cliponaxis=False,
                customdata=list(
                    zip(
                        part.points_lost_per_account,
                        part.mean_signal_score,
                        part.accounts,
                        strict=True,
                    )
                ),
                hovertemplate=(
                    "<b>%{y}</b><br>%{x:,.0f} points lost in all"
                    "<br>%{customdata[0]:.1f} per account (%{customdata[2]:,} accounts)"
                    "<br>mean signal score %{customdata[1]:.0f}<extra></extra>"
                ),
            )
        )
    fig.update_yaxes(categoryorder="array", categoryarray=order)
    fig.update_xaxes(title="points lost: Σ weight × (100 − signal score)")
    _style(fig, 40 + 26 * max(len(order), 4))
    fig.update_layout(barmode="stack", margin={"l": 120, "r": 48})
    return fig


# --------------------------------------------------------------------------- page


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


def _card(title: str, caption: str, body: str, wide: bool = False) -> str:
    cls = "card wide" if wide else "card"
    return (
        f'<section class="{cls}"><h2>{html.escape(title)}</h2>'
        f'<p class="caption">{html.escape(caption)}</p>{body}</section>'
    )


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
