"""Overview (home): KPIs with their change, the monthly revenue trend split by new
and returning customers, top countries and top products.

Every number comes from the cached results of the tenant's current dataset:
with no filter the precomputed tables of the descriptive report, with filters
the same analytics functions over the selected lines.
"""
from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
import pandas as pd
import plotly.graph_objects as go
from dash import Input, Output, callback, html

from analytics.geography import country_summary
from analytics.products import product_summary, top_products
from analytics.trends import kpi_change, monthly_summary
from portal.components.cards import graph, kpi_card, panel
from portal.components.figures import OKABE_ITO, count, message_figure, money, percent, themed
from portal.components.page import open_view, page_frame, query_store_id
from portal.components.states import NO_MATCH
from portal.dashboard import View, memoised_view
from portal.tenancy import current_context

PAGE_ID = "overview"
PATH = "/"

dash.register_page(__name__, path=PATH, name="Overview", title="Overview · Customer analytics", order=0)

HOW_TO = [
    "**KPI window**: the date filter, or the last 90 days before the snapshot; the change compares it with "
    "the window of the same length just before.",
    "**Revenue** is net of returns, guests included. **AOV** = gross sales / orders. **Repeat-customer rate**: "
    "share of the window's customers with 2 or more orders up to the window's end.",
    "**New customers** made their first order ever in the month; **returning** ones had ordered before.",
    "**Revenue at risk** = churn probability x predicted 12-month CLV, summed over the selected customers; "
    "both come from the models fitted at the snapshot date.",
]


def layout(**query):
    view = open_view(current_context(), query)
    return page_frame(view, title="Overview", page_id=PAGE_ID, path=PATH, how_to=HOW_TO, body=_body)


def _body(view: View) -> html.Div:
    return html.Div([
        html.Div(id="overview-kpis", className="mb-2"),
        panel("Monthly revenue: new vs returning customers", graph("overview-trend", height=340)),
        dbc.Row([
            dbc.Col(panel("Top countries by revenue", graph("overview-countries", height=340)), lg=6),
            dbc.Col(panel("Top products by revenue", graph("overview-products", height=340)), lg=6),
        ]),
    ])


@callback(Output("overview-kpis", "children"), Input(query_store_id(PAGE_ID), "data"))
@memoised_view
def update_kpis(query):
    view = View(current_context(), query)
    start, end = view.window
    # no filter: the report's KPIs (same window: the last lookback_days before the snapshot)
    table = view.report.kpis if view.filters.is_empty else kpi_change(view.scoped_lines, start, end)
    previous = f"{(start - (end - start)):%Y-%m-%d} to {(start - pd.Timedelta(days=1)):%Y-%m-%d}"

    def card(name: str, title: str, fmt, higher_is_better: bool = True) -> dbc.Col:
        row = table.loc[name]
        change = row["change_pct"] / 100 if pd.notna(row["change_pct"]) else None
        return dbc.Col(kpi_card(title, fmt(row["value"]), change=change, previous=previous,
                                card_id=f"kpi-{name.replace('_', '-')}", higher_is_better=higher_is_better),
                       xs=12, sm=6, lg=3, className="mb-3")

    cards = [
        card("revenue", "Revenue", money),
        card("orders", "Orders", count),
        card("customers", "Customers", count),
        card("average_order_value", "Average order value", money),
        card("repeat_customer_rate", "Repeat-customer rate", percent),
        card("new_customers", "New customers", count),
    ]
    cards += _model_cards(view)
    window = html.Div(f"Window {start:%Y-%m-%d} to {(end - pd.Timedelta(days=1)):%Y-%m-%d}",
                      className="text-secondary small mb-2", id="kpi-window")
    return [window, dbc.Row(cards)]


def _model_cards(view: View) -> list[dbc.Col]:
    if not view.models.ready:
        note = "models not fitted yet"
        return [dbc.Col(kpi_card(title, "–", card_id=card_id, note=note), xs=12, sm=6, lg=3, className="mb-3")
                for title, card_id in (("Revenue at risk", "kpi-revenue-at-risk"),
                                       ("Predicted 12-month CLV", "kpi-clv"))]
    customers = view.selected_customers
    at_risk = customers["net_revenue_at_risk"].sum(min_count=1)
    clv = customers["net_clv_12m"].sum(min_count=1)
    high = int((customers["risk_band"] == "high").sum())
    return [
        dbc.Col(kpi_card("Revenue at risk", money(at_risk), card_id="kpi-revenue-at-risk",
                         note=f"at snapshot · {high:,} high-risk customers"), xs=12, sm=6, lg=3, className="mb-3"),
        dbc.Col(kpi_card("Predicted 12-month CLV", money(clv), card_id="kpi-clv",
                         note=f"at snapshot · {len(customers):,} customers"), xs=12, sm=6, lg=3, className="mb-3"),
    ]


@callback(Output("overview-trend", "figure"), Input(query_store_id(PAGE_ID), "data"))
@memoised_view
def update_trend(query):
    view = View(current_context(), query)
    monthly = monthly_summary(view.scoped_lines, view.snapshot) if view.has_scope else view.report.monthly
    if view.filters.start or view.filters.end:
        start, end = view.window
        monthly = monthly[(monthly["month"] >= start.replace(day=1)) & (monthly["month"] < end)]
    if monthly.empty:
        return message_figure(NO_MATCH)
    figure = go.Figure()
    for column, name, colour in (("revenue_returning", "Returning customers", OKABE_ITO[0]),
                                 ("revenue_new", "New customers", OKABE_ITO[1]),
                                 ("revenue_guests", "Guests (no customer id)", "#BBBBBB")):
        figure.add_bar(x=monthly["month"], y=monthly[column], name=name, marker_color=colour,
                       hovertemplate="%{x|%b %Y}: £%{y:,.0f}<extra>" + name + "</extra>")
    figure.add_scatter(x=monthly["month"], y=monthly["orders"], name="Orders", yaxis="y2", mode="lines+markers",
                       line={"color": OKABE_ITO[5]}, hovertemplate="%{x|%b %Y}: %{y:,} orders<extra></extra>")
    figure.update_layout(barmode="relative", yaxis={"title": "Net revenue (£)"},
                         yaxis2={"title": "Orders", "overlaying": "y", "side": "right", "showgrid": False})
    return themed(figure, height=340)


@callback(Output("overview-countries", "figure"), Output("overview-products", "figure"),
          Input(query_store_id(PAGE_ID), "data"))
@memoised_view
def update_tops(query):
    view = View(current_context(), query)
    if view.filters.is_empty:
        countries, products = view.report.countries, view.report.products
    else:
        selected = view.selected_lines
        countries = country_summary(selected, view.snapshot)
        products = product_summary(selected, view.snapshot)
    return _bar(countries.nlargest(10, "revenue"), "revenue", "country", "£%{x:,.0f}"), _bar(
        top_products(products, by="revenue", n=10).assign(
            label=lambda t: t["description"].fillna(t.index.to_series()).str.slice(0, 32)),
        "revenue", "label", "£%{x:,.0f}")


def _bar(table: pd.DataFrame, value: str, label: str, hover: str) -> go.Figure:
    if table.empty:
        return message_figure(NO_MATCH, height=340)
    table = table.iloc[::-1]
    labels = table[label] if label in table else table.index
    figure = go.Figure(go.Bar(x=table[value], y=labels, orientation="h", marker_color=OKABE_ITO[0],
                              hovertemplate=f"%{{y}}: {hover}<extra></extra>"))
    figure.update_layout(margin={"l": 200}, yaxis={"automargin": True})
    return themed(figure, height=340)
