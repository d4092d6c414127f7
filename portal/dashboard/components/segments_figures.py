"""Figures of the Segments page: the segment treemap and the recency x frequency grid.

Built from analytics tables; the page module wires them to its callbacks."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analytics.rfm import assign_segments

from ..money import GBP, MoneyFormat
from .drill import CLICK_HINT
from .figures import SEQUENTIAL, themed
from .palette import segment_colour


def treemap(summary: pd.DataFrame, money: MoneyFormat = GBP, links: dict[str, str] | None = None) -> go.Figure:
    """Customers by segment; ``links``: segment -> the list of its customers (a click opens it)."""
    present = summary[summary["customers"] > 0]
    custom = np.column_stack([present[c].to_numpy(dtype=float) for c in (
        "share", "revenue", "revenue_share", "mean_recency", "mean_frequency", "mean_monetary")]).astype(object)
    custom = np.column_stack([custom, [(links or {}).get(s, "") for s in present.index]])
    figure = go.Figure(go.Treemap(
        labels=list(present.index), parents=[""] * len(present), values=present["customers"].tolist(),
        ids=list(present.index), name="Segments", customdata=custom, sort=True,
        marker={"colors": [segment_colour(s) for s in present.index], "line": {"color": "white", "width": 2}},
        texttemplate="<b>%{label}</b><br>%{value:,} · %{customdata[0]:.1%}",
        hovertemplate=("<b>%{label}</b><br>%{value:,} customers (%{customdata[0]:.1%})<br>"
                       "Net revenue " + money.hover("customdata[1]") + " (%{customdata[2]:.1%} of revenue)<br>"
                       "Mean recency %{customdata[3]:,.0f} days · %{customdata[4]:,.1f} orders · "
                       + money.hover("customdata[5]") + (CLICK_HINT if links else "") + "<extra></extra>"),
        tiling={"pad": 2}, pathbar={"visible": False},
    ))
    figure.update_layout(margin={"l": 4, "r": 4, "t": 4, "b": 4})
    return themed(figure, height=420)


def grid_figure(grid: pd.DataFrame) -> go.Figure:
    cells = pd.DataFrame([(r, f) for r in grid.index for f in grid.columns], columns=["r_score", "f_score"])
    names = assign_segments(cells).astype("str").to_numpy().reshape(grid.shape)
    figure = go.Figure(go.Heatmap(
        z=grid.to_numpy(), x=[str(f) for f in grid.columns], y=[str(r) for r in grid.index], name="Customers",
        customdata=names, colorscale=SEQUENTIAL, texttemplate="%{z:,}", textfont={"size": 13},
        colorbar={"title": {"text": "Customers", "side": "right"}, "thickness": 12},
        hovertemplate="R %{y} · F %{x}: <b>%{customdata}</b><br>%{z:,} customers<extra></extra>", xgap=2, ygap=2,
    ))
    figure.update_layout(xaxis={"title": "F score (5 = most orders)", "type": "category"},
                         yaxis={"title": "R score (5 = most recent)", "type": "category"},
                         margin={"l": 60, "r": 10, "t": 10, "b": 50})
    return themed(figure, height=420)
