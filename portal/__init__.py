"""The customer-analytics portal: a Flask server carrying a multi-page Dash app.

``create_app(settings=None) -> Flask`` builds everything; ``wsgi.py`` exposes
``server = create_app()`` for gunicorn.  Layers (imports point down only; see
the README's Architecture section and ``tests/test_architecture.py``):

* app: this module (the app factory) and ``cli``; entry points above it:
  ``worker`` (Celery), ``fit`` (``python -m portal.fit ID``), ``startup`` (dev start-up)
* ``dashboard/``: filters, view, gridquery, customer lists, exports, saved views,
  layout, components/, pages/
* ``data/``: storage, imports, cache, results, jobs, background, seed
* ``platform/``: config, db + migrations/, models, accounts, auth, tenancy,
  security, observability, health, callback_guard, dash_compat
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from flask import Flask

from .platform.config import PROJECT_ROOT, Settings

__all__ = ["create_app", "Services", "Settings"]

PAGES_DIR = Path(__file__).resolve().parent / "dashboard" / "pages"
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
    # Deliberate lazy loading: importing the package (``portal.platform.config`` from a
    # migration, a test or the Celery worker) must not load Dash, the layers and every page.
    from werkzeug.middleware.proxy_fix import ProxyFix

    from .cli import register_cli
    from .dashboard import view as dashboard  # noqa: F401 - registers the dashboard's results
    from .dashboard.components import customerlist, filterbar, savedviews
    from .dashboard.exports import init_exports
    from .dashboard.saved_views import init_view_links
    from .dashboard import layout
    from .dashboard.layout import shell
    from .dashboard.components.page import register_page_callbacks
    from .dashboard.links import page_paths
    from .data import jobs
    from .data.background import make_background_manager
    from .data.cache import build_result_cache
    from .data.uploads import UPLOAD_ENDPOINT, init_import_gate, init_uploads
    from .platform import dash_compat, db, metrics
    from .platform.account import init_account
    from .platform.auth import init_auth
    from .platform.callback_guard import init_callback_guard
    from .platform.hardening import PortalDash, init_hardening
    from .platform.health import init_health
    from .platform.observability import configure_logging, init_observability
    from .platform.security import configure_session, init_security

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
    metrics.init_metrics(server, settings, page_paths=page_paths)
    services.limiter = init_auth(server, settings)
    init_health(server)
    init_account(server)
    init_exports(server)
    init_view_links(server)
    register_cli(server)

    background = make_background_manager(settings, server)
    services.celery = getattr(background, "celery_app", None)
    if services.celery is not None:
        jobs.register_fit_task(services.celery)
    jobs.register_job_metrics(services.celery)
    dash_app = PortalDash(
        __name__, server=server, use_pages=True, pages_folder=str(PAGES_DIR),
        assets_folder=str(ASSETS_DIR), serve_locally=True, suppress_callback_exceptions=True,
        background_callback_manager=background,
        title="Customer analytics", update_title=None, compress=False,
    )
    # The callbacks the page modules just registered with ``@dash.callback`` belong to
    # THIS app (page modules are re-executed for each new app; tests build several).
    dash_compat.claim_global_callbacks(dash_app)
    register_page_callbacks(dash_app)  # one callback per page for all its figures
    filterbar.register(dash_app)
    savedviews.register(dash_app)
    customerlist.register(dash_app)
    layout.register(dash_app)
    dash_app.layout = shell
    # the page's language, for screen readers (axe: html-has-lang)
    dash_app.index_string = dash_app.index_string.replace("<html>", '<html lang="en">', 1)
    services.dash = dash_app
    csrf = init_security(server, settings, dash_app)
    init_callback_guard(server)
    init_uploads(server, csrf)
    init_import_gate(server)
    # the composition root imports the layers it wires together when the app is built
    from .dashboard.components.invitations import register_invite
    from .digests import init_digests
    from .platform.account_mail import init_account_mail

    init_digests(server)  # e-mail digests: unsubscribe route, send-digests, beat task, Saved views section
    init_account_mail(server)  # invitations and password resets by e-mail
    register_invite(dash_app)
    # Dash's first-request set-up (script registry, page router), now: Dash does it
    # lazily in ``before_request`` and marks it done before it is finished, so under a
    # threaded server (gunicorn gthread) the browser's parallel script requests to a
    # fresh worker could hit a half-filled registry and get 500s.
    dash_compat.set_up_server_now(server, dash_app)
    init_hardening(server, settings, upload_endpoints=(UPLOAD_ENDPOINT,))  # its body check runs first
    return server

