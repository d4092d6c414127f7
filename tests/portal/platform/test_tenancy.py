"""Tenant isolation and roles: tenant A's session never gets tenant B's data,
whatever ids or slugs it puts into routes or hand-written Dash callback requests.

Alpha's log is all "United Kingdom", beta's all "Germany": any "Germany",
"Beta Trading" or "@beta.test" in an answer to alpha would be a leak.
"""
from __future__ import annotations

import pytest
from portal_testlib import callback_outputs, dash_post, logged_in
from sqlalchemy import select

from portal.platform.models import Dataset, User
from portal.platform.tenancy import PortalContext, current_context, role_rank

LEAKS = ("Germany", "Beta Trading", "@beta.test", "beta-")


def _text(response) -> str:
    return response.get_data(as_text=True)


def _assert_no_leak(response):
    text = _text(response)
    for marker in LEAKS:
        assert marker not in text, f"{marker!r} leaked: {text[:500]}"


@pytest.fixture
def two_tenants(app, beta_csv):
    """The app plus beta's ids: two beta versions (alpha has one) and beta's users."""
    from portal.platform.db import session_scope
    from portal.data.imports import import_dataset

    with app.app_context():
        import_dataset("beta", beta_csv, filename="beta-second.csv")
        with session_scope() as session:
            beta_datasets = session.scalars(select(Dataset.id).where(Dataset.tenant_id == 2)).all()
            beta_users = session.scalars(select(User.id).where(User.tenant_id == 2)).all()
    return app, {"datasets": beta_datasets, "users": beta_users, "tenant": 2, "slug": "beta"}


def _page_router(client, pathname, search=""):
    output = next(o for o in callback_outputs(client) if "_pages_content.children" in o)
    inputs = [{"id": "_pages_location", "property": "pathname", "value": pathname},
              {"id": "_pages_location", "property": "search", "value": search}]
    return dash_post(client, output, inputs)


def test_routes_ignore_tenant_and_dataset_ids_from_the_browser(two_tenants):
    app, beta = two_tenants
    client = logged_in(app, "admin@alpha.test")
    query = f"?tenant={beta['slug']}&tenant_id={beta['tenant']}&dataset_id={beta['datasets'][-1]}"
    for path in ["/", "/data", "/_dash-layout", "/_dash-dependencies", "/export/orders.csv",
                 "/export/transactions.csv", "/healthz"]:
        response = client.get(path + query, headers={"X-Tenant": "beta", "X-Dataset-Id": str(beta["datasets"][0])})
        assert response.status_code == 200, path
        _assert_no_leak(response)
    orders = _text(client.get("/export/orders.csv" + query))
    assert "United Kingdom" in orders
    assert "Alpha Stores" in _text(client.get("/_dash-layout"))


def test_forged_page_requests_render_only_the_callers_tenant(two_tenants):
    app, beta = two_tenants
    client = logged_in(app, "admin@alpha.test")
    for pathname, search in [("/", f"?tenant=beta&dataset_id={beta['datasets'][-1]}"), ("/data", "?tenant=beta"),
                             ("/beta", ""), ("/", "")]:
        response = _page_router(client, pathname, search)
        assert response.status_code == 200
        _assert_no_leak(response)
    overview = _text(_page_router(client, "/", f"?dataset_id={beta['datasets'][-1]}"))
    assert "overview-query" in overview and "Alpha Stores" not in overview  # the page, not the shell


