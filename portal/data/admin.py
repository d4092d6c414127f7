"""The Data page's actions, one function each: import a staged upload and fit its models,
retry or restart a model fit, manage the tenant's users.

The page (:mod:`portal.dashboard.pages.data`) checks the admin role and turns an outcome
into an alert; everything between (storage, jobs, uploads, accounts, the audit log) is here.
Every function takes the caller's :class:`~portal.platform.tenancy.PortalContext`, so a
value from the browser (an upload reference, a user's email) is looked up inside the
caller's own tenant only.
"""
from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from portal.data import jobs, storage, uploads
from portal.data.imports import finished_import, import_dataset
from portal.platform import accounts
from portal.platform.tenancy import PortalContext

Progress = Callable[[float, str], None]

#: What the import alert says about the models, by the fit's outcome.
MODELS_OUTCOME = {
    "ready": "Models fitted: it is now the current version.",
    "failed": "Model fitting failed: the version is in use for the descriptive pages only "
              "(see the versions table).",
    "running": "Its models are being fitted by another job: it becomes current when they are ready.",
}


@dataclass(frozen=True)
class Outcome:
    """A message for the admin and its Bootstrap colour ("success", "warning", "danger")."""

    message: str
    color: str


def import_upload(ctx: PortalContext, token: str, tmp_dir: Path, progress: Progress) -> Outcome:
    """Fetch the staged upload ``token``, validate and store it as a new version (first
    half of ``progress``), then fit its models (second half); the version becomes current
    when they are ready.  The same staged upload is one job: a re-delivered job (its worker
    was lost) finds the version it stored instead of importing the file twice."""
    job_key = hashlib.sha256(f"{ctx.tenant_id}:{ctx.user_id}:{token}".encode()).hexdigest()[:32]
    # a re-delivered job whose import had finished (its staged upload is gone): fit only
    outcome = finished_import(ctx, job_key)
    if outcome is None:
        try:
            path, filename = uploads.materialise(ctx, token, tmp_dir)
        except uploads.UploadNotFound as exc:
            return Outcome(str(exc), "warning")
        try:
            outcome = import_dataset(ctx, path, filename, progress=lambda f, m: progress(f * 0.5, m),
                                     activate=False, job_key=job_key)
        finally:
            os.unlink(path)
            uploads.discard(token)
    if not outcome.ok:
        progress(0.0, "")
        return Outcome(outcome.message, "danger")
    dataset = storage.get_dataset(ctx, outcome.dataset_id)
    status = jobs.fit_dataset_models(outcome.dataset_id, progress=lambda f, m: progress(0.5 + f * 0.5, m),
                                     job_id=job_key, fitted_since=dataset.created_at, takeover=outcome.repeated)
    progress(1.0, "done")
    return Outcome(f"{outcome.message} {MODELS_OUTCOME.get(status, status)}",
                   "success" if status == "ready" else "warning")


def refit_models(ctx: PortalContext, stale_minutes: int) -> str:
    """Retry the newest version whose models are not ready (a stopped or failed fit), else
    refit the current version; audited.  Raises ``JobQueueUnavailable`` when no queue
    takes the job (its message is the answer)."""
    waiting = [d for d in storage.list_datasets(ctx) if d.status == "ready" and d.models_status != "ready"]
    dataset = waiting[0] if waiting and (ctx.dataset_id is None or waiting[0].id >= ctx.dataset_id) else None
    if dataset is None:
        if ctx.dataset_id is None:
            return "No dataset yet."
        dataset = storage.get_dataset(ctx)
    if dataset.models_status == "running" and not jobs.is_stale(dataset, stale_minutes):
        return "Model fitting is already running."
    jobs.spawn_fit(dataset.id)
    accounts.record("models_refit", tenant_id=ctx.tenant_id, user_id=ctx.user_id,
                    detail={"dataset_id": dataset.id, "version": dataset.version})
    return f"Model fitting restarted for version {dataset.version}."


def manage_user(ctx: PortalContext, action: str | None, *, email: str | None, role: str | None,
                password: str | None, selected: list[dict] | None, ip: str | None) -> str:
    """Do ``action`` ("add-user", "deactivate-user", "change-role"; anything else: nothing)
    on a user of the caller's tenant and say what was done ("" for nothing).  ``selected``
    are the rows chosen in the users grid.  Raises :class:`accounts.AccountError` with the
    message for the admin."""
    if action == "add-user":
        accounts.create_user(ctx.tenant_id, email or "", password or "", role or "", actor_id=ctx.user_id, ip=ip)
        return f"User {accounts.normalize_email(email)} added."
    if action not in ("deactivate-user", "change-role"):
        return ""
    if not selected:
        raise accounts.AccountError("Select a user first.")
    target = str(selected[0].get("email", ""))
    if action == "deactivate-user":
        accounts.set_active(ctx.tenant_id, target, False, actor_id=ctx.user_id, ip=ip)
        return f"User {selected[0].get('email')} deactivated."
    accounts.set_role(ctx.tenant_id, target, str(role or ""), actor_id=ctx.user_id, ip=ip)
    return f"User {target} is now {role}; their sessions have ended."


def users(ctx: PortalContext) -> list[dict]:
    """The rows of the users grid: the caller's tenant's users."""
    return accounts.list_users(ctx.tenant_id)
