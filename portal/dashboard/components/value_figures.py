"""Figures of the Customer value page: the CLV distribution.

Built from analytics tables; the page module wires them to its callbacks."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from collections.abc import Callable

from ..money import GBP, MoneyFormat
from .drill import CLICK_HINT
from .figures import themed
from .palette import INK, MEASURE, REFERENCE

FIGURE_HEIGHT = 400


def _tick(value: float, money: MoneyFormat) -> str:
    """A log-axis tick in full: ``£1,000``, ``£5``, ``£0.50`` (never "500m" or "1k")."""
    return money(value, 0) if value >= 10 else money(value, money.decimals)


def histogram_figure(hist: pd.DataFrame, log: bool, starts: dict[str, float], note: str, *,
                     first_open: bool, last_open: bool, money: MoneyFormat = GBP,
                     link: Callable[[float | None, float | None, bool], str] | None = None) -> go.Figure:
    """CLV histogram; ``link(low, high, last)`` gives the customers of a bar (a click opens them)."""
    left, right = hist["left"].to_numpy(), hist["right"].to_numpy()
    ranges = [f"{money(a, 2)} to {money(b, 2)}" if b < 10 else f"{money(a, 0)} to {money(b, 0)}"
              for a, b in zip(left, right)]
    if first_open:
        ranges[0] = f"under {money(right[0], 2)}"
    if last_open:
        ranges[-1] = f"{money(left[-1], 0)} and above"
    n = len(left)
    links = [link(None if (i == 0 and first_open) else float(a), None if (i == n - 1 and last_open) else float(b),
                  i == n - 1) if link else "" for i, (a, b) in enumerate(zip(left, right))]
    if log:  # bars placed on log10(amount) so their widths are right; ticks written in the currency
        x0, x1 = np.log10(left), np.log10(right)
    else:
        x0, x1 = left, right
    top = float(hist["count"].max())
    figure = go.Figure(go.Bar(
        x=(x0 + x1) / 2, y=hist["count"], width=(x1 - x0) * 0.98, marker_color=MEASURE,
        customdata=np.column_stack([ranges, hist["share"], links]), name="Customers", showlegend=False,
        hovertemplate="%{customdata[0]}: %{y:,} customers (%{customdata[1]:.1%})" + (CLICK_HINT if link else "")
                      + "<extra></extra>"))
    for (label, start), dash in zip(starts.items(), ("dash", "dot")):
        if log and start <= 0:
            continue
        position = np.log10(start) if log else start
        figure.add_scatter(x=[position, position], y=[0, top * 1.05], mode="lines", name=f"{label} from {money(start)}",
                           line={"color": INK if dash == "dash" else REFERENCE, "dash": dash, "width": 2},
                           hovertemplate=f"{label} of customers by CLV start at {money(start)}<extra></extra>")
    if log:
        low, high = np.floor(x0.min()), np.ceil(x1.max())
        steps = (1, 2, 5) if high - low <= 4 else (1,)
        ticks = [d + np.log10(m) for d in np.arange(low, high + 1) for m in steps]
        ticks = [t for t in ticks if x0.min() - 0.05 <= t <= x1.max() + 0.05]
        figure.update_xaxes(tickvals=ticks, ticktext=[_tick(10 ** t, money) for t in ticks],
                            title=money.label("Predicted 12-month CLV") + ", log scale" + (f" · {note}" if note else ""))
    else:
        figure.update_xaxes(title=money.label("Predicted 12-month CLV") + (f" · {note}" if note else ""),
                            **money.axis())
    figure.update_yaxes(title="Customers")
    figure.update_layout(bargap=0, margin={"t": 40}, legend={"orientation": "h", "y": 1.02, "yanchor": "bottom",
                                                             "x": 1, "xanchor": "right"})
    return themed(figure, height=FIGURE_HEIGHT)
