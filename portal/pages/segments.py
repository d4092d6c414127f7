"""Segments: RFM segments of the customers at the snapshot date."""
from __future__ import annotations

import dash
from dash import html

from portal.components.cards import panel
from portal.components.customerlist import customer_list_view
from portal.components.page import canonical_query, open_view, page_frame
from portal.customer_lists import Column, customer_list
from portal.dashboard import View
from portal.tenancy import current_context

PAGE_ID = "segments"
PATH = "/segments"

dash.register_page(__name__, path=PATH, name="Segments", title="Segments · Customer analytics", order=10)

SEGMENT_LIST = customer_list(
    "segments", "Customers by RFM segment",
    (Column("segment", "Segment"), Column("recency", "Recency (days)", "int"),
     Column("frequency", "Orders", "int"), Column("monetary", "Net revenue", "money"),
     Column("rfm_score", "RFM score"), Column("country", "Country"), Column("last_order", "Last order", "date")),
    default_sort=(("monetary", "desc"),),
)

HOW_TO = ["**Recency**: days from the last order to the snapshot date."]


def layout(**query):
    view = open_view(current_context(), query)
    return page_frame(view, title="Segments", page_id=PAGE_ID, path=PATH, how_to=HOW_TO, body=_body)


def _body(view: View) -> html.Div:
    return html.Div([panel("Customers", customer_list_view("segments", view, canonical_query(view)))])
