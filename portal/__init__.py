"""The customer-analytics portal: a Flask server carrying a multi-page Dash app.

``create_app(settings=None) -> Flask`` builds everything; ``wsgi.py`` exposes
``server = create_app()`` for gunicorn.  Module map:

config (settings from env) · db (engine, sessions, migrations) · models (ORM) ·
accounts (tenants, users, passwords, audit) · auth (login, rate limits, gate) ·
tenancy (current_context, roles) · storage (dataset payloads) · imports ·
jobs (model fitting, background callbacks on diskcache or Celery) · worker (Celery entry) ·
cache · results (named results) · views (saved views) · exports (CSV) · security (headers, CSRF) ·
observability (logs, errors) · health · layout · seed (demo data) · cli · pages/ (Dash pages)
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from flask import Flask

from .config import PROJECT_ROOT, Settings

__all__ = ["create_app", "Services", "Settings"]

PAGES_DIR = Path(__file__).resolve().parent / "pages"
ASSETS_DIR = PROJECT_ROOT / "assets"


@dataclass
class Services:
    """What the portal keeps per Flask app (``app.extensions["portal"]``)."""

    settings: Settings
    db: object
    cache: object
    dash: object = None
    limiter: object = None
    #: The Celery app of the background jobs (None in the embedded diskcache mode).
    celery: object = None


def create_app(settings: Settings | None = None) -> Flask:
    """Build the Flask server and its Dash app; does not touch the schema (migrate first)."""
    from werkzeug.middleware.proxy_fix import ProxyFix

    from . import db
    from .auth import init_auth
    from .background import make_background_manager
    from .cache import build_result_cache
    from .cli import register_cli
    from .exports import init_exports
    from .hardening import PortalDash, init_hardening
    from .health import init_health
    from .layout import shell
    from .observability import configure_logging, init_observability
    from .security import configure_session, init_security

    settings = settings or Settings.from_env()
    settings.check_production()  # also for settings built in code, not only from the environment
    configure_logging(settings.log_level)
    settings.data_dir.mkdir(parents=True, exist_ok=True)

    server = Flask(__name__, static_folder=None, template_folder="templates")
    configure_session(server, settings)
    if settings.proxy_hops:
        # Behind PROXY_HOPS proxies (1 = the PaaS router): the client address is the one the
        # nearest trusted proxy appended to X-Forwarded-For; anything further left is the
        # client's own claim and is ignored.
        hops = settings.proxy_hops
        server.wsgi_app = ProxyFix(server.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    services = Services(settings=settings, db=db.configure(settings), cache=build_result_cache(server, settings))
    server.extensions["portal"] = services

    init_observability(server)
    services.limiter = init_auth(server, settings)
    init_health(server)
    from .account import init_account

    init_account(server)
    init_exports(server)
    register_cli(server)

    background = make_background_manager(settings, server)
    services.celery = getattr(background, "celery_app", None)
    dash_app = PortalDash(
        __name__, server=server, use_pages=True, pages_folder=str(PAGES_DIR),
        assets_folder=str(ASSETS_DIR), serve_locally=True, suppress_callback_exceptions=True,
        background_callback_manager=background,
        title="Customer analytics", update_title=None, compress=False,
    )
    _claim_global_callbacks(dash_app)
    from . import dashboard  # noqa: F401 - registers the dashboard's results
    from .components import customerlist, filterbar, savedviews

    filterbar.register(dash_app)
    savedviews.register(dash_app)
    customerlist.register(dash_app)
    dash_app.layout = shell
    services.dash = dash_app
    csrf = init_security(server, settings, dash_app)
    from .callback_guard import init_callback_guard
    from .uploads import UPLOAD_ENDPOINT, init_import_gate, init_uploads

    init_callback_guard(server)
    init_uploads(server, csrf)
    init_import_gate(server)
    _set_up_dash_now(server, dash_app)
    init_hardening(server, settings, upload_endpoints=(UPLOAD_ENDPOINT,))  # its body check runs first
    return server


def _set_up_dash_now(server: Flask, dash_app) -> None:
    """Run Dash's first-request set-up (script registry, page router) now.

    Dash does it lazily in ``before_request`` and marks it done before it is
    finished, so under a threaded server (gunicorn gthread) the browser's
    parallel script requests to a fresh worker can hit a half-filled registry
    and get 500s."""
    with server.test_request_context("/"):
        dash_app._setup_server()  # noqa: SLF001
        for func in list(server.before_request_funcs.get(None, [])):
            if getattr(func, "__name__", "") in ("router_sync", "router_async"):
                func()


def _claim_global_callbacks(dash_app) -> None:
    """Bind the callbacks the page modules just registered with ``@dash.callback`` to
    THIS app.  Dash keeps them in a process-wide list until an app's first request,
    which would hand them to whichever app of the process is served first (tests
    build several apps); page modules are re-executed for each new app."""
    from dash import _callback

    dash_app.callback_map.update(_callback.GLOBAL_CALLBACK_MAP)
    dash_app._callback_list.extend(_callback.GLOBAL_CALLBACK_LIST)  # noqa: SLF001
    _callback.GLOBAL_CALLBACK_MAP.clear()
    _callback.GLOBAL_CALLBACK_LIST.clear()
