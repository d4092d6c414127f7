"""Cohorts: retention of the customers acquired each month, month after month.

A heatmap of acquisition cohort x months since acquisition (customer retention
or revenue per original customer), the size of every cohort beside it and the
average retention curve weighted by cohort size.  Every figure comes from
:mod:`analytics.cohorts`: with no filter the descriptive report's tables, with
filters the same functions over the filtered customers' whole history.
"""
from __future__ import annotations

import dash
import pandas as pd
from dash import Output, html

from portal.dashboard.components.cards import graph, panel
from portal.dashboard.components.figures import message_figure
from portal.dashboard.components.page import open_view, page_callback, page_frame, page_option
from portal.dashboard.components.states import NO_MATCH
from portal.dashboard.components.cohorts_figures import (
    CURVE_HEIGHT,
    FEW_COHORTS,
    HEATMAP_HEIGHT,
    curve_figure,
    heatmap,
)
from portal.dashboard.components.help import help_points
from portal.dashboard.components.drill import drill_on
from portal.dashboard.drilldown import drill_link
from portal.dashboard.view import View
from portal.dashboard.filters import page_options
from portal.platform.tenancy import current_context

PAGE_ID = "cohorts"
PATH = "/cohorts"
OPTIONS = {"metric": ("customers", "revenue")}
#: Matrix value shown for each metric (a column of analytics.cohorts.cohort_table).
VALUES = {"customers": "retention", "revenue": "revenue_per_customer"}

dash.register_page(__name__, path=PATH, name="Cohorts", title="Cohorts · Customer analytics", order=30)

#: "How to read this": the points of cohorts.md beside this module.
HOW_TO = help_points(__file__, FEW_COHORTS=FEW_COHORTS)


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
        panel(title, html.Div([
            html.P("Swipe sideways for the later months.", className="d-md-none small text-secondary mb-1"),
            # a phone keeps the heatmap's width (readable cells) and scrolls it inside the card
            html.Div(graph("cohorts-heatmap", height=HEATMAP_HEIGHT), className="scroll-x", tabIndex="0",
                     role="region", **{"aria-label": "Cohort heatmap (scrolls sideways on narrow screens)"}),
        ]), actions=switch,
              subtitle="Rows: the month customers first ordered; columns: months since. Right: cohort sizes. "
                       "Click a cell or a size bar to see its customers.", panel_id="cohorts-heatmap-panel"),
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
    last_day = view.snapshot - pd.Timedelta(days=1)
    partial = pd.Timestamp(last_day.year, last_day.month, 1) if view.snapshot.day != 1 else None

    def link(cohort, period):
        marks = {"cohort": f"{pd.Timestamp(cohort):%Y-%m}"}
        if period is not None:
            marks["period"] = period
        return drill_link(view.filters, PATH, **marks)

    return (heatmap(table, view.retention_matrix(VALUES[metric]), metric, money=view.money, link=link,
                    partial_month=partial),
            curve_figure(view.retention_curve(), metric, view.money))


drill_on("cohorts-heatmap", key="cohort")


