"""Customer profile: one customer of the caller's tenant, found by id.

``/profile?customer=<id>``: order history, RFM figures, segment now and at
earlier snapshots, the model figures (CLV, P(alive), churn) when the models are
fitted, recommended products and what the customer bought most.  The id is
looked up in the caller's own tenant only (the tenant comes from the server
session); an id that is not one of its customers shows "No customer with this
id" and nothing else.  Global filters do not apply to a profile (it is always
the whole history up to the snapshot).
"""
from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
import numpy as np
import pandas as pd
from dash import Output, dcc, html

from analytics.migration import NOT_YET_CUSTOMER, segment_history
from analytics.orders import invoice_table
from analytics.products import product_summary, top_products
from analytics.rfm import SEGMENT_DESCRIPTIONS
from analytics.selection import select_lines
from analytics.trends import business_kpis
from portal.dashboard.components.cards import kpi_card, panel
from portal.dashboard.components.figures import SEGMENT_COLOURS, count, money, percent
from portal.dashboard.components.page import open_view, page_callback, page_frame
from portal.dashboard.components.profile_figures import TIMELINE_HEIGHT, timeline_figure
from portal.dashboard.components.help import help_points
from portal.dashboard.components.interval_cards import interval_cards
from portal.dashboard.view import View
from portal.dashboard.filters import parse_query
from portal.data.results import get_result, register
from portal.platform.tenancy import current_context

PAGE_ID = "profile"
PATH = "/profile"
#: Ids offered as suggestions in the search box: the customers with the highest net revenue.
SUGGESTIONS = 500
SOURCES = {"similar": "co-purchase", "popular": "popularity"}

dash.register_page(__name__, path=PATH, name="Customer profile", title="Customer profile · Customer analytics",
                   order=70)


def _segment_history(r):
    cleaned = r("cleaned")
    return segment_history(cleaned.lines, cleaned.snapshot_date)


#: Segments of every customer at the snapshot and 90/180/270/360 days before, once per dataset.
register("segment_history", _segment_history)

#: "How to read this": the points of profile.md beside this module.
HOW_TO = help_points(__file__)


def customer_id(query) -> str:
    """The ``customer`` value of a query string or mapping ("" when absent)."""
    return parse_query(query).get("customer", [""])[0]


def layout(**query):
    view = open_view(current_context(), query)
    wanted = customer_id(query)
    return page_frame(view, title="Customer profile", page_id=PAGE_ID, path=PATH, how_to=HOW_TO,
                      body=lambda v: _body(v, wanted), options={"customer": (wanted,)}, filters=False)


def _body(view: View, wanted: str) -> html.Div:
    suggestions = view.customers["monetary"].nlargest(SUGGESTIONS).index.tolist()
    search = html.Div([
        html.Label("Customer id", htmlFor="profile-search", className="small text-secondary me-2 mb-0"),
        dcc.Input(id={"type": "page-option", "key": "customer"}, value=wanted, type="text", debounce=True,
                  list="profile-customer-ids", placeholder="e.g. " + (suggestions[0] if suggestions else "12345"),
                  maxLength=64, className="form-control form-control-sm", style={"width": "14rem"},
                  autoComplete="off"),
        html.Datalist(id="profile-customer-ids", children=[html.Option(value=c) for c in suggestions]),
        html.Span("Enter to open", className="small text-secondary ms-2"),
    ], className="d-flex align-items-center mb-3", id="profile-search")
    return html.Div([search, dcc.Loading(html.Div(id="profile-content"), type="circle", delay_show=150)])


@page_callback(PAGE_ID, Output("profile-content", "children"))
def update_profile(view: View):
    wanted = customer_id(view.query)
    if not wanted:
        return dbc.Alert("Type a customer id above to see their profile.", color="info", id="profile-prompt")
    customers = view.customers
    if wanted not in customers.index:
        return dbc.Alert("No customer with this id.", color="secondary", id="profile-no-customer")
    return _profile(view, wanted, customers.loc[wanted])


def customer_lines(view: View, wanted: str) -> pd.DataFrame:
    """The customer's cleaned lines before the snapshot (orders and returns)."""
    lines = select_lines(view.lines, customer_ids=[wanted])
    return lines.loc[(lines["invoice_date"] < view.snapshot).to_numpy()]


