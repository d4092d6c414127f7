"""Cohorts: retention of the customers acquired each month, month after month.

A heatmap of acquisition cohort x months since acquisition (customer retention
or revenue per original customer), the size of every cohort beside it and the
average retention curve weighted by cohort size.  Every figure comes from
:mod:`analytics.cohorts`: with no filter the descriptive report's tables, with
filters the same functions over the filtered customers' whole history.
"""
from __future__ import annotations

import dash
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from dash import Output, html
from plotly.subplots import make_subplots

from analytics.cohorts import retention_matrix
from portal.dashboard.components.cards import graph, panel
from portal.dashboard.components.figures import OKABE_ITO, SEQUENTIAL, message_figure, themed
from portal.dashboard.components.page import open_view, page_callback, page_frame, page_option
from portal.dashboard.components.states import NO_MATCH
from portal.dashboard.view import View
from portal.dashboard.filters import page_options
from portal.platform.tenancy import current_context

PAGE_ID = "cohorts"
PATH = "/cohorts"
OPTIONS = {"metric": ("customers", "revenue")}
#: Matrix value shown for each metric (a column of analytics.cohorts.cohort_table).
VALUES = {"customers": "retention", "revenue": "revenue_per_customer"}
HEATMAP_HEIGHT = 600
CURVE_HEIGHT = 340
#: Cells get their value written in them up to this many periods (columns) and cohorts (rows).
MAX_ANNOTATED_PERIODS = 26
MAX_ANNOTATED_COHORTS = 30
#: Points of the average curve resting on fewer cohorts are drawn hollow.
FEW_COHORTS = 3
MISSING_GREY = "#e9ecef"

dash.register_page(__name__, path=PATH, name="Cohorts", title="Cohorts · Customer analytics", order=30)

HOW_TO = [
    ("**Cohort**: the customers whose first order ever was in that calendar month (the acquisition month). "
     "**Month n** = n calendar months after it (month 0 = the acquisition month itself)."),
    ("**Customer retention** of a cell = cohort members with at least one order in that month / the cohort's "
     "original size, in %. Month 0 is 100 % by definition."),
    ("**Revenue per customer** (the *Revenue* switch) = the cohort's net revenue (sales minus returns) in that "
     "month / its ORIGINAL size, in £: it falls both when customers leave and when they spend less."),
    ("**Colours** (Cividis: dark = low, yellow = high) run from 0 to the highest value AFTER month 0, so the "
     "months that matter are told apart; month-0 cells show the top colour. **Grey cells** are months a cohort "
     "has not reached yet at the snapshot date: not observed, not 0 %. The last month of every cohort may be "
     "partial (it ends at the snapshot)."),
    ("**Average curve**: each month's retention over the cohorts that have reached it, weighted by cohort size "
     f"(= their active customers / their total size). Hollow points rest on fewer than {FEW_COHORTS} cohorts."),
    ("**Filters**: countries and customer attributes keep those customers, and their cohort is their first order "
     "ever within that scope (a country's cohort is the first order from that country). A **date filter keeps "
     "the cohorts ACQUIRED in it**: every calendar month the window touches, each cohort followed to the snapshot."),
    ("**The first month of the data** also holds every customer who was already buying before the data starts "
     "(their first order in the data is not their first ever): it is larger and retains better than a true cohort."),
]


def layout(**query):
    view = open_view(current_context(), query)
    return page_frame(view, title="Cohorts", page_id=PAGE_ID, path=PATH, how_to=HOW_TO, body=_body,
                      options=OPTIONS)


def _body(view: View) -> html.Div:
    metric = page_options(view.query, OPTIONS)["metric"]
    switch = page_option("metric", metric, (("customers", "Customer retention"), ("revenue", "Revenue per customer")),
                         label="Show")
    title = "Customer retention by acquisition cohort" if metric == "customers" else \
        "Revenue per original customer by acquisition cohort"
    return html.Div([
        html.Div(window_note(view), id="cohorts-window", className="text-secondary small mb-2"),
        panel(title, graph("cohorts-heatmap", height=HEATMAP_HEIGHT), actions=switch,
              subtitle="Rows: the month customers first ordered; columns: months since. Right: cohort sizes."),
        panel("Average retention curve" if metric == "customers" else "Average revenue per customer by month",
              graph("cohorts-curve", height=CURVE_HEIGHT),
              subtitle="Weighted by cohort size, over the cohorts old enough to have reached each month."),
    ])


def window_note(view: View) -> str:
    """Which cohorts the page shows (the date filter keeps the cohorts acquired in it)."""
    start, end = view.filters.start, view.filters.end
    if not (start or end):
        return "All acquisition cohorts, each followed to the snapshot."
    first = f"{start:%b %Y}" if start else "the first cohort"
    last = f"{end:%b %Y}" if end else "the latest cohort"
    return (f"Date filter {start or 'start'} to {end or 'end'}: cohorts ACQUIRED from {first} to {last} "
            "(every month the window touches), each followed over its whole history to the snapshot.")


def cohort_data(view: View) -> pd.DataFrame:
    """The long cohort table for this view (analytics.cohorts.cohort_table)."""
    return view.cohort_table()


@page_callback(PAGE_ID, Output("cohorts-heatmap", "figure"), Output("cohorts-curve", "figure"))
def update_cohorts(view: View):
    metric = page_options(view.query, OPTIONS)["metric"]
    table = cohort_data(view)
    if table.empty:
        return message_figure(NO_MATCH, height=HEATMAP_HEIGHT), message_figure(NO_MATCH, height=CURVE_HEIGHT)
    return heatmap(table, view.retention_matrix(VALUES[metric]), metric), curve_figure(view.retention_curve(), metric)


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
