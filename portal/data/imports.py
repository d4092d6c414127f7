"""Import a transaction file as a tenant's new dataset version.

Validation (``analytics.load_transactions`` + ``clean_transactions``) happens
first, outside any transaction.  A short transaction then records the new
version as ``importing``; ONE database transaction stores the Parquet payload,
marks the version ready and switches the tenant's ``current_dataset_id``: a
failed or killed import leaves the previous version current and untouched.  A
failure is recorded afterwards, in its own transaction, as a ``failed`` version
and an ``import_failed`` audit entry carrying the exact error; a killed import
leaves its version ``importing``, which the Data page shows as interrupted once its
heartbeat (``models_updated_at``, written every 10 s while the import runs) is older
than a minute.

Jobs: an import holds its tenant's job lock (one import or fit per tenant at a time,
:mod:`portal.data.tenant_locks`).  ``activate=False`` (the Data page) stores the new
version and its descriptive results without making it current: it becomes current once
its models are fitted, or fitting failed (:func:`portal.data.jobs.fit_dataset_models`) --
except a tenant's FIRST version (no current version yet), which becomes current as soon as
its descriptive results are stored, the model pages saying the models are being fitted.  ``job_key`` makes a
re-delivered job idempotent: a ready version stored by the same job is returned
instead of importing the file twice, and a version the lost run left ``importing`` is
marked failed.
"""
from __future__ import annotations

import io
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, BinaryIO, Callable, Union

from flask import current_app
from sqlalchemy import func, select, update

import analytics
from analytics.mapping import ColumnMapping

from ..platform.accounts import audit
from ..platform.db import session_scope
from ..platform.metrics import observe_job
from ..platform.models import Dataset, Tenant, User, utcnow
from . import results, shop_import
from .storage import frame_to_parquet, write_payload
from .tenant_locks import tenant_job_lock
from ..platform.tenancy import PortalContext, system_context
from .upload_checks import check_expansion

log = logging.getLogger(__name__)

Source = Union[str, Path, bytes, bytearray, BinaryIO]
IMPORT_HEARTBEAT_S = 5.0
#: How long a job key is remembered for re-delivered jobs.
JOB_KEY_MEMORY = 3600
Progress = Callable[[float, str], None]


class ImportRefused(ValueError):
    """The upload is refused before reading it (too large, empty name...)."""


@dataclass(frozen=True)
class ImportOutcome:
    ok: bool
    tenant_slug: str
    dataset_id: int | None = None
    version: int | None = None
    error: str | None = None
    rows_in: int | None = None
    rows_clean: int | None = None
    report: dict[str, Any] | None = None
    timings: dict[str, float] = field(default_factory=dict)
    quality: dict[str, Any] | None = None
    pruned: list[int] = field(default_factory=list)
    #: True when a previous run of the same job (a re-delivered one) had stored this version.
    repeated: bool = False

    @property
    def message(self) -> str:
        if not self.ok:
            return f"Import failed: {self.error}"
        duplicates = (self.quality or {}).get("duplicates_of_loaded", 0)
        return (f"Imported version {self.version}: {self.rows_in:,} rows read, "
                f"{self.rows_clean:,} kept after cleaning."
                + (f" {duplicates:,} line{' was' if duplicates == 1 else 's were'} already loaded and "
                   f"{'was' if duplicates == 1 else 'were'} not added again." if duplicates else ""))


def source_size(source: Source) -> int | None:
    """Size in bytes without reading the content (None if unknown)."""
    if isinstance(source, (bytes, bytearray)):
        return len(source)
    if isinstance(source, (str, Path)):
        try:
            return os.stat(source).st_size
        except OSError:
            return None
    try:
        position = source.tell()
        size = source.seek(0, io.SEEK_END)
        source.seek(position)
        return size - position
    except (AttributeError, OSError):
        return None


def check_size(source: Source, max_bytes: int) -> None:
    size = source_size(source)
    if size is not None and size > max_bytes:
        raise ImportRefused(
            f"The file is {size / 1024 / 1024:,.1f} MB; the largest accepted upload is "
            f"{max_bytes // 1024 // 1024} MB (MAX_UPLOAD_MB)."
        )


