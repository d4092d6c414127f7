"""gunicorn settings (read automatically by ``gunicorn wsgi:server`` from this folder).

PORT and WEB_CONCURRENCY come from the environment, as PaaS providers set them.
In development (PORTAL_ENV unset) the master migrates and seeds the demo
tenants once before the workers start; in production the Procfile's release
phase migrates instead.

Memory (docs/CONFIGURATION.md, "Sizing"): the master imports the app once
(``preload_app``) and freezes what it imported (``gc.freeze()``), so the workers share
those pages copy-on-write instead of each importing Dash, pandas and the pages again;
GUNICORN_PRELOAD=0 turns it off.  The master also empties the folder of the
Prometheus metrics before the workers start, and forgets a worker that exits.
"""
import gc
import os
import sys

bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8050')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then so memory held by big results is given back (the
# per-process LRU is bounded anyway). Not too often: a fresh worker reloads its
# results from the shared cache, which costs CPU under load.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "20000"))
max_requests_jitter = 2000
accesslog = None  # the portal logs one JSON line per request itself
errorlog = "-"
# The PaaS router terminates TLS; trust its X-Forwarded-* headers.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "*")


preload_app = os.environ.get("GUNICORN_PRELOAD", "1").strip().lower() not in ("0", "false", "no", "off")


def on_starting(server):
    from portal.platform.config import ConfigError, Settings
    from portal.startup import prepare

    try:
        settings = Settings.from_env()
    except ConfigError as error:
        print(f"Cannot start the portal: {error}", file=sys.stderr, flush=True)
        sys.exit(1)
    prepare(settings, echo=lambda line: print(line, flush=True))
    from portal.platform.metrics import reset_folder

    reset_folder(settings.data_dir)


def when_ready(server):
    # After preload_app imported the app: the objects alive now are never freed, and
    # moving them out of the collector's generations keeps their pages shared with the
    # workers (a collection would otherwise touch, hence copy, every page).
    gc.freeze()


def pre_fork(server, worker):
    gc.freeze()


def child_exit(server, worker):
    try:
        from prometheus_client import multiprocess
    except ImportError:
        return
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)
