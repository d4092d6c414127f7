"""Attack suite, sign-in limits (issue 12, item 3): failed attempts only, in the
database every worker shares, per-address blocking with Retry-After, per-account
slowing that never locks the owner out, X-Forwarded-For trusted only as far as
PROXY_HOPS says, and the limit shared by two real gunicorn workers."""
from __future__ import annotations

import json
import re
import time
from datetime import timedelta

import pytest
import requests
from portal_testlib import PASSWORD, build_app, csrf_from, gunicorn_server, make_settings


def attempt(client, email, password, address="127.0.0.1", headers=None):
    environ = {"REMOTE_ADDR": address}
    token = csrf_from(client.get("/login", environ_base=environ, headers=headers).data)
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token},
                       environ_base=environ, headers=headers)


@pytest.fixture
def limited(tmp_path):
    return build_app(make_settings(tmp_path, login_rate_limit="3 per minute", login_account_free_failures=2,
                                   login_account_max_delay_s=2))


def test_successful_sign_ins_are_not_counted(limited):
    client = limited.test_client()
    statuses = [attempt(limited.test_client(), f"{role}@{tenant}.test", PASSWORD).status_code
                for _ in range(3) for tenant in ("alpha", "beta") for role in ("admin", "manager", "viewer")]
    assert statuses == [302] * 18  # 18 sign-ins from one address under a limit of 3 failures
    assert attempt(client, "admin@alpha.test", "Wrong-pass-1").status_code == 401  # failures still count


def test_failed_attempts_block_the_address_with_retry_after(limited):
    client = limited.test_client()
    statuses = [attempt(client, f"nobody{i}@alpha.test", "Wrong-pass-1").status_code for i in range(3)]
    blocked = attempt(client, "admin@alpha.test", PASSWORD)  # even the right password, from THIS address
    assert statuses == [401, 401, 401] and blocked.status_code == 429
    retry_after = int(blocked.headers["Retry-After"])
    assert 1 <= retry_after <= 60
    assert f"Try again in {retry_after} seconds" in blocked.get_data(as_text=True)
    # the owner elsewhere is not affected: the block is per address
    assert attempt(limited.test_client(), "admin@alpha.test", PASSWORD, address="10.0.0.9").status_code == 302


def test_an_attacker_slows_an_account_down_but_cannot_lock_its_owner_out(limited):
    # two free failures, then each attempt waits 2**(n-2) s, at most 2 s (LOGIN_ACCOUNT_MAX_DELAY)
    answers = [attempt(limited.test_client(), "admin@alpha.test", "Wrong-pass-1", address=f"10.1.0.{i}")
               for i in range(6)]
    assert [a.status_code for a in answers[:3]] == [401, 401, 429]
    assert all(a.status_code == 429 and 1 <= int(a.headers["Retry-After"]) <= 2 for a in answers[2:])
    owner = attempt(limited.test_client(), "admin@alpha.test", PASSWORD, address="10.2.0.1")
    assert owner.status_code == 429  # refused before the password is even checked
    time.sleep(int(owner.headers["Retry-After"]))
    assert attempt(limited.test_client(), "admin@alpha.test", PASSWORD, address="10.2.0.1").status_code == 302
    # the other accounts never waited
    assert attempt(limited.test_client(), "manager@alpha.test", PASSWORD, address="10.1.0.1").status_code == 302


def test_account_delays_double_up_to_the_cap(tmp_path):
    from portal.platform.login_limits import LoginLimits
    from portal.platform.models import utcnow

    app = build_app(make_settings(tmp_path, login_rate_limit="100 per minute", login_account_free_failures=3,
                                  login_account_max_delay_s=10), tenants=False)
    with app.app_context():
        limits = LoginLimits(app.extensions["portal"].settings)
        assert [limits.account_delay(n) for n in range(8)] == [0, 0, 0, 1, 2, 4, 8, 10]
        start = utcnow()
        for i in range(5):  # five failures, one a second, from five addresses
            limits.record_failure(f"10.3.0.{i}", "victim@x.test", now=start + timedelta(seconds=i))
        last = start + timedelta(seconds=4)
        # 5 failures: wait 2**(5-3) = 4 s after the last one
        assert limits.check("10.9.9.9", "victim@x.test", now=last + timedelta(seconds=1)).retry_after == 3
        assert limits.check("10.9.9.9", "victim@x.test", now=last + timedelta(seconds=4)).allowed
        # failures older than 15 minutes no longer slow the account down
        assert limits.check("10.9.9.9", "victim@x.test", now=last + timedelta(minutes=15, seconds=1)).allowed
        limits.record_success("victim@x.test")
        assert limits.check("10.9.9.9", "victim@x.test", now=last + timedelta(seconds=1)).allowed


