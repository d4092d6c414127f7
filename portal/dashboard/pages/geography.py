"""Geography: where revenue and customers come from, on a world map and in a table.

Clicking a country (on the map or in the table) sets the global country filter,
so every other page narrows to it; clicking it again clears it.  The map and
the table therefore ignore the country filter themselves (they show every
country under the other filters, the selected ones outlined), while the
customer list below holds the customers of the selected countries.  Every
figure comes from :mod:`analytics.geography`.
"""
from __future__ import annotations

from dataclasses import replace

import dash
import dash_bootstrap_components as dbc
import numpy as np
import pandas as pd
from dash import Input, Output, State, callback, html, no_update

from analytics.geography import (
    UNMAPPABLE_COUNTRIES,
    country_summary,
    country_summary_between,
    unmapped_countries,
)
from analytics.selection import select_customers, select_lines
from portal.dashboard.components.cards import graph, panel
from portal.dashboard.components.filterbar import URL_TARGET
from portal.dashboard.components.customerlist import customer_list_view
from portal.dashboard.money import GBP, MoneyFormat
from portal.dashboard.components.palette import SELECTED_BACKGROUND
from portal.dashboard.components.figures import count, message_figure, percent
from portal.dashboard.components.page import (
    canonical_query,
    open_view,
    page_callback,
    page_frame,
    page_option,
    query_store_id,
)
from portal.dashboard.components.states import NO_MATCH
from portal.dashboard.components.tables import column, data_grid
from portal.dashboard.components.geography_figures import EUROPE, MAP_HEIGHT, METRICS, bars_figure, map_figure
from portal.dashboard.components.help import help_points
from portal.dashboard.customer_lists import Column, customer_list
from portal.dashboard.view import View
from portal.dashboard.filters import build_query, page_options
from portal.platform.tenancy import current_context

PAGE_ID = "geography"
PATH = "/geography"
#: The log scale first: one country (the shop's home) usually dominates, and a linear scale
#: would paint every other country the same colour.
OPTIONS = {"metric": ("revenue", "customers", "aov", "new_customers"), "scale": ("log", "linear")}
#: A country holding more than this share of an additive metric flattens the linear scale.
DOMINANT_SHARE = 0.5

dash.register_page(__name__, path=PATH, name="Geography", title="Geography · Customer analytics", order=40)

GEOGRAPHY_LIST = customer_list(
    "geography", "Customers of the selected countries",
    (Column("country", "Country"), Column("segment", "Segment"), Column("recency", "Recency (d)", "int"),
     Column("frequency", "Orders", "int"), Column("monetary", "Net revenue", "money"),
     Column("net_clv_12m", "CLV 12m", "money"), Column("risk_band", "Risk")),
    default_sort=(("monetary", "desc"),),
)

#: "How to read this": the points of geography.md beside this module.
HOW_TO = help_points(__file__)


def layout(**query):
    view = open_view(current_context(), query)
    return page_frame(view, title="Geography", page_id=PAGE_ID, path=PATH, how_to=HOW_TO, body=_body,
                      options=OPTIONS)


def _body(view: View) -> html.Div:
    options = page_options(view.query, OPTIONS)
    switches = html.Div([
        page_option("metric", options["metric"], (("revenue", "Revenue"), ("customers", "Customers"),
                                                  ("aov", "AOV"), ("new_customers", "New customers")),
                    label="Colour by"),
        page_option("scale", options["scale"], (("log", "Log"), ("linear", "Linear")), label="Scale"),
    ], className="d-flex flex-wrap gap-4 justify-content-end mb-2", id="geography-options")
    selected = view.filters.countries
    list_title = (f"Customers of {', '.join(selected)}" if selected
                  else "All customers (click a country to narrow this list)")
    label = METRICS[options["metric"]][1]
    # A Europe-framed map is about square: the ranking fits beside it; a world map needs the full width.
    european = set(view.report.countries["iso3"].dropna()) <= EUROPE
    return html.Div([
        switches,
        dbc.Row([
            dbc.Col(panel(f"{label} by country", graph("geography-map", height=MAP_HEIGHT),
                          html.Div(id="geography-note", className="small text-secondary mt-1"),
                          html.Div(id="geography-unmapped", className="small mt-2"),
                          subtitle="Click a country to filter every page to it; click it again to clear."),
                    lg=7 if european else 12),
            dbc.Col(panel(f"Countries ranked by {label.lower()}", graph("geography-bars", height=MAP_HEIGHT),
                          subtitle="Every country, mapped or not; selected ones in indigo."), lg=5 if european else 12),
        ]),
        panel("Countries", _country_grid(view.money),
              subtitle=f"Click a row to filter to that country (selected ones highlighted). {new_rule(view)}"),
        panel(list_title, customer_list_view("geography", view, canonical_query(view, OPTIONS))),
    ])