def import_dataset(ctx_or_tenant: PortalContext | str, source: Source, filename: str | None = None,
                   user: User | int | None = None, progress: Progress | None = None,
                   *, ip: str | None = None, mapping: ColumnMapping | None = None,
                   mode: str = "replace", activate: bool = True, job_key: str | None = None) -> ImportOutcome:
    """Validate, store and (``activate``) switch to a new dataset version of a tenant.

    ``ctx_or_tenant`` is the caller's context (web) or a tenant slug (CLI,
    seeding).  ``user`` defaults to the context's user.  ``progress(fraction,
    message)`` is called at each stage.  Never raises for a bad file: the
    outcome says what went wrong.  See the module docstring for ``activate`` and
    ``job_key``; the tenant's job lock is held throughout.

    ``mapping`` (any export's columns -> fields; default the tenant's saved one
    or the proposal) and ``mode`` (``"replace"`` or ``"append"``): see
    :mod:`portal.data.shop_import`.  Dates are read in the tenant's time zone.
    """
    ctx = ctx_or_tenant if isinstance(ctx_or_tenant, PortalContext) else system_context(ctx_or_tenant)
    with tenant_job_lock(ctx.tenant_id):
        outcome = _already_imported(ctx, job_key) if job_key else None
        if outcome is None:
            outcome = _import_locked(ctx, source, filename, user, progress, ip=ip, activate=activate,
                                     job_key=job_key, mapping=mapping, mode=mode)
        if outcome.ok and not activate:
            _activate_first(ctx.tenant_id, outcome.dataset_id)
        return outcome


def _activate_first(tenant_id: int, dataset_id: int) -> None:
    """A tenant without a current version gets this one at once (its descriptive results are
    stored; the models follow); a tenant that has one keeps it until the new one is usable."""
    with session_scope() as session:
        switched = session.execute(update(Tenant).where(Tenant.id == tenant_id, Tenant.current_dataset_id.is_(None))
                                   .values(current_dataset_id=dataset_id)).rowcount == 1
        if switched:
            session.execute(update(Dataset).where(Dataset.id == dataset_id, Dataset.models_status == "pending")
                            .values(models_message="waiting for model fitting (the descriptive pages are ready)"))


def finished_import(ctx: PortalContext, job_key: str) -> ImportOutcome | None:
    """The outcome of the ready version a previous run of job ``job_key`` stored, or None.
    Read-only (safe outside the tenant's job lock): a re-delivered job whose import had
    finished goes straight to the model fit, although its staged upload is gone."""
    return _already_imported(ctx, job_key, mark_interrupted=False)


def _already_imported(ctx: PortalContext, job_key: str, *, mark_interrupted: bool = True) -> ImportOutcome | None:
    """The outcome of the version a previous run of job ``job_key`` stored (None if none);
    a version that run left ``importing`` is marked failed (``mark_interrupted``)."""
    since = utcnow() - timedelta(seconds=JOB_KEY_MEMORY)
    with session_scope() as session:
        rows = session.scalars(select(Dataset).where(Dataset.tenant_id == ctx.tenant_id, Dataset.created_at >= since)
                               .order_by(Dataset.version.desc())).all()
        for row in rows:
            if (row.source or {}).get("job_key") != job_key:
                continue
            if row.status == "ready":
                return ImportOutcome(ok=True, tenant_slug=ctx.tenant_slug, dataset_id=row.id, version=row.version,
                                     rows_in=row.rows_in, rows_clean=row.rows_clean, report=row.cleaning_report,
                                     repeated=True)
            if row.status == "importing" and mark_interrupted:
                row.status, row.error = "failed", "interrupted (its worker was lost); imported again by the retry"
                row.models_status, row.models_message = "failed", "not fitted: the import was interrupted"
    return None


