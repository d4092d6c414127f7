"""Self-service password change (issue 12, item 10): current password required,
every session of the user ends, audited, brute force of the current password limited."""
from __future__ import annotations

from portal_testlib import PASSWORD, build_app, csrf_from, logged_in, login, make_settings

NEW = "Fresh-passphrase-77"


def change(client, current, new, again=None):
    token = csrf_from(client.get("/account/password").data)
    return client.post("/account/password", data={"current_password": current, "new_password": new,
                                                  "new_password_again": new if again is None else again,
                                                  "csrf_token": token})


def audit_actions(app, user_email):
    from sqlalchemy import select

    from portal.platform.db import session_scope
    from portal.platform.models import AuditEntry, User

    with app.app_context(), session_scope() as session:
        user = session.scalars(select(User).where(User.email == user_email)).one()
        return [a.action for a in session.scalars(select(AuditEntry).where(AuditEntry.user_id == user.id))]


def test_changing_the_password_ends_every_session_and_is_audited(app):
    here, elsewhere = logged_in(app, "viewer@alpha.test"), logged_in(app, "viewer@alpha.test")
    assert here.get("/account/password").status_code == 200
    assert elsewhere.get("/_dash-layout").status_code == 200
    answer = change(here, PASSWORD, NEW)
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/login?notice=")
    for client in (here, elsewhere):  # this browser and the other one alike
        assert client.get("/_dash-layout").status_code == 401
    assert login(app.test_client(), "viewer@alpha.test", PASSWORD).status_code == 401
    assert login(app.test_client(), "viewer@alpha.test", NEW).status_code == 302
    actions = audit_actions(app, "viewer@alpha.test")
    assert "password_changed" in actions and "password_changed_by_user" in actions


def test_wrong_current_password_weak_or_mismatched_new_ones_change_nothing(app):
    client = logged_in(app, "manager@alpha.test")
    cases = {("Not-my-password-1", NEW, None): "The current password is not right.",
             (PASSWORD, NEW, NEW + "x"): "The two new passwords differ.",
             (PASSWORD, "short", None): "at least 10 characters",
             (PASSWORD, PASSWORD, None): "must differ from the current one",
             (PASSWORD, "manager@alpha.test", None): "must not be the email"}
    for (current, new, again), message in cases.items():
        answer = change(client, current, new, again)
        assert answer.status_code == 400 and message in answer.get_data(as_text=True), message
    assert client.get("/_dash-layout").status_code == 200  # still signed in, nothing changed
    assert login(app.test_client(), "manager@alpha.test", PASSWORD).status_code == 302
    assert "password_change_failed" in audit_actions(app, "manager@alpha.test")


def test_the_form_needs_a_login_and_csrf(app):
    anonymous = app.test_client()
    assert anonymous.get("/account/password").status_code == 302  # to the login page
    client = logged_in(app, "admin@alpha.test")
    answer = client.post("/account/password", data={"current_password": PASSWORD, "new_password": NEW,
                                                    "new_password_again": NEW})
    assert answer.status_code == 400 and client.get("/_dash-layout").status_code == 200


def test_guessing_the_current_password_from_a_stolen_session_is_limited(tmp_path):
    app = build_app(make_settings(tmp_path, login_rate_limit="3 per minute"))
    client = logged_in(app, "admin@alpha.test")
    statuses = [change(client, f"Guess-number-{i}", NEW).status_code for i in range(4)]
    assert statuses == [400, 400, 400, 429]
    assert change(client, PASSWORD, NEW).status_code == 429  # blocked for the window, even when right
