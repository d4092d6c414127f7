"""Segments: the RFM segments of the customers at the snapshot date.

Treemap and table of the segments, the recency x frequency score grid, the
segment migration over the look-back period (Sankey or matrix), the RFM
distributions with their IQR outliers, the revenue concentration (Lorenz curve)
and the customer list.  With no filter every table is the descriptive report's;
with filters the same analytics functions run on the selected customers, whose
RFM values and segments stay those measured at the snapshot over all customers.
"""
from __future__ import annotations

from dataclasses import replace

import dash
import dash_bootstrap_components as dbc
import pandas as pd
import plotly.graph_objects as go
from dash import Input, Output, State, callback, html, no_update


from analytics.migration import NOT_YET_CUSTOMER, SegmentMigration
from analytics.rfm import SEGMENT_ORDER
from portal.dashboard.components.cards import graph, panel
from portal.dashboard.components.filterbar import URL_TARGET
from portal.dashboard.components.customerlist import customer_list_view
from portal.dashboard.components.palette import INK, MEASURE
from portal.dashboard.components.figures import message_figure, percent, themed
from portal.dashboard.components.page import (
    canonical_query,
    open_view,
    page_callback,
    page_frame,
    page_option,
    query_store_id,
)
from portal.dashboard.components.rfm_figures import (
    migration_matrix,
    migration_sankey,
    rfm_boxes,
    rfm_histograms,
    rgba,
)
from portal.dashboard.components.states import NO_MATCH_NARROW
from portal.dashboard.components.tables import column, data_grid
from portal.dashboard.components.drill import drill_on
from portal.dashboard.components.segments_figures import grid_figure, treemap
from portal.dashboard.components.help import help_points
from portal.dashboard.customer_lists import Column, customer_list
from portal.dashboard.money import GBP, MoneyFormat
from portal.dashboard.view import View
from portal.dashboard.filters import QUERY_KEYS, Filters, build_query, page_options, parse_query
from portal.platform.tenancy import current_context

PAGE_ID = "segments"
PATH = "/segments"

dash.register_page(__name__, path=PATH, name="Segments", title="Segments · Customer analytics", order=10)

#: Page options (first = default): migration chart and value, histogram scale, box-plot outliers.
OPTIONS: dict[str, tuple[str, ...]] = {
    "migration": ("sankey", "matrix"),
    "migration_value": ("customers", "revenue"),
    "scale": ("log", "linear"),
    "outliers": ("show", "hide"),
}
SEGMENT_LIST = customer_list(
    "segments", "Customers by RFM segment",
    (Column("segment", "Segment"), Column("previous_segment", "Previous segment"),
     Column("recency", "Recency (days)", "int"), Column("frequency", "Orders", "int"),
     Column("monetary", "Net revenue", "money"), Column("tenure", "Tenure (days)", "int"),
     Column("r_score", "R", "int"), Column("f_score", "F", "int"), Column("m_score", "M", "int"),
     Column("country", "Country"), Column("last_order", "Last order", "date")),
    default_sort=(("monetary", "desc"),),
)

#: "How to read this": the points of segments.md beside this module.
HOW_TO = help_points(__file__)


def layout(**query):
    view = open_view(current_context(), query)
    return page_frame(view, title="Segments", page_id=PAGE_ID, path=PATH, how_to=HOW_TO, body=_body,
                      options=OPTIONS)


def _body(view: View) -> html.Div:
    options = page_options(view.query, OPTIONS)
    migration = view.report.migration
    dates = (f"Segments on {migration.previous_date:%Y-%m-%d} vs on the snapshot {migration.snapshot_date:%Y-%m-%d} "
             f"({migration.lookback_days} days)")
    migration_actions = html.Div([
        page_option("migration", options["migration"], (("sankey", "Flows"), ("matrix", "Matrix")), label="Show"),
        page_option("migration_value", options["migration_value"],
                    (("customers", "Customers"), ("revenue", "Revenue")), label="Size by"),
    ], className="d-flex flex-wrap gap-3")
    return html.Div([
        dbc.Row([
            dbc.Col(panel("Customers by segment", graph("segments-treemap", height=420),
                          subtitle="Tile size = customers. Click a tile to see its customers."), lg=7, className="drillable"),
            dbc.Col(panel("Recency x frequency scores", graph("segments-grid", height=420),
                          subtitle="Customers per score cell; hover a cell for its segment."), lg=5),
        ]),
        panel("Segments: size, value and suggested action", _segment_table(view.money),
              subtitle="Means are per customer of the segment. Click a row to filter to its segment."),
        panel("Segment migration", html.Div(id="segments-migration-note", className="small text-secondary mb-1"),
              graph("segments-migration", height=520), actions=migration_actions, subtitle=dates,
              panel_id="segments-migration-panel"),
        dbc.Row([
            dbc.Col(panel("RFM distributions", graph("segments-histograms", height=340),
                          actions=page_option("scale", options["scale"], (("log", "Log"), ("linear", "Linear")),
                                              label="Scale")), lg=12),
        ]),
        dbc.Row([
            dbc.Col(panel("Box plots", html.Div(id="segments-outlier-note", className="small text-secondary mb-1"),
                          graph("segments-boxes", height=340),
                          actions=page_option("outliers", options["outliers"],
                                              (("show", "Show"), ("hide", "Hide")), label="Outliers")), lg=7),
            dbc.Col(panel("Revenue concentration", graph("segments-lorenz", height=374)), lg=5),
        ]),
        panel("Customers", customer_list_view("segments", view, canonical_query(view, OPTIONS))),
    ])


