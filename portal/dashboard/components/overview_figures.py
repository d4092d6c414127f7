"""Figures of the Overview page: the monthly trend and the top-10 bars.

Built from analytics tables; the page module wires them to its callbacks.  Money is
written in the tenant's currency (``money``), partial months are hatched and
labelled, the orders axis starts at 0, and each bar opens the customers behind it.
"""
from __future__ import annotations

import textwrap

import pandas as pd
import plotly.graph_objects as go

from ..money import GBP, MoneyFormat
from .drill import CLICK_HINT
from .figures import message_figure, themed
from .palette import GUESTS, INK, MEASURE, NEW, PARTIAL_LABEL, PARTIAL_OPACITY, REFERENCE, rgba
from .states import NO_MATCH

#: Trend series: column -> (legend name, colour).
TREND_SERIES = {"revenue_returning": ("Returning customers", MEASURE), "revenue_new": ("New customers", NEW),
                "revenue_guests": ("Guests (no customer id)", GUESTS)}


def partial_months(months: pd.Series, first_day: pd.Timestamp | None, snapshot: pd.Timestamp) -> list[pd.Timestamp]:
    """Months the data covers only in part: the first (data starting after its 1st) and the
    last (the snapshot falling before the next month's 1st)."""
    partial = []
    last_day = snapshot - pd.Timedelta(days=1)
    if len(months) and last_day + pd.Timedelta(days=1) != (last_day + pd.offsets.MonthBegin(1)):
        partial.append(pd.Timestamp(last_day.year, last_day.month, 1))
    if len(months) and first_day is not None and first_day.day != 1:
        partial.append(pd.Timestamp(first_day.year, first_day.month, 1))
    return [m for m in partial if (months == m).any()]


def trend_figure(monthly: pd.DataFrame, *, partial: list[pd.Timestamp], money: MoneyFormat = GBP,
                 guests: bool = True, window: tuple[pd.Timestamp, pd.Timestamp] | None = None) -> go.Figure:
    """Stacked net revenue by customer type (bars) and orders (line, right axis from 0)."""
    if monthly.empty:
        return message_figure(NO_MATCH)
    figure = go.Figure()
    is_partial = monthly["month"].isin(partial).to_numpy()
    for column, (name, colour) in TREND_SERIES.items():
        if column == "revenue_guests" and not guests:
            continue
        figure.add_bar(x=monthly["month"], y=monthly[column], name=name, marker_color=colour,
                       marker_opacity=[PARTIAL_OPACITY if p else 1.0 for p in is_partial],
                       hovertemplate="%{x|%b %Y}: " + money.hover("y") + "<extra>" + name + "</extra>")
    figure.add_scatter(x=monthly["month"], y=monthly["orders"], name="Orders", yaxis="y2", mode="lines+markers",
                       line={"color": INK, "width": 1.5}, marker={"size": 5},
                       hovertemplate="%{x|%b %Y}: %{y:,} orders<extra></extra>")
    for month in partial:
        figure.add_annotation(x=month, y=1.0, yref="paper", text=PARTIAL_LABEL, showarrow=False, yanchor="bottom",
                              font={"size": 10, "color": REFERENCE})
    if window is not None:
        figure.add_vrect(x0=window[0] - pd.Timedelta(days=15), x1=window[1] - pd.Timedelta(days=15),
                         fillcolor=rgba(REFERENCE, 0.12), line_width=0, layer="below")
    figure.update_layout(
        barmode="relative", margin={"l": 70, "r": 60, "t": 24, "b": 40},
        yaxis=money.axis(title=money.label("Net revenue"), automargin=True),
        yaxis2={"title": "Orders", "overlaying": "y", "side": "right", "showgrid": False, "rangemode": "tozero",
                "tickformat": ",", "tickmode": "auto", "nticks": 6, "automargin": True},
        xaxis={"tickformat": "%b %Y", "nticks": 8, "automargin": True},
        legend={"orientation": "h", "y": -0.15, "x": 0},
    )
    return themed(figure, height=340)


def wrap_label(text: str, width: int = 28) -> str:
    """A long name on up to two lines (never cut: the full name is in the hover too)."""
    lines = textwrap.wrap(str(text), width) or [str(text)]
    return "<br>".join(lines[:2]) + ("…" if len(lines) > 2 else "")


def bar_figure(table: pd.DataFrame, value: str, labels: list[str], *, money: MoneyFormat = GBP,
               links: list[str] | None = None, names: list[str] | None = None) -> go.Figure:
    """Horizontal money bars, largest on top, each labelled with its amount; ``links``: the
    customers behind each bar (a click opens them)."""
    if table.empty:
        return message_figure(NO_MATCH, height=340)
    order = slice(None, None, -1)
    values = table[value].to_numpy()[order]
    shown = [wrap_label(label) for label in labels][order]
    full = (names or labels)[order]
    custom = [[name, link] for name, link in zip(full, (links or [""] * len(full))[order])]
    figure = go.Figure(go.Bar(
        x=values, y=shown, orientation="h", marker_color=MEASURE, customdata=custom,
        text=[money(v, 0) for v in values], textposition="auto", insidetextanchor="end",
        hovertemplate="%{customdata[0]}: " + money.hover("x") + (CLICK_HINT if links else "") + "<extra></extra>"))
    figure.update_layout(margin={"l": 10, "r": 20, "t": 10, "b": 45}, yaxis={"automargin": True},
                         xaxis=money.axis(title=money.label("Net revenue"), rangemode="tozero", nticks=4,
                                          automargin=True))
    return themed(figure, height=340)
