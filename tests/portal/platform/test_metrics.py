"""/metrics (prometheus-client): who may read it, and that it counts real requests.

Counts are read from the exposition text with prometheus-client's own parser and
compared with the number of requests the test made (deltas: other tests of the
same process also count).  The gunicorn test shows the multiprocess mode: requests
served by two workers are summed whichever worker answers the scrape.
"""
from __future__ import annotations

import dataclasses
import json
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from portal_testlib import build_app, dash_headers, gunicorn_server, logged_in, make_settings

from portal.data import results, storage
from portal.data.imports import import_dataset
from portal.platform.tenancy import system_context

REMOTE = {"REMOTE_ADDR": "203.0.113.9"}


def samples(text: str) -> dict[tuple, float]:
    # imported here: the app chooses prometheus-client's multiprocess folder before its first import
    from prometheus_client.parser import text_string_to_metric_families

    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def value(text: str, name: str, **labels) -> float:
    return samples(text).get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def metrics_app(tmp_path, alpha_csv, beta_csv):
    settings = make_settings(tmp_path, metrics_token="scrape-token-123")
    return build_app(settings, logs={"alpha": alpha_csv, "beta": beta_csv})


def test_only_allowed_networks_or_the_token_may_read_metrics(metrics_app):
    client = metrics_app.test_client()
    assert client.get("/metrics").status_code == 200  # loopback: the default allowed network
    assert client.get("/metrics", environ_base=REMOTE).status_code == 404
    assert client.get("/metrics", environ_base=REMOTE, headers={"Authorization": "Bearer wrong"}).status_code == 404
    assert client.get("/metrics", environ_base=REMOTE,
                      headers={"Authorization": "Bearer scrape-token-123"}).status_code == 200
    # a logged-in admin from outside is not enough
    admin = logged_in(metrics_app, "admin@alpha.test")
    assert admin.get("/metrics", environ_base=REMOTE).status_code == 404
    # another network allowed by the setting
    settings = metrics_app.extensions["portal"].settings
    object.__setattr__(settings, "metrics_allowed_networks", "203.0.113.0/24")
    try:
        assert client.get("/metrics", environ_base=REMOTE).status_code == 200
        assert client.get("/metrics").status_code == 404  # loopback no longer listed
    finally:
        object.__setattr__(settings, "metrics_allowed_networks", "127.0.0.1/32,::1/128")


def test_metrics_count_real_requests_jobs_and_cache_lookups(metrics_app, bad_csv):
    client = metrics_app.test_client()
    before = client.get("/metrics").get_data(as_text=True)
    manager = logged_in(metrics_app, "manager@alpha.test")  # GET /login, POST /login, GET /
    for _ in range(3):
        assert manager.get("/segments").status_code == 200
    router = next(c["output"] for c in manager.get("/_dash-dependencies").json if "_pages_content" in c["output"])
    body = {"output": router, "outputs": [{"id": "_pages_content", "property": "children"},
                                          {"id": "_pages_store", "property": "data"}],
            "inputs": [{"id": "_pages_location", "property": "pathname", "value": "/segments"},
                       {"id": "_pages_location", "property": "search", "value": ""}],
            "state": [], "changedPropIds": ["_pages_location.pathname"]}
    for referrer in [None] * 2 + ["http://localhost/segments?country=France"] * 4:
        headers = dash_headers(manager) | ({"Referer": referrer} if referrer else {})
        assert manager.post("/_dash-update-component", json=body, headers=headers).status_code == 200
    with metrics_app.app_context():
        ctx = system_context("alpha")
        results.result_cache().lru.clear()
        results.get_result(ctx, "describe")  # local miss (then shared)
        results.get_result(ctx, "describe")  # local hit
        failed = import_dataset("alpha", bad_csv)
        assert not failed.ok
        pending = sum(d.models_status == "pending" for slug in ("alpha", "beta")
                      for d in storage.list_datasets(system_context(slug)) if d.status == "ready")
    after = client.get("/metrics").get_data(as_text=True)

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("portal_request_duration_seconds_count", kind="page", status="2xx") == 4  # / and 3x /segments
    assert delta("portal_request_duration_seconds_count", kind="asset", status="2xx") == 1  # _dash-dependencies
    assert delta("portal_request_duration_seconds_count", kind="auth", status="2xx") == 1
    assert delta("portal_request_duration_seconds_count", kind="auth", status="3xx") == 1
    assert delta("portal_request_duration_seconds_count", kind="callback", status="2xx") == 6
    assert delta("portal_callbacks_total", page="/segments") == 4
    assert delta("portal_callbacks_total", page="unknown") == 2
    assert delta("portal_request_duration_seconds_count", kind="metrics", status="2xx") == 1  # the first scrape
    assert delta("portal_cache_requests_total", level="local", result="hit") >= 1
    assert delta("portal_cache_requests_total", level="local", result="miss") >= 1
    assert delta("portal_job_failures_total", kind="import") == 1
    assert delta("portal_job_duration_seconds_count", kind="import", outcome="failed") == 1
    assert value(after, "portal_jobs", state="waiting") == pending == 2
    assert value(after, "portal_jobs", state="running") == 0


@pytest.mark.slow
def test_requests_of_two_gunicorn_workers_are_summed(tmp_path, alpha_csv):
    settings = make_settings(tmp_path)
    build_app(settings, logs={"alpha": alpha_csv})
    server = gunicorn_server(dataclasses.replace(settings), workers=2)
    try:
        def get(path):  # a new connection each time, several at once: both workers answer
            return requests.get(server.url + path, headers={"Connection": "close"}, timeout=30)

        def login_pids():  # which workers answered, from their JSON request logs (no pid is sent to clients)
            logged = [json.loads(line) for line in server.output().splitlines() if line.startswith("{")]
            return {e["pid"] for e in logged if e.get("event") == "request" and e.get("path") == "/login"}

        before = get("/metrics").text
        sent = 0
        while sent < 300 and (sent == 0 or len(login_pids()) < 2):  # the kernel may give one worker a batch
            with ThreadPoolExecutor(8) as pool:
                list(pool.map(get, ["/login"] * 60))
            sent += 60
        scrapes = [get("/metrics") for _ in range(6)]
        after = scrapes[-1].text
        pids = login_pids()
    finally:
        server.stop()
    assert len(pids) == 2, f"both workers served /login: {pids}"
    assert value(after, "portal_request_duration_seconds_count", kind="auth", status="2xx") \
        - value(before, "portal_request_duration_seconds_count", kind="auth", status="2xx") == sent
    # every scrape of every worker sees the same total (one folder for the host)
    totals = {value(s.text, "portal_request_duration_seconds_count", kind="auth", status="2xx") for s in scrapes}
    assert totals == {value(after, "portal_request_duration_seconds_count", kind="auth", status="2xx")}