def _segment_table(money: MoneyFormat = GBP):
    grid = data_grid("segments-table", _table_columns(money), page_size=20)
    grid.getRowId = "params.data.segment"  # cellClicked then carries the segment as rowId
    return grid


_ONE_DECIMAL = {"function": "params.value == null ? '' : d3.format(',.1f')(params.value)"}
# 11 rows: no column filters (more room for the headers), headers wrap instead of being cut
_HEADER = {"wrapHeaderText": True, "autoHeaderHeight": True, "filter": False}
def _table_columns(money: MoneyFormat = GBP) -> list[dict]:
    """The table's columns, money headers in the tenant's currency."""
    return [
        column("segment", "Segment", minWidth=150, maxWidth=170, pinned="left", filter=False),
        column("customers", "Customers", "int", minWidth=100, maxWidth=115, **_HEADER),
        column("share", "Share of customers", "pct", minWidth=100, maxWidth=115, **_HEADER),
        column("revenue_share", "Share of revenue", "pct", minWidth=100, maxWidth=115, **_HEADER),
        column("mean_recency", "Mean recency (days)", "float", valueFormatter=_ONE_DECIMAL, minWidth=95,
               maxWidth=120, **_HEADER),
        column("mean_frequency", "Mean orders", "float", valueFormatter=_ONE_DECIMAL, minWidth=95, maxWidth=110,
               **_HEADER),
        column("mean_monetary", money.label("Mean net revenue"), "money", minWidth=112, maxWidth=125, **_HEADER),
        column("description", "What it means · suggested action", flex=4, minWidth=280, wrapText=True,
               autoHeight=True, sortable=False, filter=False,
               cellStyle={"lineHeight": "1.35", "paddingTop": "6px", "paddingBottom": "6px"}),
    ]


# --------------------------------------------------------------------------
# data of the view: the report's tables without filters, the same functions on the selection with them


def _summary(view: View) -> pd.DataFrame:
    return view.segment_summary()


def _score_grid(view: View) -> pd.DataFrame:
    return view.segment_grid()


def _migration(view: View) -> SegmentMigration:
    return view.segment_migration()


def _concentration(view: View) -> tuple[dict | None, pd.DataFrame | None]:
    return view.revenue_concentration()


# --------------------------------------------------------------------------
# treemap, table, score grid


@page_callback(PAGE_ID, Output("segments-treemap", "figure"), Output("segments-table", "rowData"),
               Output("segments-grid", "figure"))
def update_segments(view: View):
    if view.selected_customers.empty:
        return message_figure(NO_MATCH_NARROW, height=420), [], message_figure(NO_MATCH_NARROW, height=420)
    summary = _summary(view)
    return treemap(summary, view.money, clickable=True), _table_rows(summary), grid_figure(_score_grid(view))


def _table_rows(summary: pd.DataFrame) -> list[dict]:
    table = summary.reset_index()
    table = table.astype({c: "object" for c in table.columns}).where(table.notna(), None)
    return table.to_dict("records")


# --------------------------------------------------------------------------
# migration


@page_callback(PAGE_ID, Output("segments-migration", "figure"), Output("segments-migration-note", "children"))
def update_migration(view: View):
    options = page_options(view.query, OPTIONS)
    migration = _migration(view)
    moved = int(migration.counts.to_numpy().sum())
    if moved == 0:
        return message_figure(NO_MATCH_NARROW, height=520), ""
    stayed = migration.stayed_share()
    new = int(migration.counts.loc[NOT_YET_CUSTOMER].sum())
    note = (f"{moved:,} customers: {new:,} first ordered in the period; "
            f"{percent(stayed)} of the earlier customers kept their segment.")
    if options["migration"] == "matrix":
        return migration_matrix(migration, options["migration_value"], view.money), note
    figure, dropped = migration_sankey(migration, options["migration_value"], view.money)
    if dropped:
        note += f" {dropped:,} moves with zero or negative revenue in the period are not drawn."
    return figure, note


