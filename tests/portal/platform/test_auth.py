"""portal.platform.auth and portal.platform.security: login, logout, sessions, rate limits, CSRF, the login gate."""
from __future__ import annotations

import statistics
import time

import pytest
from portal_testlib import (
    PASSWORD,
    build_app,
    csrf_from,
    dash_post,
    logged_in,
    login,
    make_settings,
)
from sqlalchemy import select

from portal.platform import accounts
from portal.platform.models import AuditEntry, User


def _audit(app, action):
    from portal.platform.db import session_scope

    with app.app_context(), session_scope() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def test_login_and_logout(app):
    client = app.test_client()
    page = client.get("/login")
    assert page.status_code == 200 and b'href="/assets/bootstrap.min.css"' in page.data
    response = login(client, "Admin@Alpha.test ", next_url="/data")
    assert response.status_code == 302 and response.headers["Location"] == "/data"
    layout = client.get("/_dash-layout")
    assert layout.status_code == 200 and "Alpha Stores" in layout.get_data(as_text=True)
    assert client.get_cookie("_csrf_token") is not None
    csrf = csrf_from(client.get("/logout").data)
    response = client.post("/logout", data={"csrf_token": csrf})
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.get("/_dash-layout").status_code == 401
    assert [e.detail for e in _audit(app, "login")] and _audit(app, "logout")


def test_unknown_email_and_wrong_password_get_the_same_answer(app):
    client = app.test_client()
    unknown = login(client, "nobody@alpha.test", "Whatever-123")
    wrong = login(client, "admin@alpha.test", "Whatever-123")
    assert unknown.status_code == wrong.status_code == 401

    def answer(response, email):
        text = response.get_data(as_text=True).replace(email, "EMAIL")
        return text.replace(csrf_from(response.data), "TOKEN")

    assert answer(unknown, "nobody@alpha.test") == answer(wrong, "admin@alpha.test")
    assert "Invalid email or password." in unknown.get_data(as_text=True)
    reasons = sorted(e.detail["reason"] for e in _audit(app, "login_failed"))
    assert reasons == ["unknown_email", "wrong_password"]


def test_unknown_email_and_wrong_password_take_similar_time(tmp_path):
    # enough free failures that no attempt here is slowed down or refused by the sign-in limits
    app = build_app(make_settings(tmp_path, login_account_free_failures=1000))
    client = app.test_client()
    token = csrf_from(client.get("/login").data)

    def timed(email):
        started = time.perf_counter()
        client.post("/login", data={"email": email, "password": "Whatever-123", "csrf_token": token})
        return time.perf_counter() - started

    timed("nobody@alpha.test"), timed("admin@alpha.test")  # warm both paths (first requests are slower)
    pairs = [(timed("nobody@alpha.test"), timed("admin@alpha.test")) for _ in range(9)]  # interleaved: same load
    unknown = statistics.median(u for u, _ in pairs)
    wrong = statistics.median(w for _, w in pairs)
    assert 0.5 < unknown / wrong < 2.0, (unknown, wrong)
    # at the tests' cheap hash cost the timing alone cannot tell: both paths must check one
    # password hash of the same method (werkzeug's own check, counted)
    checked = []
    real_check = accounts.check_password_hash

    def counted(stored, password):
        checked.append(stored.split("$", 1)[0])
        return real_check(stored, password)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(accounts, "check_password_hash", counted)
        timed("nobody@alpha.test")
        unknown_checks = list(checked)
        checked.clear()
        timed("admin@alpha.test")
    assert unknown_checks == checked and len(checked) == 1, (unknown_checks, checked)


def test_inactive_user_cannot_log_in(app):
    with app.app_context():
        accounts.set_active(1, "viewer@alpha.test", False)
    response = login(app.test_client(), "viewer@alpha.test")
    assert response.status_code == 401 and b"Invalid email or password." in response.data


@pytest.fixture
def limited_app(tmp_path):
    return build_app(make_settings(tmp_path, login_rate_limit="3 per minute", login_account_free_failures=3))


