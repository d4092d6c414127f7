"""Fault drills (issue 6): the portal under load while its parts fail.

    python benchmarks/faults.py                      # all drills
    python benchmarks/faults.py --only redis,worker  # some of them

Drills (each prints what it measured and a verdict):

* ``redis``    - scaled mode with a private Redis: stop it during load, restart it, then
                 reload the workers (empty memory).  The portal keeps answering (no
                 5xx) and stores its results in Redis again.
* ``postgres`` - scaled mode: restart the PostgreSQL cluster during load.  Requests
                 may fail for the seconds it is down, then succeed again with the
                 same worker processes (no restart of gunicorn).
* ``worker``   - SIGKILL one gunicorn worker during load: only requests in flight on
                 it may fail; the master starts a new worker; no data is lost.
* ``import``   - SIGKILL an import inside its database transaction: the previous
                 dataset stays current and byte-identical; the killed version reads
                 "interrupted" on the Data page once its import is older than
                 JOB_STALE_MINUTES (it cannot tell a killed import from a slow one sooner).
* ``cache``    - embedded mode: delete the disk cache folder while serving, then reload
                 the workers (empty memory): no error, results recomputed and the
                 folder recreated with them.
* ``upload_kill``, ``fit_kill``, ``redis_unreachable`` - background jobs of the scaled
                 mode (two hosts, one Celery worker): see benchmarks/faults_jobs.py.

The load is 6 threads replaying recorded browser flows (as in load_test.py).
"""
from __future__ import annotations

import argparse
import collections
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from loadtest.harness import (  # noqa: E402
    PASSWORD, ROOT, Server, deployment, free_port, prepare, record_flows,
)


class Load:
    """Threads replaying flows; every request is logged as (time, status, ms)."""

    def __init__(self, url: str, email: str, flows: list[dict], threads: int = 6) -> None:
        self.url, self.email, self.flows = url, email, [f for f in flows if f["callbacks"]]
        self.events: list[tuple[float, int, float]] = []
        self._stop = threading.Event()
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]
        for thread in self.threads:
            thread.start()

    def _login(self) -> tuple[requests.Session, dict]:
        session = requests.Session()
        token = re.search(r'name="csrf_token" value="([^"]+)"', session.get(self.url + "/login", timeout=30).text)
        session.post(self.url + "/login", data={"email": self.email, "password": PASSWORD,
                                                "csrf_token": token.group(1)}, timeout=30)
        session.get(self.url + "/", timeout=30)
        return session, {"X-CSRFToken": session.cookies.get("_csrf_token", "")}

    def _run(self) -> None:
        session, headers = None, {}
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                if session is None:
                    session, headers = self._login()
                body = random.choice(random.choice(self.flows)["callbacks"])
                status = session.post(self.url + "/_dash-update-component", json=body, headers=headers,
                                      timeout=30).status_code
            except requests.RequestException:
                status, session = 0, None
            self.events.append((time.time(), status, (time.monotonic() - started) * 1000))
            time.sleep(0.05)

    def stop(self) -> None:
        self._stop.set()
        for thread in self.threads:
            thread.join(timeout=35)

    def phase(self, start: float, end: float) -> dict:
        rows = [e for e in self.events if start <= e[0] < end]
        failed = [e for e in rows if e[1] not in (200, 204)]
        statuses = collections.Counter("no answer" if e[1] == 0 else str(e[1]) for e in failed)
        return {"requests": len(rows), "failed": len(failed), "statuses": dict(statuses),
                "median_ms": float(np.median([e[2] for e in rows])) if rows else None,
                "failure_window_s": (max(e[0] for e in failed) - min(e[0] for e in failed)) if failed else 0.0}


def report(name: str, phases: dict[str, dict], verdict: bool, note: str = "") -> bool:
    print(f"\n== {name}: {'PASS' if verdict else 'FAIL'} {note}")
    for phase, figures in phases.items():
        median = "-" if figures["median_ms"] is None else f"{figures['median_ms']:.0f} ms"
        print(f"   {phase:<10} requests {figures['requests']:>5}  failed {figures['failed']:>4}  "
              f"median {median:>8}  failure window {figures['failure_window_s']:.1f} s"
              + (f"  failed as {figures['statuses']}" if figures["statuses"] else ""))
    sys.stdout.flush()
    return verdict


