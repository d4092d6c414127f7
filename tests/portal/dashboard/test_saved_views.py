"""portal.dashboard.saved_views: saved views are per owner, shareable within a tenant, never across tenants."""
from __future__ import annotations

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
    assert [(v.page, v.name, v.href, v.owner_email is not None) for v in seen] == [
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
    assert private.href == "/cohorts"
