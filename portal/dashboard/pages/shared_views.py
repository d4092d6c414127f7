"""Saved views: the caller's own views and every view shared in the tenant.

A view is a page and its query string (filters and page options), so opening
one is following a link.  Its owner or an admin of the tenant may rename,
share, unshare or delete it; everyone else only opens it.  The buttons act on
the view selected in the grid, and the server checks the right again
(:mod:`portal.dashboard.saved_views`): hiding a button is not access control.
"""
from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html, no_update
from dash import ctx as dash_ctx

from portal.dashboard import saved_views
from portal.platform.accounts import AccountError
from portal.dashboard.components.tables import column, data_grid
from portal.dashboard.filters import Filters
from portal.platform.tenancy import current_context
from portal.dashboard.components import digests as digests_ui

dash.register_page(__name__, path="/views", name="Saved views", title="Saved views · Customer analytics", order=85)

COLUMNS = [
    column("name", "Name", cellRenderer="markdown", minWidth=220),
    column("page", "Page", maxWidth=140),
    column("filters", "Filters", flex=2),
    column("owner", "Owner"),
    column("shared", "Shared", maxWidth=110),
    column("updated", "Updated (UTC)", maxWidth=170),
]


def rows(ctx) -> list[dict]:
    out = []
    for view in saved_views.list_views(ctx):
        query = str(view.state.get("query") or "")
        out.append({
            "id": view.id, "name": f"[{_escape(view.name)}]({view.href})",
            "page": view.page if view.valid else "not a page of the portal", "link": view.href,
            "filters": Filters.from_query(query).describe(), "owner": "you" if view.mine else view.owner_email,
            "shared": "yes" if view.shared else "private",
            "updated": view.updated_at.strftime("%Y-%m-%d %H:%M") if view.updated_at else "",
            "editable": view.mine or ctx.has_role("admin"),
        })
    return out


def layout(**_query):
    ctx = current_context()
    editing = html.Div([
        dbc.Input(id="views-rename", placeholder="New name", maxLength=120, size="sm", style={"maxWidth": "18rem"}),
        dbc.Button("Rename", id="views-rename-button", size="sm", color="secondary", outline=True),
        dbc.Button("Share", id="views-share-button", size="sm", color="secondary", outline=True),
        dbc.Button("Make private", id="views-private-button", size="sm", color="secondary", outline=True),
        dbc.Button("Delete", id="views-delete-button", size="sm", color="danger", outline=True),
    ], className="d-flex gap-2 mt-2 flex-wrap") if ctx.has_role("manager") else html.Div()
    help_text = ("Save a view from any page with Views → Save this view. Shared views are listed for everyone "
                 "of your team; only the owner or an admin may change or delete one.")
    return html.Div([
        html.H2("Saved views", className="h4 mb-1"),
        html.P(help_text, className="text-secondary small"),
        data_grid("views-grid", COLUMNS, rows(ctx), selectable=ctx.has_role("manager")),
        editing,
        html.Div(id="views-status", className="mt-2 small"),
        dcc.Store(id="views-refresh"),
        digests_ui.section(ctx),
    ])


@callback(
    Output("views-status", "children"), Output("views-grid", "rowData"),
    Input("views-rename-button", "n_clicks"), Input("views-share-button", "n_clicks"),
    Input("views-private-button", "n_clicks"), Input("views-delete-button", "n_clicks"),
    State("views-grid", "selectedRows"), State("views-rename", "value"),
    prevent_initial_call=True,
)
def edit_view(_rename, _share, _private, _delete, selected, new_name):
    ctx = current_context()
    row = selected[0] if isinstance(selected, list) and selected and isinstance(selected[0], dict) else {}
    view_id = row.get("id")
    if not isinstance(view_id, int) or isinstance(view_id, bool):
        return dbc.Alert("Select a view first.", color="secondary", className="py-1"), no_update
    action = dash_ctx.triggered_id
    try:
        if action == "views-delete-button":
            saved_views.delete_view(ctx, view_id)
            message = "Deleted."
        elif action == "views-rename-button":
            saved_views.update_view(ctx, view_id, name=new_name if isinstance(new_name, str) else "")
            message = "Renamed."
        else:
            shared = action == "views-share-button"
            saved_views.update_view(ctx, view_id, shared=shared)
            message = "Shared with your team." if shared else "Now private."
    except (AccountError, TypeError, ValueError) as exc:
        return dbc.Alert(str(exc), color="danger", className="py-1"), no_update
    return dbc.Alert(message, color="success", className="py-1"), rows(ctx)


def _escape(text: str) -> str:
    """Markdown-safe link text (the renderer does not run HTML)."""
    return "".join("\\" + ch if ch in "[]()*_`\\<>#!" else ch for ch in text)
