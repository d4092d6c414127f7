"""The global filter bar and the URL it writes.

Every analytic page puts :func:`filter_bar` at its top, built from the page's
own query string, so reload and back/forward restore it exactly.  Changing a
control writes the new query string to the ``url`` location (``callback-nav``:
no reload); Dash's router then renders the page again from that URL.  Pages
add their own options as controls with the id ``{"type": "page-option",
"key": <query key>}``; their values travel in the same query string.
"""
from __future__ import annotations

from datetime import date
from typing import Any

import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, ctx as dash_ctx, dcc, html, no_update

from portal.filters import QUERY_KEYS, Filters, build_query, parse_query

CONTROL_IDS = {
    "countries": "filter-country",
    "segments": "filter-segment",
    "risk_bands": "filter-risk",
    "clv_tiers": "filter-tier",
}


def filter_bar(filters: Filters, options: dict[str, Any], *, path: str, extra: Any = None) -> dbc.Card:
    """Date range, country, segment, risk band and CLV tier; ``options`` lists the choices."""
    low, high = options.get("date_min"), options.get("date_max")

    def dropdown(name: str, placeholder: str, choices: list[str]) -> dbc.Col:
        return dbc.Col(dcc.Dropdown(
            id=CONTROL_IDS[name], options=[{"label": c, "value": c} for c in choices],
            value=list(getattr(filters, name)), multi=True, placeholder=placeholder,
            className="small",
        ), xs=12, md=6, xl=2)

    controls = dbc.Row([
        dbc.Col(dcc.DatePickerRange(
            id="filter-dates", start_date=filters.start, end_date=filters.end,
            min_date_allowed=low, max_date_allowed=high, initial_visible_month=filters.end or high,
            display_format="YYYY-MM-DD", clearable=True, start_date_placeholder_text="From",
            end_date_placeholder_text="To", className="small",
        ), xs=12, md=6, xl=3),
        dropdown("countries", "All countries", options.get("countries", [])),
        dropdown("segments", "All segments", options.get("segments", [])),
        dropdown("risk_bands", "All risk bands", options.get("risk_bands", [])),
        dbc.Col([
            dcc.Dropdown(id=CONTROL_IDS["clv_tiers"], options=[{"label": t, "value": t}
                                                                for t in options.get("clv_tiers", [])],
                         value=list(filters.clv_tiers), multi=True, placeholder="All CLV tiers",
                         className="small"),
        ], xs=12, md=6, xl=2),
        dbc.Col(html.A("Clear", href=path, className="btn btn-link btn-sm", id="filter-clear"),
                xs="auto", className="d-flex align-items-center"),
    ], className="g-2 align-items-center")
    body = [controls]
    if extra is not None:
        body.append(html.Div(extra, className="mt-2"))
    return dbc.Card(dbc.CardBody(body, className="py-2"), className="mb-3 shadow-sm", id="filter-bar")


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value[:10]) if value else None


def register(app) -> None:
    """The callbacks that turn filter and page-option changes into a new URL."""

    @app.callback(
        Output("url", "search", allow_duplicate=True),
        Input("filter-dates", "start_date"), Input("filter-dates", "end_date"),
        *[Input(control, "value") for control in CONTROL_IDS.values()],
        State("url", "search"),
        prevent_initial_call=True,
    )
    def filters_to_url(start, end, countries, segments, risks, tiers, search):
        params = parse_query(search)
        options = {k: v for k, v in params.items() if k not in QUERY_KEYS}
        filters = Filters(start=_day(start), end=_day(end), countries=tuple(countries or ()),
                          segments=tuple(segments or ()), risk_bands=tuple(risks or ()),
                          clv_tiers=tuple(tiers or ()))
        query = build_query(filters, options)
        return no_update if query == _canonical(search) else query

    @app.callback(
        Output("url", "search", allow_duplicate=True),
        Input({"type": "page-option", "key": ALL}, "value"),
        State("url", "search"),
        prevent_initial_call=True,
    )
    def page_options_to_url(values, search):
        if not dash_ctx.triggered_id:
            return no_update
        params = parse_query(search)
        options = {k: v for k, v in params.items() if k not in QUERY_KEYS}
        for spec, value in zip(dash_ctx.inputs_list[0], values):
            options[spec["id"]["key"]] = value
        query = build_query(Filters.from_query(search), options)
        return no_update if query == _canonical(search) else query


def _canonical(search: str | None) -> str:
    params = parse_query(search)
    options = {k: v for k, v in params.items() if k not in QUERY_KEYS}
    return build_query(Filters.from_query(search), options)
