"""Products: best sellers, revenue concentration, returns and what sells together.

Top products (by revenue, units or customers), the Pareto curve of product
revenue, the highest return rates and the association rules of the fitted
models.  Figures come from :mod:`analytics.products` (with no filter the
report's product table, with filters the same function over the selected
lines); the rules are the stored model results.
"""
from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from dash import Output, html

from analytics.errors import InsufficientDataError
from analytics.products import MIN_UNITS_FOR_RETURN_RATE, returned_value
from portal.dashboard.components.cards import graph, panel
from portal.dashboard.components.palette import INK, MEASURE
from portal.dashboard.components.figures import count, message_figure, percent, themed
from portal.dashboard.components.page import open_view, page_callback, page_frame, page_option
from portal.dashboard.components.states import NO_MATCH, models_pending
from portal.dashboard.components.tables import column, data_grid
from portal.dashboard.components.products_figures import (
    HALF_HEIGHT,
    TOP_HEIGHT,
    TOP_N,
    returns_figure,
    top_figure,
)
from portal.dashboard.components.help import help_points
from portal.dashboard.components.drill import drill_on
from portal.dashboard.drilldown import drill_link
from portal.dashboard.view import View
from portal.dashboard.filters import page_options
from portal.platform.tenancy import current_context

PAGE_ID = "products"
PATH = "/products"
OPTIONS = {"by": ("revenue", "quantity", "customers")}

dash.register_page(__name__, path=PATH, name="Products", title="Products · Customer analytics", order=80)

#: "How to read this": the points of products.md beside this module.
HOW_TO = help_points(__file__, MIN_UNITS_FOR_RETURN_RATE=MIN_UNITS_FOR_RETURN_RATE)


def layout(**query):
    view = open_view(current_context(), query)
    return page_frame(view, title="Products", page_id=PAGE_ID, path=PATH, how_to=HOW_TO, body=_body,
                      options=OPTIONS)


def _body(view: View) -> html.Div:
    by = page_options(view.query, OPTIONS)["by"]
    switch = page_option("by", by, (("revenue", "Revenue"), ("quantity", "Units"), ("customers", "Customers")),
                         label="Rank by")
    return html.Div([
        html.Div(panel(f"Top {TOP_N} products", graph("products-top", height=TOP_HEIGHT), actions=switch,
                       subtitle="Click a bar to see the customers who bought the product."), className="drillable"),
        dbc.Row([
            dbc.Col(panel("Revenue concentration (Pareto)", graph("products-pareto", height=HALF_HEIGHT),
                          html.Div(id="products-pareto-note", className="small text-secondary mt-1")), lg=6),
            dbc.Col(panel("Highest return rates", graph("products-returns", height=HALF_HEIGHT),
                          html.Div(id="products-returns-note", className="small text-secondary mt-1"),
                          subtitle=f"Products with returns and at least {MIN_UNITS_FOR_RETURN_RATE} units sold; "
                                   "labels: value of the goods returned"), lg=6),
        ]),
        panel("Bought together: association rules", html.Div(id="products-rules-box"),
              subtitle="From all orders of the dataset at model fit (filters do not apply). Sorted by lift."),
    ])


