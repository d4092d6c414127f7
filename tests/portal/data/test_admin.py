"""portal.data.admin: the Data page's actions, called directly (the page's callbacks are
tested through Dash in test_job_faults, test_celery_jobs and the attack tests).

One app with tenants alpha and beta, no dataset yet: user management on alpha, answers
for a tenant with no data, an upload reference that does not exist."""
from __future__ import annotations

from dataclasses import replace

import pytest
from portal_testlib import PASSWORD, build_app, make_settings
from sqlalchemy import select

from portal.data import admin
from portal.platform.accounts import AccountError
from portal.platform.db import session_scope
from portal.platform.models import AuditEntry, User
from portal.platform.tenancy import system_context


@pytest.fixture(scope="module")
def alpha_admin(tmp_path_factory):
    """alpha's context as its admin (the users' and audit tables are written by the tests)."""
    app = build_app(make_settings(tmp_path_factory.mktemp("admin")))
    with app.app_context():
        ctx = system_context("alpha")
        user = _user("admin@alpha.test")
        yield replace(ctx, user_id=user.id, email=user.email, role="admin")


def _user(email: str) -> User:
    with session_scope() as session:
        return session.scalars(select(User).where(User.email == email)).one()


def test_users_are_added_deactivated_and_given_a_role(alpha_admin):
    ctx = alpha_admin
    added = admin.manage_user(ctx, "add-user", email=" New@Alpha.test ", role="viewer", password=PASSWORD,
                              selected=None, ip="10.0.0.1")
    assert added == "User new@alpha.test added."
    assert _user("new@alpha.test").role == "viewer" and _user("new@alpha.test").tenant_id == ctx.tenant_id
    assert "new@alpha.test" in [row["email"] for row in admin.users(ctx)]

    row = [{"email": "new@alpha.test"}]
    assert admin.manage_user(ctx, "change-role", email=None, role="manager", password=None, selected=row,
                             ip=None) == "User new@alpha.test is now manager; their sessions have ended."
    assert _user("new@alpha.test").role == "manager"
    assert admin.manage_user(ctx, "deactivate-user", email=None, role=None, password=None, selected=row,
                             ip=None) == "User new@alpha.test deactivated."
    assert _user("new@alpha.test").active is False
    with session_scope() as session:  # done in the admin's name, from the caller's address
        created = session.scalars(select(AuditEntry).where(AuditEntry.action == "user_created")
                                  .order_by(AuditEntry.id.desc())).first()
        assert (created.user_id, created.ip, created.detail["email"]) == (ctx.user_id, "10.0.0.1", "new@alpha.test")


@pytest.mark.parametrize("action", ["deactivate-user", "change-role"])
def test_an_action_on_no_selected_user_is_refused(alpha_admin, action):
    with pytest.raises(AccountError, match="Select a user first"):
        admin.manage_user(alpha_admin, action, email=None, role="viewer", password=None, selected=[], ip=None)


def test_a_bad_new_user_is_refused_with_the_accounts_message(alpha_admin):
    with pytest.raises(AccountError, match="Invalid role"):
        admin.manage_user(alpha_admin, "add-user", email="x@alpha.test", role="owner", password=PASSWORD,
                          selected=None, ip=None)
    with pytest.raises(AccountError, match="already exists"):
        admin.manage_user(alpha_admin, "add-user", email="viewer@beta.test", role="viewer", password=PASSWORD,
                          selected=None, ip=None)


def test_no_action_does_nothing(alpha_admin):
    before = admin.users(alpha_admin)
    assert admin.manage_user(alpha_admin, None, email="y@alpha.test", role="viewer", password=PASSWORD,
                             selected=None, ip=None) == ""
    assert admin.users(alpha_admin) == before


def test_refit_without_a_dataset_and_an_unknown_upload(alpha_admin, tmp_path):
    assert admin.refit_models(alpha_admin, stale_minutes=1) == "No dataset yet."
    calls = []
    outcome = admin.import_upload(alpha_admin, "no-such-token", tmp_path, lambda f, m: calls.append((f, m)))
    assert outcome == admin.Outcome("That upload does not exist (or has expired); upload the file again.",
                                    "warning")
    assert calls == []
    assert list(tmp_path.iterdir()) == []


def test_a_redelivered_upload_job_whose_import_finished_fits_its_models(alpha_admin, alpha_csv, tmp_path):
    """The worker was lost after the import stored the version (the staged upload is gone):
    the retry of the same job finds that version and fits it instead of failing on the upload."""
    import io

    from sqlalchemy import update

    from portal.data import storage, uploads
    from portal.platform.models import Dataset

    user = _user("admin@beta.test")
    ctx = replace(system_context("beta"), user_id=user.id, email=user.email, role="admin")
    token, _ = uploads.stage(ctx, "beta.csv", io.BytesIO(alpha_csv.read_bytes()), max_bytes=50_000_000)
    first = admin.import_upload(ctx, token, tmp_path, lambda f, m: None)
    assert first.color == "success", first.message
    [dataset] = storage.list_datasets(system_context("beta"))
    with session_scope() as session:  # as if the fit never ran: the worker died after the import
        session.execute(update(Dataset).where(Dataset.id == dataset.id)
                        .values(models_status="pending", models_message="queued"))
    again = admin.import_upload(ctx, token, tmp_path, lambda f, m: None)
    assert again.color == "success", again.message
    assert [d.id for d in storage.list_datasets(system_context("beta"))] == [dataset.id]  # not imported twice
    assert storage.get_dataset(system_context("beta"), dataset.id).models_status == "ready"