def _profile(view: View, wanted: str, row: pd.Series) -> html.Div:
    lines = customer_lines(view, wanted)
    invoices = invoice_table(lines)
    returns = invoices[invoices["is_return"]]
    first = row["first_order"]
    kpis = business_kpis(lines, first.normalize(), view.snapshot)
    segment = str(row["segment"])

    def col(card, lg=3) -> dbc.Col:
        return dbc.Col(card, xs=12, sm=6, lg=lg, className="mb-3")

    facts = [
        col(kpi_card("First order", f"{first:%Y-%m-%d}", card_id="profile-kpi-first-order",
                     note=f"{first:%H:%M}")),
        col(kpi_card("Last order", f"{row['last_order']:%Y-%m-%d}", card_id="profile-kpi-last-order",
                     note=f"recency {int(row['recency']):,} days")),
        col(kpi_card("Orders", count(row["frequency"]), card_id="profile-kpi-orders",
                     note="distinct invoices, cancellations excluded")),
        col(kpi_card("Net revenue", view.money(row["monetary"]), card_id="profile-kpi-revenue",
                     note="sales minus returns")),
        col(kpi_card("Average order value", view.money(kpis["average_order_value"]), card_id="profile-kpi-aov",
                     note="gross order value / orders")),
        col(kpi_card("Tenure", f"{int(row['tenure']):,} days", card_id="profile-kpi-tenure",
                     note="first order to the snapshot")),
        col(kpi_card("Country", str(row["country"]), card_id="profile-kpi-country", note="of the latest order")),
        col(kpi_card("Returns", count(len(returns)), card_id="profile-kpi-returns",
                     note=f"{view.money(abs(returns['revenue'].sum()))} refunded" if len(returns) else "nothing returned")),
    ]
    return html.Div([
        html.Div([
            html.H3(f"Customer {wanted}", className="h5 mb-0 me-3", id="profile-title"),
            html.Span(segment, className="badge rounded-pill me-2", id="profile-segment",
                      style={"backgroundColor": SEGMENT_COLOURS.get(segment, "#666666"),
                             "color": "black" if segment in ("New Customers", "Hibernating", "Promising",
                                                             "About to Sleep", "Loyal Customers") else "white"}),
            html.Span(SEGMENT_DESCRIPTIONS.get(segment, ""), className="small text-secondary"),
        ], className="d-flex align-items-center flex-wrap mb-3"),
        dbc.Row(facts),
        dbc.Row(_model_cards(view, row)),
        dbc.Row([
            dbc.Col(panel("Order history", dcc.Graph(id="profile-timeline", figure=timeline_figure(invoices, view.money),
                                                     config={"displaylogo": False},
                                                     style={"height": f"{TIMELINE_HEIGHT}px"}),
                          subtitle="Orders sized by value; returns as x below zero"), lg=7),
            dbc.Col(panel("Segment history", _segment_table(view, wanted),
                          subtitle="RFM segment at the snapshot and before"), lg=5),
        ]),
        dbc.Row([
            dbc.Col(panel("Recommended products", _recommendations(view, wanted),
                          subtitle="Top 10 products not bought yet"), lg=6),
            dbc.Col(panel("What they bought most", _bought_most(lines, view.snapshot, view.money),
                          subtitle="Top 10 products by net revenue"), lg=6),
        ]),
    ], id="profile-details")


def _model_cards(view: View, row: pd.Series) -> list[dbc.Col]:
    specs = (("12-month CLV", "net_clv_12m", money, "profile-kpi-clv"),
             ("P(alive)", "p_alive", percent, "profile-kpi-p-alive"),
             ("Expected orders 90 d", "expected_purchase_days_90d", lambda v: "–" if np.isnan(v) else f"{v:.2f}",
              "profile-kpi-expected-orders"),
             ("Churn probability", "churn_probability", percent, "profile-kpi-churn"))
    cards = []
    for title, field, fmt, card_id in specs:
        if not view.models.ready:
            card = kpi_card(title, "–", card_id=card_id, note="models not fitted yet")
        else:
            value = row.get(field)
            value = float(value) if value is not None and pd.notna(value) else float("nan")
            note = {"net_clv_12m": f"tier: {row.get('clv_tier')}" if pd.notna(row.get("clv_tier")) else "not scored",
                    "p_alive": "BG/NBD, at the snapshot",
                    "expected_purchase_days_90d": "purchase days, BG/NBD",
                    "churn_probability": (f"risk band: {row.get('risk_band')}" if pd.notna(row.get("risk_band"))
                                          else "not scored")}[field]
            card = kpi_card(title, fmt(value), card_id=card_id, note=note)
        cards.append(dbc.Col(card, xs=12, sm=6, lg=3, className="mb-3"))
    if view.models.ready:
        cards += interval_cards(view.models.results.clv_intervals, str(row.name))
    return cards


