"""Invitations and password resets by e-mail, against a real SMTP server: the link sets
the user's own password once, expires, and "forgot password" never tells whether an
address has an account."""
from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from digests_testlib import audit_rows, ctx_of, mail_app, write_logs
from mail_testlib import body
from portal_testlib import PASSWORD, csrf_from, logged_in, login, run_cli

NEW_PASSWORD = "Brand-new-pass-77"


@pytest.fixture(scope="module")
def app(tmp_path_factory, mail):
    folder = tmp_path_factory.mktemp("account-mail")
    return mail_app(folder, {"alpha": write_logs(folder)["alpha"]}, mail.url, reset_rate_limit="4 per minute",
                    reset_per_account_per_hour=2)


@pytest.fixture(autouse=True)
def clean(mail):
    mail.clear()


# Service calls run in ``with app.app_context()`` blocks that end before the test client's
# requests: Flask-WTF keeps the request's CSRF token in ``g``, which an outer app context
# would share between requests of different clients.


def _link(message) -> str:
    return re.search(r"http://portal\.test(/account/set-password\?token=\S+)", body(message)).group(1)


def _set_password(client, link: str, password: str, confirm: str | None = None):
    page = client.get(link)
    assert page.status_code == 200, page.data[:300]
    token = re.search(r'name="token" value="([^"]+)"', page.text).group(1)
    return client.post("/account/set-password", data={"csrf_token": csrf_from(page.data), "token": token,
                                                   "password": password,
                                                   "confirm": password if confirm is None else confirm})


def test_invitation_sets_own_password_once(app, mail):
    from portal.platform.account_mail import invite_user
    from portal.platform.accounts import AccountError

    with app.app_context():
        with pytest.raises(AccountError, match="admin role"):
            invite_user(ctx_of("manager@alpha.test"), "someone@alpha.test", "viewer")
        invited = invite_user(ctx_of("admin@alpha.test"), "New.Analyst@alpha.test", "manager")
    assert invited == "new.analyst@alpha.test"
    [message] = mail.wait_for(1)
    assert message["To"] == "new.analyst@alpha.test" and "invited you" in body(message)
    link = _link(message)
    client = app.test_client()
    assert login(client, "new.analyst@alpha.test", "").status_code == 401  # nobody knows a password yet

    assert _set_password(client, link, NEW_PASSWORD, "something-else-1").status_code == 400
    weak = _set_password(client, link, "short")
    assert weak.status_code == 400 and b"at least 10 characters" in weak.data
    done = _set_password(client, link, NEW_PASSWORD)
    assert done.status_code == 302 and "/login" in done.headers["Location"]
    assert login(app.test_client(), "new.analyst@alpha.test", NEW_PASSWORD).status_code == 302

    again = app.test_client().get(link)  # single use
    assert again.status_code == 404 and b"not valid any more" in again.data
    token = link.split("token=", 1)[1]
    reuse = app.test_client()
    form = reuse.get("/account/forgot")
    replay = reuse.post("/account/set-password", data={"csrf_token": csrf_from(form.data), "token": token,
                                                   "password": "Another-pass-99", "confirm": "Another-pass-99"})
    assert replay.status_code == 404
    assert login(app.test_client(), "new.analyst@alpha.test", "Another-pass-99").status_code == 401
    with app.app_context():
        assert audit_rows("user_invited")[-1].detail["email"] == "new.analyst@alpha.test"
        assert audit_rows("password_set_by_link")[-1].detail == {"purpose": "invite"}

    result = run_cli(app, "invite-user", "cli.invitee@alpha.test", "--tenant", "alpha", "--role", "viewer")
    assert result.exit_code == 0, result.output
    assert mail.wait_for(2)[-1]["To"] == "cli.invitee@alpha.test"


