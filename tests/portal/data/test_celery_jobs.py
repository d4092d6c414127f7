"""Scaled mode: background jobs on Celery + Redis, shared by several web hosts.

Real services only, set up once for the module (as the ``pg_url`` and
``private_redis`` fixtures do per test): a fresh PostgreSQL database, a private
redis-server (its whole key space is ours), a Celery worker started here as a
subprocess (``celery -A portal.worker worker --pool=solo``) and, for the
end-to-end test, two gunicorn servers ("hosts" A and B, each with its own
DATA_DIR) and headless Chromium.

(a) "refit" on the Data page sends a task that the worker runs; the models end
    up ready and stored.
(b) an upload on host A whose progress polls all go to host B finishes, and
    both hosts show the new version.
(c) a job of tenant alpha cannot be read (or stopped) through a forged or
    replayed poll by a user of tenant beta; every Redis key of the jobs carries
    the deployment's prefix.
(d) a job message forged into the broker (context without the portal's
    signature) is refused by the worker.
"""
from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
import time
import uuid
from urllib.parse import urlencode

import pytest
from portal_testlib import (
    CHROMIUM,
    PASSWORD,
    build_app,
    dash_headers,
    free_port,
    fresh_pg_database,
    logged_in,
    make_settings,
    needs_chromium,
    Server,
    settings_env,
    small_log,
    wait_for_port,
)

from portal.data import background

pytestmark = [
    pytest.mark.services, pytest.mark.slow,
    pytest.mark.skipif(importlib.util.find_spec("celery") is None,
                       reason="celery is not installed (pip install -r requirements.txt)"),
]

IMPORT_OUTPUT = "import-status.children"


# --------------------------------------------------------------------------
# the stack: PostgreSQL + private Redis + one Celery worker, shared by the tests
# of this module (each test leaves the others' expectations intact)


class Stack:
    def __init__(self, settings, app, worker: Server) -> None:
        self.settings, self.app, self.worker = settings, app, worker

    @property
    def celery(self):
        return self.app.extensions["portal"].celery

    def env(self, **extra: str) -> dict[str, str]:
        return settings_env(self.settings) | {"BACKGROUND_JOBS": "celery"} | extra


def _start_worker(settings) -> Server:
    env = settings_env(settings) | {"BACKGROUND_JOBS": "celery"}
    command = [sys.executable, "-m", "celery", "-A", "portal.worker", "worker", "--pool=solo",
               "--loglevel=info", "--without-gossip", "--without-mingle", "-n", f"test-{uuid.uuid4().hex[:8]}@%h"]
    return Server(command, env, port=0)


def _wait_for_worker(stack: Stack, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if stack.worker.process.poll() is not None:
            raise AssertionError(f"the Celery worker exited: {stack.worker.output()[-3000:]}")
        if stack.celery.control.ping(timeout=0.5):
            return
    raise AssertionError(f"the Celery worker did not answer: {stack.worker.output()[-3000:]}")


@pytest.fixture(scope="module")
def private_redis_url():
    """A redis-server of this module only (random port): its whole key space is ours."""
    if shutil.which("redis-server") is None:
        pytest.skip(reason="redis-server is not installed: these tests start a Redis of their own")
    port = free_port()
    process = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, process=process)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.kill()
        process.wait(10)


@pytest.fixture(scope="module")
def module_pg_url(pg_server):
    """A fresh PostgreSQL database for this module (as the ``pg_url`` fixture does per test)."""
    with fresh_pg_database(pg_server) as url:
        yield url


@pytest.fixture(scope="module")
def stack(tmp_path_factory, module_pg_url, private_redis_url, alpha_csv, beta_csv):
    from portal.platform import db

    settings = make_settings(tmp_path_factory.mktemp("celery"), database_url=module_pg_url,
                             redis_url=private_redis_url, background_jobs="celery")
    db.upgrade(settings)
    worker = _start_worker(settings)  # boots while the tenants are created
    try:
        app = build_app(settings, logs={"alpha": alpha_csv, "beta": beta_csv})
        assert app.extensions["portal"].celery is not None
        result = Stack(settings, app, worker)
        _wait_for_worker(result)
        yield result
    finally:
        worker.stop()


def _dataset(app, slug: str):
    from portal.data import storage
    from portal.platform.tenancy import system_context

    with app.app_context():
        return storage.get_dataset(system_context(slug))


def _wait(predicate, timeout: float, what: str, log=lambda: ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}: {log()[-3000:]}")


# --------------------------------------------------------------------------
# (a) model fitting on the worker