# --------------------------------------------------------------------------
# distributions and box plots


@page_callback(PAGE_ID, Output("segments-histograms", "figure"), Output("segments-boxes", "figure"),
               Output("segments-outlier-note", "children"))
def update_distributions(view: View):
    options = page_options(view.query, OPTIONS)
    customers = view.selected_customers
    if customers.empty:
        return message_figure(NO_MATCH_NARROW, height=340), message_figure(NO_MATCH_NARROW, height=340), ""
    boxes, note = rfm_boxes(customers, show=options["outliers"] == "show", money=view.money)
    return rfm_histograms(customers, log=options["scale"] == "log", money=view.money), boxes, note


# --------------------------------------------------------------------------
# revenue concentration


@page_callback(PAGE_ID, Output("segments-lorenz", "figure"))
def update_concentration(view: View):
    if view.selected_customers.empty:
        return message_figure(NO_MATCH_NARROW, height=374)
    stats, lorenz = _concentration(view)
    if stats is None or lorenz is None:
        return message_figure("No customer has positive net revenue: no concentration to show.", height=374)
    figure = go.Figure()
    figure.add_scatter(x=[0, 1], y=[0, 1], mode="lines", name="Equality", line={"color": "#999999", "dash": "dash"},
                       hoverinfo="skip")
    figure.add_scatter(x=lorenz["customer_share"], y=lorenz["revenue_share"], mode="lines", name="Lorenz curve",
                       line={"color": MEASURE, "width": 2.5}, fill="tonexty", fillcolor=rgba(MEASURE, 0.12),
                       hovertemplate=("The smallest %{x:.0%} of customers<br>bring %{y:.1%} of net revenue"
                                      "<extra></extra>"))
    top = [(0.01, "top_1pct_share", "Top 1%"), (0.10, "top_10pct_share", "Top 10%"),
           (0.20, "top_20pct_share", "Top 20%")]
    figure.add_scatter(x=[1 - share for share, _, _ in top], y=[1 - stats[key] for _, key, _ in top],
                       mode="markers", name="Top customers", marker={"color": INK, "size": 8},
                       customdata=[[label, stats[key]] for _, key, label in top],
                       hovertemplate="%{customdata[0]} of customers: %{customdata[1]:.1%} of revenue<extra></extra>")
    lines = [f"<b>Gini {stats['gini']:.2f}</b>"] + [f"{label} of customers: {percent(stats[key])} of revenue"
                                                    for _, key, label in top]
    figure.add_annotation(text="<br>".join(lines), x=0.02, y=0.98, xref="paper", yref="paper", showarrow=False,
                          xanchor="left", yanchor="top", align="left", bgcolor="rgba(255,255,255,0.85)",
                          bordercolor="#dddddd", borderwidth=1, font={"size": 12})
    figure.update_layout(
        xaxis={"title": "Share of customers (smallest spenders first)", "tickformat": ".0%", "range": [0, 1]},
        yaxis={"title": "Cumulative share of net revenue", "tickformat": ".0%", "range": [0, 1.02]},
        legend={"orientation": "h", "y": -0.3, "x": 0}, margin={"l": 60, "r": 20, "t": 10, "b": 95},
    )
    return themed(figure, height=374)


drill_on("segments-treemap", key="segment")


# --------------------------------------------------------------------------
# click a row: filter to that segment


@callback(Output(URL_TARGET, "data", allow_duplicate=True),
          Input("segments-table", "cellClicked"),
          State(query_store_id(PAGE_ID), "data"), prevent_initial_call=True)
def filter_to_segment(cell, query):
    """A row of the segment table filters the page to its segment (a tile opens its customers)."""
    segment = clicked_segment("segments-table", None, cell)
    return segment_query(query, segment) or no_update


def clicked_segment(trigger, click, cell) -> str | None:
    """The segment named by a treemap click or a table cell click (None for anything else)."""
    if trigger == "segments-treemap" and isinstance(click, dict):
        points = click.get("points")
        point = points[0] if isinstance(points, list) and points and isinstance(points[0], dict) else {}
        segment = point.get("label") or point.get("id")
    elif trigger == "segments-table" and isinstance(cell, dict):
        segment = cell.get("rowId") or (cell.get("value") if cell.get("colId") == "segment" else None)
    else:
        return None
    return segment if isinstance(segment, str) and segment in SEGMENT_ORDER else None


def segment_query(query: str | None, segment: str | None) -> str | None:
    """The page's query with the segment filter set to ``segment`` (None if it is not a segment)."""
    if not isinstance(segment, str) or segment not in SEGMENT_ORDER:
        return None
    filters = replace(Filters.from_query(query), segments=(segment,))
    options = {k: v for k, v in parse_query(query).items() if k not in QUERY_KEYS}
    return build_query(filters, options)
