"""Figures of the Overview page: the top-10 bars.

Built from analytics tables; the page module wires them to its callbacks."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from .figures import OKABE_ITO, message_figure, themed
from .states import NO_MATCH


def bar_figure(table: pd.DataFrame, value: str, label: str, hover: str) -> go.Figure:
    if table.empty:
        return message_figure(NO_MATCH, height=340)
    table = table.iloc[::-1]
    labels = table[label] if label in table else table.index
    figure = go.Figure(go.Bar(x=table[value], y=labels, orientation="h", marker_color=OKABE_ITO[0],
                              hovertemplate=f"%{{y}}: {hover}<extra></extra>"))
    figure.update_layout(margin={"l": 200}, yaxis={"automargin": True})
    return themed(figure, height=340)
