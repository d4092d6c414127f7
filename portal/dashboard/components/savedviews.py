"""Saved views in the navbar: a menu of the caller's and the tenant's shared views,
and (managers) "Save this view" with a name and a "share with my team" switch.

The saved state is the page's path and query string as the server reads them
from the ``url`` location when the user clicks Save; the context, tenant and
role come from the session (:func:`portal.platform.tenancy.current_context`).
"""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import Input, Output, State, html, no_update

from portal.dashboard import saved_views
from portal.platform.accounts import AccountError
from portal.dashboard.filters import MAX_QUERY_LENGTH
from portal.platform.tenancy import PortalContext, current_context


def views_menu_items(ctx: PortalContext) -> list:
    items: list = []
    if ctx.has_role("manager"):
        items += [dbc.DropdownMenuItem("Save this view…", id="save-view-open"), dbc.DropdownMenuItem(divider=True)]
    listed = saved_views.list_views(ctx)
    for label, group in (("My views", [v for v in listed if v.mine]),
                         ("Shared with the team", [v for v in listed if v.shared and not v.mine])):
        if group:
            items.append(dbc.DropdownMenuItem(label, header=True))
            items += [dbc.DropdownMenuItem(f"{v.name} ({v.page})", href=v.href, external_link=True) for v in group]
    if not listed:
        items.append(dbc.DropdownMenuItem("No saved views yet", disabled=True))
    items += [dbc.DropdownMenuItem(divider=True), dbc.DropdownMenuItem("All saved views", href="/views")]
    return items


def views_menu(ctx: PortalContext) -> html.Div:
    menu = dbc.DropdownMenu(views_menu_items(ctx), label="Views", id="views-menu", size="sm", color="light",
                            align_end=True, className="ms-3")
    modal = dbc.Modal([
        dbc.ModalHeader(dbc.ModalTitle("Save this view")),
        dbc.ModalBody([
            dbc.Label("Name", html_for="save-view-name"),
            dbc.Input(id="save-view-name", maxLength=120, placeholder="e.g. Champions in France, Q4"),
            dbc.Switch(id="save-view-shared", label="Share with my team", value=False, className="mt-3"),
            html.Div(id="save-view-status", className="mt-2 small"),
        ]),
        dbc.ModalFooter(dbc.Button("Save", id="save-view-submit", color="primary")),
    ], id="save-view-modal", is_open=False)
    return html.Div([menu, modal])


def register(app) -> None:
    @app.callback(Output("save-view-modal", "is_open"), Input("save-view-open", "n_clicks"),
                  prevent_initial_call=True)
    def open_modal(clicks):
        return bool(clicks)

    @app.callback(
        Output("save-view-status", "children"), Output("views-menu", "children"),
        Input("save-view-submit", "n_clicks"),
        State("save-view-name", "value"), State("save-view-shared", "value"),
        State("url", "pathname"), State("url", "search"),
        prevent_initial_call=True,
    )
    def save(_clicks, name, shared, pathname, search):
        ctx = current_context()
        try:
            view = saved_views.save_view(ctx, pathname or "/", name or "",
                                         {"query": (search or "")[:MAX_QUERY_LENGTH]}, shared=bool(shared))
        except AccountError as exc:
            return dbc.Alert(str(exc), color="danger", className="py-1 mb-0"), no_update
        note = "Saved and shared with your team." if view.shared else "Saved (only you see it)."
        return dbc.Alert(note, color="success", className="py-1 mb-0"), views_menu_items(ctx)
