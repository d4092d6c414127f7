"""Personal data of a tenant's customers (UK/EU GDPR practice).

* A customer identified by an e-mail (Shopify, WooCommerce guests...) is stored
  under a **per-tenant salted hash** of it (:func:`customer_key`); the e-mail
  and name are kept, in ``customer_contacts``, only when the tenant's admin
  opted in (``store_personal_data``, needed for campaign exports).  Searching
  for a customer by e-mail hashes the query the same way.
* :func:`erase_customer` rewrites every stored version without the customer:
  the current version becomes a new version (a new id: no cache anywhere holds
  it), older versions are rewritten in place, fitted models of every version are
  dropped (the current one is refitted), the shared result cache is cleared,
  the contact row deleted and audit entries naming the customer reduced to
  counts.  E-mails already sent cannot be recalled.
* :func:`export_tenant` (a zip of everything the portal holds for the tenant)
  and :func:`delete_tenant`.  Every action is audited.
"""
from __future__ import annotations

import hashlib
import hmac
import io
import json
import logging
import secrets
import zipfile
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import delete, select, update

import analytics

from ..platform.accounts import audit
from ..platform.db import session_scope
from ..platform.models import (
    AuditEntry,
    CustomerContact,
    Dataset,
    DatasetResult,
    Tenant,
    TenantMapping,
    User,
    utcnow,
)
from ..platform.tenancy import PortalContext
from .results import result_cache
from .storage import frame_to_parquet, parquet_to_frame, read_payload, write_payload
from .versions import next_version

log = logging.getLogger(__name__)

#: Prefix of hashed customer ids, so they are recognisable in lists and exports.
HASH_PREFIX = "h"
HASH_CHARS = 20


class PrivacyError(ValueError):
    """A privacy action that cannot be done, with the reason."""


def tenant_salt(session, tenant_id: int) -> str:
    """The tenant's secret salt, made on first use."""
    tenant = session.get(Tenant, tenant_id)
    if not tenant.privacy_salt:
        tenant.privacy_salt = secrets.token_hex(32)
        session.flush()
    return tenant.privacy_salt


def hash_with(salt: str, text: str) -> str:
    normalised = str(text).strip().lower()
    digest = hmac.new(salt.encode(), normalised.encode(), hashlib.sha256).hexdigest()
    return HASH_PREFIX + digest[:HASH_CHARS]


def customer_key(ctx: PortalContext, text: str) -> str:
    """The stored customer id for an e-mail (or a name used as id), as the import stores it.

    The search box of the portal passes the query through this when it looks like
    an e-mail, so managers can find a customer without the e-mail being stored.
    """
    with session_scope() as session:
        return hash_with(tenant_salt(session, ctx.tenant_id), text)


def looks_like_email(text: str) -> bool:
    return "@" in str(text or "")


def search_key(ctx: PortalContext, query: str) -> str:
    """What to search the customer ids for: the hash of an e-mail, else the query as typed."""
    query = str(query or "").strip()
    return customer_key(ctx, query) if looks_like_email(query) else query


def pseudonymise(ctx: PortalContext, frame: pd.DataFrame, contacts: pd.DataFrame | None, identity: str
                 ) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Replace e-mail customer ids by the tenant's hashes; contacts re-keyed (None unless opted in)."""
    with session_scope() as session:
        tenant = session.get(Tenant, ctx.tenant_id)
        keep_contacts = bool(tenant.store_personal_data)
        salt = tenant_salt(session, ctx.tenant_id)
    if identity == "email" or frame["customer_id"].astype(str).str.contains("@", regex=False).any():
        ids = frame["customer_id"].astype(object)
        hashed = ids.map(lambda c: hash_with(salt, c) if isinstance(c, str) and "@" in c else c)
        frame = frame.copy()
        frame["customer_id"] = hashed.where(ids.notna(), None).astype("category")
        if contacts is not None and not contacts.empty:
            contacts = contacts.assign(customer_id=contacts["customer_id"].map(
                lambda c: hash_with(salt, c) if "@" in str(c) else str(c)))
    return frame, (contacts if keep_contacts and contacts is not None and not contacts.empty else None)


def store_contacts(session, tenant_id: int, contacts: pd.DataFrame | None) -> int:
    """Upsert contact rows (only called for opted-in tenants); returns the count."""
    if contacts is None or contacts.empty:
        return 0
    existing = {row.customer_id: row for row in session.scalars(
        select(CustomerContact).where(CustomerContact.tenant_id == tenant_id,
                                      CustomerContact.customer_id.in_(contacts["customer_id"].astype(str).tolist())))}
    for record in contacts.to_dict("records"):
        key = str(record["customer_id"])[:64]
        row = existing.get(key) or CustomerContact(tenant_id=tenant_id, customer_id=key)
        row.email = (record.get("email") or None) and str(record["email"])[:254]
        row.name = (record.get("name") or None) and str(record["name"])[:200]
        row.updated_at = utcnow()
        session.add(row)
    return len(contacts)


