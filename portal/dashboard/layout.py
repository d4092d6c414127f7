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
from dash import ALL, ClientsideFunction, Input, Output, State, dcc, html
from flask_wtf.csrf import generate_csrf

from .components.filterbar import URL_TARGET
from .components.savedviews import views_menu
from .filters import QUERY_KEYS
from ..platform.tenancy import NotAuthenticated, PortalContext, current_context

#: Plotly config for every graph: world maps read the vendored topojson.
GRAPH_CONFIG = {"topojsonURL": "/assets/topojson/", "displaylogo": False}


def visible_pages(ctx: PortalContext) -> list[dict]:
    pages = [p for p in dash.page_registry.values() if ctx.has_role(p.get("min_role", "viewer"))]
    return sorted(pages, key=lambda p: (p.get("order") if p.get("order") is not None else 50, p["name"]))


def search_box() -> html.Form:
    """The global customer search: a GET form to the customers page (``/customers?q=``): an id,
    an e-mail (hashed as the import stored it) or, where contacts are kept, a name."""
    return html.Form([
        html.Label("Find a customer by id or e-mail", htmlFor="customer-search", className="visually-hidden"),
        dcc.Input(type="search", name="q", id="customer-search", placeholder="Customer id or e-mail",
                  maxLength=128, className="form-control form-control-sm", autoComplete="off",
                  style={"width": "11rem"}),
        html.Button("Search", type="submit", className="btn btn-outline-light btn-sm", id="customer-search-go"),
    ], action="/customers", method="GET", role="search", className="d-flex gap-1 my-1 me-md-3",
        id="customer-search-form")


def copy_link() -> html.Div:
    """"Copy link": the current URL (page, filters and options) to the clipboard."""
    return html.Div([
        dcc.Clipboard(id="copy-link", title="Copy a link to this view", className="btn btn-light btn-sm",
                      children="Copy link"),
    ], className="ms-md-2 my-1")


def navbar(ctx: PortalContext) -> dbc.Navbar:
    logout = html.Form(
        [
            dcc.Input(type="hidden", name="csrf_token", value=generate_csrf(), id="logout-csrf"),
            html.Button("Log out", type="submit", className="btn btn-outline-light btn-sm", id="logout-button"),
        ],
        method="POST", action="/logout", className="d-flex mb-0 ms-3",
    )
    user = html.Span(
        [html.A(ctx.email, href="/account/password", id="nav-user-email", className="link-light",
                title="Change your password"), " ",
         dbc.Badge(ctx.role, color="light", text_color="dark", className="ms-1", id="nav-user-role")],
        className="navbar-text text-light small",
    )
    menu = html.Div([search_box(), user, views_menu(ctx), copy_link(), logout],
                    className="d-flex flex-column flex-md-row align-items-md-center ms-auto gap-1")
    return dbc.Navbar(
        dbc.Container(
            [
                dbc.NavbarBrand(["Customer analytics · ", html.Strong(ctx.tenant_name, id="nav-tenant")],
                                href="/", id="nav-brand", className="text-truncate", style={"maxWidth": "75vw"}),
                dbc.NavbarToggler(id="nav-toggler"),
                dbc.Collapse(menu, id="navbar-collapse", is_open=False, navbar=True),
            ],
            fluid=True,
        ),
        color="dark", dark=True, className="mb-0", expand="md",
    )


def nav_link_id(path: str) -> dict[str, str]:
    """Id of a navigation link; :func:`register` writes the current filters into its href."""
    return {"type": "nav-link", "path": path}


def sidebar(ctx: PortalContext) -> html.Nav:
    """The page links (collapsed behind the menu button on phones), carrying the current filters."""
    links = [
        dbc.NavItem(dbc.NavLink(page["name"], href=page["relative_path"], active=False,
                                id=nav_link_id(page["relative_path"])),
                    id=f"nav-{page['module'].split('.')[-1]}")
        for page in visible_pages(ctx) if not page.get("hidden")
    ]
    return html.Nav(dbc.Collapse(dbc.Nav(links, vertical=True, pills=True), id="sidebar-collapse", is_open=False,
                                 className="d-md-block"),
                    className="px-3 py-2 py-md-3 border-end bg-white h-100", id="sidebar",
                    **{"aria-label": "Pages"})


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
            dcc.Store(id="filter-keys", data=list(QUERY_KEYS)),
            navbar(ctx),
            dbc.Container(
                dbc.Row(
                    [
                        dbc.Col(sidebar(ctx), width=12, md=2, className="px-0"),
                        dbc.Col(html.Main(dcc.Loading(
                            dash.page_container, target_components={"_pages_content": "children"},
                            custom_spinner=page_skeleton(), delay_show=250, overlay_style={"visibility": "visible",
                                                                                          "opacity": 0.5},
                        ), className="p-2 p-md-4", id="main"),
                                width=12, md=10, style={"minWidth": 0}),
                    ],
                    className="g-0 min-vh-100",
                ),
                fluid=True, className="px-0",
            ),
        ]
    )


def page_skeleton() -> html.Div:
    """What a page shows while its layout is on the way: the shape of a page, greyed."""
    block = lambda height, width="100%": html.Div(className="skeleton mb-3",  # noqa: E731
                                                  style={"height": f"{height}px", "width": width})
    return html.Div([block(28, "30%"), block(70), block(110), block(320)], id="page-skeleton",
                    role="status", **{"aria-label": "Loading the page"}, style={"width": "100%"})


def register(app) -> None:
    """Navigation carries the filters; the menu button opens the navigation on phones."""
    app.clientside_callback(
        ClientsideFunction(namespace="portal", function_name="navHrefs"),
        Output(nav_link_id(ALL), "href"), Output(nav_link_id(ALL), "active"), Output("nav-brand", "href"),
        Input("url", "search"), Input("url", "pathname"), State(nav_link_id(ALL), "id"),
        State("filter-keys", "data"),
    )
    app.clientside_callback(
        ClientsideFunction(namespace="portal", function_name="toggleNav"),
        Output("navbar-collapse", "is_open"), Output("sidebar-collapse", "is_open"),
        Input("nav-toggler", "n_clicks"), Input("url", "pathname"), State("navbar-collapse", "is_open"),
        prevent_initial_call=True,
    )
    app.clientside_callback(  # a page's server callbacks move to another query through URL_TARGET
        ClientsideFunction(namespace="portal", function_name="followTarget"),
        Output("url", "search", allow_duplicate=True), Input(URL_TARGET, "data"), prevent_initial_call=True,
    )
    app.clientside_callback(
        ClientsideFunction(namespace="portal", function_name="currentHref"),
        Output("copy-link", "content"), Input("copy-link", "n_clicks"), prevent_initial_call=True,
    )


def forbidden(role: str) -> html.Div:
    return html.Div(dbc.Alert(f"This page needs the {role} role.", color="warning"), id="forbidden")


def empty_state() -> html.Div:
    return dbc.Alert("No data yet: an admin can import a file on the Data page.", color="info",
                     id="empty-state")
