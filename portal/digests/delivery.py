"""Sending the digests: one record per (subscription, slot), created before sending.

:func:`send_due` is what the ``send-digests`` command and the Celery beat task run:

1. For every subscription that is not paused, the latest slot at or before *now*
   (:func:`portal.data.digest_schedule.latest_slot`), if the subscription existed then,
   gets a :class:`DigestSend` row with a fixed Message-ID.  The unique constraint on
   (subscription, slot) makes two schedulers running at once create it once: the
   loser's insert fails and it moves on.
2. Rows that are due (new, or waiting for a retry) are claimed one by one with a
   conditional UPDATE (a lease); only the scheduler whose UPDATE changed the row sends.
3. The digest is computed for the subscriber as they are NOW (role, active status,
   tenant): a deactivated user gets nothing, a viewer no CSV.
4. Just before the message's bytes go out the row becomes ``transmitting``.  If the
   server did not accept the message (connection refused, dropped, 4xx) the row goes
   back to ``pending`` with an exponential back-off; 5xx or too many attempts:
   ``failed``.  If the sender died while transmitting, or the server's answer never
   came, the outcome is unknown and the row becomes ``unknown``: it is NOT sent again
   (at most once per slot) and the owner sees it.  A sender that died before
   transmitting leaves a lease that expires, after which the slot is retried.
5. Every sent digest is in the audit log with its row count.
"""
from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError

from portal.data import digest_schedule as schedule
from portal.platform import smtp
from portal.platform.accounts import audit, record
from portal.platform.db import session_scope
from portal.platform.mail_models import DigestSend, DigestSubscription
from portal.platform.mail_settings import MailSettings, mail_settings
from portal.platform.models import SavedView, User, utcnow
from portal.platform.tenancy import context_for_user

from .tokens import unsubscribe_path

log = logging.getLogger(__name__)


@dataclass
class RunReport:
    created: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    skipped: int = 0
    unknown: int = 0
    details: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (f"digests: {self.created} new slot(s), {self.sent} sent, {self.retrying} to retry, "
                f"{self.failed} failed, {self.skipped} skipped, {self.unknown} unknown")


def message_id_for(subscription_id: int, slot: datetime, settings: MailSettings) -> str:
    return f"<digest-{subscription_id}-{slot:%Y%m%dT%H%M}-{secrets.token_hex(6)}@{settings.mail_domain}>"


def create_due_sends(now: datetime, settings: MailSettings) -> int:
    """Insert the send record of each subscription's latest slot (once; see module doc)."""
    created = 0
    with session_scope() as session:
        subs = list(session.scalars(select(DigestSubscription).where(DigestSubscription.paused.is_(False))))
    zones: dict[int, object] = {}
    for sub in subs:
        tz = zones.get(sub.tenant_id) or zones.setdefault(sub.tenant_id, schedule.tenant_time_zone(sub.tenant_id))
        slot = schedule.latest_slot(sub.frequency, sub.hour, sub.weekday, sub.monthday, tz, now)
        if slot < sub.created_at:
            continue  # subscribed after this slot: the first digest is the next one
        try:
            with session_scope() as session:
                exists = session.scalars(select(DigestSend.id).where(
                    DigestSend.subscription_id == sub.id, DigestSend.slot == slot)).first()
                if exists is not None:
                    continue
                session.add(DigestSend(subscription_id=sub.id, slot=slot,
                                       message_id=message_id_for(sub.id, slot, settings), status="pending",
                                       attempts=0, next_attempt_at=slot, created_at=now))
            created += 1
        except IntegrityError:
            continue  # another scheduler created this slot's record first
    return created


