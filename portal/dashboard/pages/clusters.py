"""Clusters: k-means clusters of the customers on log RFM features at the snapshot.

The clustering is fitted once per dataset on all customers
(:func:`analytics.clusters.cluster_customers`, held by the descriptive report);
filters only select which customers' points and rows are shown.
"""
from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
import pandas as pd
from dash import Output, html

from portal.dashboard.components.cards import graph, panel
from portal.dashboard.components.customerlist import customer_list_view
from portal.dashboard.components.figures import message_figure
from portal.dashboard.components.page import (
    canonical_query,
    open_view,
    page_callback,
    page_frame,
    page_option,
)
from portal.dashboard.components.states import NO_MATCH_NARROW
from portal.dashboard.components.tables import column, data_grid
from portal.dashboard.components.clusters_figures import cluster_curves, scatter_2d, scatter_3d
from portal.dashboard.components.help import help_points
from portal.dashboard.customer_lists import Column, customer_list
from portal.dashboard.money import GBP, MoneyFormat
from portal.dashboard.view import View
from portal.dashboard.filters import page_options
from portal.platform.tenancy import current_context

PAGE_ID = "clusters"
PATH = "/clusters"

dash.register_page(__name__, path=PATH, name="Clusters", title="Clusters · Customer analytics", order=20)

#: Page options (first = default): 2D or 3D scatter; the 2D axes (log RFM or principal components).
OPTIONS: dict[str, tuple[str, ...]] = {"view": ("2d", "3d"), "axes": ("rfm", "pca")}
#: At most this many points go to the browser (a fixed random sample beyond).
MAX_POINTS = 2000

CLUSTER_LIST = customer_list(
    "clusters", "Customers by k-means cluster",
    (Column("cluster_label", "Cluster"), Column("recency", "Recency (days)", "int"),
     Column("frequency", "Orders", "int"), Column("monetary", "Net revenue", "money"),
     Column("tenure", "Tenure (days)", "int"), Column("segment", "RFM segment"), Column("country", "Country")),
    default_sort=(("monetary", "desc"),),
)

#: "How to read this": the points of clusters.md beside this module.
HOW_TO = help_points(__file__, MAX_POINTS=MAX_POINTS)


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
        panel("Cluster profiles", data_grid("clusters-profiles", _profile_columns(view.money), page_size=10),
              subtitle="Means per customer of the cluster, over all its customers at the snapshot; "
                       "Selected = customers of the cluster that the filters keep.",
              panel_id="clusters-profiles-panel"),
        panel("Choosing k: elbow and silhouette", graph("clusters-curves", height=320)),
        panel("Customers", customer_list_view("clusters", view, canonical_query(view, OPTIONS))),
    ])


_ONE_DECIMAL = {"function": "params.value == null ? '' : d3.format(',.1f')(params.value)"}
# a few rows: no column filters (more room for the headers), headers wrap instead of being cut
_HEADER = {"wrapHeaderText": True, "autoHeaderHeight": True, "filter": False, "minWidth": 90}
def _profile_columns(money: MoneyFormat = GBP) -> list[dict]:
    """The table's columns, money headers in the tenant's currency."""
    return [
        column("cluster", "#", "int", maxWidth=60, **{**_HEADER, "minWidth": 55}),
        column("label", "Cluster", minWidth=220, flex=2, wrapText=True, autoHeight=True, filter=False),
        column("size", "Customers", "int", **{**_HEADER, "minWidth": 105}),
        column("share", "Share of customers", "pct", **{**_HEADER, "minWidth": 105}),
        column("selected", "Selected", "int", headerTooltip="Customers of the cluster that the filters keep",
               **_HEADER),
        column("recency", "Mean recency (days)", "float", valueFormatter=_ONE_DECIMAL, **_HEADER),
        column("frequency", "Mean orders", "float", valueFormatter=_ONE_DECIMAL, **_HEADER),
        column("monetary", money.label("Mean net revenue"), "money", **_HEADER),
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
        return scatter_3d(shown, clusters.profiles, view.money), note
    return scatter_2d(shown, clusters.profiles, pca=options["axes"] == "pca", money=view.money), note


# --------------------------------------------------------------------------
# curves and profiles


@page_callback(PAGE_ID, Output("clusters-curves", "figure"), Output("clusters-profiles", "rowData"))
def update_model(view: View):
    clusters = view.report.clusters
    if clusters is None:
        return message_figure("Clustering was skipped: " + skipped_reason(view.report), height=320), []
    return cluster_curves(clusters), _profile_rows(view)


def _profile_rows(view: View) -> list[dict]:
    profiles = view.report.clusters.profiles.copy()
    profiles["selected"] = view.cluster_selected_sizes()
    table = profiles.reset_index()
    table = table.astype({c: "object" for c in table.columns}).where(table.notna(), None)
    return table.to_dict("records")