def product_data(view: View) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(product summary, the lines it was computed from) for this view."""
    return view.product_summary(), view.selected_lines


@page_callback(PAGE_ID, Output("products-top", "figure"), Output("products-pareto", "figure"),
               Output("products-pareto-note", "children"), Output("products-returns", "figure"),
               Output("products-returns-note", "children"))
def update_products(view: View):
    by = page_options(view.query, OPTIONS)["by"]
    summary, lines = product_data(view)
    if summary.empty:
        return (message_figure(NO_MATCH, height=TOP_HEIGHT), message_figure(NO_MATCH, height=HALF_HEIGHT), "",
                message_figure(NO_MATCH, height=HALF_HEIGHT), "")
    pareto_fig, pareto_note = pareto_figure(view, summary)
    returns_fig, returns_note = returns_figure(summary, returned_value(lines, view.snapshot), view.money)
    top = top_figure(summary, by, view.money, link=lambda code: drill_link(view.filters, PATH, product=code))
    return top, pareto_fig, pareto_note, returns_fig, returns_note


drill_on("products-top")


def pareto_figure(view: View, summary: pd.DataFrame) -> tuple[go.Figure, str]:
    """Cumulative revenue share vs product share (trace "pareto") and the 80 % marker (trace "80%")."""
    try:
        pareto = view.product_pareto()
        if pareto is None:
            raise InsufficientDataError("no Pareto curve in the report")
    except InsufficientDataError:
        return message_figure("No product has a positive net revenue here.", height=HALF_HEIGHT), ""
    curve = pareto.curve
    codes = curve["stock_code"].to_numpy(dtype=object)
    figure = go.Figure()
    figure.add_scatter(x=[0, 1], y=[0, 1], mode="lines", name="equal shares", hoverinfo="skip",
                       line={"color": "#999999", "dash": "dot", "width": 1})
    figure.add_scatter(
        x=np.r_[0.0, curve["product_share"]], y=np.r_[0.0, curve["revenue_share"]], mode="lines", name="pareto",
        line={"color": MEASURE, "width": 2.5}, customdata=np.r_[0, curve["rank"]],
        hovertemplate="Top %{customdata:,} products (%{x:.1%}) make %{y:.1%} of net revenue<extra></extra>",
    )
    x80, n80 = pareto.product_share_for_80, pareto.products_for_80
    figure.add_scatter(x=[x80], y=[0.8], mode="markers", name="80%", customdata=[n80],
                       marker={"color": INK, "size": 11, "symbol": "diamond"},
                       hovertemplate="%{customdata:,} products (%{x:.1%}) make 80% of net revenue<extra></extra>")
    figure.add_shape(type="line", x0=0, x1=x80, y0=0.8, y1=0.8, line={"color": INK, "dash": "dash", "width": 1})
    figure.add_shape(type="line", x0=x80, x1=x80, y0=0, y1=0.8, line={"color": INK, "dash": "dash", "width": 1})
    figure.add_annotation(x=x80, y=0.8, text=f"{n80:,} products = 80%", showarrow=True, arrowhead=0, ax=60, ay=40,
                          font={"size": 12}, bgcolor="white")
    figure.update_layout(
        xaxis={"title": "Share of products (best sellers first)", "tickformat": ".0%", "range": [0, 1]},
        yaxis={"title": "Cumulative share of net revenue", "tickformat": ".0%", "range": [0, 1.02]},
        showlegend=False, margin={"l": 60, "r": 20, "t": 10, "b": 50},
    )
    note = (f"{count(n80)} of {count(len(codes))} products ({percent(x80)}) make 80 % of the net revenue; "
            f"the best seller alone makes {percent(curve['revenue_share'].iloc[0])}.")
    return themed(figure, height=HALF_HEIGHT), note


_WRAP = {"wrapHeaderText": True, "autoHeaderHeight": True}
_RULE_COLUMNS = [
    column("antecedent_label", "If the basket holds", minWidth=260, flex=3, tooltipField="antecedent_label"),
    column("consequent_label", "it often also holds", minWidth=260, flex=3, tooltipField="consequent_label"),
    column("orders", "Orders with both", "int", minWidth=100, **_WRAP),
    column("support", "Support", "pct", minWidth=100),
    column("confidence", "Confidence", "pct", minWidth=120),
    column("lift", "Lift", "float", minWidth=90,
           valueFormatter={"function": "params.value == null ? '' : d3.format(',.2f')(params.value)"}),
]


@page_callback(PAGE_ID, Output("products-rules-box", "children"))
def update_rules(view: View):
    models = view.models
    if not models.ready:
        message = None
        if models.status == "running":
            message = f"The models are being fitted ({models.progress:.0%}); the rules appear when they are ready."
        elif models.status == "failed":
            message = f"The models could not be fitted: {models.message}"
        return models_pending(message)
    rules = models.results.association_rules
    if rules is None:
        reason = models.results.errors.get("association_rules", "not computed")
        return dbc.Alert(f"No association rules for this dataset: {reason}", color="secondary", id="products-rules-none")
    if rules.empty:
        return dbc.Alert("No pair of products is bought together often enough to make a rule.", color="secondary",
                         id="products-rules-none")
    return data_grid("products-rules", _RULE_COLUMNS, rule_rows(rules), page_size=10)


def rule_rows(rules: pd.DataFrame) -> list[dict]:
    """The stored rules as grid rows: codes, descriptions and the labels shown."""
    def label(code, description) -> str:
        return f"{description} ({code})" if isinstance(description, str) and description else str(code)

    frame = rules[["antecedent", "consequent", "antecedent_description", "consequent_description", "orders",
                   "support", "confidence", "lift"]].copy()
    frame["antecedent_label"] = [label(c, d) for c, d in zip(frame["antecedent"], frame["antecedent_description"])]
    frame["consequent_label"] = [label(c, d) for c, d in zip(frame["consequent"], frame["consequent_description"])]
    return frame.astype(object).where(frame.notna(), None).to_dict("records")