def test_a_spoofed_x_forwarded_for_does_not_escape_the_block(tmp_path):
    # PROXY_HOPS=0 (no proxy): the header is the client's own claim and is ignored
    app = build_app(make_settings(tmp_path, login_rate_limit="3 per minute"))
    client = app.test_client()
    statuses = [attempt(client, f"x{i}@alpha.test", "Wrong-pass-1",
                        headers={"X-Forwarded-For": f"198.51.100.{i}"}).status_code for i in range(5)]
    assert statuses == [401, 401, 401, 429, 429]


def test_behind_one_proxy_only_the_address_it_appended_counts(tmp_path):
    from sqlalchemy import select

    from portal.platform.db import session_scope
    from portal.platform.models import AuditEntry

    app = build_app(make_settings(tmp_path / "one", login_rate_limit="3 per minute", proxy_hops=1))
    client = app.test_client()
    # the router appends the real client (203.0.113.7); the client forged the part before it
    statuses = [attempt(client, f"x{i}@alpha.test", "Wrong-pass-1", address="10.0.0.1",
                        headers={"X-Forwarded-For": f"198.51.100.{i}, 203.0.113.7"}).status_code
                for i in range(5)]
    assert statuses == [401, 401, 401, 429, 429]
    # another real client behind the same router is not blocked
    other = attempt(client, "admin@alpha.test", PASSWORD, address="10.0.0.1",
                    headers={"X-Forwarded-For": "203.0.113.8"})
    assert other.status_code == 302
    with app.app_context(), session_scope() as session:
        addresses = set(session.scalars(select(AuditEntry.ip).where(AuditEntry.action == "login_failed")))
    assert addresses == {"203.0.113.7"}


def _web_attempt(url: str, email: str, password: str) -> requests.Response:
    with requests.Session() as session:
        session.headers["Connection"] = "close"  # a new connection each time: any worker may take it
        token = re.search(r'name="csrf_token" value="([^"]+)"', session.get(f"{url}/login", timeout=90).text)
        return session.post(f"{url}/login", data={"email": email, "password": password, "csrf_token": token.group(1)},
                            allow_redirects=False, timeout=90)


@pytest.mark.slow
def test_two_gunicorn_workers_share_the_limit(tmp_path):
    """Embedded default (SQLite, no Redis): the 11th failure is refused whichever worker takes it."""
    settings = make_settings(tmp_path, login_rate_limit="10 per minute", login_account_free_failures=100)
    build_app(settings)
    server = gunicorn_server(settings, workers=2)
    try:
        time.sleep(1.0)  # let both workers boot
        statuses = [_web_attempt(server.url, f"guess{i}@alpha.test", "Wrong-pass-1").status_code for i in range(14)]
        assert statuses == [401] * 10 + [429] * 4

        def login_pids() -> set[int]:
            lines = [json.loads(line) for line in server.output().splitlines() if line.startswith("{")]
            return {e["pid"] for e in lines if e.get("event") == "request" and e.get("path") == "/login"
                    and e.get("method") == "POST"}

        extra = []
        while len(login_pids()) < 2 and len(extra) < 60:  # until both workers have answered
            extra.append(_web_attempt(server.url, "guess@alpha.test", "Wrong-pass-1").status_code)
        assert len(login_pids()) == 2, "both workers must have answered sign-ins"
        assert set(extra) <= {429}
    finally:
        server.stop()


@pytest.mark.services
def test_the_limits_hold_on_postgresql(tmp_path, pg_url):
    app = build_app(make_settings(tmp_path, database_url=pg_url, login_rate_limit="3 per minute"))
    client = app.test_client()
    assert [attempt(app.test_client(), "admin@alpha.test", PASSWORD).status_code for _ in range(5)] == [302] * 5
    statuses = [attempt(client, f"x{i}@alpha.test", "Wrong-pass-1").status_code for i in range(4)]
    assert statuses == [401, 401, 401, 429]
    assert attempt(app.test_client(), "admin@alpha.test", PASSWORD, address="10.0.0.2").status_code == 302
