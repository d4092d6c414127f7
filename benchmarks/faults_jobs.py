"""Fault drills of the background jobs in the scaled mode (issue 14, item 9), used by
``benchmarks/faults.py`` (``--only upload_kill,fit_kill,redis_unreachable``).

The stack: PostgreSQL (database ``faults``), a private redis-server, ONE Celery worker
(``celery -A portal.worker worker --pool=solo``) and two gunicorn hosts A and B; the
Data page is driven with the requests a browser sends (Dash callbacks, polls).
``JOB_VISIBILITY_TIMEOUT=20`` so that a job of a lost worker is re-delivered within
the drill (production default 300 s).

"Within a minute" is measured from the kill to host B's answer, polled every 2 s like the
Data page's refresh (which polls every 3 s): at most 62 s passes.

* ``upload_kill`` - an upload is sent on host A; the worker is SIGKILLed inside the
  import's storing transaction.  Host B shows the import as stopped within a minute;
  after the worker restarts the job is re-delivered, imports once (job key), fits,
  and the uploader's poll (on host B) gets the result.
* ``fit_kill`` - an upload whose worker is SIGKILLed while it fits the models: the
  previous version stays current with its models on both hosts (customer-list
  export 200, not 409); host B shows the fit as stopped with Retry within a minute;
  after the restart the job is re-delivered and the new version becomes current.
* ``redis_unreachable`` - host C whose REDIS_URL points at nothing: a refit and an
  upload are answered at once with a clear message (no 500, no endless progress).
"""
from __future__ import annotations

import base64
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from loadtest.harness import PASSWORD, ROOT, Server, deployment, free_port, recreate_database, run_seed  # noqa: E402

ADMIN = "admin@small.load"


class Worker:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log_path = log
        self.log = open(log, "a")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "portal.worker", "worker", "--pool=solo", "--loglevel=info",
             "--without-gossip", "--without-mingle", "-n", f"drill-{os.getpid()}-{time.time_ns()}@%h"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()


def _setup(redis_port: int):
    dep = deployment("scaled", f"redis://127.0.0.1:{redis_port}/0", name="faults")
    dep.env.update(BACKGROUND_JOBS="celery", JOB_VISIBILITY_TIMEOUT="20", LOG_LEVEL="INFO",
                   REDIS_URL=f"redis://127.0.0.1:{redis_port}/0")
    dep.env["DATABASE_URL"] = dep.env["DATABASE_URL"].rsplit("/", 1)[0] + "/faults"
    recreate_database("faults")
    out = run_seed(dep, f"""with create_app(settings).app_context():
    tenant = accounts.create_tenant("small", "Small Retail")
    accounts.create_user(tenant.id, {ADMIN!r}, {PASSWORD!r}, "admin")
    path = os.path.join(os.environ["DATA_DIR"], "small.parquet")
    generate_transactions(1500, 12, seed=7).to_parquet(path)
    outcome = import_dataset("small", path)
    print("small", outcome.rows_in, "rows", fit_dataset_models(outcome.dataset_id), flush=True)
""")
    print("   " + out.strip(), flush=True)
    return dep