def start_redis(port: int) -> subprocess.Popen:
    process = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(50):
        if subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True).returncode == 0:
            return process
        time.sleep(0.1)
    raise RuntimeError("redis did not start")


def redis_keys(port: int) -> int:
    out = subprocess.run(["redis-cli", "-p", str(port), "dbsize"], capture_output=True, text=True).stdout
    return int(out.strip() or 0)


def with_server(mode: str, customers: int, redis_url: str | None = None):
    dep = deployment(mode, redis_url)
    prepare(dep, customers)
    server = Server(dep)
    manager = next(a[0] for a in dep.accounts if a[2] == "manager" and "@big" in a[0])
    flows = record_flows(server.url, manager, dep.data_dir / "flows.json")
    return dep, server, manager, flows


def drill_redis(customers: int) -> bool:
    port = free_port()
    redis = start_redis(port)
    dep, server, manager, flows = with_server("scaled", customers, f"redis://127.0.0.1:{port}/0")
    try:
        load = Load(server.url, manager, flows)
        t0 = time.time()
        time.sleep(10)
        keys_before = redis_keys(port)
        redis.kill()
        redis.wait()
        t1 = time.time()
        time.sleep(12)
        redis = start_redis(port)
        t2 = time.time()
        time.sleep(3)
        # reloaded workers start with empty memory: they find the (empty) Redis and fill it again
        os.kill(server.process.pid, signal.SIGHUP)
        time.sleep(12)
        t3 = time.time()
        load.stop()
        keys_after = redis_keys(port)
        phases = {"before": load.phase(t0, t1), "redis down": load.phase(t1, t2), "after": load.phase(t2, t3)}
        ok = sum(p["failed"] for p in phases.values()) == 0 and keys_after > 0
        return report("Redis stopped and restarted", phases, ok,
                      f"(keys before stop {keys_before}, after restart {keys_after}: the cache is used again)")
    finally:
        server.stop()
        redis.kill()


def drill_postgres(customers: int) -> bool:
    dep, server, manager, flows = with_server("scaled", customers)
    cluster = sorted(os.listdir("/etc/postgresql"))[0]
    try:
        workers_before = sorted(w.pid for w in server.workers())
        load = Load(server.url, manager, flows)
        t0 = time.time()
        time.sleep(10)
        t1 = time.time()
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", cluster, "main", "restart"], check=True,
                       capture_output=True)
        t2 = time.time()
        time.sleep(15)
        t3 = time.time()
        load.stop()
        workers_after = sorted(w.pid for w in server.workers())
        phases = {"before": load.phase(t0, t1), "restart": load.phase(t1, t2 + 5), "after": load.phase(t2 + 5, t3)}
        ok = (phases["after"]["failed"] == 0 and phases["before"]["failed"] == 0
              and workers_before == workers_after and phases["restart"]["failure_window_s"] < 10)
        return report("PostgreSQL restarted", phases, ok,
                      f"(restart took {t2 - t1:.1f} s; workers {workers_before} -> {workers_after})")
    finally:
        server.stop()


def drill_worker(customers: int) -> bool:
    dep, server, manager, flows = with_server("embedded", customers)
    try:
        load = Load(server.url, manager, flows)
        t0 = time.time()
        time.sleep(10)
        victim = server.workers()[0].pid
        t1 = time.time()
        os.kill(victim, signal.SIGKILL)
        time.sleep(15)
        t2 = time.time()
        load.stop()
        replacements = sorted(w.pid for w in server.workers())
        phases = {"before": load.phase(t0, t1), "kill+15s": load.phase(t1, t2)}
        ok = phases["kill+15s"]["failed"] <= len(load.threads) and victim not in replacements \
            and len(replacements) == 2
        return report("gunicorn worker killed", phases, ok,
                      f"(killed {victim}; workers now {replacements}; at most {len(load.threads)} in flight)")
    finally:
        server.stop()


