"""A customer list: server-side AG Grid, its row count and its CSV export link.

One generic callback answers every list's grid (pattern-matching ids keyed by
the export name), so a page shows a list with one call to
:func:`customer_list_view`.  The export link carries the page's query string
plus the grid's current filter and sort models (added in the browser by
``portal.exportHref`` in ``assets/portal.js``), so the CSV holds exactly the
rows the grid selects.  Viewers get no export link (and a 403 from the route).

The grid's first block (first rows in the default order, no grid filter) comes
with the page's figures: the page's one callback fills the list's ``grid-first``
store (:func:`first_blocks`) and ``portal.gridRows`` answers the grid's first
request from it; any other request (a scroll, a sort, a column filter) goes to the
server through the ``grid-ask`` store.  A filter change therefore costs the page
two requests, not three.
"""
from __future__ import annotations

import logging

import dash_bootstrap_components as dbc
from dash import ALL, MATCH, ClientsideFunction, Input, Output, State, dcc, html, no_update
from dash import ctx as dash_ctx

from portal.dashboard.customer_lists import EXPORTS, ListForbidden, grid_columns, grid_rows
from portal.dashboard.view import View
from portal.platform.tenancy import current_context

from ..money import money_format
from .tables import customer_grid

log = logging.getLogger(__name__)


def _id(kind: str, name: str) -> dict[str, str]:
    return {"type": kind, "list": name}


def customer_list_view(name: str, view: View, query: str, *, height: int = 520, page_size: int = 50,
                       with_page: bool = True) -> html.Div:
    """The grid of export ``name`` for this view, with its count and (managers) export link.

    ``with_page``: the page's callback brings the first rows (:func:`first_blocks`); False
    on a page without one (the grid then asks the server at once)."""
    export = EXPORTS[name]
    actions = [html.Span(id=_id("grid-count", name), className="small text-secondary me-3")]
    if view.ctx.has_role("manager"):
        base = f"/export/{name}.csv{query}"
        actions.append(dbc.Checkbox(id=_id("export-raw", name), label="raw values", value=False,
                                    className="small me-2 mb-0",
                                    label_class_name="text-secondary"))
        actions.append(html.A("↓ Export CSV", href=base,
                              id=_id("export-link", name), className="btn btn-outline-primary btn-sm"))
        actions.append(dcc.Store(id=_id("export-base", name), data=base))
    grid = customer_grid(_id("customer-grid", name), grid_columns(export, money_format(view.ctx)),
                         page_size=page_size, height=height)
    return html.Div([
        html.Div(actions, className="d-flex justify-content-end align-items-center mb-2"),
        dcc.Store(id=_id("grid-query", name), data=query),
        dcc.Store(id=_id("grid-first", name), data={"size": page_size, "wait": with_page}),
        dcc.Store(id=_id("grid-ask", name)),
        grid,
    ], id=f"{name}-list")


#: The outputs and states :func:`portal.dashboard.components.page.register_page_callbacks`
#: adds to every page's callback: the first rows of each list the page shows.
FIRST_BLOCK_OUTPUT = Output(_id("grid-first", ALL), "data")
FIRST_BLOCK_STATES = (State(_id("grid-first", ALL), "data"), State(_id("grid-query", ALL), "data"))


def answer(name: object, query: object, request: object) -> tuple[dict, str] | None:
    """``(getRowsResponse, count text)`` of list ``name`` for a grid request, under the
    role policy of :func:`portal.dashboard.customer_lists.grid_rows`; None if nonsense."""
    export = EXPORTS.get(name) if isinstance(name, str) else None
    if export is None or not isinstance(request, dict) or not isinstance(query, (str, type(None))):
        return None
    view = View(current_context(), query)
    if export.needs_models and not view.models.ready:
        return {"rowData": [], "rowCount": 0}, "models not fitted yet"
    try:
        block = grid_rows(export, view, request)  # the role policy lives there
    except ListForbidden as refused:
        return {"rowData": [], "rowCount": 0}, str(refused)
    noun = "customer" if export.columns[0].field == "customer_id" else "row"
    count = f"{block['rowCount']:,} {noun}{'' if block['rowCount'] == 1 else 's'}"
    if block.pop("capped"):
        count += f" shown of {block['totalCount']:,} (viewers see the first ones; managers see all)"
    block.pop("totalCount")
    return block, count


