"""Clusters: k-means clusters of the customers on log RFM features at the snapshot.

The clustering is fitted once per dataset on all customers
(:func:`analytics.clusters.cluster_customers`, held by the descriptive report);
filters only select which customers' points and rows are shown.
"""
from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from dash import Output, html
from plotly.subplots import make_subplots

from portal.dashboard.components.cards import graph, panel
from portal.dashboard.components.customerlist import customer_list_view
from portal.dashboard.components.figures import OKABE_ITO, message_figure, themed
from portal.dashboard.components.page import canonical_query, open_view, page_callback, page_frame, page_option
from portal.dashboard.components.states import NO_MATCH_NARROW
from portal.dashboard.components.tables import column, data_grid
from portal.dashboard.customer_lists import Column, customer_list
from portal.dashboard.view import View
from portal.dashboard.filters import page_options
from portal.platform.tenancy import current_context

PAGE_ID = "clusters"
PATH = "/clusters"

dash.register_page(__name__, path=PATH, name="Clusters", title="Clusters · Customer analytics", order=20)

#: Page options (first = default): 2D or 3D scatter; the 2D axes (log RFM or principal components).
OPTIONS: dict[str, tuple[str, ...]] = {"view": ("2d", "3d"), "axes": ("rfm", "pca")}
#: At most this many points go to the browser (a fixed random sample beyond).
MAX_POINTS = 5000
#: Cluster colours: Okabe-Ito, then two more for k = 9, 10.
CLUSTER_COLOURS = OKABE_ITO + ["#999999", "#882255"]

CLUSTER_LIST = customer_list(
    "clusters", "Customers by k-means cluster",
    (Column("cluster_label", "Cluster"), Column("recency", "Recency (days)", "int"),
     Column("frequency", "Orders", "int"), Column("monetary", "Net revenue (£)", "money"),
     Column("tenure", "Tenure (days)", "int"), Column("segment", "RFM segment"), Column("country", "Country")),
    default_sort=(("monetary", "desc"),),
)

HOW_TO = [
    ("**K-means clusters** group customers with similar recency, frequency, net revenue and tenure, after a "
     "log transform (so a few big spenders do not dominate) and standardisation. They are fitted **once on all "
     "customers at the snapshot**: filters only choose whose points and rows are shown, they do not re-cluster."),
    ("**k** (number of clusters) is the one with the highest **silhouette** (how much closer customers are to "
     "their own cluster than to the next one: -1 to 1, higher is better). The **elbow** chart shows the inertia "
     "(within-cluster spread) falling as k grows."),
    ("**Labels** describe each cluster's centre against the median customer: value (net revenue), recency, "
     "then frequency or tenure when needed to tell clusters apart."),
    ("**Scatter**: axes are log(1 + value) with ticks in the original units (days, orders, £), or the two "
     "principal components (the two directions along which customers differ most). At most "
     f"{MAX_POINTS:,} customers are drawn (a fixed random sample when there are more)."),
    "Cluster colours are the colour-blind-safe Okabe-Ito palette.",
]


def layout(**query):
    view = open_view(current_context(), query)
    return page_frame(view, title="Clusters", page_id=PAGE_ID, path=PATH, how_to=HOW_TO, body=_body,
                      options=OPTIONS)


def _body(view: View) -> html.Div:
    options = page_options(view.query, OPTIONS)
    clusters = view.report.clusters
    top = []
    if clusters is None:
        top.append(dbc.Alert(["Clustering was skipped for this dataset: ", skipped_reason(view.report)],
                             color="warning", id="clusters-skipped"))
    else:
        top.append(html.P(
            [html.Strong(f"k = {clusters.k} clusters"), (f" · silhouette {clusters.silhouette:.2f} · fitted on "
             f"{len(clusters.labels):,} customers (k chosen on a sample of {clusters.sample_size:,}) at the "
             f"snapshot {view.snapshot:%Y-%m-%d}")], className="small mb-2", id="clusters-summary"))
    actions = html.Div([
        page_option("view", options["view"], (("2d", "2D"), ("3d", "3D")), label="View"),
        page_option("axes", options["axes"], (("rfm", "Log R/M"), ("pca", "Principal components")),
                    label="2D axes"),
    ], className="d-flex flex-wrap gap-3")
    return html.Div([
        *top,
        panel("Customers by cluster", html.Div(id="clusters-scatter-note", className="small text-secondary mb-1"),
              graph("clusters-scatter", height=520), actions=actions),
        panel("Cluster profiles", data_grid("clusters-profiles", _PROFILE_COLUMNS, page_size=10),
              subtitle="Means per customer of the cluster, over all its customers at the snapshot; "
                       "Selected = customers of the cluster that the filters keep.",
              panel_id="clusters-profiles-panel"),
        panel("Choosing k: elbow and silhouette", graph("clusters-curves", height=320)),
        panel("Customers", customer_list_view("clusters", view, canonical_query(view, OPTIONS))),
    ])


