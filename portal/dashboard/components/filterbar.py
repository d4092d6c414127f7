"""The global filter bar and the URL it writes.

Every analytic page puts :func:`filter_bar` at its top, built from the page's
own query string, so reload and back/forward restore it exactly.  Changing a
control writes the new query string to the ``url`` location (``callback-nav``:
no reload); Dash's router then renders the page again from that URL.  Pages
add their own options as controls with the id ``{"type": "page-option",
"key": <query key>}``; their values travel in the same query string.
"""
from __future__ import annotations

import sys
from dataclasses import replace
from datetime import date
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import ALL, ClientsideFunction, Input, Output, State, dcc, html, no_update
from dash import ctx as dash_ctx

from portal.dashboard.filters import QUERY_KEYS, Filters, build_query, chips, date_presets, parse_query

#: A store of every page (:func:`portal.dashboard.components.page.page_frame`): a server
#: callback that moves to another query (a page option, a click on a country) writes the
#: query here and a clientside callback copies it into the URL.  A server callback whose
#: output is the shell's ``url`` would be called, for nothing, each time the page is drawn
#: (Dash calls a callback whose input is new and output old); one whose output is new with
#: its input is not.
URL_TARGET = "page-url-target"

CONTROL_IDS = {
    "countries": "filter-country",
    "segments": "filter-segment",
    "risk_bands": "filter-risk",
    "clv_tiers": "filter-tier",
}


def filter_bar(filters: Filters, options: dict[str, Any], *, path: str, extra: Any = None,
               page_query: dict[str, str] | None = None) -> dbc.Card:
    """Date range (applied once both dates are chosen, plus presets), country, segment, risk band
    and CLV tier; ``options`` lists the choices.  Below them, one chip per applied filter value
    with a one-click removal, and the presets; ``page_query`` holds the page's own options, which
    those links keep."""
    low, high = options.get("date_min"), options.get("date_max")

    def dropdown(name: str, placeholder: str, choices: list[str]) -> dbc.Col:
        # values of the URL that the data does not have stay selectable, so the dropdown keeps
        # them and the page shows its "matches nobody" state instead of silently dropping them
        choices = list(dict.fromkeys([*choices, *getattr(filters, name)]))
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
            end_date_placeholder_text="To", className="small", updatemode="bothdates",
            minimum_nights=0, number_of_months_shown=1,
        ), xs=12, md=6, xl=3),
        dropdown("countries", "All countries", options.get("countries", [])),
        dropdown("segments", "All segments", options.get("segments", [])),
        dropdown("risk_bands", "All risk bands", options.get("risk_bands", [])),
        dropdown("clv_tiers", "All CLV tiers", options.get("clv_tiers", [])),
        dbc.Col(dcc.Link("Clear", href=path + build_query(Filters(), page_query), className="btn btn-link btn-sm",
                         id="filter-clear"),
                xs="auto", className="d-flex align-items-center"),
    ], className="g-2 align-items-center")
    count = len(chips(filters))
    toggle = html.Button(f"Filters{f' ({count} applied)' if count else ''}", id="filter-toggle", type="button",
                         className="btn btn-outline-secondary btn-sm w-100 d-md-none mb-2")
    # on phones the controls fold away behind "Filters"; the chips below stay in sight
    body = [toggle, dbc.Collapse(controls, id="filter-controls", is_open=False, className="d-md-block"),
            applied(filters, path, page_query, high, week_start=options.get("week_start", 0),
                    fiscal_year_start_month=options.get("fiscal_year_start_month", 1))]
    if extra is not None:
        body.append(html.Div(extra, className="mt-2"))
    return dbc.Card(dbc.CardBody(body, className="py-2"), className="mb-3 shadow-sm", id="filter-bar")


