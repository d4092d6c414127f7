"""Helpers of the portal tests (imported by conftest.py and the test modules)."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from portal.platform.config import Settings

ROOT = Path(__file__).resolve().parents[2]
PG_ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
PASSWORD = "Test-password-42"
#: scrypt with N = 2**12 instead of werkzeug's 2**15 (about 0.1 s of CPU per hash and per sign-in):
#: the tests check what is hashed and when, not the cost of the hash.  Set in conftest.py.
TEST_PASSWORD_METHOD = "scrypt:4096:8:1"
TENANTS = {"alpha": "Alpha Stores", "beta": "Beta Trading"}
CHROMIUM = "/usr/bin/chromium"
#: Why a browser test is skipped, and how to get what it needs.
NO_CHROMIUM = (f"Chromium not found at {CHROMIUM}: install it (apt-get install chromium) "
               "to run the browser tests")
#: A test that needs Chromium is skipped, saying how to get it, where it is absent.
needs_chromium = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=NO_CHROMIUM)
#: ``pytestmark`` of a browser test module.
BROWSER_MARKS = [pytest.mark.browser, pytest.mark.slow, needs_chromium]



def _pg_engine(url: str = PG_ADMIN_URL):
    from sqlalchemy import create_engine

    return create_engine(url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})


@contextmanager
def fresh_pg_database(admin_url: str = PG_ADMIN_URL, prefix: str = "test_portal") -> Iterator[str]:
    """A new, uniquely named PostgreSQL database; its URL is yielded, and the database (and the
    portal's engines on it) are dropped afterwards."""
    from sqlalchemy import text

    from portal.platform import db

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    engine = _pg_engine(admin_url)
    with engine.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        for url, database in list(db._databases.items()):
            if url.endswith(f"/{name}"):
                database.engine.dispose()
                db._databases.pop(url, None)
        with engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 20.0, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listens on port {port}")


def small_log(customers: int = 40, months: int = 3, seed: int = 0, country: str = "United Kingdom") -> pd.DataFrame:
    from analytics.synthetic import generate_transactions

    return generate_transactions(customers, months, seed=seed, country_mix={country: 1.0})


def make_settings(tmp_path: Path, database_url: str | None = None, redis_url: str | None = None,
                  **overrides) -> Settings:
    data_dir = tmp_path / "data"
    base = Settings(
        env="test", secret_key="test-secret-" + uuid.uuid4().hex, data_dir=data_dir,
        database_url=database_url or f"sqlite:///{data_dir / 'portal.sqlite3'}",
        redis_url=redis_url, login_rate_limit="1000 per minute", demo_password=PASSWORD,
        cache_prefix=f"test-{uuid.uuid4().hex[:10]}", auto_setup=False, seed_demo=False,
        demo_fit_models="skip", lru_max_mb=64, cache_timeout=600,
    )
    return replace(base, **overrides)


def settings_env(settings: Settings) -> dict[str, str]:
    """Environment variables that reproduce ``settings`` in a subprocess."""
    # PROMETHEUS_MULTIPROC_DIR too: the test process set it for its own first app, and a server's
    # gunicorn master empties that folder at start (the test process's counts would vanish).
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PORTAL_", "DATABASE_", "REDIS_", "PROMETHEUS_"))}
    env.update(PORTAL_ENV=settings.env, SECRET_KEY=settings.secret_key, DATABASE_URL=settings.database_url,
               DATA_DIR=str(settings.data_dir), LOGIN_RATE_LIMIT=settings.login_rate_limit,
               CACHE_PREFIX=settings.cache_prefix, AUTO_SETUP="0", SEED_DEMO="0",
               DEMO_PASSWORD=settings.demo_password or "", DEMO_FIT_MODELS="skip",
               PYTHONPATH=str(ROOT), MAX_UPLOAD_MB=str(settings.max_upload_mb),
               MAX_REQUEST_KB=str(settings.max_request_kb), MAX_DECOMPRESSED_MB=str(settings.max_decompressed_mb),
               MAX_IMPORT_ROWS=str(settings.max_import_rows), PROXY_HOPS=str(settings.proxy_hops),
               LOGIN_ACCOUNT_FREE_FAILURES=str(settings.login_account_free_failures),
               LOGIN_ACCOUNT_MAX_DELAY=str(settings.login_account_max_delay_s),
               VIEWER_LIST_ROWS=str(settings.viewer_list_rows))
    if settings.redis_url:
        env["REDIS_URL"] = settings.redis_url
    return env


def build_app(settings: Settings, *, tenants: bool = True, logs: dict[str, Path] | None = None):
    """Migrate, create the app, two tenants with admin/manager/viewer users, import logs."""
    from portal import create_app
    from portal.data.imports import import_dataset
    from portal.platform import accounts, db

    db.upgrade(settings)
    app = create_app(settings)
    app.config["TESTING"] = True
    if tenants:
        with app.app_context():
            for slug, name in TENANTS.items():
                tenant = accounts.create_tenant(slug, name)
                for role in ("admin", "manager", "viewer"):
                    accounts.create_user(tenant.id, f"{role}@{slug}.test", PASSWORD, role)
            for slug, path in (logs or {}).items():
                outcome = import_dataset(slug, path)
                assert outcome.ok, outcome.error
    return app


def csrf_from(html: bytes | str) -> str:
    text = html.decode() if isinstance(html, bytes) else html
    return re.search(r'name="csrf_token" value="([^"]+)"', text).group(1)


def login(client, email: str, password: str = PASSWORD, *, next_url: str | None = None):
    page = client.get("/login")
    token = csrf_from(page.data)
    url = "/login" + (f"?next={next_url}" if next_url else "")
    return client.post(url, data={"email": email, "password": password, "csrf_token": token})


def logged_in(app, email: str):
    client = app.test_client()
    response = login(client, email)
    assert response.status_code == 302, response.data[:300]
    client.get("/")  # sets the _csrf_token cookie
    return client


def dash_headers(client) -> dict[str, str]:
    cookie = client.get_cookie("_csrf_token")
    return {"X-CSRFToken": cookie.value} if cookie else {}


def run_cli(app, *args, input: str | None = None):
    runner = app.test_cli_runner()
    return runner.invoke(args=list(args), input=input, catch_exceptions=False)


def python() -> str:
    return sys.executable



def dash_post(client, output: str, inputs: list[dict], state: list[dict] | None = None,
              changed: list[str] | None = None, *, csrf: bool = True):
    """A hand-written Dash callback request, as dash-renderer would send it."""
    outputs = [
        {"id": part.rsplit(".", 1)[0], "property": part.rsplit(".", 1)[1]}
        for part in (output.strip(".").split("...") if output.startswith("..") else [output])
    ]
    body = {
        "output": output,
        "outputs": outputs if output.startswith("..") else outputs[0],
        "inputs": inputs,
        "state": state or [],
        "changedPropIds": changed if changed is not None else [f"{i['id']}.{i['property']}" for i in inputs[:1]],
    }
    return client.post("/_dash-update-component", json=body, headers=dash_headers(client) if csrf else {})


def callback_outputs(client) -> list[str]:
    return [c["output"] for c in client.get("/_dash-dependencies").json]


class Server:
    """A server process of this test, its output collected in the background."""

    def __init__(self, command: list[str], env: dict[str, str], port: int) -> None:
        self.port = port
        self.env = env  # a helper process can open the same app (database, data folder)
        self.lines: list[str] = []
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True, start_new_session=True)
        threading.Thread(target=self._collect, daemon=True).start()

    def _collect(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return "".join(self.lines)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)


def gunicorn_server(settings: Settings, *, workers: int = 2, timeout: float = 90) -> Server:
    """``gunicorn wsgi:server`` for the app of ``settings`` on a free loopback port, started."""
    port = free_port()
    env = settings_env(settings) | {"PORT": str(port), "HOST": "127.0.0.1", "WEB_CONCURRENCY": str(workers)}
    server = Server([sys.executable, "-m", "gunicorn", "wsgi:server"], env, port)
    wait_for_port(port, timeout=timeout, process=server.process)
    return server


@contextmanager
def chromium() -> Iterator:
    """The system's headless Chromium, driven by Playwright (no browser download)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--no-first-run", "--disable-sync"])
        try:
            yield browser
        finally:
            browser.close()


def wait_until(page, expression: str, timeout: float = 60.0) -> None:
    """Poll a JS expression with ``page.evaluate`` until it is true.

    Playwright's ``wait_for_function`` compiles a string predicate with eval when it
    is not true at once, which the portal's Content-Security-Policy refuses (and
    logs as a console error)."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {expression}")
        time.sleep(0.1)

