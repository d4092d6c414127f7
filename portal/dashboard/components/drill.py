"""Chart marks that open the customers behind them (see :mod:`portal.dashboard.drilldown`).

A figure puts the mark's link (``drill_link(...)``) as the last element of each
point's ``customdata``; :func:`drill_on` makes a click on the graph follow it
in the browser (a clientside callback: no server round trip to decide).
"""
from __future__ import annotations

import dash
from dash import ClientsideFunction, Input, Output

#: Hover line of a clickable mark.
CLICK_HINT = "<br><i>Click to see these customers</i>"


def drill_on(graph_id: str) -> None:
    """Register (at import of a page module) the click-to-drill of ``graph_id``."""
    dash.clientside_callback(
        ClientsideFunction(namespace="portal", function_name="drillTo"),
        Output("url", "href", allow_duplicate=True),
        Input(graph_id, "clickData"),
        prevent_initial_call=True,
    )
