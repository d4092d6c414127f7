"""Model fitting per dataset, off the request (the Dash background-callback managers and
the Celery app are in :mod:`portal.data.background`).

:func:`fit_dataset_models` is the one entry point (CLI, Data page, seeding,
``python -m portal.fit DATASET_ID``, the Celery task).  Its state lives on the dataset
row: ``models_status`` (pending|running|ready|failed), ``models_progress`` (0..1),
``models_message``, and the heartbeat ``models_updated_at`` written every
``HEARTBEAT_S``: a running job without a heartbeat for ``HEARTBEAT_TIMEOUT_S`` (or
``JOB_STALE_MINUTES`` if shorter) is dead, shown as "stopped" on the Data page with a
Retry button, and may be restarted.

* Fitted models are stored as versioned records in the model store
  (:mod:`portal.data.model_store`, record ``"results"`` through the adapter
  :mod:`portal.data.model_records`), never as a pickle; a record this process cannot
  use (old pickle, other library versions) is refused and the dataset refitted.
* A new version that waits for its models (an upload on the Data page) becomes the
  tenant's current version when its models are ready, or when fitting failed (then it
  is explicitly descriptive-only, with the reason on the Data page): a fit killed
  half-way leaves the previous version and its models in use.
* At most one import or fit per tenant runs at a time (:mod:`portal.data.tenant_locks`);
  on Celery a job of a busy tenant goes back to the end of the queue instead of
  holding the worker, so the other tenants' jobs run meanwhile (the fair queue).
  Tasks are acknowledged late and re-queued when their worker is lost; every step is
  idempotent (a re-delivered fit of a live job does nothing, a re-run fit replaces
  the record).
"""
from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable

import redis
from flask import current_app, has_app_context
from sqlalchemy import func, select, update

from ..platform.accounts import audit
from ..platform.config import Settings
from ..platform.metrics import observe_job, register_job_counts
from . import model_store, results
from .background import FIT_TASK, make_celery, send_fit_task
from .job_steps import StepClock
from .model_records import ResultsRecord
from .tenant_locks import TenantBusy, tenant_job_lock
from ..platform.db import session_scope
from ..platform.models import Dataset, DatasetResult, Tenant, utcnow
from ..platform.tenancy import PortalContext

log = logging.getLogger(__name__)

#: Name of today's whole set of fitted models in the model store.
MODELS_RECORD = "results"
HEARTBEAT_S = 10.0
#: A running fit whose heartbeat is older than this is dead (fail visibly within a minute).
HEARTBEAT_TIMEOUT_S = 50.0
#: The same for an import (heartbeat every 5 s).
IMPORT_HEARTBEAT_TIMEOUT_S = 60.0
PROGRESS_WRITE_S = 1.0
#: Seconds before a Celery job of a busy tenant is tried again (it goes to the queue's end).
BUSY_RETRY_S = 5
LEGACY_MODELS = ("The stored models of this version are in an old format (an unversioned pickle); "
                 "they are not loaded. The models are being refitted.")
Progress = Callable[[float, str], None]


def is_stale(dataset: Any, stale_minutes: int) -> bool:
    """A ``running`` job whose heartbeat is older than ``HEARTBEAT_TIMEOUT_S`` (or
    ``stale_minutes`` if shorter) is dead."""
    if dataset.models_status != "running":
        return False
    beat = dataset.models_updated_at
    limit = min(timedelta(minutes=stale_minutes), timedelta(seconds=HEARTBEAT_TIMEOUT_S))
    return beat is None or utcnow() - beat > limit


def _stale_minutes() -> int:
    if has_app_context() and "portal" in current_app.extensions:
        return current_app.extensions["portal"].settings.job_stale_minutes
    return Settings.from_env().job_stale_minutes


def _update(dataset_id: int, **fields: Any) -> None:
    with session_scope() as session:
        row = session.get(Dataset, dataset_id)
        for name, value in fields.items():
            setattr(row, name, value)
        row.models_updated_at = utcnow()


