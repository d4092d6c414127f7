"""Figures of the Customer profile page: the order timeline.

Built from analytics tables; the page module wires them to its callbacks."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ..money import GBP, MoneyFormat
from .figures import themed
from .palette import MEASURE, REFERENCE, RETURNS


TIMELINE_HEIGHT = 360


def timeline_figure(invoices: pd.DataFrame, money: MoneyFormat = GBP) -> go.Figure:
    orders, returns = invoices[~invoices["is_return"]], invoices[invoices["is_return"]]
    figure = go.Figure()
    if len(orders):
        largest = max(float(orders["revenue"].max()), 1.0)
        sizes = 8 + 22 * np.sqrt(np.clip(orders["revenue"].to_numpy(dtype=float), 0, None) / largest)
        figure.add_scatter(
            x=orders["invoice_date"], y=orders["revenue"], mode="markers", name="Orders",
            marker={"size": sizes, "color": MEASURE, "opacity": 0.75, "line": {"width": 1, "color": "white"}},
            customdata=np.column_stack([orders["invoice"], orders["lines"], orders["quantity"]]),
            hovertemplate="Order %{customdata[0]}<br>%{x|%Y-%m-%d %H:%M}<br>" + money.hover("y", 2)
                          + " · %{customdata[1]} lines, "
                          "%{customdata[2]} units<extra></extra>")
    if len(returns):
        figure.add_scatter(
            x=returns["invoice_date"], y=returns["revenue"], mode="markers", name="Returns",
            marker={"symbol": "x", "size": 11, "color": RETURNS},
            customdata=np.column_stack([returns["invoice"], -returns["quantity"]]),
            hovertemplate="Return %{customdata[0]}<br>%{x|%Y-%m-%d %H:%M}<br>" + money.hover("y", 2) + " refunded · "
                          "%{customdata[1]} units<extra></extra>")
    figure.add_hline(y=0, line={"color": REFERENCE, "width": 1})
    figure.update_xaxes(title="Invoice date")
    figure.update_yaxes(title=money.label("Invoice value"), **money.axis(), automargin=True)
    figure.update_layout(legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},
                         margin={"t": 30, "l": 70})
    return themed(figure, height=TIMELINE_HEIGHT)