def test_forged_data_page_callbacks_get_nothing_of_the_other_tenant(two_tenants):
    app, beta = two_tenants
    client = logged_in(app, "admin@alpha.test")
    inputs = [{"id": "data-refresh", "property": "n_intervals", "value": beta["datasets"][-1]},
              {"id": "import-status", "property": "children", "value": {"tenant": "beta"}},
              {"id": "refit-status", "property": "children", "value": beta["tenant"]}]
    grid = dash_post(client, "datasets-grid.rowData", inputs)
    assert grid.status_code == 200
    _assert_no_leak(grid)
    rows = grid.json["response"]["datasets-grid"]["rowData"]
    assert [r["version"] for r in rows] == [1]

    # beta has a version 2, alpha does not; ids of beta's datasets mean nothing
    selected = [{"version": 2, "dataset_id": beta["datasets"][-1], "tenant_id": beta["tenant"]}]
    report = dash_post(client, "dataset-report.children",
                       [{"id": "datasets-grid", "property": "selectedRows", "value": selected}])
    assert report.status_code == 200 and "does not exist" in _text(report)
    _assert_no_leak(report)

    users_output = next(o for o in callback_outputs(client) if "users-grid.rowData" in o)
    state = [{"id": "new-user-email", "property": "value", "value": None},
             {"id": "new-user-role", "property": "value", "value": "viewer"},
             {"id": "new-user-password", "property": "value", "value": None},
             {"id": "users-grid", "property": "selectedRows",
              "value": [{"email": "viewer@beta.test", "user_id": beta["users"][-1], "tenant_id": 2}]}]
    inputs = [{"id": "add-user", "property": "n_clicks", "value": None},
              {"id": "deactivate-user", "property": "n_clicks", "value": 1},
              {"id": "change-role", "property": "n_clicks", "value": None}]
    response = dash_post(client, users_output, inputs, state, changed=["deactivate-user.n_clicks"])
    assert response.status_code == 200 and "No such user" in _text(response)
    _assert_no_leak(response)
    with app.app_context():
        from portal.platform.db import session_scope

        with session_scope() as session:
            assert session.scalars(select(User.active).where(User.email == "viewer@beta.test")).one() is True


def test_background_job_keys_are_per_user(two_tenants):
    app, _ = two_tenants
    manager = app.extensions["portal"].dash._background_manager
    keys = set()
    for email in ("admin@alpha.test", "admin@beta.test"):
        with app.test_request_context():
            from flask_login import login_user

            from portal.platform.auth import load_user

            login_user(load_user(_login_id(app, email)))
            keys.add(manager.build_cache_key(_same_function, ["same upload"], [], None))
    assert len(keys) == 2


def _same_function(contents):
    return contents


def _login_id(app, email):
    from portal.platform.db import session_scope

    with app.app_context(), session_scope() as session:
        user = session.scalars(select(User).where(User.email == email)).one()
        return f"{user.id}:{user.session_token}"


@pytest.mark.parametrize("email, data_status, export_status", [
    ("viewer@alpha.test", 403, 403), ("manager@alpha.test", 403, 200), ("admin@alpha.test", 200, 200),
])
def test_roles_are_checked_server_side(app, email, data_status, export_status):
    client = logged_in(app, email)
    inputs = [{"id": "data-refresh", "property": "n_intervals", "value": 1},
              {"id": "import-status", "property": "children", "value": None},
              {"id": "refit-status", "property": "children", "value": None}]
    assert dash_post(client, "datasets-grid.rowData", inputs).status_code == data_status
    assert client.get("/export/orders.csv").status_code == export_status
    page = _text(_page_router(client, "/data"))
    assert ("forbidden" in page) == (data_status == 403)
    sidebar = _text(client.get("/_dash-layout"))
    assert ('"nav-data"' in sidebar) == (data_status == 200)


def test_export_is_audited_with_its_row_count(app):
    from portal.platform.accounts import audit_entries

    client = logged_in(app, "manager@alpha.test")
    body = _text(client.get("/export/orders.csv"))
    with app.app_context():
        entry = [e for e in audit_entries(1) if e.action == "export"][0]
    assert entry.detail["rows"] == body.count("\n") - 1 and entry.detail["export"] == "orders"


def test_current_context_comes_from_the_session(app):
    with app.test_request_context():
        from flask_login import login_user

        from portal.platform.auth import load_user

        login_user(load_user(_login_id(app, "manager@alpha.test")))
        ctx = current_context()
    assert isinstance(ctx, PortalContext)
    assert (ctx.tenant_slug, ctx.role, ctx.email) == ("alpha", "manager", "manager@alpha.test")
    assert ctx.has_role("viewer") and not ctx.has_role("admin")
    assert role_rank("system") > role_rank("admin")
