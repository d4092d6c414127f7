"""Tenant settings: currency, time zone, first day of the week, fiscal year start,
versions kept, personal data, the CLV purchase model.  Changed by admins on the Settings page.

Changing the **CLV model** ("auto" = chosen on a holdout by analytics, or one of
:data:`analytics.purchase_models.CANDIDATES` forced) takes effect at the next fit,
which the change starts in the background.

Changing the **time zone** re-derives every result in the same transaction as
the change: the current version is re-derived in the new zone
(:func:`portal.data.versions.rezone`) and stored as a new version, which the
tenant switches to, so no page ever mixes days of two zones; its models are
refitted.  When that is impossible the change is refused and nothing changes.

Turning **personal data** off deletes the stored e-mails and names in the same
transaction (campaign exports then have no contact columns); turning it on keeps
them from the next import on.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from babel.numbers import list_currencies
from sqlalchemy import delete, update

import analytics
from analytics.dates import time_zone as _zone
from analytics.purchase_models import CANDIDATES

from ..platform.accounts import audit
from ..platform.db import session_scope
from ..platform.models import CustomerContact, Dataset, Tenant, utcnow
from ..platform.tenancy import PortalContext
from . import jobs, versions
from .storage import frame_to_parquet, parquet_to_frame, read_payload, write_payload

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")
MAX_KEEP_VERSIONS = 100
#: Values of the ``clv_model`` setting, as ``analytics.fit_models(clv_model=...)`` takes them.
CLV_MODELS: tuple[str, ...] = ("auto", *CANDIDATES)


class SettingsError(ValueError):
    """A setting value that is refused, with the reason."""


@dataclass(frozen=True)
class TenantSettings:
    currency: str = "GBP"
    time_zone: str = "Europe/London"
    week_start: int = 0
    fiscal_year_start_month: int = 1
    keep_versions: int = 10
    store_personal_data: bool = False
    clv_model: str = "auto"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def get_settings(ctx: PortalContext) -> TenantSettings:
    with session_scope() as session:
        tenant = session.get(Tenant, ctx.tenant_id)
        return TenantSettings(**{name: getattr(tenant, name) for name in TenantSettings.__dataclass_fields__})


def validate(changes: dict[str, Any]) -> dict[str, Any]:
    """Checked, normalised values; SettingsError naming the first bad one."""
    out: dict[str, Any] = {}
    for name, value in changes.items():
        if name not in TenantSettings.__dataclass_fields__:
            raise SettingsError(f"Unknown setting {name!r}.")
        if name == "currency":
            code = str(value or "").strip().upper()
            if code not in list_currencies():
                raise SettingsError(f"Currency must be an ISO 4217 code such as GBP, EUR or USD, got {value!r}.")
            out[name] = code
        elif name == "time_zone":
            try:
                out[name] = _zone(str(value or "")).key
            except analytics.AnalyticsError as exc:
                raise SettingsError(str(exc)) from None
        elif name in ("week_start", "fiscal_year_start_month", "keep_versions"):
            low, high = {"week_start": (0, 6), "fiscal_year_start_month": (1, 12),
                         "keep_versions": (1, MAX_KEEP_VERSIONS)}[name]
            try:
                number = int(value)
            except (TypeError, ValueError):
                raise SettingsError(f"{name} must be a whole number from {low} to {high}, got {value!r}.") from None
            if not low <= number <= high:
                raise SettingsError(f"{name} must be from {low} to {high}, got {number}.")
            out[name] = number
        elif name == "clv_model":
            choice = str(value or "").strip().lower()
            if choice not in CLV_MODELS:
                raise SettingsError(f"clv_model must be one of {', '.join(CLV_MODELS)}, got {value!r}.")
            out[name] = choice
        elif name == "store_personal_data":
            if not isinstance(value, bool):
                raise SettingsError(f"store_personal_data must be true or false, got {value!r}.")
            out[name] = value
    return out


@dataclass(frozen=True)
class SettingsChange:
    changed: dict[str, Any]
    rezoned_version: int | None
    pruned_versions: list[int]
    contacts_deleted: int = 0

    @property
    def message(self) -> str:
        if not self.changed:
            return "Nothing changed."
        text = "Saved: " + ", ".join(f"{k} = {v}" for k, v in self.changed.items()) + "."
        if self.rezoned_version is not None:
            text += (f" The data was re-derived in the new time zone as version {self.rezoned_version}; "
                     "its models are being refitted.")
        if "clv_model" in self.changed and self.rezoned_version is None:
            text += " The models are being refitted with the new CLV model."
        if self.pruned_versions:
            text += f" Versions {', '.join(map(str, self.pruned_versions))} were pruned."
        if self.changed.get("store_personal_data") is False:
            text += f" {self.contacts_deleted:,} stored e-mails and names were deleted."
        elif self.changed.get("store_personal_data"):
            text += " E-mails and names are kept from the next import on."
        return text


def update_settings(ctx: PortalContext, changes: dict[str, Any], *, ip: str | None = None,
                    refit: bool = True) -> SettingsChange:
    """Apply ``changes`` (admin only, checked by the caller); audited; see the module for the time zone.
    ``refit``: start the model fit of a re-derived version in the background."""
    values = validate(changes)
    rezoned = None
    pruned: list[int] = []
    with session_scope() as session:
        session.execute(update(Tenant).where(Tenant.id == ctx.tenant_id).values(updated_at=utcnow()))  # lock
        tenant = session.get(Tenant, ctx.tenant_id)
        changed = {k: v for k, v in values.items() if getattr(tenant, k) != v}
        if "time_zone" in changed and tenant.current_dataset_id is not None:
            rezoned = _rezone_current(session, tenant, changed["time_zone"], ctx.user_id)
        for name, value in changed.items():
            setattr(tenant, name, value)
        if "keep_versions" in changed:
            pruned = versions.prune(session, tenant.id, tenant.keep_versions, tenant.current_dataset_id)
        deleted = 0
        if changed.get("store_personal_data") is False:
            deleted = session.execute(delete(CustomerContact).where(CustomerContact.tenant_id == ctx.tenant_id)).rowcount
        if changed:
            audit(session, "settings_changed", tenant_id=ctx.tenant_id, user_id=ctx.user_id, ip=ip,
                  detail={"changed": changed, "rezoned_version": rezoned, "pruned": pruned,
                          "contacts_deleted": deleted})
    if refit and (rezoned is not None or ("clv_model" in changed and _has_data(ctx))):
        _spawn_fit(ctx)
    return SettingsChange(changed, rezoned, pruned, deleted)


def _rezone_current(session, tenant: Tenant, new_zone: str, user_id: int | None) -> int:
    current = session.get(Dataset, tenant.current_dataset_id)
    frame = parquet_to_frame(read_payload(session, current.id))
    try:
        moved = versions.rezone(frame, current.source, tenant.time_zone, new_zone)
    except versions.VersionError as exc:
        raise SettingsError(str(exc)) from None
    cleaned = analytics.clean_transactions(moved)
    payload = frame_to_parquet(moved)
    version = versions.next_version(session, tenant.id)
    dataset = Dataset(tenant_id=tenant.id, version=version, filename=current.filename, uploaded_by=user_id,
                      created_at=utcnow(), status="ready", import_mode="rezone",
                      source=dict(current.source or {}, time_zone=new_zone, rezoned_from_version=current.version),
                      cleaning_report=cleaned.report.to_dict(), quality_report=current.quality_report,
                      rows_in=len(moved), rows_clean=cleaned.report.rows_out, customers=cleaned.report.customers,
                      orders=cleaned.report.orders, payload_bytes=len(payload), models_status="pending",
                      models_progress=0.0, models_message="waiting for model fitting")
    session.add(dataset)
    session.flush()
    write_payload(session, dataset.id, payload)
    tenant.current_dataset_id = dataset.id
    return version


def _has_data(ctx: PortalContext) -> bool:
    with session_scope() as session:
        return session.get(Tenant, ctx.tenant_id).current_dataset_id is not None


def _spawn_fit(ctx: PortalContext) -> None:
    with session_scope() as session:
        dataset_id = session.get(Tenant, ctx.tenant_id).current_dataset_id
    jobs.spawn_fit(dataset_id)