def test_login_is_rate_limited_per_address(limited_app):
    client = limited_app.test_client()
    statuses = [login(client, f"user{i}@alpha.test", "Wrong-pass-1").status_code for i in range(4)]
    assert statuses == [401, 401, 401, 429]
    assert b"Too many failed sign-in attempts" in login(client, "admin@alpha.test").data
    other = limited_app.test_client()  # another address is not blocked
    response = login_from(other, "admin@alpha.test", "10.0.0.9")
    assert response.status_code == 302


def login_from(client, email, address, password=PASSWORD):
    token = csrf_from(client.get("/login", environ_base={"REMOTE_ADDR": address}).data)
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token},
                       environ_base={"REMOTE_ADDR": address})


def test_login_is_rate_limited_per_account(limited_app):
    statuses = [
        login_from(limited_app.test_client(), "admin@alpha.test", f"10.0.1.{i}", "Wrong-pass-1").status_code
        for i in range(4)
    ]
    assert statuses == [401, 401, 401, 429]
    # even the right password waits (a second here: slowed, not locked), from a new address
    assert login_from(limited_app.test_client(), "admin@alpha.test", "10.0.2.1").status_code == 429
    assert login_from(limited_app.test_client(), "manager@alpha.test", "10.0.2.2").status_code == 302


def test_csrf_is_required_on_forms_and_dash_callbacks(app):
    client = app.test_client()
    client.get("/login")
    response = client.post("/login", data={"email": "admin@alpha.test", "password": PASSWORD})
    assert response.status_code == 400 and b"CSRF" in response.data
    client = logged_in(app, "admin@alpha.test")
    inputs = [{"id": "data-refresh", "property": "n_intervals", "value": 1},
              {"id": "import-status", "property": "children", "value": None},
              {"id": "refit-status", "property": "children", "value": None}]
    assert dash_post(client, "datasets-grid.rowData", inputs, csrf=False).status_code == 400
    assert dash_post(client, "datasets-grid.rowData", inputs).status_code == 200
    assert client.post("/logout").status_code == 400


@pytest.mark.parametrize("path", ["/_dash-layout", "/_dash-dependencies", "/export/orders.csv"])
def test_api_requests_need_a_login(shared_app, path):
    response = shared_app.test_client().get(path)
    assert response.status_code == 401 and response.json["error"] == "authentication required"


def test_pages_redirect_to_login_with_next(app):
    client = app.test_client()
    response = client.get("/data?tab=users")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/data?tab%3Dusers"
    assert client.post("/_dash-update-component", json={}).status_code == 401
    assert client.get("/healthz").status_code == 200
    assert client.get("/assets/bootstrap.min.css").status_code == 200


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil.example"])
def test_next_cannot_leave_the_site(shared_app, target):
    response = login(shared_app.test_client(), "admin@alpha.test", next_url=target)
    assert response.headers["Location"] == "/"


def test_password_change_and_deactivation_end_sessions(app):
    client = logged_in(app, "manager@alpha.test")
    other = logged_in(app, "viewer@alpha.test")
    with app.app_context():
        from portal.platform.db import session_scope

        with session_scope() as session:
            manager_id = session.scalars(select(User.id).where(User.email == "manager@alpha.test")).one()
        accounts.set_password(manager_id, "Another-password-7")
        accounts.set_active(1, "viewer@alpha.test", False)
    assert client.get("/_dash-layout").status_code == 401
    assert other.get("/_dash-layout").status_code == 401
    assert login(app.test_client(), "manager@alpha.test", "Another-password-7").status_code == 302


def test_cookie_flags(tmp_path):
    app = build_app(make_settings(tmp_path, session_cookie_secure=True))
    client = app.test_client()
    response = login(client, "admin@alpha.test")
    session_cookie = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("portal_session=")][0]
    assert "HttpOnly" in session_cookie and "SameSite=Lax" in session_cookie and "Secure" in session_cookie
    page = client.get("/", base_url="https://localhost")
    csrf_cookie = [c for c in page.headers.getlist("Set-Cookie") if c.startswith("_csrf_token=")][0]
    assert "HttpOnly" not in csrf_cookie and "Secure" in csrf_cookie