def drill_import(customers: int) -> bool:
    dep = deployment("embedded")
    prepare(dep, customers)
    script = """
import hashlib, sys
from portal import create_app
from portal.platform.db import session_scope
from portal.data.storage import read_payload
from portal.platform.tenancy import system_context
app = create_app()
with app.app_context():
    ctx = system_context("small")
    with session_scope() as session:
        print(ctx.dataset_id, hashlib.sha256(read_payload(session, ctx.dataset_id)).hexdigest())
"""
    versions = """
from datetime import timedelta
from portal import create_app
from portal.dashboard.components.datasets import import_status
from portal.platform.models import utcnow
from portal.data.storage import list_datasets
from portal.platform.tenancy import system_context
app = create_app()
with app.app_context():
    stale = app.extensions["portal"].settings.job_stale_minutes
    for d in list_datasets(system_context("small")):
        later = import_status(d, stale, now=utcnow() + timedelta(minutes=stale + 1))
        print(f"v{d.version} {d.status} -> Data page after {stale} min: {later}")
"""
    state = lambda: subprocess.run([sys.executable, "-c", script], env=dep.env, capture_output=True,  # noqa: E731
                                   text=True, cwd=ROOT).stdout.strip()
    before = state()
    env = dep.env | {"PORTAL_TEST_IMPORT_SLEEP": "60"}
    process = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "import", "small",
                                str(dep.data_dir / "small.parquet"), "--no-models"], cwd=ROOT, env=env,
                               stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, start_new_session=True)
    for line in process.stderr:
        if "sleeping" in line:
            break
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    after = state()
    listing = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "list-tenants"], env=dep.env,
                             capture_output=True, text=True, cwd=ROOT).stdout
    statuses = subprocess.run([sys.executable, "-c", versions], env=dep.env, capture_output=True, text=True,
                              cwd=ROOT).stdout.strip().splitlines()
    ok = before == after and bool(before) and any(line.endswith(": interrupted") for line in statuses)
    print(f"\n== import killed inside its transaction: {'PASS' if ok else 'FAIL'}")
    print(f"   current dataset and payload sha256 before: {before}\n   after:  {after}")
    print("   versions of 'small': " + "; ".join(statuses))
    print("   " + listing.replace("\n", "\n   "))
    return ok


def drill_cache(customers: int) -> bool:
    dep, server, manager, flows = with_server("embedded", customers)
    try:
        load = Load(server.url, manager, flows)
        t0 = time.time()
        time.sleep(8)
        t1 = time.time()
        shutil.rmtree(dep.data_dir / "cache", ignore_errors=True)
        time.sleep(4)
        # new workers (graceful reload) start with empty memory: they must rebuild the
        # results without the deleted folder and store them again
        os.kill(server.process.pid, signal.SIGHUP)
        time.sleep(12)
        t2 = time.time()
        load.stop()
        recreated = (dep.data_dir / "cache").exists()
        entries = sum(1 for _ in (dep.data_dir / "cache").glob("*")) if recreated else 0
        phases = {"before": load.phase(t0, t1), "deleted": load.phase(t1, t2)}
        ok = phases["deleted"]["failed"] == 0 and recreated and entries > 0
        return report("disk cache folder deleted while serving", phases, ok,
                      f"(folder recreated: {recreated}, {entries} entries)")
    finally:
        server.stop()


def _job_drill(name: str):
    def drill(_customers: int) -> bool:
        import faults_jobs

        return faults_jobs.run(name)

    return drill


DRILLS = {"redis": drill_redis, "postgres": drill_postgres, "worker": drill_worker, "import": drill_import,
          "cache": drill_cache,
          # jobs of the scaled mode under faults (Celery + Redis + PostgreSQL): benchmarks/faults_jobs.py
          "upload_kill": _job_drill("upload_kill"), "fit_kill": _job_drill("fit_kill"),
          "redis_unreachable": _job_drill("redis_unreachable")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default=",".join(DRILLS))
    parser.add_argument("--customers", type=int, default=10_000, help="customers of the big tenant")
    args = parser.parse_args()
    print(f"fault drills, {time.strftime('%Y-%m-%d %H:%M')}")
    results = {name: DRILLS[name](args.customers) for name in args.only.split(",")}
    print("\nsummary:", ", ".join(f"{k} {'PASS' if v else 'FAIL'}" for k, v in results.items()))
    return 0 if all(results.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
