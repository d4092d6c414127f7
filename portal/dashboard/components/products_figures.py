"""Figures of the Products page: top products and return rates.

Built from analytics tables; the page module wires them to its callbacks."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analytics.products import MIN_UNITS_FOR_RETURN_RATE, return_rate_leaders, top_products

from collections.abc import Callable

from ..money import GBP, MoneyFormat
from .drill import CLICK_HINT
from .figures import count, message_figure, themed
from .overview_figures import wrap_label
from .palette import MEASURE, RETURNS


TOP_N = 10
TOP_HEIGHT = 420
HALF_HEIGHT = 360
#: by option -> (axis title, hover value format)
RANKINGS = {
    "revenue": ("Net revenue (¤)", "¤%{x:,.0f} net revenue"),  # ¤: the tenant's currency symbol
    "quantity": ("Units sold", "%{x:,} units sold"),
    "customers": ("Customers who bought it", "%{x:,} customers"),
}


def _label(table: pd.DataFrame, width: int = 30) -> list[str]:
    """Product names in full, wrapped on two lines where long (never cut to a prefix)."""
    names = table["description"].astype(object).where(table["description"].notna(), "(no description)")
    return [wrap_label(f"{name} · {code}", width) for code, name in zip(table.index, names)]


def top_figure(summary: pd.DataFrame, by: str, money: MoneyFormat = GBP,
               link: Callable[[str], str] | None = None) -> go.Figure:
    """Horizontal bars (trace "top"; ``customdata[:, 0]`` = stock codes), best at the top, each
    with its value written on it; ``link(code)``: the product's customers (a click opens them)."""
    table = top_products(summary, by=by, n=TOP_N).iloc[::-1]
    axis, value = (text.replace("¤", money.symbol) for text in RANKINGS[by])
    descriptions = table["description"].astype(object).where(table["description"].notna(), "(no description)")
    customdata = np.column_stack([table.index.to_numpy(dtype=object), descriptions.to_numpy(),
                                  table["revenue"], table["quantity"], table["customers"], table["orders"],
                                  [link(code) if link else "" for code in table.index]])
    text = [money(v, 0) if by == "revenue" else f"{v:,.0f}" for v in table[by]]
    figure = go.Figure(go.Bar(
        x=table[by], y=_label(table), orientation="h", name="top", marker_color=MEASURE,
        customdata=customdata, text=text, textposition="auto", insidetextanchor="end",
        hovertemplate=("<b>%{customdata[1]}</b> (%{customdata[0]})<br>" + value
                       + "<br>Net revenue " + money.hover("customdata[2]") + " · %{customdata[3]:,} units · "
                         "%{customdata[4]:,} customers · %{customdata[5]:,} orders"
                       + (CLICK_HINT if link else "") + "<extra></extra>"),
    ))
    xaxis = money.axis(title=axis) if by == "revenue" else {"title": axis, "tickformat": ",d"}
    figure.update_layout(xaxis={**xaxis, "rangemode": "tozero"},
                         yaxis={"automargin": True, "type": "category"}, margin={"l": 10, "t": 10})
    return themed(figure, height=TOP_HEIGHT)


def returns_figure(summary: pd.DataFrame, values: pd.Series, money: MoneyFormat = GBP) -> tuple[go.Figure, str]:
    """Highest return rates (trace "returns"; ``customdata[:, 0]`` = stock codes) and returned value."""
    total = float(values.sum())
    note = (f"Returned goods overall: {money(total)} over {count(len(values))} products "
            f"({count(summary['returned_quantity'].sum())} units)." if len(values) else "No returns in the selection.")
    leaders = return_rate_leaders(summary, n=TOP_N)
    if leaders.empty:
        return message_figure(f"No product with at least {MIN_UNITS_FOR_RETURN_RATE} units sold was returned.",
                              height=HALF_HEIGHT), note
    table = leaders.iloc[::-1]
    value = values.reindex(table.index).fillna(0.0)
    descriptions = table["description"].astype(object).where(table["description"].notna(), "(no description)")
    customdata = np.column_stack([table.index.to_numpy(dtype=object), descriptions.to_numpy(),
                                  table["returned_quantity"], table["quantity"], value.to_numpy()])
    figure = go.Figure(go.Bar(
        x=table["return_rate"], y=_label(table, 28), orientation="h", name="returns", marker_color=RETURNS,
        customdata=customdata, text=[money(v) for v in value], textposition="outside", cliponaxis=False,
        hovertemplate=("<b>%{customdata[1]}</b> (%{customdata[0]})<br>Return rate %{x:.1%}: "
                       "%{customdata[2]:,} of %{customdata[3]:,} units returned<br>"
                       "Returned value " + money.hover("customdata[4]", 2) + "<extra></extra>"),
    ))
    top = float(table["return_rate"].max())
    figure.update_layout(xaxis={"title": "Return rate (units returned / sold)", "tickformat": ".0%",
                                "range": [0, top * 1.25 if top > 0 else 1]},
                         yaxis={"automargin": True, "type": "category"}, margin={"l": 10, "r": 20, "t": 10})
    return themed(figure, height=HALF_HEIGHT), note