_ONE_DECIMAL = {"function": "params.value == null ? '' : d3.format(',.1f')(params.value)"}
# a few rows: no column filters (more room for the headers), headers wrap instead of being cut
_HEADER = {"wrapHeaderText": True, "autoHeaderHeight": True, "filter": False, "minWidth": 90}
_PROFILE_COLUMNS = [
    column("cluster", "#", "int", maxWidth=60, **{**_HEADER, "minWidth": 55}),
    column("label", "Cluster", minWidth=220, flex=2, wrapText=True, autoHeight=True, filter=False),
    column("size", "Customers", "int", **{**_HEADER, "minWidth": 105}),
    column("share", "Share of customers", "pct", **{**_HEADER, "minWidth": 105}),
    column("selected", "Selected", "int", headerTooltip="Customers of the cluster that the filters keep",
           **_HEADER),
    column("recency", "Mean recency (days)", "float", valueFormatter=_ONE_DECIMAL, **_HEADER),
    column("frequency", "Mean orders", "float", valueFormatter=_ONE_DECIMAL, **_HEADER),
    column("monetary", "Mean net revenue (£)", "money", **_HEADER),
    column("tenure", "Mean tenure (days)", "float", valueFormatter=_ONE_DECIMAL, **_HEADER),
    column("revenue_share", "Share of revenue", "pct", **_HEADER),
]


def skipped_reason(report) -> str:
    """Why the report has no clusters (its note), or a generic reason."""
    notes = [n for n in report.notes if "cluster" in n.lower()]
    return "; ".join(notes) if notes else "too few customers to cluster."


# --------------------------------------------------------------------------
# scatter


def _points(view: View) -> pd.DataFrame:
    """Coordinates of the selected customers with their cluster label and RFM values."""
    clusters = view.report.clusters
    coordinates = view.cluster_coordinates()
    values = view.customers[["recency", "frequency", "monetary"]]
    points = coordinates.join(values, how="left")
    points["label"] = clusters.profiles["label"].to_numpy(dtype=object)[points["cluster"].to_numpy()]
    return points


def sample_points(points: pd.DataFrame, limit: int | None = None) -> pd.DataFrame:
    """At most ``limit`` (default :data:`MAX_POINTS`) rows: a fixed (seeded) random sample when there are more."""
    limit = MAX_POINTS if limit is None else limit
    if len(points) <= limit:
        return points
    return points.sample(n=limit, random_state=0).sort_index()


@page_callback(PAGE_ID, Output("clusters-scatter", "figure"), Output("clusters-scatter-note", "children"))
def update_scatter(view: View):
    clusters = view.report.clusters
    if clusters is None:
        return message_figure("Clustering was skipped: " + skipped_reason(view.report), height=520), ""
    points = _points(view)
    if points.empty:
        return message_figure(NO_MATCH_NARROW, height=520), ""
    options = page_options(view.query, OPTIONS)
    shown = sample_points(points)
    scope = "selected customers" if view.is_filtered else "customers"
    if len(shown) < len(points):
        note = (f"A random sample of {len(shown):,} of the {len(points):,} {scope} is drawn "
                "(the browser stays responsive); cluster shares are those of the sample.")
    else:
        note = f"All {len(points):,} {scope} are drawn."
    if options["view"] == "3d":
        return _scatter_3d(shown, clusters.profiles), note
    return _scatter_2d(shown, clusters.profiles, pca=options["axes"] == "pca"), note


_HOVER = ("<b>Customer %{customdata[0]}</b><br>%{customdata[1]}<br>Recency %{customdata[2]:,.0f} days · "
          "%{customdata[3]:,.0f} orders · £%{customdata[4]:,.0f}<extra></extra>")


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


