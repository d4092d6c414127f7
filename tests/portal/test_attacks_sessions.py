"""Attack suite, sessions and stored links (issue 12, "Vulnerable" 1 and 2).

1. A session cookie saved before a logout, a password change, a role change or a
   deactivation must open nothing afterwards, on any worker.
2. A saved view may only hold a page of the app and a re-encoded query: nothing a
   colleague opens from it may leave the portal.
"""
from __future__ import annotations

import pytest
import requests
from portal_testlib import (
    PASSWORD,
    csrf_from,
    dash_post,
    gunicorn_server,
    logged_in,
    dash_headers,
    make_settings,
)

PROTECTED = ("/_dash-layout", "/export/segments.csv")


def _cookie(client) -> str:
    return client.get_cookie("portal_session").value


def _replay(app, cookie: str) -> list[int]:
    """Status codes of the protected routes for a fresh client holding ``cookie``."""
    attacker = app.test_client()
    attacker.set_cookie("portal_session", cookie)
    return [attacker.get(path).status_code for path in PROTECTED]


def _logout(client) -> None:
    token = csrf_from(client.get("/logout").data)
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302


def _user_id(app, email: str) -> int:
    from sqlalchemy import select

    from portal.platform.db import session_scope
    from portal.platform.models import User

    with app.app_context(), session_scope() as session:
        return session.scalars(select(User.id).where(User.email == email)).one()


def test_old_cookie_is_dead_after_logout_on_every_session_of_the_user(app):
    first = logged_in(app, "manager@alpha.test")
    second = logged_in(app, "manager@alpha.test")  # the same manager on another device
    saved = _cookie(first)
    assert _replay(app, saved) == [200, 200]
    _logout(first)
    assert _replay(app, saved) == [401, 401]
    assert second.get("/_dash-layout").status_code == 401  # every earlier session ended
    assert logged_in(app, "manager@alpha.test").get("/_dash-layout").status_code == 200  # signing in again works


def test_old_cookie_is_dead_after_password_change(app):
    from portal.platform import accounts

    client = logged_in(app, "viewer@alpha.test")
    saved = _cookie(client)
    with app.app_context():
        accounts.set_password(_user_id(app, "viewer@alpha.test"), "a-new-long-passphrase-7")
    assert _replay(app, saved) == [401, 401]


def test_old_cookie_is_dead_after_role_change_and_the_new_role_applies(app):
    from portal.platform import accounts

    client = logged_in(app, "manager@alpha.test")
    saved = _cookie(client)
    assert client.get("/export/segments.csv").status_code == 200
    with app.app_context():
        accounts.set_role(1, "manager@alpha.test", "viewer", actor_id=_user_id(app, "admin@alpha.test"))
    assert _replay(app, saved) == [401, 401]
    again = logged_in(app, "manager@alpha.test")
    assert again.get("/export/segments.csv").status_code == 403  # now a viewer


def test_role_change_from_the_data_page_ends_sessions(app):
    manager = logged_in(app, "manager@alpha.test")
    saved = _cookie(manager)
    admin = logged_in(app, "admin@alpha.test")
    answer = dash_post(
        admin, "..users-grid.rowData...users-status.children...new-user-password.value..",
        [{"id": "add-user", "property": "n_clicks", "value": None},
         {"id": "deactivate-user", "property": "n_clicks", "value": None},
         {"id": "change-role", "property": "n_clicks", "value": 1}],
        [{"id": "new-user-email", "property": "value", "value": ""},
         {"id": "new-user-role", "property": "value", "value": "viewer"},
         {"id": "new-user-password", "property": "value", "value": ""},
         {"id": "users-grid", "property": "selectedRows", "value": [{"email": "manager@alpha.test"}]}],
        changed=["change-role.n_clicks"])
    assert answer.status_code == 200, answer.data[:300]
    rows = answer.json["response"]["users-grid"]["rowData"]
    assert {r["email"]: r["role"] for r in rows}["manager@alpha.test"] == "viewer"
    assert _replay(app, saved) == [401, 401]


