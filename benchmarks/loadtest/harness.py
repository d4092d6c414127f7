"""Shared by ``benchmarks/load_test.py`` and ``benchmarks/faults.py``: prepare a data
folder with a 1M-row tenant and a small one (models fitted), start the portal under
gunicorn on loopback, record the Dash requests a real browser sends for each page,
and watch the workers' memory.

Modes: ``embedded`` (SQLite + FileSystemCache under the data folder) and
``scaled`` (PostgreSQL at 127.0.0.1:5432 in its own database + Redis at
``REDIS_URL``, default 127.0.0.1:6379 db 3, with its own key prefix).
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "benchmarks" / "out"
PASSWORD = "Load-test-password-1"
SECRET = "load-test-secret-key-0123456789"
PG_ADMIN = os.environ.get("LOADTEST_PG_ADMIN", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PAGES = ["/", "/segments", "/clusters", "/cohorts", "/geography", "/churn", "/at-risk", "/value", "/products",
         "/views"]
FILTERS = ["?country=France", "?segment=Champions&segment=Loyal+Customers", "?risk=high",
           "?start=2023-07-01&end=2023-12-31"]
#: Drill-down lists a click on a chart mark opens (portal.dashboard.drilldown), opened like a page.
DRILLS = ["/customers?segment=Champions", "/customers?field=monetary&min=100&max=1000", "/customers?q=12"]
#: In-page filter changes, made in the filter bar as a manager does (no reload): page -> (filter, option).
CHANGES = {"/": ("country", "Germany"), "/segments": ("country", "France"), "/geography": ("country", "France"),
           "/churn": ("country", "Germany"), "/at-risk": ("country", "France"), "/value": ("country", "Germany"),
           "/cohorts": ("country", "Germany"), "/products": ("country", "France")}


@dataclass
class Deployment:
    mode: str
    data_dir: Path
    env: dict[str, str]
    accounts: list[list[str]] = field(default_factory=list)

    @property
    def database_url(self) -> str:
        return self.env["DATABASE_URL"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def deployment(mode: str, redis_url: str | None = None, name: str | None = None) -> Deployment:
    data_dir = OUT / f"load-{name or mode}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PORTAL_", "DATABASE_", "REDIS_"))}
    env.update(PYTHONPATH=str(ROOT), DATA_DIR=str(data_dir), SECRET_KEY=SECRET, PORTAL_ENV="development",
               AUTO_SETUP="0", SEED_DEMO="0", LOG_LEVEL="WARNING", DEMO_FIT_MODELS="skip",
               # the production sign-in limits (LOGIN_RATE_LIMIT unset: 10 FAILED attempts per minute
               # per address): every simulated manager signs in from 127.0.0.1, like an office behind one
               # address, and successful sign-ins are not counted
               CACHE_PREFIX=f"load-{name or mode}")
    if mode == "scaled":
        env["DATABASE_URL"] = PG_ADMIN.rsplit("/", 1)[0] + "/loadtest"
        env["REDIS_URL"] = redis_url or os.environ.get("LOADTEST_REDIS_URL", "redis://127.0.0.1:6379/3")
        env["BACKGROUND_JOBS"] = "diskcache"
    else:
        env["DATABASE_URL"] = f"sqlite:///{data_dir / 'portal.sqlite3'}"
    return Deployment(mode, data_dir, env)


#: What every seeding script starts with: the imports, the settings of the deployment's
#: environment and the migrations (:func:`run_seed` appends the script's own lines).
SEED_PRELUDE = """import json, os, sys
from analytics.synthetic import generate_transactions
from portal import create_app
from portal.platform import accounts, db
from portal.platform.config import Settings
from portal.data.imports import import_dataset
from portal.data.jobs import fit_dataset_models
settings = Settings.from_env()
db.upgrade(settings)
"""


def run_seed(dep: Deployment, body: str) -> str:
    """Empty the deployment's data folder, then run ``SEED_PRELUDE`` + ``body`` in a fresh
    interpreter with the deployment's environment; its standard output (RuntimeError with the
    end of its standard error when it fails)."""
    if dep.data_dir.exists():
        subprocess.run(["rm", "-rf", str(dep.data_dir)], check=True)
    dep.data_dir.mkdir(parents=True)
    done = subprocess.run([sys.executable, "-c", SEED_PRELUDE + body], env=dep.env, cwd=ROOT,
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-3000:])
    return done.stdout


def recreate_database(name: str) -> None:
    """Drop and create the PostgreSQL database ``name`` (a scaled deployment starts empty)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        connection.execute(text(f"CREATE DATABASE {name}"))
    engine.dispose()