def test_refit_sent_by_the_web_side_runs_on_the_worker(stack):
    from portal_testlib import dash_post

    app = stack.app
    assert _dataset(app, "beta").models_status == "pending"  # imported without models
    client = logged_in(app, "admin@beta.test")
    response = dash_post(client, "refit-status.children", [{"id": "refit-models", "property": "n_clicks", "value": 1}])
    assert response.status_code == 200, response.data[:500]
    assert "Model fitting restarted for version 1" in response.get_data(as_text=True)

    done = _wait(lambda: _dataset(app, "beta").models_status in ("ready", "failed") and _dataset(app, "beta"),
                 90, "the models of beta", stack.worker.output)
    assert done.models_status == "ready", done.models_message
    assert done.models_progress == 1.0
    with app.app_context():
        from portal.data import results
        from portal.platform.tenancy import system_context

        fitted = results.get_result(system_context("beta"), "models")
    assert type(fitted).__name__ == "ModelResults"
    # it ran on the worker (not in a process started by this host)
    assert re.search(rf"Task {re.escape(background.FIT_TASK)}\[[^\]]+\] succeeded", stack.worker.output())


# --------------------------------------------------------------------------
# (b) end to end: upload on host A, progress polls answered by host B


@pytest.mark.browser
@needs_chromium
def test_upload_on_host_a_polled_on_host_b(stack, tmp_path):
    """The progress polls of an upload on host A all go to host B (the browser's
    requests are re-sent there, with the same session cookie); the import
    finishes and both hosts show the new version."""
    from playwright.sync_api import sync_playwright

    hosts = []
    for name in ("host-a", "host-b"):  # two machines: nothing shared but PostgreSQL, Redis, SECRET_KEY
        port = free_port()
        env = stack.env(PORT=str(port), HOST="127.0.0.1", WEB_CONCURRENCY="1", DATA_DIR=str(tmp_path / name))
        hosts.append(Server([sys.executable, "-m", "gunicorn", "wsgi:server"], env, port))
    host_a, host_b = hosts
    upload = tmp_path / "upload.csv"
    small_log(25, 2, seed=9).to_csv(upload, index=False)
    version = _dataset(stack.app, "alpha").version + 1
    forwarded: list[dict] = []
    try:
        for host in hosts:
            wait_for_port(host.port, timeout=60, process=host.process)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
            problems: list[str] = []
            page.on("pageerror", lambda e: problems.append(str(e)))

            def to_host_b(route):
                url = route.request.url
                if "cacheKey=" not in url:  # the submission and ordinary callbacks stay on A
                    return route.continue_()
                response = route.fetch(url=url.replace(host_a.url, host_b.url, 1))
                body = response.text() if response.status == 200 else ""
                forwarded.append({"status": response.status, "progress": '"progress"' in body,
                                  "done": "Imported version" in body})
                return route.fulfill(response=response)

            page.route("**/_dash-update-component*", to_host_b)
            page.goto(host_a.url + "/data")
            page.fill("#email", "admin@alpha.test")
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_selector("#datasets-grid .ag-row", timeout=30000)
            page.set_input_files("#upload input[type=file]", str(upload))
            try:
                page.wait_for_selector("#import-status .alert-success", timeout=60000)
            except Exception as exc:
                raise AssertionError(f"no result; polls {forwarded}; worker: {stack.worker.output()[-3000:]}; "
                                     f"B: {host_b.output()[-2000:]}") from exc
            assert f"Imported version {version}" in page.inner_text("#import-status")
            assert forwarded and all(p["status"] in (200, 204) for p in forwarded), forwarded
            assert any(p["done"] for p in forwarded), "the result was served by host B"
            page.unroute("**/_dash-update-component*")

            for host in (host_b, host_a):  # the same session is valid on both (same SECRET_KEY)
                page.goto(host.url + "/data")
                new_row = page.locator("#datasets-grid .ag-center-cols-container .ag-row",
                                       has=page.locator("[col-id='filename']", has_text="upload.csv"))
                new_row.wait_for(timeout=30000)
                assert new_row.locator("[col-id='version']").inner_text().strip() == str(version), host.url
                assert page.inner_text("#nav-tenant") == "Alpha Stores"
            assert problems == [], problems
            browser.close()
        assert _dataset(stack.app, "alpha").version == version
        assert _dataset(stack.app, "alpha").models_status == "ready"
    finally:
        for host in hosts:
            host.stop()


# --------------------------------------------------------------------------
# (c) a job of tenant alpha is invisible to tenant beta


