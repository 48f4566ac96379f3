"""The health report's charts (plotly figures)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from healthmart.defs.report.data import SCORE_BIN_WIDTH, Tier
from healthmart.defs.report.style import CSS_COLOURS, DIMENSION_COLOURS, FONT, css_colour


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