@dataclass(frozen=True)
class Erasure:
    customer_key: str
    versions_rewritten: int
    lines_removed: int
    new_version: int | None
    audit_entries_reduced: int

    @property
    def message(self) -> str:
        return (f"Customer erased: {self.lines_removed:,} lines removed from {self.versions_rewritten} stored "
                f"version(s){f'; current data is now version {self.new_version}' if self.new_version else ''}; "
                f"fitted models dropped and refitted; {self.audit_entries_reduced} audit entries reduced to "
                "counts. E-mails already sent cannot be recalled.")


def erase_customer(ctx: PortalContext, customer: str, *, ip: str | None = None) -> Erasure:
    """Remove one customer (id, or e-mail) from every stored version, model, contact and audit detail."""
    customer = str(customer or "").strip()
    if not customer:
        raise PrivacyError("Give the customer's id or e-mail to erase.")
    key = search_key(ctx, customer)
    with session_scope() as session:
        tenant = session.get(Tenant, ctx.tenant_id)
        session.execute(update(Tenant).where(Tenant.id == ctx.tenant_id).values(updated_at=utcnow()))  # lock
        datasets = session.scalars(select(Dataset).where(Dataset.tenant_id == ctx.tenant_id,
                                                         Dataset.status == "ready")).all()
        removed_total, rewritten, new_version = 0, 0, None
        for dataset in datasets:
            frame = parquet_to_frame(read_payload(session, dataset.id))
            hit = (frame["customer_id"].astype(str) == key).to_numpy()
            if not hit.any():
                continue
            kept = frame.loc[~hit].reset_index(drop=True)
            for column in ("invoice", "stock_code", "description", "customer_id", "country"):
                kept[column] = kept[column].cat.remove_unused_categories()
            removed_total += int(hit.sum())
            rewritten += 1
            payload = frame_to_parquet(kept)
            if dataset.id == tenant.current_dataset_id:
                new_version = _new_version_from(session, dataset, payload, len(kept))
            write_payload(session, dataset.id, payload)
            dataset.rows_in, dataset.payload_bytes = len(kept), len(payload)
            session.execute(delete(DatasetResult).where(DatasetResult.dataset_id == dataset.id))
            dataset.models_status, dataset.models_message = "pending", "models dropped: a customer was erased"
        session.execute(delete(CustomerContact).where(CustomerContact.tenant_id == ctx.tenant_id,
                                                      CustomerContact.customer_id == key))
        reduced = _reduce_audit(session, ctx.tenant_id, {customer, key})
        if not rewritten:
            raise PrivacyError(f"No stored data of customer {customer!r} was found; nothing was changed.")
        audit(session, "customer_erased", tenant_id=ctx.tenant_id, user_id=ctx.user_id, ip=ip,
              detail={"lines_removed": removed_total, "versions_rewritten": rewritten,
                      "audit_entries_reduced": reduced})
    _drop_caches()
    return Erasure(key, rewritten, removed_total, new_version, reduced)


def _new_version_from(session, dataset: Dataset, payload: bytes, rows: int) -> int:
    """A copy of ``dataset`` with ``payload`` as the tenant's new current version."""
    version = next_version(session, dataset.tenant_id)
    cleaned = analytics.clean_transactions(parquet_to_frame(payload))
    copy = Dataset(tenant_id=dataset.tenant_id, version=version, filename=dataset.filename,
                   uploaded_by=dataset.uploaded_by, created_at=utcnow(), status="ready",
                   source=dict(dataset.source or {}, erased_from_version=dataset.version),
                   cleaning_report=cleaned.report.to_dict(), quality_report=dataset.quality_report,
                   import_mode="erasure", rows_in=rows, rows_clean=cleaned.report.rows_out,
                   customers=cleaned.report.customers, orders=cleaned.report.orders, payload_bytes=len(payload),
                   models_status="pending", models_progress=0.0, models_message="waiting for model fitting")
    session.add(copy)
    session.flush()
    write_payload(session, copy.id, payload)
    session.execute(update(Tenant).where(Tenant.id == dataset.tenant_id).values(current_dataset_id=copy.id))
    return version