def test_a_user_cannot_drop_their_own_admin_role(app):
    from portal.platform import accounts
    from portal.platform.accounts import AccountError

    with app.app_context(), pytest.raises(AccountError, match="your own account"):
        accounts.set_role(1, "admin@alpha.test", "viewer", actor_id=_user_id(app, "admin@alpha.test"))
    with app.app_context(), pytest.raises(AccountError, match="Invalid role"):
        accounts.set_role(1, "viewer@alpha.test", "owner")


def test_old_cookie_is_dead_after_deactivation(app):
    from portal.platform import accounts

    client = logged_in(app, "viewer@alpha.test")
    saved = _cookie(client)
    with app.app_context():
        accounts.set_active(1, "viewer@alpha.test", False)
    assert _replay(app, saved) == [401, 401]


@pytest.mark.services
def test_logout_ends_the_session_on_both_gunicorn_workers(tmp_path, alpha_csv):
    """Two worker processes, each asked several times: the cookie is dead on both."""
    from portal_testlib import build_app

    settings = make_settings(tmp_path)
    build_app(settings, logs={"alpha": alpha_csv})
    server = gunicorn_server(settings, workers=2)
    try:
        session = requests.Session()
        token = csrf_from(session.get(server.url + "/login", timeout=10).text)
        signed_in = session.post(server.url + "/login", data={"email": "manager@alpha.test", "password": PASSWORD,
                                                              "csrf_token": token}, allow_redirects=False, timeout=10)
        assert signed_in.status_code == 302
        saved = session.cookies.get("portal_session")
        assert all(requests.get(server.url + "/_dash-layout", cookies={"portal_session": saved},
                                timeout=10).status_code == 200 for _ in range(6))
        token = csrf_from(session.get(server.url + "/logout", timeout=10).text)
        assert session.post(server.url + "/logout", data={"csrf_token": token}, allow_redirects=False,
                            timeout=10).status_code == 302
        codes = [requests.get(server.url + path, cookies={"portal_session": saved}, timeout=10).status_code
                 for path in PROTECTED for _ in range(6)]
        assert set(codes) == {401}, codes
    finally:
        server.stop()


# --------------------------------------------------------------------------- stored links

HOSTILE_PAGES = ["//evil.com", "///evil.com", "/\\/evil.com", "/\t/evil.com", "/\n/evil.com", "/segments\n",
                 "https://evil.com/segments", "javascript:alert(1)", "/segments/../../evil", "/nope", "", None,
                 "/segments?x=1", " /segments"]


@pytest.mark.parametrize("page", HOSTILE_PAGES)
def test_a_view_of_anything_but_a_page_of_the_app_is_refused(shared_app, page):
    from portal.dashboard import saved_views as views
    from portal.platform.accounts import AccountError
    from portal.platform.tenancy import context_for_user

    with shared_app.app_context():
        manager = context_for_user(_user_id(shared_app, "manager@alpha.test"))
        with pytest.raises(AccountError, match="page of the portal"):
            views.save_view(manager, page, "trap", {"query": ""}, shared=True)
        assert views.list_views(manager) == []


@pytest.mark.parametrize("query", ["?x=\t//evil.com", "?a=1\n", "\x00"])
def test_a_query_with_control_characters_is_refused(shared_app, query):
    from portal.dashboard import saved_views as views
    from portal.platform.accounts import AccountError
    from portal.platform.tenancy import context_for_user

    with shared_app.app_context():
        manager = context_for_user(_user_id(shared_app, "manager@alpha.test"))
        with pytest.raises(AccountError, match="control characters"):
            views.save_view(manager, "/segments", "trap", {"query": query})


def test_a_saved_query_is_parsed_and_re_encoded(app):
    from portal.dashboard import saved_views as views
    from portal.platform.tenancy import context_for_user

    with app.app_context():
        manager = context_for_user(_user_id(app, "manager@alpha.test"))
        view = views.save_view(manager, "/segments", "France", {"query": "country=France&x=a b&y=)(//evil.com"})
        assert view.state["query"] == "?country=France&x=a+b&y=%29%28%2F%2Fevil.com"
        assert view.target == "/segments?country=France&x=a+b&y=%29%28%2F%2Fevil.com"


