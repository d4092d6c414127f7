"""Prometheus metrics at ``/metrics`` (``prometheus-client``), one view of every process of a host.

The processes of one machine (gunicorn workers, the detached ``python -m portal.fit``
processes, a Celery worker beside them) write their metrics into one folder,
``PROMETHEUS_MULTIPROC_DIR`` or else ``DATA_DIR/metrics`` (prometheus-client's
multiprocess mode; the gunicorn master empties it at start); ``/metrics`` adds them up.

``/metrics`` answers only a client in ``METRICS_ALLOWED_NETWORKS`` (default: loopback)
or one that sends ``Authorization: Bearer <METRICS_TOKEN>``; anybody else gets a 404,
as if there were nothing there.

* ``portal_request_duration_seconds{kind, status}``: request latency by route kind
  (page, callback, job_poll, export, asset, auth, health, metrics, other);
* ``portal_callbacks_total{page}``: Dash callbacks per page (the page the browser is on);
* ``portal_jobs{state}``: job queue depth at scrape time (``waiting`` in the Celery queue
  or pending, ``running`` with a fresh heartbeat), read from Redis and the database;
* ``portal_job_duration_seconds{kind, outcome}`` and ``portal_job_failures_total{kind}``:
  imports and model fits;
* ``portal_cache_requests_total{level, result}``: result-cache lookups (hit rate =
  hits / all, per level: the process LRU, the shared cache and ``view``, the shared rendered views).
"""
from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import shutil
import time
from pathlib import Path
from typing import Any, Callable

from flask import Flask, Response, abort, g, request

log = logging.getLogger(__name__)

_metrics: dict[str, Any] = {}
#: ``() -> {"waiting": n, "running": n}``: set by the data layer (it knows the queue).
_job_counts: list[Callable[[], dict[str, float]]] = []


def metrics_dir(data_dir: Path) -> Path:
    return Path(os.environ.get("PROMETHEUS_MULTIPROC_DIR") or (Path(data_dir) / "metrics"))


def configure(data_dir: Path) -> None:
    """Choose the shared folder and create the metrics of this process (once)."""
    if _metrics:
        return
    folder = metrics_dir(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(folder))
    # Deliberate lazy loading: prometheus-client chooses its multiprocess mode from the
    # environment when it is first imported, so the folder must be set first.
    from prometheus_client import Counter, Histogram

    _metrics.update(
        requests=Histogram("portal_request_duration_seconds", "Request latency by route kind",
                           ["kind", "status"], buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30)),
        callbacks=Counter("portal_callbacks_total", "Dash callbacks by page", ["page"]),
        jobs=Histogram("portal_job_duration_seconds", "Duration of imports and model fits",
                       ["kind", "outcome"], buckets=(1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800)),
        failures=Counter("portal_job_failures_total", "Failed imports and model fits", ["kind"]),
        cache=Counter("portal_cache_requests_total", "Result cache lookups", ["level", "result"]),
    )


def reset_folder(data_dir: Path) -> None:
    """Empty the shared folder (the gunicorn master, before the workers start)."""
    folder = metrics_dir(data_dir)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)


def observe_job(kind: str, outcome: str, seconds: float) -> None:
    if not _metrics:
        return
    _metrics["jobs"].labels(kind, outcome).observe(seconds)
    if outcome == "failed":
        _metrics["failures"].labels(kind).inc()


def observe_cache(level: str, hit: bool) -> None:
    if _metrics:
        _metrics["cache"].labels(level, "hit" if hit else "miss").inc()


def register_job_counts(source: Callable[[], dict[str, float]]) -> None:
    """Where ``portal_jobs`` comes from at scrape time (see :mod:`portal.data.jobs`)."""
    _job_counts[:] = [source]


def route_kind(path: str, method: str) -> str:
    if path.startswith("/_dash-update-component"):
        return "job_poll" if "cacheKey=" in request.query_string.decode(errors="replace") else "callback"
    if path.startswith(("/assets/", "/_dash-component-suites/", "/_dash-layout", "/_dash-dependencies",
                        "/_favicon", "/static/")):
        return "asset"
    if path.startswith("/export/"):
        return "export"
    if path in ("/login", "/logout"):
        return "auth"
    if path.startswith(("/healthz", "/readyz")):
        return "health"
    if path == "/metrics":
        return "metrics"
    if method == "GET" and "." not in path.rsplit("/", 1)[-1]:
        return "page"
    return "other"


def _page_of(referrer: str | None, pages: set[str]) -> str:
    if not referrer:
        return "unknown"
    path = "/" + referrer.split("://", 1)[-1].split("/", 1)[-1].split("?", 1)[0].split("#", 1)[0]
    path = path.rstrip("/") or "/"
    return path if path in pages else "other"


def _allowed(settings) -> bool:
    token = getattr(settings, "metrics_token", "") or ""
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer ") and hmac.compare_digest(header[7:].strip(), token):
        return True
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    return any(address in network for network in allowed_networks(settings))


def allowed_networks(settings) -> list:
    raw = getattr(settings, "metrics_allowed_networks", "127.0.0.1/32,::1/128") or ""
    return [ipaddress.ip_network(part.strip(), strict=False) for part in raw.split(",") if part.strip()]


def init_metrics(app: Flask, settings, page_paths: Callable[[], set[str]]) -> None:
    """Count every request of ``app`` and serve ``/metrics``."""
    configure(settings.data_dir)
    allowed_networks(settings)  # a malformed setting fails at start, not at the first scrape

    @app.before_request
    def _started():
        g.metrics_started = time.perf_counter()

    @app.after_request
    def _count(response):
        started = g.pop("metrics_started", None)
        if started is not None:
            kind = route_kind(request.path, request.method)
            _metrics["requests"].labels(kind, f"{response.status_code // 100}xx").observe(
                time.perf_counter() - started)
            if kind == "callback":
                _metrics["callbacks"].labels(_page_of(request.referrer, page_paths())).inc()
        return response

    @app.get("/metrics")
    def metrics():
        if not _allowed(settings):
            abort(404)
        from prometheus_client import CollectorRegistry, generate_latest, multiprocess, values  # see configure()

        if getattr(values.ValueClass, "_multiprocess", False):
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
        else:  # prometheus-client was imported before configure(): this process only
            registry = CollectorRegistry()
            for collector in _metrics.values():
                registry.register(collector)
        registry.register(_JobsCollector())
        return Response(generate_latest(registry), mimetype="text/plain; version=0.0.4; charset=utf-8",
                        headers={"Cache-Control": "no-store"})


class _JobsCollector:
    """``portal_jobs{state}`` read at scrape time."""

    def collect(self):
        from prometheus_client.core import GaugeMetricFamily  # see configure()

        family = GaugeMetricFamily("portal_jobs", "Imports and model fits by state (queue depth)", labels=["state"])
        counts: dict[str, float] = {}
        for source in _job_counts:
            try:
                counts = source()
            except Exception as exc:  # noqa: BLE001 - a scrape must not fail because a store is down
                log.warning("job counts unavailable: %s", exc)
        for state in ("waiting", "running"):
            family.add_metric([state], float(counts.get(state, float("nan"))))
        yield family
