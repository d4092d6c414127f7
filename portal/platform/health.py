"""``/healthz``: is the database reachable, is the shared cache usable?

No login needed.  200 when the database answers (the portal can serve without
its shared cache, so a cache outage makes the status ``degraded`` but does not
fail the check), 503 when it does not.

Anonymous callers (the PaaS router, uptime probes) get the status only.  The
details (database dialect, cache kind, error class names, timing) are for the
tenants' admins when logged in, or for a probe that sends ``X-Health-Token``
equal to ``HEALTH_TOKEN``.
"""
from __future__ import annotations

import hmac
import logging
import time

from flask import Flask, current_app, jsonify, request
from flask_login import current_user

from .tenancy import NotAuthenticated, current_context

log = logging.getLogger(__name__)


def may_see_details(settings) -> bool:
    token = request.headers.get("X-Health-Token", "")
    if settings.health_token and token and hmac.compare_digest(token.encode(), settings.health_token.encode()):
        return True


    if not current_user.is_authenticated:
        return False
    try:
        return current_context().has_role("admin")
    except NotAuthenticated:
        return False


def init_health(app: Flask) -> None:
    @app.get("/healthz")
    def healthz():
        services = current_app.extensions["portal"]
        started = time.perf_counter()
        try:
            services.db.ping()
            database = {"ok": True, "dialect": services.db.dialect}
        except Exception as exc:  # noqa: BLE001 - reported, not raised
            log.warning("health check: database unreachable: %s", type(exc).__name__)
            database = {"ok": False, "dialect": services.db.dialect, "error": type(exc).__name__}
        cache = services.cache.status()
        status = 200 if database["ok"] else 503
        body = {"status": "ok" if status == 200 and cache["ok"] else ("degraded" if status == 200 else "down")}
        if database["ok"] and may_see_details(services.settings):
            body.update(database=database, cache=cache,
                        duration_ms=round((time.perf_counter() - started) * 1000, 1))
        return jsonify(body), status
