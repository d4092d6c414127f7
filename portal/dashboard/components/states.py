"""Empty and error states that tell the manager what to do next."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html

NO_DATA = "No data yet: an admin can import a file on the Data page."
NO_MATCH = "The filters match nobody. Widen the date range or clear the filters."
#: The no-match note on two lines, for figures in narrow panels.
NO_MATCH_NARROW = NO_MATCH.replace(". ", ".<br>", 1)
MODELS_PENDING = "The models of this dataset are still being fitted; this view fills in when they are ready."


def no_data(role_is_admin: bool = False) -> dbc.Alert:
    link = [" ", html.A("Go to the Data page", href="/data", className="alert-link")] if role_is_admin else []
    return dbc.Alert([html.Strong("No data yet. "), "Import a transaction file to see this view.", *link],
                     color="info", id="empty-state")


def no_match(clear_href: str) -> dbc.Alert:
    return dbc.Alert([NO_MATCH, " ", html.A("Clear filters", href=clear_href, className="alert-link")],
                     color="secondary", id="no-match")


def models_pending(message: str | None = None) -> dbc.Alert:
    return dbc.Alert(message or MODELS_PENDING, color="warning", id="models-pending")


def error(message: str) -> dbc.Alert:
    return dbc.Alert(message, color="danger", className="mb-3")