def fit_dataset_models(dataset_id: int, progress: Progress | None = None, *, force: bool = False,
                       wait: bool = True, job_id: str | None = None, fitted_since: datetime | None = None,
                       takeover: bool = False) -> str:
    """Fit the models of a dataset and store them; returns the final ``models_status``.

    Trusted server-side entry: callers authorise first (the Data page passes the
    id its own import returned).  A job already running with a fresh heartbeat is
    left alone (returns ``"running"``) unless ``force``.  With ``wait=False`` a
    tenant that already runs an import or fit raises :class:`TenantBusy` at once
    (the dataset stays ``pending``, "queued").  ``fitted_since``: a request made at that
    time is already satisfied by models fitted later (a re-delivered job returns
    ``"ready"`` without fitting again).  Runs in an app context (``python -m portal.fit``
    and the Celery worker build one).
    """
    with session_scope() as session:
        row = session.get(Dataset, dataset_id)
        if row is None or row.status != "ready":
            raise LookupError(f"Dataset {dataset_id} is not a ready dataset.")
        if (fitted_since is not None and not force and row.models_status == "ready"
                and row.models_updated_at is not None and row.models_updated_at >= fitted_since):
            return "ready"
        live = row.models_status == "running" and not is_stale(row, _stale_minutes()) and not force
        if live and not takeover:
            return "running"
        tenant_id = row.tenant_id
    job_id = job_id or f"pid{os.getpid()}-d{dataset_id}"
    try:
        # A re-delivered job whose earlier run looks alive probes the tenant's lock: every fit
        # holds it while it runs, and it died with the lost worker.
        with tenant_job_lock(tenant_id, blocking=wait and not live):
            return _fit_locked(dataset_id, progress, job_id=job_id)
    except TenantBusy:
        if live:
            return "running"
        _update(dataset_id, models_status="pending",
                models_message="queued: another import or model fit of this shop is running")
        raise


def _fit_locked(dataset_id: int, progress: Progress | None, *, job_id: str) -> str:
    """Fit while holding the tenant's job lock: no other import or fit of the tenant runs,
    so a ``running`` state seen here belongs to a dead job."""
    with session_scope() as session:
        row = session.get(Dataset, dataset_id)
        tenant = session.get(Tenant, row.tenant_id)
        clv_model = tenant.clv_model or "auto"  # the tenant's setting (tenant_settings.CLV_MODELS)
        ctx = PortalContext(tenant_id=tenant.id, tenant_slug=tenant.slug, tenant_name=tenant.name,
                            user_id=None, email=None, role="system", dataset_id=row.id,
                            currency=tenant.currency, time_zone=tenant.time_zone)
        row.models_status, row.models_progress = "running", 0.0
        row.models_message, row.models_started_at, row.models_updated_at = "starting", utcnow(), utcnow()

    report = progress or (lambda fraction, message: None)
    stop = threading.Event()
    heartbeat = threading.Thread(target=_heartbeat, args=(dataset_id, stop), daemon=True)
    heartbeat.start()
    last_write = [0.0]
    started = time.perf_counter()
    steps = StepClock()

    def on_progress(fraction: float, message: str) -> None:
        fraction = min(max(float(fraction), 0.0), 1.0)
        report(fraction, message)
        steps.step(message)
        now = time.monotonic()
        if now - last_write[0] >= PROGRESS_WRITE_S:
            last_write[0] = now  # every host's Data page shows the steps so far with their durations
            _update(dataset_id, models_progress=fraction, models_message=steps.text())

    try:
        # Deliberate lazy loading: lifetimes and scikit-learn load in the process that fits.
        from analytics.models import fit_models

        cleaned = results.get_result(ctx, "cleaned")
        fitted = fit_models(cleaned, clv_model=clv_model, progress=on_progress)
        record = ResultsRecord(fitted)
        with session_scope() as session:
            row = session.get(Dataset, dataset_id)
            model_store.save(session, row, MODELS_RECORD, record)
            # The legacy pickle of this dataset (before the model store) is never read again.
            legacy = session.get(DatasetResult, (dataset_id, "models"))
            if legacy is not None:
                session.delete(legacy)
            failed_parts = getattr(fitted, "errors", None) or {}
            steps.finish()
            message = f"ready; {len(failed_parts)} part(s) not available: {', '.join(failed_parts)}" \
                if failed_parts else "ready"
            message += f" ({steps.text(1500)})"
            row.models_status, row.models_progress, row.models_message = "ready", 1.0, message[:2000]
            row.models_updated_at = utcnow()
            _activate_if_newest(session, row)
        observe_job("fit", "ready", time.perf_counter() - started)
        report(1.0, "models ready")
        return "ready"
    except Exception as exc:  # noqa: BLE001 - recorded on the dataset row and shown to the admins
        message = str(exc) or type(exc).__name__
        log.error("model fitting failed: %s", message, exc_info=True,
                  extra={"event": "models_failed", "dataset_id": dataset_id, "tenant_id": ctx.tenant_id,
                         "job_id": job_id})
        with session_scope() as session:
            row = session.get(Dataset, dataset_id)
            row.models_status, row.models_message = "failed", f"model fitting failed (job {job_id}): {message}"[:2000]
            row.models_updated_at = utcnow()
            # Explicitly descriptive-only: the version is usable without models.
            _activate_if_newest(session, row)
            audit(session, "models_failed", tenant_id=ctx.tenant_id,
                  detail={"dataset_id": dataset_id, "job_id": job_id, "error": message[:500]})
        observe_job("fit", "failed", time.perf_counter() - started)
        report(1.0, f"model fitting failed: {message}")
        return "failed"
    finally:
        stop.set()


