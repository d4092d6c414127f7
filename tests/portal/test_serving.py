"""Real servers: one-command start on a fresh data folder (``python wsgi.py`` and
``gunicorn wsgi:server``), and gunicorn with two workers sharing one cache entry."""
from __future__ import annotations

import json
import os
import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from portal_testlib import ROOT, Server, build_app, free_port, make_settings, settings_env, wait_for_port

from portal.platform.config import DEFAULT_DEMO_PASSWORD

pytestmark = pytest.mark.slow


def web_login(url: str, email: str, password: str) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{url}/login", timeout=10)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    response = session.post(f"{url}/login", data={"email": email, "password": password, "csrf_token": token},
                            allow_redirects=False, timeout=10)
    assert response.status_code == 302, response.text[:300]
    return session


def fresh_env(tmp_path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PORTAL_", "DATABASE_", "REDIS_", "SECRET_", "DEMO_", "DATA_", "PROMETHEUS_"))}
    env.update(DATA_DIR=str(tmp_path / "data"), PORT=str(port), HOST="127.0.0.1", DEMO_FIT_MODELS="skip",
               WEB_CONCURRENCY="2", PYTHONPATH=str(ROOT))
    return env


@pytest.mark.parametrize("command", [["{python}", "wsgi.py"], ["{python}", "-m", "gunicorn", "wsgi:server"]],
                         ids=["python-wsgi", "gunicorn"])
def test_one_command_start_on_a_fresh_clone(tmp_path, command):
    port = free_port()
    started = time.monotonic()
    server = Server([part.format(python=sys.executable) for part in command], fresh_env(tmp_path, port), port)
    try:
        wait_for_port(port, timeout=60, process=server.process)
        elapsed = time.monotonic() - started
        assert requests.get(f"{server.url}/healthz", timeout=10).json()["status"] == "ok"
        output = server.output()
        assert "admin@acme.example" in output and "viewer@globex.example" in output
        assert DEFAULT_DEMO_PASSWORD in output
        assert (tmp_path / "data" / "portal.sqlite3").exists() and (tmp_path / "data" / "secret_key").exists()
        session = web_login(server.url, "manager@globex.example", DEFAULT_DEMO_PASSWORD)
        layout = session.get(f"{server.url}/_dash-layout", timeout=10)
        assert layout.status_code == 200 and "Globex" in layout.text
        assert elapsed < 45, f"first start took {elapsed:.1f} s"
    finally:
        server.stop()


def test_gunicorn_two_workers_share_one_cache_entry(tmp_path, alpha_csv, beta_csv):
    settings = make_settings(tmp_path)
    build_app(settings, logs={"alpha": alpha_csv, "beta": beta_csv})
    port = free_port()
    env = settings_env(settings) | {"PORT": str(port), "HOST": "127.0.0.1", "WEB_CONCURRENCY": "2"}
    server = Server([sys.executable, "-m", "gunicorn", "-w", "2", "wsgi:server"], env, port)
    try:
        wait_for_port(port, timeout=60, process=server.process)
        time.sleep(1.0)  # let both workers boot
        cookies = web_login(server.url, "manager@alpha.test", "Test-password-42").cookies

        def fetch(_):
            response = requests.get(f"{server.url}/export/orders.csv", cookies=cookies,
                                    headers={"Connection": "close"}, timeout=30)
            return response.status_code, response.text

        def export_pids() -> set[int]:  # which workers answered, from their JSON request logs
            lines = [json.loads(line) for line in server.output().splitlines() if line.startswith("{")]
            return {e["pid"] for e in lines if e.get("event") == "request" and e.get("path") == "/export/orders.csv"}

        with ThreadPoolExecutor(8) as pool:  # concurrent cold misses
            answers = list(pool.map(fetch, range(8)))
        for _ in range(100):
            if len(export_pids()) >= 2:
                break
            answers.append(fetch(0))
        assert {status for status, _ in answers} == {200}
        assert len(export_pids()) == 2, "both workers must have answered"
        assert len({text for _, text in answers}) == 1 and "United Kingdom" in answers[0][1]
        logs = [json.loads(line) for line in server.output().splitlines() if line.startswith("{")]
        builds = [e for e in logs if e.get("event") == "result_built" and e.get("result") == "orders"]
        assert len(builds) == 1, builds
        requests_logged = [e for e in logs if e.get("event") == "request" and e.get("path") == "/export/orders.csv"]
        assert {e["tenant"] for e in requests_logged} == {"alpha"} and len({e["pid"] for e in requests_logged}) == 2
    finally:
        server.stop()
