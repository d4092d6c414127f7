"""Figures of the Products page: top products and return rates.

Built from analytics tables; the page module wires them to its callbacks."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analytics.products import MIN_UNITS_FOR_RETURN_RATE, return_rate_leaders, top_products

from .figures import OKABE_ITO, count, message_figure, money, themed


TOP_N = 10
TOP_HEIGHT = 420
HALF_HEIGHT = 360
#: by option -> (axis title, hover value format)
RANKINGS = {
    "revenue": ("Net revenue (£)", "£%{x:,.0f} net revenue"),
    "quantity": ("Units sold", "%{x:,} units sold"),
    "customers": ("Customers who bought it", "%{x:,} customers"),
}


def _label(table: pd.DataFrame, width: int = 34) -> list[str]:
    names = table["description"].astype(object).where(table["description"].notna(), "(no description)")
    return [f"{str(name)[:width]}{'…' if len(str(name)) > width else ''} · {code}"
            for code, name in zip(table.index, names)]


def top_figure(summary: pd.DataFrame, by: str) -> go.Figure:
    """Horizontal bars (trace "top"; ``customdata[:, 0]`` = stock codes), best at the top."""
    table = top_products(summary, by=by, n=TOP_N).iloc[::-1]
    axis, value = RANKINGS[by]
    descriptions = table["description"].astype(object).where(table["description"].notna(), "(no description)")
    customdata = np.column_stack([table.index.to_numpy(dtype=object), descriptions.to_numpy(),
                                  table["revenue"], table["quantity"], table["customers"], table["orders"]])
    figure = go.Figure(go.Bar(
        x=table[by], y=_label(table), orientation="h", name="top", marker_color=OKABE_ITO[0],
        customdata=customdata,
        hovertemplate=("<b>%{customdata[1]}</b> (%{customdata[0]})<br>" + value
                       + "<br>Net revenue £%{customdata[2]:,.0f} · %{customdata[3]:,} units · "
                         "%{customdata[4]:,} customers · %{customdata[5]:,} orders<extra></extra>"),
    ))
    figure.update_layout(xaxis={"title": axis, "tickprefix": "£" if by == "revenue" else ""},
                         yaxis={"automargin": True, "type": "category"}, margin={"l": 10, "t": 10})
    return themed(figure, height=TOP_HEIGHT)


def returns_figure(summary: pd.DataFrame, values: pd.Series) -> tuple[go.Figure, str]:
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
        x=table["return_rate"], y=_label(table, 28), orientation="h", name="returns", marker_color=OKABE_ITO[5],
        customdata=customdata, text=[money(v) for v in value], textposition="outside", cliponaxis=False,
        hovertemplate=("<b>%{customdata[1]}</b> (%{customdata[0]})<br>Return rate %{x:.1%}: "
                       "%{customdata[2]:,} of %{customdata[3]:,} units returned<br>"
                       "Returned value £%{customdata[4]:,.2f}<extra></extra>"),
    ))
    top = float(table["return_rate"].max())
    figure.update_layout(xaxis={"title": "Return rate (units returned / sold)", "tickformat": ".0%",
                                "range": [0, top * 1.25 if top > 0 else 1]},
                         yaxis={"automargin": True, "type": "category"}, margin={"l": 10, "r": 20, "t": 10})
    return themed(figure, height=HALF_HEIGHT), note