def _end_id(client) -> str:
    page = client.get("/data").get_data(as_text=True)
    config = re.search(r'<script id="_dash-config" type="application/json">(.*?)</script>', page, re.DOTALL)
    return json.loads(config.group(1))["end_id"]


def _import_body(ref) -> dict:
    return {"output": IMPORT_OUTPUT, "outputs": {"id": "import-status", "property": "children"},
            "inputs": [{"id": "upload-ref", "property": "data", "value": ref}], "state": [],
            "changedPropIds": ["upload-ref.data"]}


def _stage(client, data: bytes, filename: str) -> dict:
    """POST /upload as the Data page's script does; returns the reference the job gets."""
    response = client.post("/upload", data=data, content_type="application/octet-stream",
                           headers={**dash_headers(client), "X-Filename": filename})
    assert response.status_code == 201, response.data[:300]
    return {"upload": response.json["upload"], "filename": filename}


def _poll(client, handles: dict, **extra):
    query = urlencode({**handles, **extra})
    return client.post(f"/_dash-update-component?{query}", json=_import_body(None),
                       headers=dash_headers(client))


def test_a_job_of_one_tenant_is_not_readable_by_another(stack):
    """The import job of alpha's admin finishes; nobody polls it.  Then beta's
    admin polls with alpha's handles (replayed, re-signed for beta's page load,
    unsigned) and tries to cancel it: nothing is read, consumed or stopped.
    Alpha then gets the result, here from a third "host" (this test's app)."""
    import redis
    from dash import _callback_signing as signing

    app, settings = stack.app, stack.settings
    store = redis.Redis.from_url(settings.redis_url)
    prefix = background.celery_key_prefix(settings)
    alpha, beta = logged_in(app, "admin@alpha.test"), logged_in(app, "admin@beta.test")

    frame = small_log(20, 2, seed=5)
    ref = _stage(alpha, frame.to_csv(index=False).encode(), "alpha-next.csv")
    version = _dataset(app, "alpha").version + 1
    alpha_end = _end_id(alpha)
    submitted = alpha.post(f"/_dash-update-component?{urlencode({'endId': alpha_end})}",
                           json=_import_body(ref), headers=dash_headers(alpha))
    assert submitted.status_code == 200, submitted.data[:500]
    handles = {"endId": alpha_end, "cacheKey": submitted.json["cacheKey"], "job": submitted.json["job"]}
    raw_key, raw_job = handles["cacheKey"].rpartition("~")[0], handles["job"].rpartition("~")[0]
    assert raw_key.endswith(f"-t{_dataset(app, 'alpha').tenant_id}-u{_user_id(app, 'admin@alpha.test')}")

    # the job runs on the worker; nobody polls until its result is stored
    _wait(lambda: store.exists(prefix + raw_key), 90, "the job result", stack.worker.output)
    worker_log = stack.worker.output()
    assert raw_job in worker_log  # it ran there, and its log holds neither the upload nor the session
    assert ref["upload"] not in worker_log and "session_token" not in worker_log

    secret = app.secret_key.encode()
    beta_end = _end_id(beta)
    attempts = {
        "replayed handles of alpha": handles,
        "handles re-signed for beta's page": {
            "endId": beta_end,
            "cacheKey": signing.sign(secret, signing.cache_scope(signing.unsign(secret, signing.END_SCOPE, beta_end)), raw_key),
            "job": signing.sign(secret, signing.job_scope(signing.unsign(secret, signing.END_SCOPE, beta_end)), raw_job)},
        "unsigned raw key": {"endId": beta_end, "cacheKey": raw_key, "job": raw_job},
    }
    for name, forged in attempts.items():
        response = _poll(beta, forged)
        body = response.get_data(as_text=True)
        assert response.status_code in (200, 204), (name, response.status_code, body[:300])
        assert "Imported" not in body and "import-status" not in body, name
        assert store.exists(prefix + raw_key), f"{name}: the result of alpha was consumed"
    # a replayed "cancel" does not stop (revoke) alpha's job either
    _poll(beta, {**attempts["handles re-signed for beta's page"],
                 "oldJob": attempts["handles re-signed for beta's page"]["job"]})
    revoked = stack.celery.control.inspect(timeout=1.0).revoked() or {}
    assert all(raw_job not in ids for ids in revoked.values()), revoked

    # the owner still gets the result, from any host (here: this test's app)
    response = _poll(alpha, handles)
    assert response.status_code == 200, response.data[:500]
    assert f"Imported version {version}" in response.get_data(as_text=True)
    assert not store.exists(prefix + raw_key)  # read once, then removed

    # every key in Redis is namespaced by CACHE_PREFIX; those of the jobs (broker
    # queues, task states, Dash results) start with "<CACHE_PREFIX>:jobs:"
    keys = [k.decode() for k in store.scan_iter("*")]
    assert [k for k in keys if settings.cache_prefix not in k] == [], keys
    job_keys = [k for k in keys if "kombu" in k or "celery" in k or raw_key[:16] in k]
    assert job_keys and all(k.startswith(prefix) for k in job_keys), job_keys