def applied(filters: Filters, path: str, page_query: dict[str, str] | None, last_day, *, week_start: int = 0,
            fiscal_year_start_month: int = 1) -> html.Div:
    """Chips of the applied filters (each a link without that value) and the date presets (weeks
    starting on the tenant's first day of the week; fiscal years when it set a fiscal year start)."""
    chip_links = [
        dcc.Link([label, html.Span(" ×", **{"aria-hidden": "true"})], href=path + build_query(rest, page_query),
                 className="badge rounded-pill text-bg-light border text-decoration-none me-1 mb-1 filter-chip",
                 title=f"Remove {label}")
        for label, rest in chips(filters)
    ]
    status = chip_links or [html.Span("No filters: all customers and dates", className="text-secondary")]
    presets = [
        dcc.Link(label, href=path + build_query(replace(filters, start=start, end=end), page_query),
                 className="btn btn-link btn-sm px-1 py-0 date-preset",
                 title=f"{start or 'first day'} to {end or 'last day'}")
        for label, start, end in date_presets(_as_date(last_day), week_start=week_start,
                                              fiscal_year_start_month=fiscal_year_start_month)
    ]
    return html.Div([
        html.Div([html.Span("Applied: ", className="text-secondary me-1"), *status],
                 className="d-flex flex-wrap align-items-center", id="filter-chips"),
        html.Div([html.Span("Dates: ", className="text-secondary"), *presets],
                 className="d-flex flex-wrap align-items-center", id="date-presets"),
    ], className="small mt-2 d-flex flex-wrap justify-content-between gap-2")


def _as_date(value) -> date | None:
    if isinstance(value, date):
        return value
    return _day(value)


def _day(value: object) -> date | None:
    try:
        return date.fromisoformat(value[:10]) if isinstance(value, str) and value else None
    except ValueError:
        return None


def register(app) -> None:
    """The callbacks that turn filter and page-option changes into a new URL."""
    app.clientside_callback(
        ClientsideFunction(namespace="portal", function_name="toggle"),
        Output("filter-controls", "is_open"), Input("filter-toggle", "n_clicks"), State("filter-controls", "is_open"),
        prevent_initial_call=True,
    )

    # in the browser: a filter change costs no request of its own (portal.js filtersToUrl
    # builds the same canonical query as build_query); the page then renders from the URL
    app.clientside_callback(
        ClientsideFunction(namespace="portal", function_name="filtersToUrl"),
        Output("url", "search", allow_duplicate=True),
        Input("filter-dates", "start_date"), Input("filter-dates", "end_date"),
        *[Input(control, "value") for control in CONTROL_IDS.values()],
        State("url", "search"), State("filter-keys", "data"),
        prevent_initial_call=True,
    )

    @app.callback(
        Output(URL_TARGET, "data", allow_duplicate=True),
        Input({"type": "page-option", "key": ALL}, "value"),
        State("url", "search"), State("url", "pathname"),
        prevent_initial_call=True,
    )
    def page_options_to_url(values, search, pathname):
        if not dash_ctx.triggered_id:
            return no_update
        defaults = page_defaults(pathname)
        options = {k: v for k, v in parse_query(search).items() if k not in QUERY_KEYS}
        for spec, value in zip(dash_ctx.inputs_list[0], values):
            key = spec["id"].get("key")
            if isinstance(key, str) and isinstance(value, (str, int, float)) and not isinstance(value, bool):
                options[key] = str(value)
        query = build_query(Filters.from_query(search), _without_defaults(options, defaults))
        return no_update if query == _canonical(search, defaults) else query


def page_defaults(pathname: object) -> dict[str, str]:
    """Default option values of the page at ``pathname`` (first choice of its ``OPTIONS``).

    A control rendered with its default value must not write it into the URL: the
    page would render twice on its first load."""
    for module, page in dash.page_registry.items():
        if page.get("path") == pathname and module in sys.modules:
            options = getattr(sys.modules[module], "OPTIONS", {}) or {}
            return {key: choices[0] for key, choices in options.items() if choices}
    return {}


def _without_defaults(options: dict, defaults: dict[str, str]) -> dict:
    return {k: v for k, v in options.items() if defaults.get(k) != (v[0] if isinstance(v, list) and v else v)}


def _canonical(search: str | None, defaults: dict[str, str] | None = None) -> str:
    params = parse_query(search)
    options = {k: v for k, v in params.items() if k not in QUERY_KEYS}
    return build_query(Filters.from_query(search), _without_defaults(options, defaults or {}))
