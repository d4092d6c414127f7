"""The app shell: navbar (tenant, user, logout), sidebar from ``dash.page_registry``
and ``dash.page_container``.

Pages declare who sees them with a ``min_role`` entry in ``dash.register_page``
(default ``"viewer"``) and an ``order``; the sidebar lists the pages the
user's role allows.  A page must still check the role itself (its layout and
its callbacks): hiding a link is not access control.
"""
from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html
from flask_wtf.csrf import generate_csrf

from .components.savedviews import views_menu
from ..platform.tenancy import NotAuthenticated, PortalContext, current_context

#: Plotly config for every graph: world maps read the vendored topojson.
GRAPH_CONFIG = {"topojsonURL": "/assets/topojson/", "displaylogo": False}


def visible_pages(ctx: PortalContext) -> list[dict]:
    pages = [p for p in dash.page_registry.values() if ctx.has_role(p.get("min_role", "viewer"))]
    return sorted(pages, key=lambda p: (p.get("order") if p.get("order") is not None else 50, p["name"]))


def navbar(ctx: PortalContext) -> dbc.Navbar:
    logout = html.Form(
        [
            dcc.Input(type="hidden", name="csrf_token", value=generate_csrf(), id="logout-csrf"),
            html.Button("Log out", type="submit", className="btn btn-outline-light btn-sm", id="logout-button"),
        ],
        method="POST", action="/logout", className="d-flex mb-0 ms-3",
    )
    user = html.Span(
        [html.Span(ctx.email, id="nav-user-email"), " ",
         dbc.Badge(ctx.role, color="light", text_color="dark", className="ms-1", id="nav-user-role")],
        className="navbar-text text-light small",
    )
    return dbc.Navbar(
        dbc.Container(
            [
                dbc.NavbarBrand(["Customer analytics · ", html.Strong(ctx.tenant_name, id="nav-tenant")],
                                href="/"),
                html.Div([user, views_menu(ctx), logout], className="d-flex align-items-center ms-auto"),
            ],
            fluid=True,
        ),
        color="dark", dark=True, className="mb-0",
    )


def sidebar(ctx: PortalContext) -> html.Nav:
    links = [
        dbc.NavLink(page["name"], href=page["relative_path"], active="exact", id=f"nav-{page['module'].split('.')[-1]}")
        for page in visible_pages(ctx)
    ]
    return html.Nav(dbc.Nav(links, vertical=True, pills=True), className="p-3 border-end bg-white h-100",
                    id="sidebar")


def shell():
    """``app.layout``: evaluated per request, for the logged-in user only."""
    try:
        ctx = current_context()
    except NotAuthenticated:
        return html.Div(dcc.Location(id="relogin", href="/login"))
    return html.Div(
        [
            # The URL is the state of every view: filters and page options live in its
            # query string; "callback-nav" changes it without reloading the page.
            dcc.Location(id="url", refresh="callback-nav"),
            navbar(ctx),
            dbc.Container(
                dbc.Row(
                    [
                        dbc.Col(sidebar(ctx), width=12, md=2, className="px-0"),
                        dbc.Col(html.Main(dash.page_container, className="p-4"), width=12, md=10),
                    ],
                    className="g-0 min-vh-100",
                ),
                fluid=True, className="px-0",
            ),
        ]
    )


def forbidden(role: str) -> html.Div:
    return html.Div(dbc.Alert(f"This page needs the {role} role.", color="warning"), id="forbidden")


def empty_state() -> html.Div:
    return dbc.Alert("No data yet: an admin can import a file on the Data page.", color="info",
                     id="empty-state")
