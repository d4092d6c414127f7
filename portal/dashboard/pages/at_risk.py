"""Valuable customers at risk: the customers worth most to the shop whose risk is high
relative to the shop, ranked by net revenue at risk (issue 10).

The list, its rule and the reason it may be empty come from the stored fit
(:func:`analytics.risk.valuable_at_risk`, run in the background job); this page only
joins the tier, risk band, segment and country of each customer and applies the
filters.  Reached from the Overview's "Valuable customers at risk" card.
"""
from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
import pandas as pd
from dash import Output, html

from portal.dashboard.components.cards import kpi_card, panel
from portal.dashboard.components.customerlist import customer_list_view, profile_form
from portal.dashboard.components.figures import count, money, percent
from portal.dashboard.components.help import help_points
from portal.dashboard.components.page import canonical_query, open_view, page_callback, page_frame
from portal.dashboard.components.states import NO_MATCH
from portal.dashboard.customer_lists import Column, customer_list
from portal.dashboard.view import View
from portal.platform.tenancy import current_context

PAGE_ID = "at-risk"
PATH = "/at-risk"
LIST = "valuable_at_risk"

dash.register_page(__name__, path=PATH, name="Valuable at risk",
                   title="Valuable customers at risk · Customer analytics", order=55)


def at_risk_rows(view: View) -> pd.DataFrame:
    """The list's rows: :meth:`portal.dashboard.selectors.ReportSelections.valuable_at_risk`."""
    return view.valuable_at_risk()


AT_RISK_LIST = customer_list(
    LIST, "Valuable customers at risk",
    (Column("net_revenue_at_risk", "Net revenue at risk", "money"),
     Column("net_revenue_last_365d", "Net revenue 365 days", "money"),
     Column("churn_probability", "Churn prob.", "pct"), Column("relative_risk", "x base rate", "float"),
     Column("days_since_last_purchase", "Days since last purchase", "int"),
     Column("mean_gap_days", "Mean gap (days)", "float"), Column("selected_because", "Selected because"),
     Column("net_clv_12m", "Net CLV 12m", "money"), Column("clv_tier", "CLV tier"),
     Column("risk_band", "Risk band"), Column("segment", "Segment"), Column("country", "Country")),
    rows=at_risk_rows, default_sort=(("net_revenue_at_risk", "desc"),), needs_models=True,
)

HOW_TO = help_points(__file__)


def layout(**query):
    view = open_view(current_context(), query)
    return page_frame(view, title="Valuable customers at risk", page_id=PAGE_ID, path=PATH, how_to=HOW_TO,
                      body=_body, needs_models=True)


def _body(view: View) -> html.Div:
    found = view.models.results.valuable_at_risk
    if found is None:
        reason = view.models.results.errors.get("valuable_at_risk", "unknown reason")
        return dbc.Alert(f"The list is not available: {reason}", color="warning", id="at-risk-missing")
    rule = html.Div([html.Strong("Rule. "), found.rule], className="small mb-1", id="at-risk-rule")
    threshold = (f"so the risk threshold is {percent(found.risk_threshold)}"
                 if found.risk_threshold < 1 else
                 "above half, so no churn probability can be twice it: only customers overdue against "
                 "their own rhythm qualify")
    base = html.Div(
        f"This shop's base churn rate is {percent(found.base_rate)}, {threshold}; "
        f"{found.n_valuable:,} customers count as valuable "
        + (f"(net revenue of at least {money(found.value_threshold)} in the last 365 days)."
           if found.value_threshold == found.value_threshold else "."),
        className="small text-secondary mb-2", id="at-risk-thresholds")
    parts = [panel("Who is on this list", rule, base)]
    if found.reason:
        parts.append(dbc.Alert([html.Strong("Nobody is selected. "), found.reason], color="info",
                               id="at-risk-empty"))
    parts += [html.Div(id="at-risk-cards", className="mb-2"),
              panel("Valuable customers at risk", customer_list_view(LIST, view, canonical_query(view)),
                    actions=profile_form("at-risk"),
                    subtitle="Ranked by net revenue at risk; sort, filter and page in the grid. Filters apply.")]
    return html.Div(parts)


@page_callback(PAGE_ID, Output("at-risk-cards", "children"))
def update_cards(view: View):
    if not view.models.ready or view.models.results.valuable_at_risk is None:
        return None
    rows = at_risk_rows(view)
    if rows.empty and view.is_filtered:
        return dbc.Alert(NO_MATCH, color="secondary", id="at-risk-no-match")

    def col(card) -> dbc.Col:
        return dbc.Col(card, xs=12, sm=6, lg=4, className="mb-3")

    return dbc.Row([
        col(kpi_card("Valuable customers at risk", count(len(rows)), card_id="at-risk-count",
                     note="selected by the rule, after the filters")),
        col(kpi_card("Their net revenue at risk", money(rows["net_revenue_at_risk"].sum()),
                     card_id="at-risk-value", note="sum of churn probability x net 12-month CLV over this list")),
        col(kpi_card("Their net revenue, last 365 days", money(rows["net_revenue_last_365d"].sum()),
                     card_id="at-risk-revenue", note="sales minus returns")),
    ])