def test_a_hostile_row_written_directly_is_shown_as_a_harmless_link(app):
    """A row stored before the check (or by hand) is checked again where it becomes a link."""
    from portal.dashboard import saved_views as views
    from portal.platform.db import session_scope
    from portal.platform.models import SavedView
    from portal.platform.tenancy import context_for_user

    manager_id = _user_id(app, "manager@alpha.test")
    with app.app_context():
        with session_scope() as session:
            session.add(SavedView(tenant_id=1, owner_id=manager_id, name="old", page="//evil.com",
                                  state={"query": "?a=1"}, shared=True))
            session.add(SavedView(tenant_id=1, owner_id=manager_id, name="old2", page="/segments",
                                  state={"query": "?a=1\n//evil"}, shared=True))
        hrefs = {v.name: v.target for v in views.list_views(context_for_user(manager_id))}
        tokens = {v.name: v.href for v in views.list_views(context_for_user(manager_id))}
    assert hrefs == {"old": "/views", "old2": "/views"}
    viewer = logged_in(app, "viewer@alpha.test")
    router = next(c["output"] for c in viewer.get("/_dash-dependencies").json if "_pages_content" in c["output"])
    body = {"output": router, "outputs": [{"id": "_pages_content", "property": "children"},
                                          {"id": "_pages_store", "property": "data"}],
            "inputs": [{"id": "_pages_location", "property": "pathname", "value": "/views"},
                       {"id": "_pages_location", "property": "search", "value": ""}],
            "state": [], "changedPropIds": ["_pages_location.pathname"]}
    listing = viewer.post("/_dash-update-component", json=body, headers=dash_headers(viewer))
    assert listing.status_code == 200
    text = listing.get_data(as_text=True).replace("\\u002f", "/")
    assert f"[old]({tokens['old']})" in text and "evil" not in text
    assert viewer.get(tokens["old"]).headers["Location"] == "/views"  # the token leads to a harmless page


def test_save_view_callback_refuses_an_off_site_path_with_a_message(app):
    manager = logged_in(app, "manager@alpha.test")
    answer = dash_post(
        manager, "..save-view-status.children...views-menu.children..",
        [{"id": "save-view-submit", "property": "n_clicks", "value": 1}],
        [{"id": "save-view-name", "property": "value", "value": "trap"},
         {"id": "save-view-shared", "property": "value", "value": True},
         {"id": "url", "property": "pathname", "value": "//evil.com"},
         {"id": "url", "property": "search", "value": "?country=France"}])
    assert answer.status_code == 200
    assert "page of the portal" in answer.get_data(as_text=True)
    from portal.dashboard import saved_views as views
    from portal.platform.tenancy import context_for_user

    with app.app_context():
        assert views.list_views(context_for_user(_user_id(app, "manager@alpha.test"))) == []


@pytest.mark.parametrize("target", ["/\t/evil.com", "/\n/evil.com", "//evil.com", "/\\evil.com",
                                    "https://evil.com", "/%0a/evil.com"])
def test_login_next_never_leaves_the_portal(shared_app, target):
    from portal_testlib import login

    response = login(shared_app.test_client(), "viewer@alpha.test", next_url=target)
    assert response.status_code == 302
    assert "evil" not in response.headers["Location"]


def test_set_role_command_ends_sessions(app):
    from portal_testlib import run_cli

    client = logged_in(app, "viewer@alpha.test")
    saved = _cookie(client)
    result = run_cli(app, "set-role", "viewer@alpha.test", "--tenant", "alpha", "--role", "manager")
    assert result.exit_code == 0 and "now manager" in result.output
    assert _replay(app, saved) == [401, 401]
    assert logged_in(app, "viewer@alpha.test").get("/export/segments.csv").status_code == 200