def prepare(dep: Deployment, rows_customers: int = 10_000, fresh: bool = False, months: int = 24) -> None:
    """Tenants "big" (``rows_customers`` customers over ``months`` months: ~1M rows for 10,000
    over 24) and "small" (a tenth), 10 managers and 10 viewers each, models fitted."""
    marker = dep.data_dir / f"prepared-{rows_customers}-{months}.json"
    if marker.exists() and not fresh:
        dep.accounts = json.loads(marker.read_text())
        return
    if dep.mode == "scaled":
        recreate_database("loadtest")
    script = f"""app = create_app(settings)
result = []
with app.app_context():
    for slug, customers, mix in (("big", {rows_customers}, None), ("small", {max(rows_customers // 10, 200)},
                                 {{"Germany": 0.6, "France": 0.4}})):
        tenant = accounts.create_tenant(slug, slug.title() + " Retail")
        for role in ("manager", "viewer"):
            for i in range(10):
                email = f"{{role}}{{i}}@{{slug}}.load"
                accounts.create_user(tenant.id, email, {PASSWORD!r}, role)
                result.append([email, {PASSWORD!r}, role])
        log = generate_transactions(customers, {months}, seed=7, country_mix=mix)
        path = os.path.join(os.environ["DATA_DIR"], slug + ".parquet")
        log.to_parquet(path)
        outcome = import_dataset(slug, path)
        assert outcome.ok, outcome.error
        print(slug, outcome.rows_in, "rows", fit_dataset_models(outcome.dataset_id), flush=True)
print(json.dumps(result))
"""
    lines = run_seed(dep, script).strip().splitlines()
    print("\n".join(lines[:-1]))
    dep.accounts = json.loads(lines[-1])
    marker.write_text(json.dumps(dep.accounts))


class Server:
    """gunicorn serving the deployment on a free loopback port."""

    def __init__(self, dep: Deployment, workers: int = 2) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = dep.env | {"PORT": str(self.port), "HOST": "127.0.0.1", "WEB_CONCURRENCY": str(workers)}
        self.log = open(dep.data_dir / "server.log", "a")
        self.process = subprocess.Popen([sys.executable, "-m", "gunicorn", "wsgi:server"], cwd=ROOT, env=env,
                                        stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    break
            except OSError:
                time.sleep(0.2)
        else:
            raise RuntimeError("gunicorn did not start")
        time.sleep(1.5)

    def workers(self):
        import psutil

        return psutil.Process(self.process.pid).children()

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
        self.log.close()


class MemoryWatch:
    """Peak RSS of each gunicorn worker while it runs (sampled every 0.25 s)."""

    def __init__(self, server: Server) -> None:
        self.server, self.peaks, self._stop = server, {}, threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.25):
            try:
                for worker in self.server.workers():
                    rss = worker.memory_info().rss
                    self.peaks[worker.pid] = max(rss, self.peaks.get(worker.pid, 0))
            except Exception:  # noqa: BLE001 - a worker may be restarting
                pass

    def stop(self) -> dict[int, float]:
        self._stop.set()
        self.thread.join()
        return {pid: rss / 1024 / 1024 for pid, rss in self.peaks.items()}


def record_flows(url: str, email: str, path: Path) -> list[dict]:
    """Visit every page (with and without filters) and the drill-down lists in Chromium, change a
    filter inside each page as the filter bar does, and keep each step's callback requests.

    Flow kinds: ``open`` (a page loaded without filters, or a drill-down list), ``filtered``
    (a page loaded with filters: a link or a saved view) and ``change`` (a filter changed in
    the page: only the callbacks the change sends)."""
    from playwright.sync_api import sync_playwright

    flows = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url + "/login")
        page.fill("#email", email)
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_selector("#nav-tenant", timeout=60000)
        def record(path_: str, search: str, kind: str, action) -> None:
            bodies: list[dict] = []
            listener = lambda r: bodies.append(json.loads(r.post_data)) if (  # noqa: E731
                "_dash-update-component" in r.url and r.post_data) else None
            page.on("request", listener)
            action()
            page.wait_for_load_state("networkidle", timeout=120000)
            quiet(bodies)
            page.remove_listener("request", listener)
            flows.append({"path": path_, "search": search, "kind": kind, "callbacks": bodies})

        def quiet(bodies: list, seconds: float = 2.0) -> None:
            """Until no callback request was sent for ``seconds`` (the machine may be loaded)."""
            seen, since = len(bodies), time.monotonic()
            while time.monotonic() - since < seconds:
                page.wait_for_timeout(200)
                if len(bodies) != seen:
                    seen, since = len(bodies), time.monotonic()

        def change_filter(name: str, option: str) -> None:
            page.click(f"#filter-{name}")
            page.get_by_role("option", name=option).click()
            page.keyboard.press("Escape")
            page.wait_for_url(f"**{name}=*", timeout=60000)

        for page_path in PAGES:
            for search in [""] + (FILTERS if page_path != "/views" else []):
                record(page_path, search, "filtered" if search else "open",
                       lambda: page.goto(url + page_path + search))
            if page_path in CHANGES:
                record(page_path, "", "open", lambda: page.goto(url + page_path))
                flows.pop()  # loaded only to change its filter below
                name, option = CHANGES[page_path]
                record(page_path, f"?{name}={option}", "change", lambda: change_filter(name, option))
        for drill in DRILLS:
            drill_path, search = drill.split("?", 1)
            record(drill_path, "?" + search, "open", lambda: page.goto(url + drill))
        browser.close()
    path.write_text(json.dumps(flows))
    return flows


def replay(url: str, email: str, flows: list[dict]) -> None:
    """Run every recorded flow once (warms the caches for every view the test uses)."""
    import re

    import requests

    session = requests.Session()
    token = re.search(r'name="csrf_token" value="([^"]+)"', session.get(url + "/login").text).group(1)
    session.post(url + "/login", data={"email": email, "password": PASSWORD, "csrf_token": token})
    session.get(url + "/")
    headers = {"X-CSRFToken": session.cookies.get("_csrf_token", "")}
    for flow in flows:
        for body in flow["callbacks"]:
            session.post(url + "/_dash-update-component", json=body, headers=headers, timeout=300)
