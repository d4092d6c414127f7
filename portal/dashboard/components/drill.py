"""Chart marks that open the customers behind them (see :mod:`portal.dashboard.drilldown`).

A figure puts the mark's link (``drill_link(...)``) as the last element of each
point's ``customdata``; :func:`drill_on` makes a click on the graph follow it
in the browser (a clientside callback: no server round trip to decide).
"""
from __future__ import annotations

import dash
from dash import ClientsideFunction, Input, Output, State

#: Hover line of a clickable mark.
CLICK_HINT = "<br><i>Click to see these customers</i>"


def drill_on(graph_id: str, key: str | None = None) -> None:
    """Register (at import of a page module) the click-to-drill of ``graph_id``.

    Without ``key`` the point's ``customdata`` holds the link; with a global-filter
    ``key`` (``"segment"``, ``"country"``) the clicked label becomes that filter of
    ``/customers``, keeping the current filters (for traces that carry no customdata);
    ``"cohort"`` reads a cohort heatmap cell from its axes (month label, period)."""
    if key is not None and key not in LABEL_KEYS:
        raise ValueError(f"drill_on: {key!r} is not one of {LABEL_KEYS}")
    dash.clientside_callback(
        ClientsideFunction(namespace="portal", function_name=f"drillBy_{key}" if key else "drillTo"),
        Output("url", "href", allow_duplicate=True),
        Input(graph_id, "clickData"), *([State("filter-keys", "data")] if key else []),
        prevent_initial_call=True,
    )


#: Filter keys a clicked label can set (portal.js defines drillBy_<key> for each).
LABEL_KEYS = ("segment", "country", "cohort")