def _import_locked(ctx: PortalContext, source: Source, filename: str | None, user, progress, *, ip, activate,
                   job_key, mapping=None, mode: str = "replace") -> ImportOutcome:
    user_id = user.id if isinstance(user, User) else (user if user is not None else ctx.user_id)
    settings = current_app.extensions["portal"].settings
    report = progress or (lambda fraction, message: None)
    name = filename or (Path(source).name if isinstance(source, (str, Path)) else "upload")
    timings: dict[str, float] = {}
    stage = "reading"
    started = time.perf_counter()
    dataset_id, version = _begin(ctx, name, user_id, job_key)
    stop = threading.Event()
    threading.Thread(target=_heartbeat, args=(dataset_id, stop), daemon=True).start()
    try:
        check_size(source, settings.max_upload_bytes)
        check_expansion(source, name, settings.max_decompressed_bytes, settings.max_import_rows)
        report(0.05, f"Reading {name}")
        # -- shops (issue 15): mapping, tenant time zone, append, personal data --
        prepared = shop_import.prepare(ctx, source, name, mapping, mode)
        frame = prepared.frame
        timings["load_s"] = time.perf_counter() - started
        stage = "cleaning"
        report(0.35, f"Validated {len(frame):,} rows; cleaning")
        cleaned = analytics.clean_transactions(frame)
        _check_usable(cleaned.report)
        timings["clean_s"] = time.perf_counter() - started - sum(timings.values())
        stage = "storing"
        report(0.6, "Storing the dataset")
        payload = frame_to_parquet(frame)
        _store(ctx, dataset_id, version, name, user_id, frame, cleaned, payload, settings, ip, activate, job_key,
               finish=lambda session, dataset: shop_import.finish(session, ctx, dataset, prepared))
        timings["store_s"] = time.perf_counter() - started - sum(timings.values())
    except Exception as exc:  # noqa: BLE001 - every failure is recorded and reported
        stop.set()
        expected = isinstance(exc, (analytics.AnalyticsError, ImportRefused, ValueError))
        error = str(exc) if expected else f"internal error while {stage} ({type(exc).__name__}: {exc})"
        # An error of the import, logged with its job (the tenant's admins see it on the Data page).
        log.error("import failed: %s", error, exc_info=not expected,
                  extra={"event": "import_failed", "tenant": ctx.tenant_slug, "dataset_id": dataset_id,
                         "job_id": job_key or f"pid{os.getpid()}-d{dataset_id}"})
        observe_job("import", "failed", time.perf_counter() - started)
        version = _record_failure(ctx, name, user_id, error, ip, dataset_id)
        report(1.0, f"Import failed: {error}")
        return ImportOutcome(ok=False, tenant_slug=ctx.tenant_slug, version=version, error=error,
                             timings=timings)
    stop.set()
    observe_job("import", "ready", time.perf_counter() - started)

    new_ctx = PortalContext(**{**ctx.to_dict(), "dataset_id": dataset_id})
    _prime_results(new_ctx, dataset_id, frame, cleaned)
    # Every import builds the descriptive results (k-means included) into the shared cache: the
    # pages read them ready, and a web process never fits k-means (never imports scikit-learn).
    report(0.65, "Computing the descriptive results")
    mark = time.perf_counter()
    _describe(new_ctx, dataset_id)
    timings["describe_s"] = time.perf_counter() - mark
    report(0.7, f"Stored version {version}")
    log.info("dataset imported", extra={"event": "import", "tenant": ctx.tenant_slug, "dataset_id": dataset_id,
                                        "rows": len(frame), "duration_ms": round(sum(timings.values()) * 1000)})
    return ImportOutcome(ok=True, tenant_slug=ctx.tenant_slug, dataset_id=dataset_id, version=version,
                         rows_in=len(frame), rows_clean=len(cleaned.lines),
                         report=cleaned.report.to_dict(), timings=timings, quality=prepared.quality,
                         pruned=prepared.pruned)


def _check_usable(report) -> None:
    """Refuse a file that cleans to nothing usable: switching to it would hide the
    tenant's current data behind empty dashboards."""
    removed = ", ".join(f"{rule} {count:,}" for rule, count in report.removed.items() if count)
    if report.rows_out == 0:
        raise ImportRefused(f"After cleaning no product line is left ({report.rows_in:,} read; removed: "
                            f"{removed or 'none'}). Nothing was imported; the current version stays in use.")
    if report.customers == 0:
        raise ImportRefused(f"No order has a customer id ({report.rows_out:,} lines kept, all guests'), so there "
                            "is nothing for customer analytics. Nothing was imported; the current version stays "
                            "in use.")


def _next_version(session, tenant_id: int) -> int:
    current = session.execute(select(func.max(Dataset.version)).where(Dataset.tenant_id == tenant_id)).scalar()
    return (current or 0) + 1


def _lock_tenant(session, tenant_id: int) -> None:
    """Take the tenant row's write lock first: imports of one tenant run one at a
    time (PostgreSQL row lock; on SQLite the database write lock)."""
    session.execute(update(Tenant).where(Tenant.id == tenant_id).values(updated_at=utcnow()))


def _begin(ctx, name, user_id, job_key) -> tuple[int, int]:
    """Record the new version as ``importing`` first, so that an import that is killed
    stays visible to the admin as interrupted."""
    with session_scope() as session:
        _lock_tenant(session, ctx.tenant_id)
        version = _next_version(session, ctx.tenant_id)
        dataset = Dataset(
            tenant_id=ctx.tenant_id, version=version, filename=name[:255], uploaded_by=user_id,
            created_at=utcnow(), status="importing", models_status="pending", models_progress=0.0,
            models_message="waiting for the import", models_updated_at=utcnow(),
            source={"job_key": job_key} if job_key else None,
        )
        session.add(dataset)
        session.flush()
        return dataset.id, version


