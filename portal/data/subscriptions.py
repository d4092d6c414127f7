"""Digest subscriptions: the service functions the Saved views page, the CLI and
the tests share.  Every function takes the caller's :class:`PortalContext`.

Rules:

* Subscribing needs the manager role.  A manager or admin subscribes themselves or a
  named, active colleague of the SAME tenant; a view of another tenant, or another
  user's private view, does not exist for the caller (same message as a missing one).
  A colleague can only be sent a view that is shared with the team (or their own).
* Only the subscription's owner (who created it) or an admin of the tenant may pause,
  edit or delete it.
* What a digest holds is decided again at send time from the subscriber's role and
  active status (:mod:`portal.digests.delivery`), never from the subscription.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from portal.platform.accounts import AccountError, audit, normalize_email
from portal.platform.db import session_scope
from portal.platform.mail_models import DigestSend, DigestSubscription
from portal.platform.models import SavedView, User, utcnow
from portal.platform.tenancy import PortalContext

from . import digest_schedule as schedule

NO_VIEW = "No such view."
NO_SUBSCRIPTION = "No such subscription."


@dataclass(frozen=True)
class SubscriptionInfo:
    id: int
    view_id: int
    view_name: str
    view_page: str
    owner_email: str
    subscriber_email: str
    frequency: str
    hour: int
    weekday: int | None
    monthday: int | None
    paused: bool
    unsubscribed: bool
    schedule: str
    #: UTC
    next_send: datetime | None
    #: The next send in the team's time zone, e.g. "2026-12-07 08:00 GMT"
    next_send_local: str
    last_status: str | None
    last_error: str | None
    last_slot: datetime | None
    editable: bool


def _visible_view(session, ctx: PortalContext, view_id: int) -> SavedView:
    view = session.get(SavedView, int(view_id))
    if view is None or view.tenant_id != ctx.tenant_id or not (view.shared or view.owner_id == ctx.user_id):
        raise AccountError(NO_VIEW)
    return view


def _colleague(session, ctx: PortalContext, email: str | None) -> User:
    if not email:
        user = session.get(User, ctx.user_id)
    else:
        user = session.scalars(select(User).where(User.email == normalize_email(email))).one_or_none()
    # another tenant's address answers exactly like an unknown one
    if user is None or user.tenant_id != ctx.tenant_id:
        raise AccountError("No colleague with this email in your team.")
    if not user.active:
        raise AccountError("This colleague's account is deactivated.")
    return user


def subscribe(ctx: PortalContext, view_id: int, *, frequency: str, hour: int, weekday: int | None = None,
              monthday: int | None = None, subscriber_email: str | None = None) -> SubscriptionInfo:
    """Subscribe the caller (or the colleague ``subscriber_email``) to a saved view."""
    if not ctx.has_role("manager") or ctx.user_id is None:
        raise AccountError("Subscribing to digests needs the manager role.")
    try:
        frequency, hour, weekday, monthday = schedule.check_schedule(frequency, hour, weekday, monthday)
    except ValueError as exc:
        raise AccountError(str(exc)) from exc
    with session_scope() as session:
        view = _visible_view(session, ctx, view_id)
        subscriber = _colleague(session, ctx, subscriber_email)
        if subscriber.id != ctx.user_id and not view.shared and view.owner_id != subscriber.id:
            raise AccountError("Share the view with your team before subscribing a colleague to it.")
        sub = DigestSubscription(tenant_id=ctx.tenant_id, view_id=view.id, owner_id=ctx.user_id,
                                 subscriber_id=subscriber.id, frequency=frequency, hour=hour, weekday=weekday,
                                 monthday=monthday, paused=False, created_at=utcnow(), updated_at=utcnow())
        session.add(sub)
        try:
            session.flush()
        except IntegrityError:
            raise AccountError(f"{subscriber.email} is already subscribed to this view.") from None
        audit(session, "digest_subscribed", tenant_id=ctx.tenant_id, user_id=ctx.user_id,
              detail={"subscription_id": sub.id, "view_id": view.id, "subscriber": subscriber.email,
                      "schedule": schedule.describe(frequency, hour, weekday, monthday)})
        sub_id = sub.id
    return get_subscription(ctx, sub_id)


def _editable(session, ctx: PortalContext, sub_id: int) -> DigestSubscription:
    sub = session.get(DigestSubscription, int(sub_id))
    if sub is None or sub.tenant_id != ctx.tenant_id:
        raise AccountError(NO_SUBSCRIPTION)
    if not (sub.owner_id == ctx.user_id or ctx.has_role("admin")):
        raise AccountError("Only the subscription's owner or an admin may change it.")
    return sub


def update_subscription(ctx: PortalContext, sub_id: int, *, frequency: str | None = None, hour: int | None = None,
                        weekday: int | None = None, monthday: int | None = None,
                        paused: bool | None = None) -> SubscriptionInfo:
    """Change the schedule or pause/resume (owner or admin)."""
    with session_scope() as session:
        sub = _editable(session, ctx, sub_id)
        if frequency is not None:
            try:
                values = schedule.check_schedule(frequency, sub.hour if hour is None else hour, weekday, monthday)
            except ValueError as exc:
                raise AccountError(str(exc)) from exc
            sub.frequency, sub.hour, sub.weekday, sub.monthday = values
        elif hour is not None:
            try:
                values = schedule.check_schedule(sub.frequency, hour, sub.weekday, sub.monthday)
            except ValueError as exc:
                raise AccountError(str(exc)) from exc
            sub.hour = values[1]
        if paused is not None:
            sub.paused = bool(paused)
            if not paused:
                sub.unsubscribed_at = None
        sub.updated_at = utcnow()
        audit(session, "digest_changed", tenant_id=ctx.tenant_id, user_id=ctx.user_id,
              detail={"subscription_id": sub.id, "paused": sub.paused,
                      "schedule": schedule.describe(sub.frequency, sub.hour, sub.weekday, sub.monthday)})
    return get_subscription(ctx, sub_id)


def delete_subscription(ctx: PortalContext, sub_id: int) -> None:
    with session_scope() as session:
        sub = _editable(session, ctx, sub_id)
        audit(session, "digest_deleted", tenant_id=ctx.tenant_id, user_id=ctx.user_id,
              detail={"subscription_id": sub.id, "view_id": sub.view_id})
        session.delete(sub)


def list_subscriptions(ctx: PortalContext, now: datetime | None = None) -> list[SubscriptionInfo]:
    """Admins: every subscription of the tenant; others: those they own or receive."""
    with session_scope() as session:
        query = select(DigestSubscription).where(DigestSubscription.tenant_id == ctx.tenant_id)
        if not ctx.has_role("admin"):
            query = query.where(or_(DigestSubscription.owner_id == ctx.user_id,
                                    DigestSubscription.subscriber_id == ctx.user_id))
        subs = list(session.scalars(query.order_by(DigestSubscription.id)))
        return [_info(session, ctx, sub, now) for sub in subs]


def get_subscription(ctx: PortalContext, sub_id: int) -> SubscriptionInfo:
    with session_scope() as session:
        sub = session.get(DigestSubscription, int(sub_id))
        if sub is None or sub.tenant_id != ctx.tenant_id:
            raise AccountError(NO_SUBSCRIPTION)
        return _info(session, ctx, sub)


def _info(session, ctx: PortalContext, sub: DigestSubscription, now: datetime | None = None) -> SubscriptionInfo:
    view = session.get(SavedView, sub.view_id)
    owner = session.get(User, sub.owner_id)
    subscriber = session.get(User, sub.subscriber_id)
    last = session.scalars(select(DigestSend).where(DigestSend.subscription_id == sub.id)
                           .order_by(DigestSend.slot.desc()).limit(1)).first()
    tz = schedule.tenant_time_zone(sub.tenant_id)
    active = not sub.paused and subscriber is not None and subscriber.active
    next_send = schedule.next_slot(sub.frequency, sub.hour, sub.weekday, sub.monthday, tz, now or utcnow()) \
        if active else None
    next_local = ""
    if next_send is not None:

        local = next_send.replace(tzinfo=timezone.utc).astimezone(tz)
        next_local = f"{local:%Y-%m-%d %H:%M} {local.tzname()}"
    return SubscriptionInfo(
        id=sub.id, view_id=sub.view_id, view_name=view.name if view else "?", view_page=view.page if view else "?",
        owner_email=owner.email if owner else "?", subscriber_email=subscriber.email if subscriber else "?",
        frequency=sub.frequency, hour=sub.hour, weekday=sub.weekday, monthday=sub.monthday, paused=sub.paused,
        unsubscribed=sub.unsubscribed_at is not None,
        schedule=schedule.describe(sub.frequency, sub.hour, sub.weekday, sub.monthday, tz.key),
        next_send=next_send, next_send_local=next_local,
        last_status=last.status if last else None, last_error=last.error if last else None,
        last_slot=last.slot if last else None,
        editable=sub.owner_id == ctx.user_id or ctx.has_role("admin"),
    )
