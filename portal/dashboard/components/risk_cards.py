"""The Overview's link to the valuable customers at risk: a KPI tile that is one click away
from the list (``/at-risk``), counting the customers the filters keep."""
from __future__ import annotations

from dash import dcc

from portal.dashboard.filters import build_query
from portal.dashboard.view import View

from .cards import kpi_card
from .figures import count

AT_RISK_PATH = "/at-risk"


def at_risk_card(view: View) -> dcc.Link:
    """"Valuable customers at risk: N" with their net revenue at risk; links to the list
    with the same filters."""
    found = view.models.results.valuable_at_risk if view.models.ready else None
    if found is None:
        tile = kpi_card("Valuable customers at risk", "–", card_id="kpi-valuable-at-risk",
                        note="not available for this fit")
    else:
        table = view.valuable_at_risk()
        tile = kpi_card("Valuable customers at risk", count(len(table)), card_id="kpi-valuable-at-risk",
                        note=f"{view.money(table['net_revenue_at_risk'].sum())} net revenue at risk · see the list →")
    return dcc.Link(tile, href=AT_RISK_PATH + build_query(view.filters),
                    id="overview-at-risk-link", className="text-reset text-decoration-none d-block h-100")