def _scatter_2d(points: pd.DataFrame, profiles: pd.DataFrame, *, pca: bool) -> go.Figure:
    x_col, y_col = ("pc1", "pc2") if pca else ("log_recency", "log_monetary")
    figure = go.Figure()
    for cluster, label, group in _groups(points, profiles):
        figure.add_scatter(
            x=group[x_col], y=group[y_col], mode="markers", name=label, customdata=_custom(group),
            marker={"color": CLUSTER_COLOURS[cluster % len(CLUSTER_COLOURS)], "size": 6, "opacity": 0.7,
                    "line": {"width": 0}},
            hovertemplate=_HOVER,
        )
    if pca:
        figure.update_layout(xaxis={"title": "Principal component 1"}, yaxis={"title": "Principal component 2"})
    else:
        figure.update_layout(
            xaxis={"title": "Recency: days since the last order (log scale)", **_log_ticks(points[x_col])},
            yaxis={"title": "Net revenue £ (log scale)", **_log_ticks(points[y_col], "£")},
        )
    figure.update_layout(legend={"orientation": "v", "x": 1.01, "y": 1, "title": {"text": "Cluster"}},
                         margin={"l": 70, "r": 10, "t": 10, "b": 50})
    return themed(figure, height=520)


def _scatter_3d(points: pd.DataFrame, profiles: pd.DataFrame) -> go.Figure:
    figure = go.Figure()
    for cluster, label, group in _groups(points, profiles):
        figure.add_scatter3d(
            x=group["log_recency"], y=group["log_frequency"], z=group["log_monetary"], mode="markers", name=label,
            customdata=_custom(group), hovertemplate=_HOVER,
            marker={"color": CLUSTER_COLOURS[cluster % len(CLUSTER_COLOURS)], "size": 2.5, "opacity": 0.8},
        )
    figure.update_layout(
        scene={"xaxis": {"title": {"text": "Recency (days)"}, **_log_ticks(points["log_recency"])},
               "yaxis": {"title": {"text": "Orders"}, **_log_ticks(points["log_frequency"])},
               "zaxis": {"title": {"text": "Net revenue (£)"}, **_log_ticks(points["log_monetary"], "£")},
               "camera": {"eye": {"x": 1.5, "y": -1.5, "z": 0.8}, "center": {"x": 0, "y": 0, "z": -0.1}},
               "aspectmode": "cube", "domain": {"x": [0, 1], "y": [0, 0.92]}},
        legend={"orientation": "h", "x": 0, "y": 1.0, "yanchor": "bottom", "title": {"text": "Cluster "},
                "itemsizing": "constant"},
        margin={"l": 0, "r": 0, "t": 30, "b": 0},
    )
    return themed(figure, height=520)


# --------------------------------------------------------------------------
# curves and profiles


@page_callback(PAGE_ID, Output("clusters-curves", "figure"), Output("clusters-profiles", "rowData"))
def update_model(view: View):
    clusters = view.report.clusters
    if clusters is None:
        return message_figure("Clustering was skipped: " + skipped_reason(view.report), height=320), []
    return _curves(clusters), _profile_rows(view)


def _curves(clusters) -> go.Figure:
    curves = clusters.curves
    figure = make_subplots(rows=1, cols=2, horizontal_spacing=0.12, subplot_titles=[
        "Elbow: inertia by k", f"Silhouette by k (chosen k = {clusters.k})"])
    chosen = curves[curves["k"] == clusters.k]
    for col, field, name, fmt in ((1, "inertia", "Inertia", ",.0f"), (2, "silhouette", "Silhouette", ".3f")):
        figure.add_scatter(x=curves["k"], y=curves[field], mode="lines+markers", name=name,
                           line={"color": OKABE_ITO[0]}, showlegend=False,
                           hovertemplate=f"k = %{{x}}: %{{y:{fmt}}}<extra>{name}</extra>", row=1, col=col)
        figure.add_scatter(x=chosen["k"], y=chosen[field], mode="markers", name=f"Chosen k ({name.lower()})",
                           marker={"color": OKABE_ITO[5], "size": 13, "symbol": "diamond"}, showlegend=False,
                           hovertemplate=f"chosen k = %{{x}}: %{{y:{fmt}}}<extra></extra>", row=1, col=col)
        figure.add_vline(x=clusters.k, line={"color": OKABE_ITO[5], "dash": "dot", "width": 1}, row=1, col=col)
        figure.update_xaxes(title_text="k (clusters)", dtick=1, row=1, col=col)
    figure.update_yaxes(title_text="Within-cluster sum of squares", row=1, col=1)
    figure.update_yaxes(title_text="Mean silhouette", row=1, col=2)
    figure.update_layout(margin={"l": 70, "r": 10, "t": 40, "b": 50})
    return themed(figure, height=320)


def _profile_rows(view: View) -> list[dict]:
    profiles = view.report.clusters.profiles.copy()
    profiles["selected"] = view.cluster_selected_sizes()
    table = profiles.reset_index()
    table = table.astype({c: "object" for c in table.columns}).where(table.notna(), None)
    return table.to_dict("records")
