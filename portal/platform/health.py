"""``/healthz``: is the database reachable, is the shared cache usable?

No login, no tenant data.  200 when the database answers (the portal can serve
without its shared cache, so a cache outage is reported but does not fail the
check), 503 when it does not.
"""
from __future__ import annotations

import logging
import time

from flask import Flask, current_app, jsonify

log = logging.getLogger(__name__)


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
        body = {
            "status": "ok" if status == 200 and cache["ok"] else ("degraded" if status == 200 else "down"),
            "database": database,
            "cache": cache,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1),
        }
        return jsonify(body), status
