"""Figures of the Clusters page: the 2D/3D cluster scatter and the elbow/silhouette curves.

Built from analytics tables; the page module wires them to its callbacks."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..money import GBP, MoneyFormat
from .figures import themed
from .palette import CLUSTER_COLOURS, INK, MEASURE

_HOVER = ("<b>Customer %{customdata[0]}</b><br>%{customdata[1]}<br>Recency %{customdata[2]:,.0f} days · "
          "%{customdata[3]:,.0f} orders · ¤%{customdata[4]:,.0f}<extra></extra>")  # ¤: the currency symbol


def _custom(points: pd.DataFrame) -> np.ndarray:
    return np.column_stack([points.index.to_numpy(dtype=object), points["label"].to_numpy(dtype=object),
                            points["recency"].to_numpy(dtype=float), points["frequency"].to_numpy(dtype=float),
                            points["monetary"].to_numpy(dtype=float)])


def _groups(points: pd.DataFrame, profiles: pd.DataFrame):
    for cluster, label in profiles["label"].items():
        group = points[points["cluster"] == cluster]
        if len(group):
            yield int(cluster), str(label), group


def _log_ticks(values: pd.Series, prefix: str = "") -> dict:
    """Ticks of a log1p axis at 1-2-5 steps of the original values."""
    high = float(np.expm1(values.max())) if len(values) else 1.0
    steps = [m * 10 ** e for e in range(8) for m in (1, 2, 5)]
    ticks = [0.0] + [s for s in steps if s <= high * 1.05]
    if len(ticks) > 9:
        ticks = [0.0] + [s for s in steps if s <= high * 1.05 and str(int(s))[0] == "1"]
    return {"tickvals": np.log1p(ticks).tolist(), "ticktext": [f"{prefix}{t:,.0f}" for t in ticks]}


def scatter_2d(points: pd.DataFrame, profiles: pd.DataFrame, *, pca: bool, money: MoneyFormat = GBP) -> go.Figure:
    x_col, y_col = ("pc1", "pc2") if pca else ("log_recency", "log_monetary")
    figure = go.Figure()
    for cluster, label, group in _groups(points, profiles):
        figure.add_scatter(
            x=group[x_col], y=group[y_col], mode="markers", name=label, customdata=_custom(group),
            marker={"color": CLUSTER_COLOURS[cluster % len(CLUSTER_COLOURS)], "size": 6, "opacity": 0.7,
                    "line": {"width": 0}},
            hovertemplate=_HOVER.replace("¤", money.symbol),
        )
    if pca:
        figure.update_layout(xaxis={"title": "Principal component 1"}, yaxis={"title": "Principal component 2"})
    else:
        figure.update_layout(
            xaxis={"title": "Recency: days since the last order (log scale)", **_log_ticks(points[x_col])},
            yaxis={"title": money.label("Net revenue") + ", log scale", **_log_ticks(points[y_col], money.symbol)},
        )
    figure.update_layout(legend={"orientation": "v", "x": 1.01, "y": 1, "title": {"text": "Cluster"}},
                         margin={"l": 70, "r": 10, "t": 10, "b": 50})
    return themed(figure, height=520)


def scatter_3d(points: pd.DataFrame, profiles: pd.DataFrame, money: MoneyFormat = GBP) -> go.Figure:
    figure = go.Figure()
    for cluster, label, group in _groups(points, profiles):
        figure.add_scatter3d(
            x=group["log_recency"], y=group["log_frequency"], z=group["log_monetary"], mode="markers", name=label,
            customdata=_custom(group), hovertemplate=_HOVER.replace("¤", money.symbol),
            marker={"color": CLUSTER_COLOURS[cluster % len(CLUSTER_COLOURS)], "size": 2.5, "opacity": 0.8},
        )
    figure.update_layout(
        scene={"xaxis": {"title": {"text": "Recency (days)"}, **_log_ticks(points["log_recency"])},
               "yaxis": {"title": {"text": "Orders"}, **_log_ticks(points["log_frequency"])},
               "zaxis": {"title": {"text": money.label("Net revenue")},
                         **_log_ticks(points["log_monetary"], money.symbol)},
               "camera": {"eye": {"x": 1.5, "y": -1.5, "z": 0.8}, "center": {"x": 0, "y": 0, "z": -0.1}},
               "aspectmode": "cube", "domain": {"x": [0, 1], "y": [0, 0.92]}},
        legend={"orientation": "h", "x": 0, "y": 1.0, "yanchor": "bottom", "title": {"text": "Cluster "},
                "itemsizing": "constant"},
        margin={"l": 0, "r": 0, "t": 30, "b": 0},
    )
    return themed(figure, height=520)


def cluster_curves(clusters) -> go.Figure:
    curves = clusters.curves
    figure = make_subplots(rows=1, cols=2, horizontal_spacing=0.12, subplot_titles=[
        "Elbow: inertia by k", f"Silhouette by k (chosen k = {clusters.k})"])
    chosen = curves[curves["k"] == clusters.k]
    for col, field, name, fmt in ((1, "inertia", "Inertia", ",.0f"), (2, "silhouette", "Silhouette", ".3f")):
        figure.add_scatter(x=curves["k"], y=curves[field], mode="lines+markers", name=name,
                           line={"color": MEASURE}, showlegend=False,
                           hovertemplate=f"k = %{{x}}: %{{y:{fmt}}}<extra>{name}</extra>", row=1, col=col)
        figure.add_scatter(x=chosen["k"], y=chosen[field], mode="markers", name=f"Chosen k ({name.lower()})",
                           marker={"color": INK, "size": 13, "symbol": "diamond"}, showlegend=False,
                           hovertemplate=f"chosen k = %{{x}}: %{{y:{fmt}}}<extra></extra>", row=1, col=col)
        figure.add_vline(x=clusters.k, line={"color": INK, "dash": "dot", "width": 1}, row=1, col=col)
        figure.update_xaxes(title_text="k (clusters)", dtick=1, row=1, col=col)
    figure.update_yaxes(title_text="Within-cluster sum of squares", row=1, col=1)
    figure.update_yaxes(title_text="Mean silhouette", row=1, col=2)
    figure.update_layout(margin={"l": 70, "r": 10, "t": 40, "b": 50})
    return themed(figure, height=320)