class Admin:
    """A logged-in admin session on one host (the browser's cookies, any host)."""

    def __init__(self, url: str, session: requests.Session | None = None) -> None:
        self.url = url
        self.session = session or requests.Session()
        if session is None:
            page = self.session.get(url + "/login", timeout=30).text
            token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
            self.session.post(url + "/login", data={"email": ADMIN, "password": PASSWORD, "csrf_token": token},
                              timeout=30)
            self.session.get(url + "/data", timeout=30)

    def on(self, url: str) -> "Admin":
        return Admin(url, self.session)

    def callback(self, output: str, inputs: list[dict], state: list[dict] | None = None, query: str = "",
                 timeout: float = 60):
        outputs = [{"id": p.rsplit(".", 1)[0], "property": p.rsplit(".", 1)[1]}
                   for p in (output.strip(".").split("...") if output.startswith("..") else [output])]
        body = {"output": output, "outputs": outputs if output.startswith("..") else outputs[0],
                "inputs": inputs, "state": state or [],
                "changedPropIds": [f"{inputs[0]['id']}.{inputs[0]['property']}"]}
        headers = {"X-CSRFToken": self.session.cookies.get("_csrf_token", "")}
        return self.session.post(f"{self.url}/_dash-update-component{query}", json=body, headers=headers,
                                 timeout=timeout)

    def upload(self, path: Path):
        contents = "data:text/csv;base64," + base64.b64encode(path.read_bytes()).decode()
        return self.callback("import-status.children", [{"id": "upload", "property": "contents", "value": contents}],
                             [{"id": "upload", "property": "filename", "value": path.name}])

    def job_status(self) -> str:
        response = self.callback("job-status.children", [
            {"id": "data-refresh", "property": "n_intervals", "value": 1},
            {"id": "import-status", "property": "children", "value": None},
            {"id": "refit-status", "property": "children", "value": None}])
        line = response.json()["response"]["job-status"]["children"]
        return line["props"]["children"] if isinstance(line, dict) else str(line)

    def versions(self) -> list[tuple]:
        response = self.callback("datasets-grid.rowData", [
            {"id": "data-refresh", "property": "n_intervals", "value": 1},
            {"id": "import-status", "property": "children", "value": None},
            {"id": "refit-status", "property": "children", "value": None}])
        return [(r["version"], r["status"], r["current"], r["models"])
                for r in response.json()["response"]["datasets-grid"]["rowData"]]


def _upload_file(dep, seed: int, customers: int = 1_500) -> Path:
    from analytics.synthetic import generate_transactions

    path = dep.data_dir / f"upload-{seed}.csv"
    generate_transactions(customers, 12, seed=seed).to_csv(path, index=False)
    return path


