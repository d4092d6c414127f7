"""ORM tables (SQLAlchemy 2 typed mappings). The schema itself is created and
changed only by the Alembic migrations in ``portal/migrations``.

Times are naive UTC (:func:`utcnow`) in every table, on SQLite and PostgreSQL alike.
"""
from __future__ import annotations

import secrets
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

ROLES = ("viewer", "manager", "admin")
DATASET_STATUSES = ("importing", "ready", "failed")
MODEL_STATUSES = ("pending", "running", "ready", "failed")


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def new_session_token() -> str:
    return secrets.token_hex(16)


def new_view_token() -> str:
    """256 random bits, URL-safe: a saved view's link cannot be guessed or enumerated."""
    return secrets.token_urlsafe(32)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, datetime: DateTime()}


class Tenant(Base):
    __tablename__ = "tenants"
    __table_args__ = (UniqueConstraint("slug", name="uq_tenants_slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    current_dataset_id: Mapped[int | None] = mapped_column(
        ForeignKey("datasets.id", use_alter=True, name="fk_tenants_current_dataset", ondelete="SET NULL")
    )
    #: Settings (migration 0004_tenant_settings; validated in portal.data.tenant_settings).
    currency: Mapped[str] = mapped_column(String(3), default="GBP", server_default="GBP")
    time_zone: Mapped[str] = mapped_column(String(64), default="Europe/London", server_default="Europe/London")
    week_start: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # 0 = Monday
    fiscal_year_start_month: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    keep_versions: Mapped[int] = mapped_column(Integer, default=10, server_default="10")
    store_personal_data: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: CLV purchase model: "auto" (chosen on a holdout) or one forced (bgnbd / mbgnbd / pnbd); migration 0007.
    clv_model: Mapped[str] = mapped_column(String(8), default="auto", server_default="auto")
    #: Secret of the tenant's customer-id hashes (portal.data.privacy); made on first use.
    privacy_salt: Mapped[str | None] = mapped_column(String(64))

    users: Mapped[list["User"]] = relationship(back_populates="tenant", order_by="User.email")
    current_dataset: Mapped["Dataset | None"] = relationship(foreign_keys=[current_dataset_id])


class User(Base):
    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("email", name="uq_users_email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Part of the login cookie; replaced on a password change or deactivation,
    #: which ends every session of the user.
    session_token: Mapped[str] = mapped_column(String(64), default=new_session_token)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]

    tenant: Mapped[Tenant] = relationship(back_populates="users")


class SavedView(Base):
    __tablename__ = "saved_views"
    __table_args__ = (UniqueConstraint("tenant_id", "owner_id", "page", "name", name="uq_saved_views_name"),
                      UniqueConstraint("token", name="uq_saved_views_token"))

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))
    page: Mapped[str] = mapped_column(String(120))
    state: Mapped[dict[str, Any]] = mapped_column(default=dict)
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Opens the view: ``/v/<token>`` (migration 0006_view_tokens).
    token: Mapped[str] = mapped_column(String(43), default=new_view_token)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEntry(Base):
    """One security- or data-relevant event. ``tenant_id`` is empty for a failed
    login with an unknown email."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_tenant_at", "tenant_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(40))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    ip: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class Dataset(Base):
    """One uploaded version of a tenant's transaction log (failed uploads included)."""

    __tablename__ = "datasets"
    __table_args__ = (UniqueConstraint("tenant_id", "version", name="uq_datasets_tenant_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    filename: Mapped[str] = mapped_column(String(255))
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default="importing")
    error: Mapped[str | None] = mapped_column(Text)
    source: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    cleaning_report: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    rows_in: Mapped[int | None]
    rows_clean: Mapped[int | None]
    customers: Mapped[int | None]
    orders: Mapped[int | None]
    payload_bytes: Mapped[int | None] = mapped_column(BigInteger)
    models_status: Mapped[str] = mapped_column(String(16), default="pending")
    models_progress: Mapped[float] = mapped_column(Float, default=0.0)
    models_message: Mapped[str | None] = mapped_column(Text)
    models_started_at: Mapped[datetime | None]
    #: Heartbeat of the model-fitting job; older than JOB_STALE_MINUTES = dead job.
    models_updated_at: Mapped[datetime | None]
    #: Data-quality report of the import (analytics.mapping.QualityReport + append duplicates).
    quality_report: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: "replace", "append" or "rezone" (re-derived in a new time zone).
    import_mode: Mapped[str | None] = mapped_column(String(16))


class TenantMapping(Base):
    """A tenant's column mapping for one header (fingerprint), reused on the next upload."""

    __tablename__ = "tenant_mappings"
    __table_args__ = (UniqueConstraint("tenant_id", "fingerprint", name="uq_tenant_mappings_fingerprint"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    fingerprint: Mapped[str] = mapped_column(String(64))
    layout: Mapped[str] = mapped_column(String(64))
    mapping: Mapped[dict[str, Any]] = mapped_column(JSON)
    header: Mapped[list[Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class CustomerContact(Base):
    """E-mail and name of a customer: stored only when the tenant opts in (store_personal_data)."""

    __tablename__ = "customer_contacts"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    email: Mapped[str | None] = mapped_column(String(254))
    name: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class DatasetPayload(Base):
    """The canonical transactions of a dataset as Parquet (zstd), in chunks."""

    __tablename__ = "dataset_payloads"

    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True)
    chunk_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class DatasetResult(Base):
    """A stored, named result of a dataset (fitted models), shared by all hosts."""

    __tablename__ = "dataset_results"

    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    format: Mapped[str] = mapped_column(String(16), default="pickle")
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LoginAttempt(Base):
    """One FAILED sign-in (successful ones are not kept): the shared counter of the
    login limits, read by every worker and host (:mod:`portal.platform.login_limits`)."""

    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_address_at", "address", "at"),
                      Index("ix_login_attempts_account_at", "account", "at"),
                      Index("ix_login_attempts_at", "at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    address: Mapped[str] = mapped_column(String(64))
    account: Mapped[str] = mapped_column(String(254))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class StagedUpload(Base):
    """A file an admin uploaded through ``POST /upload``, waiting for its import job
    (:mod:`portal.data.uploads`).  The job finds it by its unguessable ``token`` and only
    for the same user and tenant; it is deleted once imported (or after a day)."""

    __tablename__ = "staged_uploads"

    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    filename: Mapped[str] = mapped_column(String(255))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class StagedUploadChunk(Base):
    """The bytes of a staged upload, in chunks (shared by every host, like the payloads)."""

    __tablename__ = "staged_upload_chunks"

    token: Mapped[str] = mapped_column(ForeignKey("staged_uploads.token", ondelete="CASCADE"), primary_key=True)
    chunk_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class ModelRecord(Base):
    """A fitted model of a dataset as a versioned record (see :mod:`portal.data.model_store`).

    ``record`` holds the bytes of the model's ``to_record()`` (a JSON header, then the
    payload); the header's versions are copied into columns so that a record written
    by another format or library version is found, and refused, without decoding it.
    One row per (dataset, name): "results" today; later one per CLV candidate, the
    churn calibrator, the per-customer interval draws..."""

    __tablename__ = "model_records"
    __table_args__ = (UniqueConstraint("dataset_id", "name", name="uq_model_records_dataset_name"),
                      Index("ix_model_records_tenant_id", "tenant_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(64))
    format_version: Mapped[int] = mapped_column(Integer)
    project_version: Mapped[str] = mapped_column(String(32))
    library_versions: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    dataset_version: Mapped[str] = mapped_column(String(64))
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    record: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
