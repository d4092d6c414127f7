"""Attack suite, sessions and transport (issue 12): cookie flags, a new session on
every sign-in (no fixation), CSRF tokens bound to their own session, HSTS and
secure cookies under PORTAL_ENV=production."""
from __future__ import annotations

import pytest
from portal_testlib import PASSWORD, build_app, csrf_from, dash_post, logged_in, make_settings


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    return build_app(make_settings(tmp_path_factory.mktemp("sessions")))


def set_cookie_headers(response) -> dict[str, str]:
    return {h.split("=", 1)[0]: h for h in response.headers.getlist("Set-Cookie")}


def sign_in(client, email="admin@alpha.test"):
    token = csrf_from(client.get("/login").data)
    return client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token})


def test_session_cookie_flags(site):
    client = site.test_client()
    cookies = set_cookie_headers(sign_in(client))
    session = cookies["portal_session"]
    assert "HttpOnly" in session and "SameSite=Lax" in session and "Path=/" in session
    csrf = set_cookie_headers(client.get("/"))["_csrf_token"]
    assert "HttpOnly" not in csrf and "SameSite=Lax" in csrf  # dash-renderer must read it, no other site may


def test_a_sign_in_starts_a_new_session(site):
    client = site.test_client()
    client.get("/login")
    planted = client.get_cookie("portal_session").value  # the pre-login session (CSRF token inside)
    sign_in(client)
    first = client.get_cookie("portal_session").value
    assert first != planted
    # the planted pre-login cookie does not become a logged-in session
    attacker = site.test_client()
    attacker.set_cookie("portal_session", planted)
    assert attacker.get("/_dash-layout").status_code == 401
    # signing in again (e.g. as someone else on a shared machine) replaces the session, and its CSRF token
    client.get("/")
    old_csrf = client.get_cookie("_csrf_token").value
    again = client.post("/login", data={"email": "viewer@alpha.test", "password": PASSWORD, "csrf_token": old_csrf})
    assert again.status_code == 302
    client.get("/")
    assert client.get_cookie("portal_session").value != first
    assert client.get_cookie("_csrf_token").value != old_csrf


def test_a_valid_csrf_token_of_another_session_is_refused(site):
    victim, attacker = logged_in(site, "admin@alpha.test"), logged_in(site, "viewer@alpha.test")
    attackers_token = attacker.get_cookie("_csrf_token").value  # valid, but for the attacker's session
    inputs = [{"id": "data-refresh", "property": "n_intervals", "value": 1},
              {"id": "import-status", "property": "children", "value": None},
              {"id": "refit-status", "property": "children", "value": None}]
    body = {"output": "datasets-grid.rowData", "outputs": {"id": "datasets-grid", "property": "rowData"},
            "inputs": inputs, "state": [], "changedPropIds": ["data-refresh.n_intervals"]}
    answer = victim.post("/_dash-update-component", json=body, headers={"X-CSRFToken": attackers_token})
    assert answer.status_code == 400
    assert dash_post(victim, "datasets-grid.rowData", inputs).status_code == 200  # its own token works
    logout = victim.post("/logout", data={"csrf_token": attackers_token})
    assert logout.status_code == 400 and victim.get("/_dash-layout").status_code == 200
    form = victim.post("/account/password", data={"csrf_token": attackers_token, "current_password": PASSWORD,
                                                  "new_password": "Another-pass-99", "new_password_again":
                                                  "Another-pass-99"})
    assert form.status_code == 400 and victim.get("/_dash-layout").status_code == 200


def test_production_sends_hsts_and_secure_cookies(tmp_path):
    settings = make_settings(tmp_path, env="production", secret_key="p" * 48, allow_local_database=True,
                             session_cookie_secure=True, proxy_hops=1)
    app = build_app(settings)
    client = app.test_client()
    https = {"X-Forwarded-Proto": "https"}  # as the PaaS router says; one trusted hop
    page = client.get("/login", headers=https)
    assert page.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    token = csrf_from(page.data)
    answer = client.post("/login", data={"email": "admin@alpha.test", "password": PASSWORD, "csrf_token": token},
                         headers={**https, "Referer": "https://localhost/login"})  # strict referer on HTTPS
    assert answer.status_code == 302
    assert "Secure" in set_cookie_headers(answer)["portal_session"]
    assert client.get("/healthz", headers=https).headers["Strict-Transport-Security"]
    # even with SESSION_COOKIE_SECURE turned off by mistake, production keeps HSTS
    lax = build_app(make_settings(tmp_path / "lax", env="production", secret_key="q" * 48,
                                  allow_local_database=True, session_cookie_secure=False))
    assert "Strict-Transport-Security" in lax.test_client().get("/login").headers
    development = build_app(make_settings(tmp_path / "dev"), tenants=False)
    assert "Strict-Transport-Security" not in development.test_client().get("/login").headers