def test_links_expire_and_forged_links_fail(app):
    from portal.platform.account_mail import issue_token, password_path
    from portal.platform.models import utcnow

    with app.app_context():
        user_id = ctx_of("viewer@alpha.test").user_id
        expired = issue_token(user_id, "reset", timedelta(minutes=60), now=utcnow() - timedelta(minutes=61))
        fresh = issue_token(user_id, "reset", timedelta(minutes=60))
    client = app.test_client()
    assert client.get(password_path(expired)).status_code == 404
    assert client.get(password_path(fresh)).status_code == 200
    assert client.get(password_path(fresh[:-2] + "xx")).status_code == 404  # signature broken
    assert client.get(password_path("A" * 600)).status_code == 404
    assert client.get("/account/set-password").status_code == 404


def test_forgot_password_answers_alike_and_mails_only_real_accounts(app, mail):
    from portal.platform import accounts

    old_session = logged_in(app, "manager@alpha.test")
    answers = []
    for address in ("manager@alpha.test", "nobody@alpha.test", "manager@elsewhere.example"):
        client = app.test_client()
        form = client.get("/account/forgot")
        answers.append(client.post("/account/forgot", data={"csrf_token": csrf_from(form.data), "email": address}))
    assert {a.status_code for a in answers} == {200}
    assert answers[0].data == answers[1].data == answers[2].data
    assert b"If an account with this address exists" in answers[0].data
    [message] = mail.wait_for(1)
    time.sleep(0.5)
    assert len(mail.messages) == 1 and message["To"] == "manager@alpha.test"

    done = _set_password(app.test_client(), _link(message), NEW_PASSWORD)
    assert done.status_code == 302
    assert old_session.get("/", headers={"Accept": "text/html"}).status_code == 302  # earlier sessions ended
    assert login(app.test_client(), "manager@alpha.test", NEW_PASSWORD).status_code == 302
    with app.app_context():
        accounts.set_password(ctx_of("manager@alpha.test").user_id, PASSWORD)  # back, for the other tests


def test_reset_mails_are_capped_per_account_and_requests_per_address(app, mail):
    from portal.platform import accounts
    from portal.platform.account_mail import request_reset

    with app.app_context():
        alpha = ctx_of("admin@alpha.test").tenant_id
        accounts.set_active(alpha, "viewer@alpha.test", False)
        request_reset("viewer@alpha.test", wait=True)  # deactivated: nothing
        accounts.set_active(alpha, "viewer@alpha.test", True)
        assert mail.messages == []
        for _ in range(4):
            request_reset("admin@alpha.test", wait=True)
        assert len(mail.messages) == 2  # RESET_PER_ACCOUNT_PER_HOUR = 2
        assert audit_rows("password_reset_limited")

    client = app.test_client()
    form = client.get("/account/forgot")
    token = csrf_from(form.data)
    statuses = [client.post("/account/forgot", data={"csrf_token": token, "email": f"x{n}@nowhere.example"},
                            environ_base={"REMOTE_ADDR": "10.9.9.9"}).status_code for n in range(5)]
    assert statuses == [200, 200, 200, 200, 429]  # RESET_RATE_LIMIT = 4 per minute per address
    other = client.post("/account/forgot", data={"csrf_token": token, "email": "x@nowhere.example"},
                        environ_base={"REMOTE_ADDR": "10.9.9.10"})
    assert other.status_code == 200


def test_admin_invites_from_the_data_page(app, mail):
    from portal_testlib import callback_outputs, dash_post

    def invite(client, email):
        output = next(o for o in callback_outputs(client) if "invite-status.children" in o)
        return dash_post(client, output, [{"id": "invite-user", "property": "n_clicks", "value": 1}],
                         [{"id": "new-user-email", "property": "value", "value": email},
                          {"id": "new-user-role", "property": "value", "value": "viewer"}])

    response = invite(logged_in(app, "admin@alpha.test"), "page.invitee@alpha.test")
    assert response.status_code == 200 and "Invitation sent to page.invitee@alpha.test" in response.text
    [message] = mail.wait_for(1)
    assert message["To"] == "page.invitee@alpha.test"
    refused = invite(logged_in(app, "manager@alpha.test"), "other.invitee@alpha.test")
    assert refused.status_code == 403 and len(mail.messages) == 1