def _heartbeat(dataset_id: int, stop: threading.Event) -> None:
    while not stop.wait(IMPORT_HEARTBEAT_S):
        try:
            with session_scope() as session:
                session.execute(update(Dataset).where(Dataset.id == dataset_id, Dataset.status == "importing")
                                .values(models_updated_at=utcnow()))
        except Exception:  # noqa: BLE001 - SQLite is locked while the payload is stored; next beat
            log.debug("import heartbeat skipped", exc_info=True)


def _store(ctx, dataset_id, version, name, user_id, frame, cleaned, payload, settings, ip, activate,
           job_key, finish=None) -> None:
    """ONE transaction: store the payload, mark the version ready and (``activate``) switch
    the tenant to it, all or nothing."""
    report = cleaned.report
    try:
        with session_scope() as session:
            dataset = session.get(Dataset, dataset_id)
            write_payload(session, dataset_id, payload)
            if settings.import_sleep_in_tx:  # test hook: widen the window for a SIGKILL
                log.warning("test hook: sleeping %.1f s inside the import transaction", settings.import_sleep_in_tx)
                time.sleep(settings.import_sleep_in_tx)
            dataset.source = _jsonable(dict(frame.attrs.get("source", {}), **({"job_key": job_key} if job_key else {})))
            dataset.cleaning_report = report.to_dict()
            dataset.rows_in, dataset.rows_clean = report.rows_in, report.rows_out
            dataset.customers, dataset.orders, dataset.payload_bytes = report.customers, report.orders, len(payload)
            dataset.status, dataset.models_updated_at = "ready", utcnow()
            if activate:
                dataset.models_message = "waiting for model fitting"
                session.execute(update(Tenant).where(Tenant.id == ctx.tenant_id)
                                .values(current_dataset_id=dataset_id))
            else:
                dataset.models_message = "waiting for model fitting; becomes the current version when fitted"
            if finish is not None:  # shops (issue 15): quality report, contacts, pruning - same transaction
                finish(session, dataset)
            audit(session, "import", tenant_id=ctx.tenant_id, user_id=user_id, ip=ip,
                  detail={"dataset_id": dataset_id, "version": version, "filename": name, "rows": report.rows_in,
                          "mode": dataset.import_mode})
    except Exception as exc:
        exc.dataset_id = dataset_id  # type: ignore[attr-defined] - _record_failure marks this row
        raise


def _record_failure(ctx, name, user_id, error, ip, dataset_id: int | None = None) -> int | None:
    """Mark the version ``failed`` with the exact error (creating its row when the
    import failed before storing began) and audit it, in its own transaction."""
    try:
        with session_scope() as session:
            _lock_tenant(session, ctx.tenant_id)
            dataset = session.get(Dataset, dataset_id) if dataset_id is not None else None
            if dataset is None:
                dataset = Dataset(tenant_id=ctx.tenant_id, version=_next_version(session, ctx.tenant_id),
                                  filename=name[:255], uploaded_by=user_id, created_at=utcnow())
                session.add(dataset)
            dataset.status, dataset.error = "failed", error
            dataset.models_status, dataset.models_progress = "failed", 0.0
            dataset.models_message = "not fitted: the import failed"
            audit(session, "import_failed", tenant_id=ctx.tenant_id, user_id=user_id, ip=ip,
                  detail={"filename": name, "error": error})
            session.flush()
            return dataset.version
    except Exception:  # noqa: BLE001 - the database itself may be what failed
        log.exception("could not record the failed import", extra={"event": "import_error"})
        return None


def _prime_results(ctx: PortalContext, dataset_id: int, frame, cleaned) -> None:
    """The import already holds the frame and the cleaned log: cache them."""
    try:
        results.prime(ctx, dataset_id, "transactions", frame)
        results.prime(ctx, dataset_id, "cleaned", cleaned)
    except Exception:  # noqa: BLE001 - only a warm-up
        log.warning("could not prime the result cache", exc_info=True)


def _describe(ctx: PortalContext, dataset_id: int) -> None:
    """Build the descriptive results into the shared cache, so the pages read them ready."""
    try:
        results.get_result(ctx, "describe")
    except Exception:  # noqa: BLE001 - only a warm-up: a page builds them itself if this failed
        log.warning("could not build the descriptive results", exc_info=True,
                    extra={"event": "describe_failed", "dataset_id": dataset_id})


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)
