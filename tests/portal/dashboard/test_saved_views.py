"""portal.dashboard.saved_views: saved views are per owner, shareable within a tenant, never across tenants."""
from __future__ import annotations

import re

import pytest
from portal_testlib import build_app, make_settings

from portal.dashboard import saved_views as views
from portal.platform.accounts import AccountError, audit_entries
from portal.platform.tenancy import context_for_user


@pytest.fixture
def ctxs(tmp_path):
    app = build_app(make_settings(tmp_path))
    with app.app_context():
        # users 1-3: alpha admin, manager, viewer; 4-6: beta
        yield {name: context_for_user(i) for i, name in enumerate(
            ["a_admin", "a_manager", "a_viewer", "b_admin", "b_manager", "b_viewer"], start=1)}


def test_views_are_private_until_shared(ctxs):
    mine = views.save_view(ctxs["a_manager"], "/segments", "Top customers", {"query": "?segment=Champions"})
    assert mine.mine and not mine.shared
    assert views.list_views(ctxs["a_viewer"], "/segments") == []
    views.save_view(ctxs["a_manager"], "/segments", "Top customers", {"query": "?segment=Loyal"}, shared=True)
    seen = views.list_views(ctxs["a_viewer"], "/segments")
    assert [(v.name, v.state, v.mine) for v in seen] == [("Top customers", {"query": "?segment=Loyal"}, False)]
    assert views.list_views(ctxs["b_admin"], "/segments") == []
    actions = [e.action for e in audit_entries(ctxs["a_manager"].tenant_id)]
    assert "share" in actions and actions.count("view_saved") == 2


def test_only_owners_and_admins_of_the_tenant_delete(ctxs):
    view = views.save_view(ctxs["a_manager"], "/segments", "Mine", {}, shared=True)
    for other in ("a_viewer", "b_admin"):
        with pytest.raises(AccountError, match="No such view"):
            views.delete_view(ctxs[other], view.id)
    views.delete_view(ctxs["a_admin"], view.id)
    assert views.list_views(ctxs["a_manager"], "/segments") == []


def test_viewers_cannot_save_or_share_and_names_are_checked(ctxs):
    for shared in (True, False):
        with pytest.raises(AccountError, match="manager role"):
            views.save_view(ctxs["a_viewer"], "/segments", "x", {}, shared=shared)
    with pytest.raises(AccountError, match="name"):
        views.save_view(ctxs["a_manager"], "/segments", "  ", {})
    with pytest.raises(AccountError, match="page"):
        views.save_view(ctxs["a_manager"], "https://evil.example/", "x", {})


def test_list_all_pages_update_and_href(ctxs):
    views.save_view(ctxs["a_manager"], "/segments", "Champions FR", {"query": "?country=France&segment=Champions"},
                    shared=True)
    private = views.save_view(ctxs["a_admin"], "/cohorts", "Mine", {"query": ""})
    seen = views.list_views(ctxs["a_viewer"])
    assert [(v.page, v.name, v.target, v.owner_email is not None) for v in seen] == [
        ("/segments", "Champions FR", "/segments?country=France&segment=Champions", True)]
    assert {v.name for v in views.list_views(ctxs["a_admin"])} == {"Champions FR", "Mine"}
    shared = seen[0]
    with pytest.raises(AccountError, match="No such view"):
        views.update_view(ctxs["a_viewer"], shared.id, name="hijack")
    with pytest.raises(AccountError, match="No such view"):
        views.update_view(ctxs["b_admin"], shared.id, shared=False)
    renamed = views.update_view(ctxs["a_admin"], shared.id, name="Best French", shared=False)
    assert (renamed.name, renamed.shared) == ("Best French", False)
    assert views.list_views(ctxs["a_viewer"]) == []
    assert private.target == "/cohorts"
    assert private.href == f"/v/{private.token}" and len(private.token) >= 43


def _location(response) -> str:
    return response.headers.get("Location", "")


def test_a_view_is_opened_by_its_token_and_foreign_tokens_answer_like_missing_ones(tmp_path):
    from portal_testlib import logged_in

    app = build_app(make_settings(tmp_path))
    with app.app_context():
        manager, admin = context_for_user(2), context_for_user(1)
        shared = views.save_view(manager, "/segments", "FR", {"query": "?country=France"}, shared=True)
        private = views.save_view(admin, "/cohorts", "Mine", {"query": "?metric=revenue"})
        beta = views.save_view(context_for_user(5), "/segments", "DE", {"query": "?country=Germany"}, shared=True)
    assert len({shared.token, private.token, beta.token}) == 3
    viewer = logged_in(app, "viewer@alpha.test")
    opened = viewer.get(shared.href)
    assert opened.status_code == 302 and _location(opened) == "/segments?country=France"
    missing = viewer.get("/v/" + "x" * 43)
    foreign, colleagues_private = viewer.get(beta.href), viewer.get(private.href)
    assert missing.status_code == foreign.status_code == colleagues_private.status_code == 404
    bodies = {re.sub(r"<code>[0-9a-f]+</code>", "", r.get_data(as_text=True)) for r in (missing, foreign,
                                                                                       colleagues_private)}
    assert len(bodies) == 1 and "No such saved view" in bodies.pop()  # only the request id differs
    assert logged_in(app, "admin@alpha.test").get(private.href).headers["Location"] == "/cohorts?metric=revenue"
    # not logged in: to the login page, then back to the view
    anonymous = app.test_client().get(shared.href)
    assert anonymous.status_code == 302 and "/login" in _location(anonymous)


def test_migration_0006_gives_existing_views_distinct_tokens(tmp_path):
    import sqlalchemy as sa

    from portal.platform import db

    settings = make_settings(tmp_path)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db.upgrade(settings, "0007_clv_model")  # the revision before this one
    engine = sa.create_engine(settings.database_url)
    with engine.begin() as connection:
        connection.execute(sa.text("INSERT INTO tenants (id, slug, name, created_at, updated_at) "
                                   "VALUES (1, 't', 'T', '2026-01-01', '2026-01-01')"))
        connection.execute(sa.text("INSERT INTO users (id, tenant_id, email, password_hash, role, active, "
                                   "session_token, created_at) VALUES (1, 1, 'a@t', 'x', 'admin', 1, 's', '2026-01-01')"))
        for i in (1, 2):
            connection.execute(sa.text(
                "INSERT INTO saved_views (id, tenant_id, owner_id, name, page, state, shared, created_at, updated_at) "
                f"VALUES ({i}, 1, 1, 'v{i}', '/', '{{}}', 0, '2026-01-01', '2026-01-01')"))
    db.upgrade(settings, "0006_view_tokens")
    with engine.connect() as connection:
        tokens = [row[0] for row in connection.execute(sa.text("SELECT token FROM saved_views"))]
    assert len(tokens) == 2 and len(set(tokens)) == 2 and all(len(t) == 43 for t in tokens)
    engine.dispose()