def _activate_if_newest(session, row: Dataset) -> None:
    """Make ``row`` its tenant's current version if it is the newest ready one and newer than
    the current one (an upload waits for its models; a refit of an old version switches nothing)."""
    tenant = session.get(Tenant, row.tenant_id)
    current = session.get(Dataset, tenant.current_dataset_id) if tenant.current_dataset_id else None
    if current is not None and current.version >= row.version:
        return
    newest = session.execute(select(func.max(Dataset.version)).where(
        Dataset.tenant_id == row.tenant_id, Dataset.status == "ready")).scalar()
    if newest == row.version:
        tenant.current_dataset_id = row.id


def _heartbeat(dataset_id: int, stop: threading.Event) -> None:
    while not stop.wait(HEARTBEAT_S):
        try:
            with session_scope() as session:
                row = session.get(Dataset, dataset_id)
                if row is None or row.models_status != "running":
                    return
                row.models_updated_at = utcnow()
        except Exception:  # noqa: BLE001 - the next beat tries again
            log.warning("heartbeat failed", exc_info=True)


def load_model_results(ctx: PortalContext, dataset_id: int) -> Any:
    """The fitted models of a dataset of the context's tenant, or None if not (yet) usable.

    A stored record this process refuses (old pickle, other format or library
    versions) is never decoded: the dataset goes back to ``pending`` with the reason
    and a refit is started (:func:`request_refit`)."""
    try:
        value = model_store.load(ctx.tenant_id, dataset_id, MODELS_RECORD, ResultsRecord)
    except model_store.ModelRecordRefused as exc:
        request_refit(dataset_id, f"{exc} The models are being refitted.")
        return None
    if value is None:
        with session_scope() as session:
            row = session.get(Dataset, dataset_id)
            ready = row is not None and row.models_status == "ready"
        if ready:  # "ready" without a record: fitted before the model store (an unversioned pickle)
            request_refit(dataset_id, LEGACY_MODELS)
    return value


def request_refit(dataset_id: int, reason: str) -> bool:
    """Mark a ``ready`` dataset ``pending`` with ``reason`` and start a refit; only the first
    caller (of any process) wins.  Returns whether this call started it."""
    with session_scope() as session:
        won = session.execute(
            update(Dataset).where(Dataset.id == dataset_id, Dataset.models_status == "ready")
            .values(models_status="pending", models_progress=0.0, models_message=reason[:2000],
                    models_updated_at=utcnow())
        ).rowcount == 1
    if won:
        log.warning("stored models refused: %s", reason, extra={"event": "models_refused", "dataset_id": dataset_id})
        try:
            spawn_fit(dataset_id)
        except Exception:  # noqa: BLE001 - the Data page offers Refit; the reason is on the row
            log.exception("could not start the refit", extra={"event": "models_failed", "dataset_id": dataset_id})
    return won


