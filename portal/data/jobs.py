"""Model fitting per dataset, off the request (the Dash background-callback managers and
the Celery app are in :mod:`portal.data.background`).

:func:`fit_dataset_models` is the one entry point (CLI, Data page, seeding,
``python -m portal.fit DATASET_ID``).  Its state lives on the dataset row:
``models_status`` (pending|running|ready|failed), ``models_progress`` (0..1),
``models_message``, and the heartbeat ``models_updated_at``: a running job
whose heartbeat is older than ``JOB_STALE_MINUTES`` is dead and may be restarted.
Fitted results are pickled into ``dataset_results`` (name ``models``), so they
survive cache loss and are shared by every host.
"""
from __future__ import annotations

import logging
import os
import pickle
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable

from flask import current_app, has_app_context
from sqlalchemy import select

from ..platform.config import Settings
from . import results
from .background import FIT_TASK, make_celery, send_fit_task
from .cache import LRU, MISSING
from ..platform.db import session_scope
from ..platform.models import Dataset, DatasetResult, Tenant, utcnow
from ..platform.tenancy import PortalContext

log = logging.getLogger(__name__)

MODELS_RESULT = "models"
HEARTBEAT_S = 20.0
PROGRESS_WRITE_S = 1.0
Progress = Callable[[float, str], None]

_model_lru = LRU(256 * 1024 * 1024)


def is_stale(dataset: Any, stale_minutes: int) -> bool:
    """A ``running`` job whose heartbeat is older than ``stale_minutes`` is dead."""
    if dataset.models_status != "running":
        return False
    beat = dataset.models_updated_at
    return beat is None or utcnow() - beat > timedelta(minutes=stale_minutes)


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


def fit_dataset_models(dataset_id: int, progress: Progress | None = None, *, force: bool = False) -> str:
    """Fit the models of a dataset and store them; returns the final ``models_status``.

    Trusted server-side entry: callers authorise first (the Data page passes the
    id its own import returned).  A job already running with a fresh heartbeat is
    left alone (returns ``"running"``) unless ``force``.  Runs in an app context
    (``python -m portal.fit`` and the Celery worker build one).
    """
    with session_scope() as session:
        row = session.get(Dataset, dataset_id)
        if row is None or row.status != "ready":
            raise LookupError(f"Dataset {dataset_id} is not a ready dataset.")
        if row.models_status == "running" and not is_stale(row, _stale_minutes()) and not force:
            return "running"
        tenant = session.get(Tenant, row.tenant_id)
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

    def on_progress(fraction: float, message: str) -> None:
        fraction = min(max(float(fraction), 0.0), 1.0)
        report(fraction, message)
        now = time.monotonic()
        if now - last_write[0] >= PROGRESS_WRITE_S:
            last_write[0] = now
            _update(dataset_id, models_progress=fraction, models_message=str(message)[:500])

    try:
        # Deliberate lazy loading: lifetimes and scikit-learn load in the process that fits.
        from analytics.models import fit_models

        cleaned = results.get_result(ctx, "cleaned")
        fitted = fit_models(cleaned, progress=on_progress)
        data = pickle.dumps(fitted, protocol=pickle.HIGHEST_PROTOCOL)
        with session_scope() as session:
            stored = session.get(DatasetResult, (dataset_id, MODELS_RESULT))
            if stored is None:
                session.add(DatasetResult(dataset_id=dataset_id, name=MODELS_RESULT, format="pickle",
                                          data=data, created_at=utcnow()))
            else:
                stored.data, stored.created_at = data, utcnow()
            row = session.get(Dataset, dataset_id)
            failed_parts = getattr(fitted, "errors", None) or {}
            message = f"ready; {len(failed_parts)} part(s) not available: {', '.join(failed_parts)}" \
                if failed_parts else "ready"
            row.models_status, row.models_progress, row.models_message = "ready", 1.0, message[:2000]
            row.models_updated_at = utcnow()
        report(1.0, "models ready")
        return "ready"
    except Exception as exc:  # noqa: BLE001 - recorded on the dataset row
        log.exception("model fitting failed", extra={"event": "models_failed", "dataset_id": dataset_id})
        message = str(exc) or type(exc).__name__
        _update(dataset_id, models_status="failed", models_message=message[:2000])
        report(1.0, f"model fitting failed: {message}")
        return "failed"
    finally:
        stop.set()


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
    """The fitted models of a dataset of the context's tenant, or None if not fitted."""
    with session_scope() as session:
        row = session.get(Dataset, dataset_id)
        if row is None or row.tenant_id != ctx.tenant_id:
            raise LookupError(f"Dataset {dataset_id} not found.")
        stamp = session.execute(
            select(DatasetResult.created_at).where(DatasetResult.dataset_id == dataset_id,
                                                   DatasetResult.name == MODELS_RESULT)
        ).scalar()
        if stamp is None:
            return None
        key = f"models:t{ctx.tenant_id}:d{dataset_id}:{stamp.isoformat()}"
        value = _model_lru.get(key)
        if value is not MISSING:
            return value
        data = session.execute(
            select(DatasetResult.data).where(DatasetResult.dataset_id == dataset_id,
                                             DatasetResult.name == MODELS_RESULT)
        ).scalar()
    value = pickle.loads(data)
    _model_lru.put(key, value, len(data))
    return value


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
    """Register the model-fitting task on the portal's Celery app (web hosts and workers)."""

    @celery_app.task(name=FIT_TASK, ignore_result=True, shared=False)
    def fit_task(dataset_id: int) -> str:
        return fit_dataset_models(int(dataset_id))


def _models(r: results.Resolver) -> Any:
    return load_model_results(r.ctx, r.dataset_id)


results.register("models", _models, cached=False)  # stored in the database; this module keeps its own LRU