def _wait(predicate, timeout: float, step: float = 1.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return None


def _poll_result(admin: Admin, submitted: dict, path: Path, timeout: float) -> str | None:
    """The uploader's browser polls (here: on host B) until the job answers."""
    query = f"?cacheKey={submitted['cacheKey']}&job={submitted['job']}"
    contents = "data:text/csv;base64," + base64.b64encode(path.read_bytes()).decode()

    def poll():
        response = admin.callback("import-status.children", [{"id": "upload", "property": "contents",
                                                              "value": contents}],
                                  [{"id": "upload", "property": "filename", "value": path.name}], query=query)
        if response.status_code == 200 and '"response"' in response.text:
            return re.sub(r"\s+", " ", str(response.json()["response"]["import-status"]["children"]))[:300]
        return None

    return _wait(poll, timeout, 2.0)


def _kill_during(dep, worker_env: dict, upload_seed: int, marker, label: str, report) -> bool:
    worker = Worker(worker_env, dep.data_dir / f"worker-{label}.log")
    hosts = [Server(dep, workers=1), Server(dep, workers=1)]
    host_a = Admin(hosts[0].url)
    host_b = host_a.on(hosts[1].url)
    path = _upload_file(dep, upload_seed)
    try:
        _wait(lambda: "ready." in worker.output(), 60)
        before = host_b.versions()
        submitted = host_a.upload(path).json()
        started = time.monotonic()
        if not _wait(lambda: marker(worker), 240, 0.2):
            return report(label, False, f"the worker never reached the kill point; log: {worker.output()[-1500:]}")
        worker.kill()
        killed = time.monotonic()
        print(f"   killed the worker {killed - started:.1f} s after the upload ({label})", flush=True)
        export_status = [host.session.get(h.url + "/export/value.csv", timeout=60).status_code
                         for host, h in ((host_a, hosts[0]), (host_b, hosts[1]))]
        during = host_b.versions()
        seen = _wait(lambda: (s := host_b.job_status()) and ("stopped" in s) and s, 120, 2.0)
        visible_s = time.monotonic() - killed if seen else None
        print(f"   host B after the kill: {during}; exports of the current version: {export_status}")
        print(f"   host B says within {visible_s if visible_s is None else round(visible_s)} s: {seen}", flush=True)
        restart = Worker({k: v for k, v in worker_env.items() if k != "PORTAL_TEST_IMPORT_SLEEP"},
                         dep.data_dir / f"worker-{label}-restart.log")
        try:
            result = _poll_result(host_b, submitted, path, 300)
            recovered_s = time.monotonic() - killed
            after = host_b.versions()
            after_a = host_a.versions()
        finally:
            restart.stop()
        print(f"   uploader's poll on host B answered {recovered_s:.0f} s after the kill: {result}")
        print(f"   versions on B before {before}\n                after  {after}", flush=True)
        newest = after[0]
        ok = (visible_s is not None and visible_s <= 62 and result is not None and "Imported version" in result
              and newest[2] == "yes" and newest[3] == "ready" and after == after_a
              and all(code == 200 for code in export_status) and before[0][2] == "yes"
              and any(v[2] == "yes" for v in during if v[0] == before[0][0]))
        return report(label, ok, f"(visible after {visible_s} s; recovered after {recovered_s:.0f} s)")
    finally:
        worker.stop()
        for host in hosts:
            host.stop()


def drill_upload_kill(redis_port: int, report) -> bool:
    dep = _setup(redis_port)
    env = dep.env | {"PORTAL_TEST_IMPORT_SLEEP": "15"}
    return _kill_during(dep, env, 11, lambda w: "sleeping" in w.output(), "upload_kill", report)


def drill_fit_kill(redis_port: int, report) -> bool:
    dep = _setup(redis_port)
    return _kill_during(dep, dep.env, 12, lambda w: "Fitting" in w.output() or _fitting(dep), "fit_kill", report)


def _fitting(dep) -> bool:
    from sqlalchemy import create_engine, text

    engine = create_engine(dep.env["DATABASE_URL"])
    try:
        with engine.connect() as connection:
            return bool(connection.execute(text(
                "SELECT count(*) FROM datasets WHERE models_status = 'running' AND models_progress > 0")).scalar())
    finally:
        engine.dispose()


def drill_redis_unreachable(redis_port: int, report) -> bool:
    dep = _setup(redis_port)
    dep.env["REDIS_URL"] = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    host = Server(dep, workers=1)
    path = _upload_file(dep, 13, customers=200)
    try:
        admin = Admin(host.url)
        timings, answers = {}, {}
        for name, call in (("refit", lambda: admin.callback("refit-status.children", [
                {"id": "refit-models", "property": "n_clicks", "value": 1}])), ("upload", lambda: admin.upload(path))):
            started = time.monotonic()
            response = call()
            timings[name] = time.monotonic() - started
            answers[name] = (response.status_code, re.sub(r"\s+", " ", response.text)[:200])
            print(f"   {name}: {response.status_code} in {timings[name]:.2f} s: {answers[name][1]}", flush=True)
        ok = all(t < 3 for t in timings.values()) and all(
            code == 200 and "cannot be reached" in text for code, text in answers.values())
        return report("redis_unreachable", ok, f"(answered in {max(timings.values()):.2f} s at most)")
    finally:
        host.stop()


def start_private_redis() -> tuple[subprocess.Popen, int]:
    port = free_port()
    process = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait(lambda: subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True).returncode == 0, 10, 0.1)
    return process, port


def run(name: str) -> bool:
    def report(label: str, ok: bool, note: str = "") -> bool:
        print(f"\n== {label}: {'PASS' if ok else 'FAIL'} {note}", flush=True)
        return ok

    redis, port = start_private_redis()
    try:
        return {"upload_kill": drill_upload_kill, "fit_kill": drill_fit_kill,
                "redis_unreachable": drill_redis_unreachable}[name](port, report)
    finally:
        redis.kill()
        redis.wait()
