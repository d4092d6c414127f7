"""Figures of the Cohorts page: the retention heatmap and the average retention curve.

Built from analytics tables; the page module wires them to its callbacks."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from analytics.cohorts import retention_matrix

from .figures import OKABE_ITO, SEQUENTIAL, message_figure, themed
from .states import NO_MATCH


HEATMAP_HEIGHT = 600
CURVE_HEIGHT = 340
#: Cells get their value written in them up to this many periods (columns) and cohorts (rows).
MAX_ANNOTATED_PERIODS = 26
MAX_ANNOTATED_COHORTS = 30
#: Points of the average curve resting on fewer cohorts are drawn hollow.
FEW_COHORTS = 3
MISSING_GREY = "#e9ecef"


def heatmap(table: pd.DataFrame, matrix: pd.DataFrame, metric: str) -> go.Figure:
    """Cohort x period heatmap (trace "cohorts"), grey not-yet-reached cells, cohort-size bars."""
    labels = [f"{c:%b %Y}" for c in matrix.index]
    periods = [int(p) for p in matrix.columns]
    values = matrix.to_numpy(dtype=float)
    extra = np.stack([retention_matrix(table, column).reindex(index=matrix.index, columns=matrix.columns)
                      .to_numpy(dtype=float) for column in ("cohort_size", "active_customers", "revenue")], axis=-1)
    sizes = table.loc[table["period"] == 0].set_index("cohort")["cohort_size"].reindex(matrix.index)

    later = values[:, 1:] if values.shape[1] > 1 else values
    top = np.nanmax(later) if np.isfinite(later).any() else np.nanmax(values)
    low = min(0.0, float(np.nanmin(values)))
    if not np.isfinite(top) or top <= low:
        top = low + 1.0

    figure = make_subplots(rows=1, cols=2, shared_yaxes=True, column_widths=[0.86, 0.14], horizontal_spacing=0.015)
    missing = np.where(np.isnan(values), 1.0, np.nan)
    figure.add_trace(go.Heatmap(
        z=missing, x=periods, y=labels, name="not reached yet", colorscale=[[0, MISSING_GREY], [1, MISSING_GREY]],
        showscale=False, hoverongaps=False, xgap=1, ygap=1,
        hovertemplate="Cohort %{y}, month %{x}: not reached yet at the snapshot<extra></extra>",
    ), row=1, col=1)
    common = "Cohort %{y} · month %{x}<br>"
    counts = "Active customers: %{customdata[1]:,.0f} of %{customdata[0]:,.0f}<br>"
    if metric == "customers":
        hover = common + "Retention: %{z:.1%}<br>" + counts + "Net revenue: £%{customdata[2]:,.0f}<extra></extra>"
        colorbar = {"title": {"text": "Retention"}, "tickformat": ".0%"}
    else:
        hover = (common + "Revenue per original customer: £%{z:,.2f}<br>Net revenue: £%{customdata[2]:,.0f}<br>"
                 + counts.replace("<br>", "") + "<extra></extra>")
        colorbar = {"title": {"text": "£ per customer"}, "tickprefix": "£"}
    readable = len(periods) <= MAX_ANNOTATED_PERIODS and len(labels) <= MAX_ANNOTATED_COHORTS
    text = [[_cell_text(v, metric) for v in row] for row in values] if readable else None
    figure.add_trace(go.Heatmap(
        z=values, x=periods, y=labels, customdata=extra, name="cohorts", colorscale=SEQUENTIAL,
        zmin=low, zmax=top, hoverongaps=False, xgap=1, ygap=1, hovertemplate=hover,
        text=text, texttemplate="%{text}" if readable else None, textfont={"size": 10 if metric == "customers" else 9},
        colorbar={**colorbar, "thickness": 12, "x": 1.01, "len": 0.9},
    ), row=1, col=1)
    figure.add_trace(go.Bar(
        x=sizes.to_numpy(), y=labels, orientation="h", name="Cohort size", marker_color=OKABE_ITO[0],
        hovertemplate="Cohort %{y}: %{x:,} customers acquired<extra></extra>", showlegend=False,
    ), row=1, col=2)
    figure.update_yaxes(autorange="reversed", type="category", title_text="Acquisition month (cohort)",
                        row=1, col=1)
    figure.update_xaxes(title_text="Months since acquisition", dtick=1, showgrid=False, row=1, col=1)
    figure.update_xaxes(title_text="Customers", showgrid=True, nticks=3, row=1, col=2)
    figure.update_layout(margin={"l": 110, "r": 70, "t": 20, "b": 50}, plot_bgcolor="white")
    return themed(figure, height=HEATMAP_HEIGHT)


def _cell_text(value: float, metric: str) -> str:
    """A short label for a heatmap cell: "24%", "£268", "£1.1k"; empty where not observed."""
    if not np.isfinite(value):
        return ""
    if metric == "customers":
        return f"{value:.0%}"
    sign = "−" if value < 0 else ""
    value = abs(value)
    return f"{sign}£{value:.0f}" if value < 999.5 else f"{sign}£{value / 1000:.1f}k"


def curve_figure(curve: pd.DataFrame, metric: str) -> go.Figure:
    """The weighted average curve (trace "average"); hollow points rest on few cohorts."""
    if curve.empty:
        return message_figure(NO_MATCH, height=CURVE_HEIGHT)
    few = curve["cohorts"].to_numpy() < FEW_COHORTS
    base = "Month %{x}: "
    behind = "<br>%{customdata[1]:,} customers in %{customdata[0]} cohorts<extra></extra>"
    if metric == "customers":
        y, hover, axis = curve["retention"], base + "%{y:.1%} still ordering" + behind, {
            "title": "Customers ordering (% of cohort)", "tickformat": ".0%", "rangemode": "tozero"}
    else:
        y, hover, axis = curve["revenue_per_customer"], base + "£%{y:,.2f} per original customer" + behind, {
            "title": "Net revenue per original customer (£)", "tickprefix": "£", "rangemode": "tozero"}
    figure = go.Figure(go.Scatter(
        x=curve["period"], y=y, name="average", mode="lines+markers", line={"color": OKABE_ITO[0]},
        marker={"size": 8, "symbol": np.where(few, "circle-open", "circle"), "color": OKABE_ITO[0]},
        customdata=np.column_stack([curve["cohorts"], curve["customers"]]), hovertemplate=hover,
    ))
    figure.update_layout(xaxis={"title": "Months since acquisition", "dtick": 1,
                                "range": [-0.5, float(curve["period"].max()) + 0.5]},
                         yaxis=axis, showlegend=False)
    return themed(figure, height=CURVE_HEIGHT)