def _segment_table(view: View, wanted: str) -> html.Div:
    history = get_result(view.ctx, "segment_history").of(wanted)
    rows = []
    for offset, date, segment in history.itertuples(index=False):
        when = "Snapshot" if offset == 0 else f"{offset} d before"
        colour = SEGMENT_COLOURS.get(segment, "#ffffff")
        swatch = html.Span(className="d-inline-block rounded-circle me-2 border",
                           style={"width": "0.8rem", "height": "0.8rem", "backgroundColor": colour,
                                  "verticalAlign": "middle"}) if segment != NOT_YET_CUSTOMER else None
        rows.append(html.Tr([html.Td(when, className="text-secondary text-nowrap"),
                             html.Td(f"{date:%Y-%m-%d}", className="text-nowrap"),
                             html.Td([swatch, segment], className="fw-semibold" if offset == 0 else "")],
                            id=f"profile-segment-{offset}"))
    return html.Table([html.Thead(html.Tr([html.Th("When"), html.Th("Date"), html.Th("Segment")])),
                       html.Tbody(rows)], className="table table-sm small mb-0", id="profile-segment-history")


def recommendation_rows(view: View, wanted: str) -> pd.DataFrame:
    """The customer's stored top-10 recommendations, best first ("" source names mapped)."""
    recs = view.models.results.recommendations
    if recs is None:
        return pd.DataFrame(columns=["rank", "stock_code", "description", "source", "score"])
    mine = recs.loc[recs["customer_id"].to_numpy() == wanted].sort_values("rank")  # ids are str
    return mine.assign(source=mine["source"].map(SOURCES).fillna(mine["source"]))[
        ["rank", "stock_code", "description", "source", "score"]]


def _recommendations(view: View, wanted: str):
    if not view.models.ready:
        return html.P("Recommendations appear when the models are fitted.", className="text-secondary small mb-0",
                      id="profile-recommendations-pending")
    rows = recommendation_rows(view, wanted)
    if rows.empty:
        return html.P("No recommendations for this customer.", className="text-secondary small mb-0",
                      id="profile-recommendations-empty")
    return product_table(
        ("#", "Product", "Description", "Source", "Score"),
        [(str(r.rank), r.stock_code, r.description or "", r.source, f"{r.score:.3f}") for r in rows.itertuples()],
        table_id="profile-recommendations", right=(0, 4), nowrap=(3,))


def _bought_most(lines: pd.DataFrame, snapshot: pd.Timestamp, money):
    products = top_products(product_summary(lines, snapshot), by="revenue", n=10)
    if products.empty:
        return html.P("No products.", className="text-secondary small mb-0", id="profile-top-products-empty")
    return product_table(
        ("Product", "Description", "Units", "Orders", "Net revenue"),
        [(code, r.description or "", count(r.quantity), count(r.orders), money(r.revenue))
         for code, r in zip(products.index, products.itertuples())],
        table_id="profile-top-products", right=(2, 3, 4))


def product_table(header, rows, *, table_id: str, right: tuple[int, ...], nowrap: tuple[int, ...] = ()) -> html.Table:
    """Up to ten products as a compact table; ``right``: indexes of the numeric columns, ``nowrap``: of
    other columns kept on one line."""
    def line(values, tag, row_id=None):
        cells = [tag(v, className="text-end text-nowrap" if i in right else "text-nowrap" if i in nowrap else "")
                 for i, v in enumerate(values)]
        return html.Tr(cells, id=row_id) if row_id else html.Tr(cells)
    return html.Table([html.Thead(line(header, html.Th)),
                       html.Tbody([line(row, html.Td, f"{table_id}-{j}") for j, row in enumerate(rows)])],
                      className="table table-sm small mb-0", id=table_id)
