"""Tables of the digests and the account e-mails (created by migration ``0005_digests``).

* :class:`DigestSubscription`: who receives which saved view, how often, at which hour
  of the tenant's time zone; ``owner_id`` created it (a manager or admin of the tenant),
  ``subscriber_id`` receives it (the owner or a colleague of the same tenant).
* :class:`DigestSend`: one row per (subscription, schedule slot), inserted BEFORE the
  e-mail is sent, with the e-mail's fixed Message-ID.  The unique constraint makes the
  insert the lock: of two schedulers that reach a slot together, one wins the row and
  the other moves on.  ``status`` walks pending -> sending -> transmitting -> sent, or
  back to pending (retry with back-off) when the SMTP server did not accept the message.
* :class:`AccountToken`: a single-use, expiring link of an invitation or a password reset
  (the link carries a signed id and a secret whose SHA-256 is stored here).

Times are naive UTC, as in :mod:`portal.platform.models`.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.platform.models import Base, utcnow

FREQUENCIES = ("daily", "weekly", "monthly")
SEND_STATUSES = ("pending", "sending", "transmitting", "sent", "failed", "skipped", "unknown")
TOKEN_PURPOSES = ("invite", "reset")


class DigestSubscription(Base):
    __tablename__ = "digest_subscriptions"
    __table_args__ = (UniqueConstraint("view_id", "subscriber_id", name="uq_digest_subscriptions_view_subscriber"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    view_id: Mapped[int] = mapped_column(ForeignKey("saved_views.id", ondelete="CASCADE"))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    frequency: Mapped[str] = mapped_column(String(8))
    #: weekly: 0 = Monday ... 6 = Sunday
    weekday: Mapped[int | None] = mapped_column(Integer)
    #: monthly: 1..31 (a short month sends on its last day)
    monthday: Mapped[int | None] = mapped_column(Integer)
    #: 0..23, in the tenant's time zone
    hour: Mapped[int] = mapped_column(Integer)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    unsubscribed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class DigestSend(Base):
    __tablename__ = "digest_sends"
    __table_args__ = (
        UniqueConstraint("subscription_id", "slot", name="uq_digest_sends_slot"),
        UniqueConstraint("message_id", name="uq_digest_sends_message_id"),
        Index("ix_digest_sends_status_next", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("digest_subscriptions.id", ondelete="CASCADE"))
    #: The scheduled time of the slot, UTC.
    slot: Mapped[datetime]
    message_id: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: While a scheduler works on the row: until when the row is its own.
    lease_until: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    rows: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


class AccountToken(Base):
    __tablename__ = "account_tokens"
    __table_args__ = (UniqueConstraint("secret_hash", name="uq_account_tokens_secret"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(8))
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