def _user_id(app, email: str) -> int:
    from sqlalchemy import select

    from portal.platform.db import session_scope
    from portal.platform.models import User

    with app.app_context(), session_scope() as session:
        return session.scalars(select(User.id).where(User.email == email)).one()


# --------------------------------------------------------------------------
# (d) the worker trusts only job contexts the portal issued


def test_a_forged_job_message_is_refused_by_the_worker(stack):
    """Someone who can write to the broker sends the import job with a context
    naming alpha's admin (even with the right session token), without the
    portal's signature: the job refuses to run and nothing is imported."""
    import redis
    from sqlalchemy import select

    from portal.platform.db import session_scope
    from portal.platform.models import User

    app, settings = stack.app, stack.settings
    manager = app.extensions["portal"].dash._background_manager
    [task] = [t for t in manager.func_registry.values()]  # the Data page's import
    with app.app_context(), session_scope() as session:
        admin = session.scalars(select(User).where(User.email == "admin@alpha.test")).one()
        user_id, token = admin.id, admin.session_token
    before = _dataset(app, "alpha").version
    key = f"{background.celery_key_prefix(settings)}forged{uuid.uuid4().hex}-t1-u{user_id}"
    forged_context = {"portal_context": {"user_id": user_id, "session_token": token, "mac": "0" * 64}}
    task.apply_async(args=(key, key + "-progress", [{"upload": "x" * 43, "filename": "forged.csv"}],
                           forged_context))

    store = redis.Redis.from_url(settings.redis_url)
    stored = _wait(lambda: store.get(key), 60, "the refusal", stack.worker.output)
    error = json.loads(stored)["background_callback_error"]["msg"]
    assert "not issued by this portal" in error
    assert _dataset(app, "alpha").version == before


def test_background_jobs_setting():
    from portal.platform.config import ConfigError, Settings

    redis_env = {"REDIS_URL": "redis://127.0.0.1:6379/0"}
    assert Settings.from_env(redis_env).uses_celery  # auto: Celery when Redis is there
    assert not Settings.from_env({}).uses_celery
    assert not Settings.from_env(redis_env | {"BACKGROUND_JOBS": "diskcache"}).uses_celery
    assert Settings.from_env(redis_env | {"BACKGROUND_JOBS": "CELERY"}).uses_celery
    with pytest.raises(ConfigError, match="needs REDIS_URL"):
        Settings.from_env({"BACKGROUND_JOBS": "celery"})
    with pytest.raises(ConfigError, match="BACKGROUND_JOBS must be one of"):
        Settings.from_env({"BACKGROUND_JOBS": "rq"})


def test_job_context_drops_credentials_and_second_copies_of_big_values():
    big, small = "x" * (200 * 1024), 3
    context = {
        "cookies": {"session": "secret"}, "headers": {"Cookie": "session=secret", "X-CSRFToken": "t",
                                                      "Authorization": "Basic x", "User-Agent": "ua"},
        "inputs_list": [{"id": "upload", "property": "contents", "value": big},
                        [{"id": {"type": "b", "index": 1}, "property": "n_clicks", "value": small}]],
        "input_values": {"upload.contents": big, "b.n_clicks": small},
        "triggered_inputs": [{"prop_id": "upload.contents", "value": big}],
        "args_grouping": [{"id": "upload", "property": "contents", "value": big, "triggered": True}],
        "path": "/data",
    }
    slim = background.job_context(context)
    assert slim["cookies"] == {} and slim["headers"] == {"User-Agent": "ua"}
    assert slim["inputs_list"] == [{"id": "upload", "property": "contents", "value": None},
                                   [{"id": {"type": "b", "index": 1}, "property": "n_clicks", "value": small}]]
    assert slim["input_values"] == {"upload.contents": None, "b.n_clicks": small}
    assert slim["triggered_inputs"] == [{"prop_id": "upload.contents", "value": None}]
    assert slim["args_grouping"][0] == {"id": "upload", "property": "contents", "value": None, "triggered": True}
    assert slim["path"] == "/data" and context["cookies"] == {"session": "secret"}  # the request's is untouched
