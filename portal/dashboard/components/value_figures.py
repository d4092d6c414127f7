"""Figures of the Customer value page: the CLV distribution.

Built from analytics tables; the page module wires them to its callbacks."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from .figures import OKABE_ITO, money, themed


FIGURE_HEIGHT = 400


def _pounds(value: float) -> str:
    return f"£{value:,.0f}" if value >= 10 else f"£{value:.2g}"


def histogram_figure(hist: pd.DataFrame, log: bool, starts: dict[str, float], note: str, *,
                      first_open: bool, last_open: bool) -> go.Figure:
    left, right = hist["left"].to_numpy(), hist["right"].to_numpy()
    ranges = [f"£{a:,.2f} to £{b:,.2f}" if b < 10 else f"£{a:,.0f} to £{b:,.0f}" for a, b in zip(left, right)]
    if first_open:
        ranges[0] = f"under £{right[0]:,.2f}"
    if last_open:
        ranges[-1] = f"£{left[-1]:,.0f} and above"
    if log:  # bars placed on log10(£) so their widths are right; ticks written in £
        x0, x1 = np.log10(left), np.log10(right)
    else:
        x0, x1 = left, right
    top = float(hist["count"].max())
    figure = go.Figure(go.Bar(
        x=(x0 + x1) / 2, y=hist["count"], width=(x1 - x0) * 0.98, marker_color=OKABE_ITO[0],
        customdata=np.column_stack([ranges, hist["share"]]), name="Customers", showlegend=False,
        hovertemplate="%{customdata[0]}: %{y:,} customers (%{customdata[1]:.1%})<extra></extra>"))
    for (label, start), colour in zip(starts.items(), (OKABE_ITO[5], OKABE_ITO[1])):
        if log and start <= 0:
            continue
        position = np.log10(start) if log else start
        figure.add_scatter(x=[position, position], y=[0, top * 1.05], mode="lines", name=f"{label} from {money(start)}",
                           line={"color": colour, "dash": "dash", "width": 2},
                           hovertemplate=f"{label} of customers by CLV start at {money(start)}<extra></extra>")
    if log:
        low, high = np.floor(x0.min()), np.ceil(x1.max())
        steps = (1, 2, 5) if high - low <= 4 else (1,)
        ticks = [d + np.log10(m) for d in np.arange(low, high + 1) for m in steps]
        ticks = [t for t in ticks if x0.min() - 0.05 <= t <= x1.max() + 0.05]
        figure.update_xaxes(tickvals=ticks, ticktext=[_pounds(10 ** t) for t in ticks],
                            title="Predicted 12-month CLV (£, log scale)" + (f" · {note}" if note else ""))
    else:
        figure.update_xaxes(title="Predicted 12-month CLV (£)" + (f" · {note}" if note else ""), tickprefix="£",
                            tickformat=",.0f")
    figure.update_yaxes(title="Customers")
    figure.update_layout(bargap=0, margin={"t": 40}, legend={"orientation": "h", "y": 1.02, "yanchor": "bottom",
                                                             "x": 1, "xanchor": "right"})
    return themed(figure, height=FIGURE_HEIGHT)
