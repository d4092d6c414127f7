"""At most one import or model fit per tenant at a time, on every host.

:func:`tenant_job_lock` is held for the whole import or fit of a tenant:

* PostgreSQL (scaled mode): a session advisory lock ``pg_advisory_lock(4242, tenant_id)``
  on a connection of its own, shared by every host and worker;
* SQLite (embedded mode, one machine): an ``fcntl`` lock on
  ``DATA_DIR/locks/tenant-<id>.lock``.

Both vanish with the process that holds them (a killed worker never leaves a tenant
locked).  ``blocking=False`` answers at once: :class:`TenantBusy` when another job of
the tenant runs, so a Celery worker puts the job back in the queue and takes another
tenant's job instead of waiting (the fair queue, see :mod:`portal.data.jobs`).
"""
from __future__ import annotations

import fcntl
import time
from contextlib import contextmanager
from typing import Iterator

from flask import current_app, has_app_context
from sqlalchemy import text

from ..platform.config import Settings
from ..platform.db import get_database

LOCK_CLASS = 4242  # first key of the advisory locks of tenant jobs


class TenantBusy(RuntimeError):
    """Another import or fit of the tenant is running."""


def _data_dir():
    if has_app_context() and "portal" in current_app.extensions:
        return current_app.extensions["portal"].settings.data_dir
    return Settings.from_env().data_dir


@contextmanager
def tenant_job_lock(tenant_id: int, *, blocking: bool = True, timeout_s: float = 3600.0) -> Iterator[None]:
    """Hold the job lock of ``tenant_id`` (see the module docstring)."""
    database = get_database()
    if database.dialect == "postgresql":
        with database.engine.connect() as connection:
            connection = connection.execution_options(isolation_level="AUTOCOMMIT")
            if blocking:
                connection.execute(text("SELECT pg_advisory_lock(:c, :t)"), {"c": LOCK_CLASS, "t": tenant_id})
            elif not connection.execute(text("SELECT pg_try_advisory_lock(:c, :t)"),
                                        {"c": LOCK_CLASS, "t": tenant_id}).scalar():
                raise TenantBusy(f"Another import or model fit of tenant {tenant_id} is running.")
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:c, :t)"), {"c": LOCK_CLASS, "t": tenant_id})
        return
    folder = _data_dir() / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / f"tenant-{int(tenant_id)}.lock", "a+") as handle:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not blocking or time.monotonic() > deadline:
                    raise TenantBusy(f"Another import or model fit of tenant {tenant_id} is running.") from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