_WRAP = {"wrapHeaderText": True, "autoHeaderHeight": True}
def _table_columns(money: MoneyFormat = GBP) -> list[dict]:
    """The table's columns, money headers in the tenant's currency."""
    return [
        column("country", "Country", minWidth=150, pinned="left", **_WRAP),
        column("revenue", money.label("Net revenue"), "money", minWidth=130, **_WRAP),
        column("revenue_share", "Revenue share", "pct", **_WRAP),
        column("orders", "Orders", "int", **_WRAP),
        column("customers", "Customers", "int", minWidth=120, **_WRAP),
        column("average_order_value", money.label("AOV"), "money", **_WRAP),
        column("new_customers", "New customers", "int", minWidth=120, **_WRAP),
        column("map", "On the map", **_WRAP),
    ]


def _country_grid(money: MoneyFormat = GBP):
    grid = data_grid("geography-table", _table_columns(money), page_size=20)
    grid.getRowId = "params.data.country"  # cellClicked then carries the country as rowId
    grid.getRowStyle = {"styleConditions": [
        {"condition": "params.data.selected", "style": {"backgroundColor": SELECTED_BACKGROUND, "fontWeight": "600"}},
    ]}
    return grid


def new_rule(view: View) -> str:
    """What "new customers" means for this view."""
    if view.filters.start or view.filters.end:
        return "New customers: first order ever within the date filter."
    return f"New customers: first order ever in the {view.report.lookback_days} days before the snapshot."


# --------------------------------------------------------------------------
# data


def country_data(view: View) -> pd.DataFrame:
    """analytics.geography's country table under every filter but the country filter.

    With a date filter: the window's figures, new customers = first order ever
    in it (:func:`country_summary_between`); without: the whole history, new
    customers over the report's lookback before the snapshot.
    """
    filters = view.filters
    dated = bool(filters.start or filters.end)
    if not dated and not filters.filters_customers:
        return view.report.countries
    lines = view.lines
    if filters.filters_customers:  # segment, risk, tier: those customers (of every country)
        attributes = {k: v for k, v in filters.customer_attributes.items() if k != "country"}
        lines = select_lines(view.lines, customer_ids=select_customers(view.customers, attributes).index)
    if not dated:
        return country_summary(lines, view.snapshot, new_customer_days=view.report.lookback_days)
    first = view.report.cleaning.first_date
    start = pd.Timestamp(filters.start) if filters.start else pd.Timestamp(first).normalize()
    end = pd.Timestamp(filters.end) + pd.Timedelta(days=1) if filters.end else view.snapshot
    end = min(end, view.snapshot)
    if end <= start:
        return country_summary(lines.iloc[:0])
    return country_summary_between(lines, start, end)


@page_callback(PAGE_ID, Output("geography-map", "figure"), Output("geography-bars", "figure"),
               Output("geography-note", "children"), Output("geography-unmapped", "children"),
               Output("geography-table", "rowData"))
def update_geography(view: View):
    options = page_options(view.query, OPTIONS)
    summary = country_data(view)
    selected = set(view.filters.countries)
    if summary.empty:
        return message_figure(NO_MATCH, height=MAP_HEIGHT), message_figure(NO_MATCH, height=MAP_HEIGHT), "", "", []
    return (map_figure(summary, options["metric"], options["scale"], selected, view.money),
            bars_figure(summary, options["metric"], options["scale"], selected, money=view.money),
            dominance_note(summary, options["metric"], options["scale"]),
            unmapped_list(summary, view.money), table_rows(summary, selected))


