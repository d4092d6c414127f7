"""Who is asking, for which tenant: the ONE place that answers it.

:func:`current_context` resolves the tenant, the user, the role and the current
dataset from the logged-in session (or, inside a background job, from the
context the web process attached when it started the job).  Everything that
reads tenant data takes the returned :class:`PortalContext`; nothing takes a
tenant, dataset or user id from the browser as authority.
"""
from __future__ import annotations

import functools
from dataclasses import asdict, dataclass
from typing import Any, Callable, TypeVar

from flask import g, has_request_context
from flask_login import current_user
from sqlalchemy import select
from werkzeug.exceptions import Forbidden, Unauthorized

from .dash_compat import callback_context_value
from .db import session_scope
from .models import ROLES, Tenant, User

F = TypeVar("F", bound=Callable[..., Any])

#: Key under which a background job finds the context of the user who started it.
JOB_CONTEXT_KEY = "portal_context"


class NotAuthenticated(Unauthorized):
    description = "Log in to see this."


class RoleRequired(Forbidden):
    description = "Your role does not allow this."


@dataclass(frozen=True)
class PortalContext:
    tenant_id: int
    tenant_slug: str
    tenant_name: str
    user_id: int | None
    email: str | None
    role: str
    dataset_id: int | None
    #: The tenant's ISO 4217 currency (analytics.units.format_money) and IANA time zone.
    currency: str = "GBP"
    time_zone: str = "Europe/London"
    #: The tenant's first day of the week (0 = Monday) and fiscal year start month (1 = January),
    #: for the date presets and period comparisons (analytics.periods).
    week_start: int = 0
    fiscal_year_start_month: int = 1

    def has_role(self, role: str) -> bool:
        return role_rank(self.role) >= role_rank(role)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def role_rank(role: str) -> int:
    """viewer < manager < admin; the ``system`` role (CLI, jobs) is above all."""
    if role == "system":
        return len(ROLES)
    return ROLES.index(role) if role in ROLES else -1


def context_for_user(user_id: int, session_token: str | None = None) -> PortalContext | None:
    """The context of an active user (and, if given, a still-valid session token)."""
    with session_scope() as session:
        user = session.get(User, user_id)
        if user is None or not user.active:
            return None
        if session_token is not None and user.session_token != session_token:
            return None
        tenant = session.get(Tenant, user.tenant_id)
        return PortalContext(
            tenant_id=tenant.id, tenant_slug=tenant.slug, tenant_name=tenant.name,
            user_id=user.id, email=user.email, role=user.role,
            dataset_id=tenant.current_dataset_id, currency=tenant.currency, time_zone=tenant.time_zone,
            week_start=tenant.week_start, fiscal_year_start_month=tenant.fiscal_year_start_month,
        )


def system_context(tenant_slug: str) -> PortalContext:
    """A context for trusted server-side code (CLI, seeding, jobs) acting on one tenant."""
    with session_scope() as session:
        tenant = session.scalars(select(Tenant).where(Tenant.slug == tenant_slug)).one_or_none()
        if tenant is None:
            raise LookupError(f"Unknown tenant {tenant_slug!r}.")
        return PortalContext(
            tenant_id=tenant.id, tenant_slug=tenant.slug, tenant_name=tenant.name,
            user_id=None, email=None, role="system", dataset_id=tenant.current_dataset_id,
            currency=tenant.currency, time_zone=tenant.time_zone,
            week_start=tenant.week_start, fiscal_year_start_month=tenant.fiscal_year_start_month,
        )


def current_context() -> PortalContext:
    """The caller's context; raises :class:`NotAuthenticated` (401) without a login.

    Resolved once per request (so one request sees one dataset version) and
    always from server-side state: the signed session cookie, the database, or
    the job context the web process attached itself.
    """
    if has_request_context():
        cached = g.get("_portal_context")
        if cached is not None:
            return cached
    job_context = _job_context()
    if job_context is not None:
        ctx = context_for_user(job_context["user_id"], job_context["session_token"])
        if ctx is None:
            raise NotAuthenticated()
        return ctx
    if not has_request_context():
        raise NotAuthenticated()
    if not current_user.is_authenticated:
        raise NotAuthenticated()
    ctx = context_for_user(current_user.user_id, current_user.session_token)
    if ctx is None:
        raise NotAuthenticated()
    g._portal_context = ctx
    return ctx


def _job_context() -> dict | None:
    """The context attached by :mod:`portal.data.background` to a background callback run."""
    try:
        value = callback_context_value()
    except LookupError:
        return None
    return value.get(JOB_CONTEXT_KEY) if hasattr(value, "get") else None


def require_role(role: str) -> Callable[[F], F]:
    """Decorator for views and callbacks: 401 without a login, 403 below ``role``."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            check_role(role)
            return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def check_role(role: str) -> PortalContext:
    ctx = current_context()
    if not ctx.has_role(role):
        raise RoleRequired()
    return ctx