def spawn_fit(dataset_id: int) -> Any:
    """Start fitting the models of a dataset without waiting for them (start-up, "refit").

    With Celery (``Settings.uses_celery``) a task for the workers is sent and its
    ``AsyncResult`` returned; otherwise a detached child process
    (``python -m portal.fit ID``) that uses this app's database and data folder
    is started on this machine and its ``Popen`` returned."""
    settings = None
    if has_app_context() and "portal" in current_app.extensions:
        services = current_app.extensions["portal"]
        settings = services.settings
        if services.celery is not None:
            return send_fit_task(services.celery, dataset_id)
    else:
        from_env = Settings.from_env()
        if from_env.uses_celery:
            return send_fit_task(make_celery(from_env), dataset_id)
    env = dict(os.environ)
    if settings is not None:
        env.update(DATABASE_URL=settings.database_url, DATA_DIR=str(settings.data_dir))
        if settings.redis_url:
            env["REDIS_URL"] = settings.redis_url
    return subprocess.Popen([sys.executable, "-m", "portal.fit", str(dataset_id)], env=env,
                            cwd=str(Path(__file__).resolve().parents[2]),
                            stdin=subprocess.DEVNULL, start_new_session=True)


def register_fit_task(celery_app) -> None:
    """Register the model-fitting task on the portal's Celery app (web hosts and workers).

    Acknowledged after it ran and re-queued if its worker dies (``acks_late``,
    ``reject_on_worker_lost``; see :func:`portal.data.background.make_celery`); a tenant
    that already runs a job sends it back to the end of the queue (fair queue)."""

    @celery_app.task(name=FIT_TASK, bind=True, ignore_result=True, shared=False, acks_late=True,
                     reject_on_worker_lost=True, max_retries=None)
    def fit_task(self, dataset_id: int, requested_at: str | None = None) -> str:
        since = datetime.fromisoformat(requested_at) if requested_at else None
        try:
            redelivered = bool((self.request.delivery_info or {}).get("redelivered"))
            return fit_dataset_models(int(dataset_id), wait=False, job_id=self.request.id, fitted_since=since,
                                      takeover=redelivered)
        except TenantBusy as exc:
            raise self.retry(countdown=BUSY_RETRY_S, exc=exc)


def job_counts(celery_app=None) -> dict[str, float]:
    """Queue depth for ``portal_jobs``: waiting (Celery queue length, or pending fits in the
    embedded mode) and running (imports and fits with a fresh heartbeat)."""
    fresh = utcnow() - timedelta(seconds=HEARTBEAT_TIMEOUT_S)
    with session_scope() as session:
        running = session.execute(select(func.count()).select_from(Dataset).where(
            Dataset.status.in_(("importing", "ready")),
            (Dataset.status == "importing") | (Dataset.models_status == "running"),
            Dataset.models_updated_at >= fresh)).scalar()
        pending = session.execute(select(func.count()).select_from(Dataset).where(
            Dataset.status == "ready", Dataset.models_status == "pending")).scalar()
    waiting = float(pending)
    if celery_app is not None:
        prefix = (celery_app.conf.broker_transport_options or {}).get("global_keyprefix", "")
        client = redis.Redis.from_url(str(celery_app.conf.broker_url), socket_connect_timeout=1.0,
                                      socket_timeout=1.0)
        try:
            waiting = float(client.llen(f"{prefix}{celery_app.conf.task_default_queue}"))
        finally:
            client.close()
    return {"waiting": waiting, "running": float(running)}


def register_job_metrics(celery_app=None) -> None:
    register_job_counts(lambda: job_counts(celery_app))


def _models(r: results.Resolver) -> Any:
    return load_model_results(r.ctx, r.dataset_id)


# The one cache in front of the model store: this process's LRU (key: dataset + the fit's
# stamp as variant); the database is the level every worker and host shares.
results.register("models", _models, shared=False, version="2")
