"""Shared fixtures of the portal tests: real SQLite / PostgreSQL / Redis, small
synthetic logs, apps with two tenants, logged-in clients.  Helper functions
live in portal_testlib.py."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from portal_testlib import (
    TEST_PASSWORD_METHOD,
    PG_ADMIN_URL,
    REDIS_URL,
    _pg_engine,
    build_app,
    free_port,
    fresh_pg_database,
    make_settings,
    small_log,
    wait_for_port,
)

from mail_testlib import MailServer

from portal.platform import accounts

# Passwords are hashed with scrypt at a test cost in this process (see TEST_PASSWORD_METHOD):
# every app of the suite hashes six logins and every sign-in checks one. The unknown-email
# dummy hash gets the same cost, so "unknown email and wrong password take similar time" still
# compares like with like. Production's cost is unchanged (accounts.PASSWORD_METHOD in the code).
accounts.PASSWORD_METHOD = TEST_PASSWORD_METHOD
accounts._DUMMY_HASH = accounts.generate_password_hash("timing-equaliser-not-a-password",
                                                       method=TEST_PASSWORD_METHOD)

# --------------------------------------------------------------------------
# services


@pytest.fixture(scope="module")
def mail():
    """A real SMTP server (aiosmtpd) on a free port for one test module: ``mail.url``, the
    messages it accepted (:class:`mail_testlib.MailServer`)."""
    server = MailServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def pg_server():
    """The admin URL of the real PostgreSQL; skips when it is unreachable."""
    from sqlalchemy import text

    try:
        with _pg_engine().connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001
        pytest.skip(reason=f"PostgreSQL at {PG_ADMIN_URL} is unreachable ({type(exc).__name__}); .ci/run starts it")
    return PG_ADMIN_URL


@pytest.fixture
def pg_url(pg_server):
    """A fresh, uniquely named PostgreSQL database for one test, dropped afterwards."""
    with fresh_pg_database(pg_server) as url:
        yield url


@pytest.fixture(scope="session")
def redis_server():
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except Exception as exc:  # noqa: BLE001
        pytest.skip(reason=f"Redis at {REDIS_URL} is unreachable ({type(exc).__name__}); .ci/run starts it")
    return REDIS_URL


@pytest.fixture
def private_redis():
    """A redis-server of this test only (random port), so it can be stopped."""
    if shutil.which("redis-server") is None:
        pytest.skip(reason="redis-server is not installed: this test starts and stops a Redis of its own")
    port = free_port()
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--daemonize", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    wait_for_port(port, process=process)

    class Handle:
        url = f"redis://127.0.0.1:{port}/0"
        proc = process

        def stop(self):
            self.proc.kill()
            self.proc.wait(10)

        def start(self):
            self.proc = subprocess.Popen(
                ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
                 "no", "--daemonize", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            wait_for_port(port, process=self.proc)

    handle = Handle()
    yield handle
    if handle.proc.poll() is None:
        handle.stop()


# --------------------------------------------------------------------------
# data


@pytest.fixture(scope="session")
def alpha_csv(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("logs") / "alpha.csv"
    small_log(40, 3, seed=1, country="United Kingdom").to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def beta_csv(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("logs") / "beta.csv"
    small_log(30, 3, seed=2, country="Germany").to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def bad_csv(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("logs") / "bad.csv"
    path.write_text("InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
                    "536365,85123A,HEART,6,2010-12-01 08:26,2.55,17850,United Kingdom\n"
                    "536366,71053,LANTERN,six,2010-12-01 08:28,3.39,17850,United Kingdom\n")
    return path


# --------------------------------------------------------------------------
# apps


@pytest.fixture
def app(tmp_path, alpha_csv, beta_csv):
    """SQLite app with tenants alpha (UK) and beta (Germany), each with one dataset."""
    return build_app(make_settings(tmp_path), logs={"alpha": alpha_csv, "beta": beta_csv})


@pytest.fixture(scope="module")
def shared_app(tmp_path_factory, alpha_csv, beta_csv):
    """Like ``app``, built once per module: for (parametrised) tests that leave nothing behind
    that another test reads (refused writes, sign-ins, requests)."""
    return build_app(make_settings(tmp_path_factory.mktemp("shared-app")), logs={"alpha": alpha_csv, "beta": beta_csv})


# --------------------------------------------------------------------------
# dashboard pages


@pytest.fixture(scope="session")
def dashboard_logs(tmp_path_factory):
    from dashboard_testlib import write_dashboard_logs

    return write_dashboard_logs(tmp_path_factory.mktemp("dashboard-logs"))


@pytest.fixture(scope="session")
def dashboard_app(tmp_path_factory, dashboard_logs):
    """alpha (400 customers, 4 countries) and beta (150, Germany/Netherlands), models fitted.

    Session-scoped: build once, never write to it in a test (use ``app`` for that)."""
    from dashboard_testlib import build_dashboard_app

    return build_dashboard_app(tmp_path_factory.mktemp("dashboard"), dashboard_logs)


@pytest.fixture(scope="session")
def alpha_reference(dashboard_logs):
    """alpha's cleaned log, its fitted models and its RFM table, computed without the portal."""
    from dashboard_testlib import cleaned_log

    from analytics import fit_models, segmented_rfm

    cleaned = cleaned_log(dashboard_logs["alpha"])
    return cleaned, fit_models(cleaned), segmented_rfm(cleaned.lines, cleaned.snapshot_date)


# --------------------------------------------------------------------------
# browser tests: one served app per pytest worker, shared by every browser module


@pytest.fixture(scope="session")
def browser_log_paths(tmp_path_factory):
    from browser_testlib import browser_logs

    return browser_logs(tmp_path_factory.mktemp("browser-logs"))


@pytest.fixture(scope="session")
def browser_server(tmp_path_factory, browser_log_paths):
    """gunicorn (2 workers) serving alpha (1,500 customers) and beta, models fitted."""
    from dashboard_testlib import build_dashboard_app
    from portal_testlib import gunicorn_server

    app = build_dashboard_app(tmp_path_factory.mktemp("browser-app"), browser_log_paths)
    process = gunicorn_server(app.extensions["portal"].settings)
    yield process
    process.stop()