def _reduce_audit(session, tenant_id: int, needles: set[str]) -> int:
    """Replace the detail of audit entries mentioning the customer by counts only."""
    count = 0
    for entry in session.scalars(select(AuditEntry).where(AuditEntry.tenant_id == tenant_id)):
        text = json.dumps(entry.detail or {}, default=str).lower()
        if any(n and n.lower() in text for n in needles):
            entry.detail = {"reduced": "customer erased", "fields": len(entry.detail or {})}
            count += 1
    return count


def _drop_caches() -> None:
    try:
        cache = result_cache()
        cache.lru.clear()
        cache.views.clear()
        cache.backend.clear()
        cache.view_backend.clear()  # rendered views (a profile) may show the erased customer
    except Exception:  # noqa: BLE001 - outside an app (CLI tests) there may be no cache
        log.warning("could not drop the result cache after a privacy action", exc_info=True)


def export_tenant(ctx: PortalContext, *, ip: str | None = None) -> bytes:
    """A zip of the tenant: settings, users (no password hashes), mappings, contacts, audit log,
    every version's metadata and canonical lines (Parquet).  Audited."""
    buffer = io.BytesIO()
    with session_scope() as session, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        tenant = session.get(Tenant, ctx.tenant_id)
        settings = {k: getattr(tenant, k) for k in ("slug", "name", "currency", "time_zone", "week_start",
                                                    "fiscal_year_start_month", "keep_versions",
                                                    "store_personal_data")}
        archive.writestr("tenant.json", json.dumps(settings, indent=2))
        users = [{"email": u.email, "role": u.role, "active": u.active} for u in
                 session.scalars(select(User).where(User.tenant_id == ctx.tenant_id))]
        archive.writestr("users.json", json.dumps(users, indent=2))
        mappings = [{"fingerprint": m.fingerprint, "layout": m.layout, "mapping": m.mapping, "header": m.header}
                    for m in session.scalars(select(TenantMapping).where(TenantMapping.tenant_id == ctx.tenant_id))]
        archive.writestr("mappings.json", json.dumps(mappings, indent=2))
        contacts = [{"customer_id": c.customer_id, "email": c.email, "name": c.name} for c in
                    session.scalars(select(CustomerContact).where(CustomerContact.tenant_id == ctx.tenant_id))]
        archive.writestr("contacts.json", json.dumps(contacts, indent=2))
        entries = [{"at": e.at.isoformat(), "action": e.action, "detail": e.detail} for e in
                   session.scalars(select(AuditEntry).where(AuditEntry.tenant_id == ctx.tenant_id))]
        archive.writestr("audit_log.json", json.dumps(entries, indent=2, default=str))
        for dataset in session.scalars(select(Dataset).where(Dataset.tenant_id == ctx.tenant_id)):
            meta = {k: getattr(dataset, k) for k in ("version", "filename", "status", "created_at", "rows_in",
                                                     "import_mode", "source", "cleaning_report", "quality_report")}
            archive.writestr(f"versions/{dataset.version}.json", json.dumps(meta, indent=2, default=str))
            if dataset.status == "ready":
                archive.writestr(f"versions/{dataset.version}.parquet", read_payload(session, dataset.id))
        audit(session, "tenant_exported", tenant_id=ctx.tenant_id, user_id=ctx.user_id, ip=ip,
              detail={"versions": len(list(archive.namelist()))})
    return buffer.getvalue()


def delete_tenant(ctx: PortalContext, confirm_slug: str, *, ip: str | None = None) -> dict[str, Any]:
    """Delete the tenant and everything it holds (users, versions, models, audit entries).

    ``confirm_slug`` must repeat the tenant's slug.  The deletion itself is audited
    in an entry without tenant (it outlives the tenant), with counts only.
    """
    if str(confirm_slug or "").strip() != ctx.tenant_slug:
        raise PrivacyError(f"Type the tenant's slug ({ctx.tenant_slug}) to confirm the deletion.")
    with session_scope() as session:
        counts = {
            "users": len(session.scalars(select(User.id).where(User.tenant_id == ctx.tenant_id)).all()),
            "versions": len(session.scalars(select(Dataset.id).where(Dataset.tenant_id == ctx.tenant_id)).all()),
        }
        session.execute(update(Tenant).where(Tenant.id == ctx.tenant_id).values(current_dataset_id=None))
        session.execute(delete(Tenant).where(Tenant.id == ctx.tenant_id))
        audit(session, "tenant_deleted", tenant_id=None, user_id=None, ip=ip,
              detail={"tenant_slug": ctx.tenant_slug, **counts})
    _drop_caches()
    return counts
