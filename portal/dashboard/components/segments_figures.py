"""Figures of the Segments page: the segment treemap and the recency x frequency grid.

Built from analytics tables; the page module wires them to its callbacks."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from analytics.rfm import assign_segments

from ..money import GBP, MoneyFormat
from .drill import CLICK_HINT
from .figures import SEQUENTIAL, themed
from .palette import segment_colour


def treemap(summary: pd.DataFrame, money: MoneyFormat = GBP, clickable: bool = False) -> go.Figure:
    """Customers by segment; with ``clickable`` a click on a tile opens its customers
    (:func:`portal.dashboard.components.drill.drill_on` with ``key="segment"``).

    The hover text is written per tile into ``text`` (no ``customdata``: dcc.Graph's click
    and hover handler fails on treemap points that carry it)."""
    present = summary[summary["customers"] > 0]
    hover = [
        (f"{row.customers:,} customers ({row.share:.1%})<br>Net revenue {money(row.revenue, 0)} "
         f"({row.revenue_share:.1%} of revenue)<br>Mean recency {row.mean_recency:,.0f} days · "
         f"{row.mean_frequency:,.1f} orders · {money(row.mean_monetary, 0)}")
        for row in present.itertuples()]
    figure = go.Figure(go.Treemap(
        labels=list(present.index), parents=[""] * len(present), values=present["customers"].tolist(),
        ids=list(present.index), name="Segments", text=hover, sort=True,
        marker={"colors": [segment_colour(s) for s in present.index], "line": {"color": "white", "width": 2}},
        texttemplate="<b>%{label}</b><br>%{value:,} · %{percentRoot:.1%}",
        hovertemplate="<b>%{label}</b><br>%{text}" + (CLICK_HINT if clickable else "") + "<extra></extra>",
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