def dominance_note(summary: pd.DataFrame, metric: str, scale: str) -> str:
    """Says when one country holds most of the metric (linear scale only)."""
    field, label, _ = METRICS[metric]
    if metric == "aov" or scale == "log":
        return ""
    values = summary[field]
    total = values.clip(lower=0).sum()
    if not total or values.empty:
        return ""
    top = values.idxmax()
    share = values.max() / total
    if share <= DOMINANT_SHARE:
        return ""
    return (f"{top} holds {percent(share, 0)} of the {label.lower()} and sets the top of the colour scale: "
            "switch the scale to Log to tell the other countries apart.")


def unmapped_list(summary: pd.DataFrame, money: MoneyFormat = GBP) -> html.Div | str:
    """The countries that cannot be drawn, with their figures (never dropped silently)."""
    names = unmapped_countries(summary)
    if not names:
        return html.Span("Every country of the data is on the map.", className="text-secondary")
    items = []
    for name in names:
        row = summary.loc[name]
        why = UNMAPPABLE_COUNTRIES.get(name, "no ISO country code for this name")
        items.append(html.Li([html.Strong(name), (f" ({why}): {money(row['revenue'])} net revenue "
                              f"({percent(row['revenue_share'])}), {count(row['orders'])} orders, "
                              f"{count(row['customers'])} customers, {count(row['new_customers'])} new")],
                             id={"type": "geography-unmapped-item", "country": name}))
    return html.Div([html.Span("Not on the map:", className="fw-semibold"), html.Ul(items, className="mb-0")])


def table_rows(summary: pd.DataFrame, selected: set[str]) -> list[dict]:
    frame = summary.reset_index()
    frame["map"] = np.where(frame["iso3"].notna(), "yes", "no")
    frame["selected"] = frame["country"].isin(selected)
    frame = frame.drop(columns="iso3")
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


# --------------------------------------------------------------------------
# click a country (map or table): filter to it, click again to clear


@callback(Output(URL_TARGET, "data", allow_duplicate=True), Input("geography-map", "clickData"),
          State(query_store_id(PAGE_ID), "data"), prevent_initial_call=True)
def map_click(click, query):
    return country_query(query, _clicked(click)) or no_update


@callback(Output(URL_TARGET, "data", allow_duplicate=True), Input("geography-bars", "clickData"),
          State(query_store_id(PAGE_ID), "data"), prevent_initial_call=True)
def bars_click(click, query):
    return country_query(query, _clicked(click)) or no_update


def _clicked(click) -> object:
    """The country of a map or bar click (first item of the point's customdata)."""
    points = click.get("points") if isinstance(click, dict) else None
    point = points[0] if isinstance(points, list) and points else None
    data = point.get("customdata") if isinstance(point, dict) else None
    return data[0] if isinstance(data, (list, tuple)) and data else None


@callback(Output(URL_TARGET, "data", allow_duplicate=True), Input("geography-table", "cellClicked"),
          State(query_store_id(PAGE_ID), "data"), prevent_initial_call=True)
def table_click(cell, query):
    country = cell.get("rowId") if isinstance(cell, dict) else None
    return country_query(query, country) or no_update


def country_query(query: str | None, country: object) -> str | None:
    """The page's query with the country filter toggled: ``country`` alone, or cleared when it
    was selected; None when ``country`` is not a country of the caller's data."""
    if not isinstance(country, str):
        return None
    query = query if isinstance(query, str) else ""  # the page's own query string, nothing else
    view = View(current_context(), query)
    if country not in view.options.get("countries", ()):
        return None
    filters = view.filters
    countries = tuple(c for c in filters.countries if c != country) if country in filters.countries else (country,)
    return build_query(replace(filters, countries=countries), page_options(query, OPTIONS))

