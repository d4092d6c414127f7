"""Figures of the Cohorts page: the retention heatmap and the average retention curve.

Built from analytics tables; the page module wires them to its callbacks."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from analytics.cohorts import retention_matrix

from collections.abc import Callable

from ..money import GBP, MoneyFormat
from .drill import CLICK_HINT
from .figures import SEQUENTIAL, message_figure, themed
from .palette import MEASURE, MISSING, MUTED_TEXT
from .states import NO_MATCH


HEATMAP_HEIGHT = 600
CURVE_HEIGHT = 340
#: Cells get their value written in them up to this many periods (columns) and cohorts (rows).
MAX_ANNOTATED_PERIODS = 26
MAX_ANNOTATED_COHORTS = 30
#: Points of the average curve resting on fewer cohorts are drawn hollow.
FEW_COHORTS = 3
MISSING_GREY = MISSING


def heatmap(table: pd.DataFrame, matrix: pd.DataFrame, metric: str, *, money: MoneyFormat = GBP,
            link: Callable[[pd.Timestamp, int | None], str] | None = None,
            partial_month: pd.Timestamp | None = None) -> go.Figure:
    """Cohort x period heatmap (trace "cohorts"), grey not-yet-reached cells, cohort-size bars.

    ``link(cohort, period)`` gives the customers behind a cell (period None: the cohort);
    cells of ``partial_month`` (the month the data ends in, when it ends before the month
    does) are marked with "*" and a note."""
    labels = [f"{c:%b %Y}" for c in matrix.index]
    periods = [int(p) for p in matrix.columns]
    values = matrix.to_numpy(dtype=float)
    extra = np.stack([retention_matrix(table, column).reindex(index=matrix.index, columns=matrix.columns)
                      .to_numpy(dtype=float) for column in ("cohort_size", "active_customers", "revenue")], axis=-1)
    months = np.array([[pd.Timestamp(c) + pd.DateOffset(months=int(p)) for p in matrix.columns]
                       for c in matrix.index]) if len(matrix) else np.empty((0, 0))
    partial = (months == partial_month) if partial_month is not None and months.size else np.zeros(values.shape, bool)
    links = np.array([[link(c, int(p)) if link else "" for p in matrix.columns] for c in matrix.index], dtype=object)
    notes = np.where(partial, " (partial month)", "")
    extra = np.concatenate([extra.astype(object), notes[..., None], links[..., None]], axis=-1) if values.size else extra
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
    common = "Cohort %{y} · month %{x}%{customdata[3]}<br>"
    counts = "Active customers: %{customdata[1]:,.0f} of %{customdata[0]:,.0f}<br>"
    if metric == "customers":
        hover = (common + "Retention: %{z:.1%}<br>" + counts + "Net revenue: " + money.hover("customdata[2]")
                 + CLICK_HINT + "<extra></extra>")
        colorbar = {"title": {"text": "Retention"}, "tickformat": ".0%"}
    else:
        hover = (common + "Revenue per original customer: " + money.hover("z", 2) + "<br>Net revenue: "
                 + money.hover("customdata[2]") + "<br>" + counts.replace("<br>", "") + CLICK_HINT + "<extra></extra>")
        colorbar = {"title": {"text": money.label("Per customer")}, **money.axis()}
    readable = len(periods) <= MAX_ANNOTATED_PERIODS and len(labels) <= MAX_ANNOTATED_COHORTS
    text = [[_cell_text(v, metric, money) + ("*" if p and np.isfinite(v) else "") for v, p in zip(row, flags)]
            for row, flags in zip(values, partial)] if readable else None
    figure.add_trace(go.Heatmap(
        z=values, x=periods, y=labels, customdata=extra, name="cohorts", colorscale=SEQUENTIAL,
        zmin=low, zmax=top, hoverongaps=False, xgap=1, ygap=1, hovertemplate=hover,
        text=text, texttemplate="%{text}" if readable else None, textfont={"size": 10 if metric == "customers" else 9},
        colorbar={**colorbar, "thickness": 12, "x": 1.01, "len": 0.9},
    ), row=1, col=1)
    figure.add_trace(go.Bar(
        x=sizes.to_numpy(), y=labels, orientation="h", name="Cohort size", marker_color=MEASURE,
        customdata=[link(c, None) if link else "" for c in matrix.index],
        hovertemplate="Cohort %{y}: %{x:,} customers acquired" + (CLICK_HINT if link else "") + "<extra></extra>",
        showlegend=False,
    ), row=1, col=2)
    if partial.any():
        figure.add_annotation(text=f"* partial month: the data ends before the end of {partial_month:%B %Y}",
                              xref="paper", yref="paper", x=0, y=-0.08, yanchor="top", xanchor="left",
                              showarrow=False, font={"size": 11, "color": MUTED_TEXT})
    figure.update_yaxes(autorange="reversed", type="category", title_text="Acquisition month (cohort)",
                        row=1, col=1)
    figure.update_xaxes(title_text="Months since acquisition", dtick=1, showgrid=False, row=1, col=1)
    figure.update_xaxes(title_text="Customers", showgrid=True, nticks=3, row=1, col=2)
    figure.update_layout(margin={"l": 110, "r": 70, "t": 20, "b": 80}, plot_bgcolor="white")
    return themed(figure, height=HEATMAP_HEIGHT)


def _cell_text(value: float, metric: str, money: MoneyFormat = GBP) -> str:
    """A label for a heatmap cell: "24%", "£268", "£1,134"; empty where not observed."""
    if not np.isfinite(value):
        return ""
    if metric == "customers":
        return f"{value:.0%}"
    return money(value, 0)  # in full: no "k" (a manager compares digits)


def curve_figure(curve: pd.DataFrame, metric: str, money: MoneyFormat = GBP) -> go.Figure:
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
        y, hover, axis = curve["revenue_per_customer"], base + money.hover("y", 2) + " per original customer" + behind, {
            "title": money.label("Net revenue per original customer"), **money.axis(), "rangemode": "tozero"}
    figure = go.Figure(go.Scatter(
        x=curve["period"], y=y, name="average", mode="lines+markers", line={"color": MEASURE},
        marker={"size": 8, "symbol": np.where(few, "circle-open", "circle"), "color": MEASURE},
        customdata=np.column_stack([curve["cohorts"], curve["customers"]]), hovertemplate=hover,
    ))
    figure.update_layout(xaxis={"title": "Months since acquisition", "dtick": 1,
                                "range": [-0.5, float(curve["period"].max()) + 0.5]},
                         yaxis=axis, showlegend=False)
    return themed(figure, height=CURVE_HEIGHT)
