"""The digest's figures (Plotly objects; turned into PNG by :mod:`portal.digests.render`
in the worker).  Data come from the same results and analytics functions the pages
use; nothing is recomputed here."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from analytics.trends import monthly_summary
from portal.dashboard.components.figures import themed
from portal.dashboard.components.palette import GUESTS, MEASURE, NEW
from portal.dashboard.view import View

WIDTH, HEIGHT = 640, 300


def monthly_revenue(view: View) -> go.Figure | None:
    """Net revenue per month, new vs returning customers (as on the Overview)."""
    monthly = monthly_summary(view.scoped_lines, view.snapshot) if view.has_scope else view.report.monthly
    if view.filters.start or view.filters.end:
        start, end = view.window
        monthly = monthly[(monthly["month"] >= start.replace(day=1)) & (monthly["month"] < end)]
    if monthly.empty:
        return None
    monthly = monthly.tail(12)
    figure = go.Figure()
    for column, name, colour in (("revenue_returning", "Returning customers", MEASURE),
                                 ("revenue_new", "New customers", NEW),
                                 ("revenue_guests", "Guests", GUESTS)):
        figure.add_bar(x=monthly["month"], y=monthly[column], name=name, marker_color=colour)
    figure.update_layout(barmode="relative", yaxis=view.money.axis(title=view.money.label("Net revenue"),
                                                                    rangemode="tozero"),
                         xaxis={"title": "Month", "tickformat": "%b %Y", "dtick": "M1"}, width=WIDTH,
                         legend={"orientation": "h", "y": -0.3}, margin={"l": 70, "r": 20, "t": 40, "b": 80})
    return themed(figure, height=HEIGHT, title="Monthly net revenue (last 12 months of the view)")


def top_customers(frame: pd.DataFrame, value_field: str, value_header: str) -> go.Figure | None:
    """Horizontal bars of the top customers' main value."""
    if frame.empty or value_field not in frame or not pd.api.types.is_numeric_dtype(frame[value_field]):
        return None
    table = frame.iloc[::-1]
    figure = go.Figure(go.Bar(x=table[value_field], y=table["customer_id"].astype(str), orientation="h",
                              marker_color=MEASURE))
    figure.update_layout(width=WIDTH, xaxis={"title": value_header, "rangemode": "tozero"},
                         yaxis={"title": "Customer", "type": "category", "automargin": True},
                         margin={"l": 90, "r": 20, "t": 40, "b": 50})
    return themed(figure, height=HEIGHT, title=f"Top customers by {value_header}")
