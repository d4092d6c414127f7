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
from dash import Output, html

from analytics.products import top_products
from analytics.trends import monthly_summary
from portal.dashboard.components.cards import graph, kpi_card, panel
from portal.dashboard.components.figures import OKABE_ITO, count, message_figure, money, percent, themed
from portal.dashboard.components.page import open_view, page_callback, page_frame
from portal.dashboard.components.states import NO_MATCH
from portal.dashboard.components.overview_figures import bar_figure
from portal.dashboard.components.help import help_points
from portal.dashboard.view import View
from portal.platform.tenancy import current_context

PAGE_ID = "overview"
PATH = "/"

dash.register_page(__name__, path=PATH, name="Overview", title="Overview · Customer analytics", order=0)

#: "How to read this": the points of overview.md beside this module.
HOW_TO = help_points(__file__)


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


@page_callback(PAGE_ID, Output("overview-kpis", "children"))
def update_kpis(view: View):
    start, end = view.window
    table = view.kpis()
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
    at_risk = customers["revenue_at_risk"].sum(min_count=1)
    clv = customers["clv_12m"].sum(min_count=1)
    high = int((customers["risk_band"] == "high").sum())
    return [
        dbc.Col(kpi_card("Revenue at risk", money(at_risk), card_id="kpi-revenue-at-risk",
                         note=f"at snapshot · {high:,} high-risk customers"), xs=12, sm=6, lg=3, className="mb-3"),
        dbc.Col(kpi_card("Predicted 12-month CLV", money(clv), card_id="kpi-clv",
                         note=f"at snapshot · {len(customers):,} customers"), xs=12, sm=6, lg=3, className="mb-3"),
    ]


@page_callback(PAGE_ID, Output("overview-trend", "figure"))
def update_trend(view: View):
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


@page_callback(PAGE_ID, Output("overview-countries", "figure"), Output("overview-products", "figure"))
def update_tops(view: View):
    countries, products = view.country_summary(), view.product_summary()
    return bar_figure(countries.nlargest(10, "revenue"), "revenue", "country", "£%{x:,.0f}"), bar_figure(
        top_products(products, by="revenue", n=10).assign(
            label=lambda t: t["description"].fillna(t.index.to_series()).str.slice(0, 32)),
        "revenue", "label", "£%{x:,.0f}")