def _claim(send_id: int, now: datetime, settings: MailSettings) -> bool:
    """Take the row for this scheduler; True if this call's UPDATE changed it."""
    with session_scope() as session:
        result = session.execute(
            update(DigestSend)
            .where(DigestSend.id == send_id, or_(
                and_(DigestSend.status == "pending", DigestSend.next_attempt_at <= now),
                and_(DigestSend.status == "sending", DigestSend.lease_until < now)))
            .values(status="sending", lease_until=now + timedelta(seconds=settings.digest_lease_seconds),
                    attempts=DigestSend.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1


def _due_ids(now: datetime, settings: MailSettings) -> list[int]:
    with session_scope() as session:
        # a slot whose senders keep dying before the mail server (e.g. killed while rendering)
        for row in session.scalars(select(DigestSend).where(
                DigestSend.status == "sending", DigestSend.lease_until < now,
                DigestSend.attempts >= settings.digest_max_attempts)):
            row.status, row.lease_until = "failed", None
            row.error = f"Gave up after {row.attempts} attempts that never reached the mail server."
        # a sender that died while transmitting: the outcome is unknown, never resend
        for row in session.scalars(select(DigestSend).where(DigestSend.status == "transmitting",
                                                            DigestSend.lease_until < now)):
            row.status, row.lease_until = "unknown", None
            row.error = "The sender stopped while handing the message to the mail server; it may not have arrived."
        return list(session.scalars(select(DigestSend.id).where(or_(
            and_(DigestSend.status == "pending", DigestSend.next_attempt_at <= now),
            and_(DigestSend.status == "sending", DigestSend.lease_until < now))).order_by(DigestSend.id)))


def send_due(now: datetime | None = None, settings: MailSettings | None = None) -> RunReport:
    """Create this moment's send records and send every due one (see module doc)."""
    settings = settings or mail_settings()
    now = now or utcnow()
    report = RunReport()
    if not settings.can_send:
        raise RuntimeError("SMTP_URL is not set: digests cannot be sent (see docs/CONFIGURATION.md).")
    report.created = create_due_sends(now, settings)
    for send_id in _due_ids(now, settings):
        if not _claim(send_id, now, settings):
            continue  # another scheduler has it
        outcome = send_one(send_id, now, settings)
        setattr(report, outcome, getattr(report, outcome) + 1)
        report.details.append(f"{send_id}:{outcome}")
    log.info(report.line(), extra={"event": "digests_run", "sent": report.sent, "failed": report.failed})
    return report


def _finish(send_id: int, **values) -> None:
    with session_scope() as session:
        row = session.get(DigestSend, send_id)
        for key, value in values.items():
            setattr(row, key, value)


def send_one(send_id: int, now: datetime, settings: MailSettings) -> str:
    """Render and send one claimed record; returns the outcome (sent / retrying / failed /
    skipped / unknown)."""
    with session_scope() as session:
        row = session.get(DigestSend, send_id)
        if row is None:  # the subscription (or its view) was deleted meanwhile
            return "skipped"
        sub = session.get(DigestSubscription, row.subscription_id)
        view = session.get(SavedView, sub.view_id)
        subscriber = session.get(User, sub.subscriber_id)
        owner = session.get(User, sub.owner_id)
        facts = dict(message_id=row.message_id, attempts=row.attempts, slot=row.slot, sub_id=sub.id,
                     tenant_id=sub.tenant_id, paused=sub.paused, subscriber_id=sub.subscriber_id,
                     email=subscriber.email if subscriber else None, owner_email=owner.email if owner else "?",
                     owner_id=sub.owner_id, view_name=view.name, page=view.page,
                     query=str((view.state or {}).get("query") or ""), view_tenant=view.tenant_id,
                     view_shared=view.shared, view_owner=view.owner_id, schedule_args=(
                         sub.frequency, sub.hour, sub.weekday, sub.monthday))
    ctx = context_for_user(facts["subscriber_id"])  # role and active status NOW
    reason = None
    if facts["paused"]:
        reason = "The subscription was paused."
    elif ctx is None:
        reason = "The recipient's account is deactivated: nothing was sent."
    elif not (ctx.tenant_id == facts["tenant_id"] == facts["view_tenant"]):
        reason = "The recipient is not in the view's team."
    elif not (facts["view_shared"] or facts["view_owner"] == facts["subscriber_id"]):
        reason = "The view is no longer shared with the recipient."
    elif ctx.dataset_id is None:
        reason = "The team has no data yet."
    if reason:
        _finish(send_id, status="skipped", error=reason, lease_until=None)
        return "skipped"

    from .render import build_digest, to_message  # the sending side only (kaleido, Chromium)

    tz = schedule.tenant_time_zone(facts["tenant_id"])
    owner_text = ("you subscribed to this view" if facts["owner_id"] == facts["subscriber_id"]
                  else f"{facts['owner_email']} subscribed you to this view")
    try:
        digest = build_digest(
            ctx, view_name=facts["view_name"], page=facts["page"], query=facts["query"],
            schedule_text=schedule.describe(*facts["schedule_args"], tz.key), owner_text=owner_text,
            unsubscribe_url=settings.link(unsubscribe_path(facts["sub_id"], facts["subscriber_id"])),
            settings=settings, now=now)
        message = to_message(digest, to=facts["email"], message_id=facts["message_id"], settings=settings, now=now)
    except Exception as exc:  # noqa: BLE001 - a broken digest must not stop the others
        log.exception("digest could not be built", extra={"event": "digest_error", "send_id": send_id})
        return _retry_or_fail(send_id, facts, now, settings, f"The digest could not be built: {type(exc).__name__}")

    def transmitting() -> None:
        _finish(send_id, status="transmitting")

    try:
        smtp.send(settings.smtp_url, message, timeout=settings.smtp_timeout, before_data=transmitting)
    except smtp.NotAccepted as exc:
        if exc.permanent:
            _finish(send_id, status="failed", error=f"The mail server refused the digest: {exc}", lease_until=None)
            _audit_failure(facts, str(exc))
            return "failed"
        return _retry_or_fail(send_id, facts, now, settings, f"Not accepted by the mail server: {exc}")
    except smtp.OutcomeUnknown as exc:
        _finish(send_id, status="unknown", error=f"It is not known whether the mail server took it: {exc}",
                lease_until=None)
        _audit_failure(facts, str(exc))
        return "unknown"
    rows = digest.list_rows
    with session_scope() as session:
        row = session.get(DigestSend, send_id)
        row.status, row.sent_at, row.rows, row.error, row.lease_until = "sent", utcnow(), rows, None, None
        audit(session, "digest_sent", tenant_id=facts["tenant_id"], user_id=facts["subscriber_id"],
              detail={"subscription_id": facts["sub_id"], "slot": facts["slot"].isoformat(), "rows": rows,
                      "csv": digest.csv_bytes is not None, "list": digest.list_name,
                      "message_id": facts["message_id"], "attempt": facts["attempts"]})
    return "sent"


def _retry_or_fail(send_id: int, facts: dict, now: datetime, settings: MailSettings, error: str) -> str:
    attempts = facts["attempts"]
    if attempts >= settings.digest_max_attempts:
        _finish(send_id, status="failed", error=f"{error} (gave up after {attempts} attempts)", lease_until=None)
        _audit_failure(facts, error)
        return "failed"
    delay = settings.digest_retry_seconds * 2 ** (attempts - 1)
    _finish(send_id, status="pending", error=f"{error}; retrying", lease_until=None,
            next_attempt_at=now + timedelta(seconds=delay))
    return "retrying"


def _audit_failure(facts: dict, error: str) -> None:

    record("digest_failed", tenant_id=facts["tenant_id"], user_id=facts["subscriber_id"],
           detail={"subscription_id": facts["sub_id"], "slot": facts["slot"].isoformat(), "error": error[:500]})
