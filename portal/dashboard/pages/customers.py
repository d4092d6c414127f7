"""Customers: the customers behind a chart mark (drill-down) or a search, as a customer list.

``/customers?<filters>&<mark>`` (see :mod:`portal.dashboard.drilldown`).  A
breadcrumb leads back to the page the click came from, with the same filters;
a click on a row opens the customer's profile.  The list and its export go
through the customer-list path every list uses.
"""
from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from portal.dashboard.components.customerlist import customer_list_view
from portal.dashboard.components.help import help_points
from portal.dashboard.money import money_format
from portal.dashboard.components.page import open_view, page_frame
from portal.dashboard.customer_lists import Column, customer_list
from portal.dashboard.drilldown import DRILL_KEYS, PATH, Drill, drill_customers, exact_customer
from portal.dashboard.filters import Filters, build_query, parse_query
from portal.dashboard.links import safe_page_link
from portal.dashboard.view import View
from portal.platform.tenancy import current_context

PAGE_ID = "customers"

dash.register_page(__name__, path=PATH, name="Customers", title="Customers · Customer analytics", order=90,
                   hidden=True)

#: "How to read this": the points of customers.md beside this module.
HOW_TO = help_points(__file__)

DRILL_LIST = customer_list(
    "customers", "Customers",
    (Column("segment", "Segment"), Column("country", "Country"), Column("monetary", "Net revenue", "money"),
     Column("frequency", "Orders", "int"), Column("recency", "Recency (days)", "int"),
     Column("net_clv_12m", "Predicted CLV 12m", "money"), Column("churn_probability", "Churn probability", "pct"),
     Column("risk_band", "Risk band"), Column("last_order", "Last order", "date")),
    rows=drill_customers, default_sort=(("monetary", "desc"),),
    file_part=lambda view: Drill.from_query(view.query).slug(),
)
PAGE_NAMES = {"/": "Overview"}


def layout(**query):
    view = open_view(current_context(), query)
    drill = Drill.from_query(query)
    options = {key: (value,) for key, value in _drill_params(query).items()}
    return page_frame(view, title="Customers", page_id=PAGE_ID, path=PATH, how_to=HOW_TO,
                      body=lambda v: _body(v, drill, query), options=options)


def _drill_params(query) -> dict[str, str]:
    params = parse_query(query)
    return {k: params[k][0] for k in DRILL_KEYS if k in params}


def breadcrumb(view: View, query) -> dbc.Breadcrumb:
    """Home / the page the click came from (same filters) / Customers."""
    origin = safe_page_link(_drill_params(query).get("from") or "", "", fallback="")
    filters = build_query(view.filters)
    items = [{"label": "Overview", "href": "/" + filters}]
    if origin and origin != "/":
        name = next((p["name"] for p in dash.page_registry.values() if p["path"] == origin), origin)
        items.append({"label": name, "href": origin + filters})
    items.append({"label": "Customers", "active": True})
    return dbc.Breadcrumb(items=items, id="customers-breadcrumb", class_name="small mb-1")


def _body(view: View, drill: Drill, query) -> html.Div:
    money = money_format(view.ctx)
    marks = drill.describe(money) or ["All customers the filters keep"]
    query_string = build_query(view.filters, {**_drill_params(query)})
    exact = None
    customer = exact_customer(view, drill)
    if customer is not None:
        exact = dcc.Link(f"Open the profile of customer {customer}",
                         href="/profile" + build_query(Filters(), {"customer": customer}), id="customers-exact",
                         className="btn btn-primary btn-sm mb-2")
    return html.Div([
        breadcrumb(view, query),
        html.Div([html.Span("Selected: ", className="text-secondary me-1"),
                  *[dbc.Badge(text, color="light", text_color="dark", className="border me-1 mb-1")
                    for text in marks]],
                 className="small mb-2 d-flex flex-wrap align-items-center", id="customers-drill"),
        exact,
        customer_list_view("customers", view, query_string, with_page=False),
    ])
