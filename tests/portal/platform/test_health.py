"""/healthz, security headers, request ids, JSON request logs, generic 500s."""
from __future__ import annotations

import json
import logging

from portal_testlib import build_app, logged_in, make_settings

from portal import create_app
from portal.platform.observability import JsonFormatter


def test_healthz_up(app):
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}  # anonymous: no database or cache kinds
    assert "alpha" not in response.get_data(as_text=True)
    body = logged_in(app, "admin@alpha.test").get("/healthz").json  # an admin sees the details
    assert body["status"] == "ok" and body["database"] == {"ok": True, "dialect": "sqlite"}
    assert body["cache"]["ok"] and body["cache"]["kind"]
    assert logged_in(app, "manager@alpha.test").get("/healthz").json == {"status": "ok"}


def test_healthz_details_with_the_health_token(tmp_path):
    app = build_app(make_settings(tmp_path, health_token="probe-token-0123456789"), tenants=False)
    client = app.test_client()
    assert client.get("/healthz", headers={"X-Health-Token": "probe-token-0123456789"}).json["database"]["ok"]
    assert client.get("/healthz", headers={"X-Health-Token": "guess"}).json == {"status": "ok"}


def test_healthz_503_when_the_database_is_unreachable(tmp_path):
    settings = make_settings(tmp_path, database_url="postgresql+psycopg://postgres@127.0.0.1:1/nothing")
    response = create_app(settings).test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json == {"status": "down"}


def test_healthz_with_redis(tmp_path, redis_server):
    app = build_app(make_settings(tmp_path, redis_url=redis_server, health_token="t" * 24), tenants=False)
    body = app.test_client().get("/healthz", headers={"X-Health-Token": "t" * 24}).json
    assert body["cache"] == {"ok": True, "kind": "redis"}


def test_security_headers_on_every_response(app):
    client = logged_in(app, "admin@alpha.test")
    for path in ["/", "/login", "/healthz", "/_dash-layout", "/assets/bootstrap.min.css", "/nope/x"]:
        headers = client.get(path).headers
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
        csp = headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp
        assert "'unsafe-eval'" not in csp and "script-src 'self' 'sha256-" in csp
    assert client.get("/").headers["Cache-Control"] == "no-store"


def test_request_id_and_json_request_log(app, caplog):
    client = logged_in(app, "viewer@alpha.test")
    caplog.set_level(logging.INFO, logger="portal.access")
    response = client.get("/_dash-layout", headers={"X-Request-ID": "trace-1234567"})
    assert response.headers["X-Request-ID"] == "trace-1234567"
    assert client.get("/healthz", headers={"X-Request-ID": "bad id!"}).headers["X-Request-ID"] != "bad id!"
    lines = [json.loads(JsonFormatter().format(r)) for r in caplog.records]
    entry = [e for e in lines if e.get("request_id") == "trace-1234567" and e.get("event") == "request"][0]
    assert entry["method"] == "GET" and entry["path"] == "/_dash-layout" and entry["status"] == 200
    assert entry["tenant"] == "alpha" and entry["user_id"] and entry["duration_ms"] >= 0


def test_unhandled_errors_are_logged_and_generic(app, caplog):
    @app.get("/_boom")
    def boom():
        raise RuntimeError("secret internals")

    client = logged_in(app, "viewer@alpha.test")
    response = client.get("/_boom", headers={"Accept": "application/json"})
    assert response.status_code == 500 and "secret internals" not in response.get_data(as_text=True)
    request_id = response.json["request_id"]
    assert request_id == response.headers["X-Request-ID"]
    page = client.get("/_boom")
    assert page.status_code == 500 and b"Something went wrong" in page.data
    logged = [json.loads(JsonFormatter().format(r)) for r in caplog.records]
    error = [e for e in logged if e.get("event") == "error" and e.get("request_id") == request_id][0]
    assert "secret internals" in error["exc"]
    assert client.get("/healthz").status_code == 200  # still serving


def test_large_request_bodies_are_refused(tmp_path):
    app = build_app(make_settings(tmp_path, max_upload_mb=1), tenants=False)
    assert app.config["MAX_CONTENT_LENGTH"] < 3 * 1024 * 1024
    response = app.test_client().post("/login", data={"email": "x" * (3 * 1024 * 1024)})
    assert response.status_code == 413


def test_unknown_dash_asset_is_a_404_not_a_500(app):
    client = app.test_client()
    response = client.get("/_dash-component-suites/dash/dcc/nothing-here.js")
    assert response.status_code == 404


def test_an_unreachable_database_is_a_503_with_retry_after(tmp_path, caplog):
    """What a manager gets while PostgreSQL restarts: a clear 503 page (or JSON), not a 500."""
    from portal_testlib import csrf_from

    settings = make_settings(tmp_path, database_url="postgresql+psycopg://postgres@127.0.0.1:1/nothing")
    client = create_app(settings).test_client()
    token = csrf_from(client.get("/login").data)
    page = client.post("/login", data={"email": "a@b.c", "password": "x" * 12, "csrf_token": token})
    assert page.status_code == 503 and page.headers["Retry-After"] == "5"
    assert b"briefly unavailable" in page.data and b"psycopg" not in page.data
    token = csrf_from(client.get("/login").data)
    api = client.post("/login", data={"email": "a@b.c", "password": "x" * 12, "csrf_token": token},
                      headers={"Accept": "application/json"})
    assert api.status_code == 503 and api.json["error"] == "database unavailable"
    assert any(getattr(r, "event", None) == "database_unavailable" for r in caplog.records)


def test_a_logged_in_request_while_the_database_is_gone_is_a_503(tmp_path):
    """The user is loaded from the database on every request, in the view and again in
    the response hooks: both must fail into the 503, not a 500 (seen in the PostgreSQL drill)."""
    from portal.platform.db import get_database

    settings = make_settings(tmp_path)
    app = build_app(settings, tenants=True)
    client = logged_in(app, "manager@alpha.test")
    database_file = settings.data_dir / "portal.sqlite3"
    database_file.rename(tmp_path / "moved.sqlite3")  # the next connection opens an empty database
    with app.app_context():
        get_database().engine.dispose()
    for path in ("/_dash-layout", "/segments"):
        response = client.get(path)
        assert response.status_code == 503, (path, response.status_code)
        assert response.headers["Retry-After"] == "5"