def first_blocks(specs: list[dict], firsts: list, queries: list) -> list:
    """The ``grid-first`` data of the lists on the page (``specs``: Dash's outputs list of
    :data:`FIRST_BLOCK_OUTPUT`): each list's first rows for the grid's first request (no
    column filter, the list's initial sort)."""
    blocks = []
    for spec, first, query in zip(specs, firsts, queries):
        size = first.get("size") if isinstance(first, dict) else None
        size = size if isinstance(size, int) and 0 < size <= 1000 else 50
        spec_id = spec.get("id") if isinstance(spec, dict) else None
        name = spec_id.get("list") if isinstance(spec_id, dict) else None
        export = EXPORTS.get(name) if isinstance(name, str) else None
        sort = [{"colId": field, "sort": direction} for field, direction in (export.default_sort if export else ())]
        request = {"startRow": 0, "endRow": size, "sortModel": sort, "filterModel": {}}
        try:
            answered = answer(name, query, request)
        except Exception:  # noqa: BLE001 - the grid then asks for its rows itself (portal.js gridRows)
            log.exception("first rows of list %s failed", name, extra={"event": "render_failed"})
            answered = None
        # no rows from here: "ask" tells the waiting grid to send its own request instead
        blocks.append({"size": size, "ask": True} if answered is None else
                      {"size": size, "request": request, "response": answered[0], "count": answered[1]})
    return blocks


def register(app) -> None:
    # the grid's requests: its first from the page's callback (grid-first), the others from here
    app.clientside_callback(
        ClientsideFunction(namespace="portal", function_name="gridRows"),
        Output(_id("customer-grid", MATCH), "getRowsResponse"), Output(_id("grid-count", MATCH), "children"),
        Output(_id("grid-ask", MATCH), "data"),
        Input(_id("customer-grid", MATCH), "getRowsRequest"), Input(_id("grid-first", MATCH), "data"),
        prevent_initial_call=True,
    )

    @app.callback(
        Output(_id("customer-grid", MATCH), "getRowsResponse", allow_duplicate=True),
        Output(_id("grid-count", MATCH), "children", allow_duplicate=True),
        Input(_id("grid-ask", MATCH), "data"),
        State(_id("grid-query", MATCH), "data"),
        prevent_initial_call=True,
    )
    def answer_rows(request, query):
        answered = answer((dash_ctx.triggered_id or {}).get("list"), query, request)
        return (no_update, no_update) if answered is None else answered

    # a click on a customer's row opens their profile (no server round trip to decide)
    app.clientside_callback(
        ClientsideFunction(namespace="portal", function_name="rowToProfile"),
        Output("url", "href", allow_duplicate=True),
        Input(_id("customer-grid", ALL), "cellClicked"),
        prevent_initial_call=True,
    )

    app.clientside_callback(
        ClientsideFunction(namespace="portal", function_name="exportHref"),
        Output(_id("export-link", MATCH), "href"),
        Input(_id("customer-grid", MATCH), "getRowsRequest"), Input(_id("export-raw", MATCH), "value"),
        State(_id("export-base", MATCH), "data"),
        prevent_initial_call=True,
    )


def pending_list(message: str) -> dbc.Alert:
    return dbc.Alert(message, color="warning")


def profile_form(prefix: str) -> html.Form:
    """A plain GET form to ``/profile?customer=<id>`` (the profile page resolves the id
    within the caller's tenant), for the actions of a customer list's panel."""
    return html.Form([
        dcc.Input(name="customer", id=f"{prefix}-profile-id", type="text", placeholder="Customer id",
                  className="form-control form-control-sm", style={"width": "9rem"}, maxLength=64),
        html.Button("Open profile", type="submit", className="btn btn-outline-secondary btn-sm text-nowrap",
                    id=f"{prefix}-profile-open"),
    ], action="/profile", method="GET", className="d-flex gap-2 align-items-center")
