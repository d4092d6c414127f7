"""Tenants, users, passwords and the audit log: the service functions the CLI,
the seeding and the Data page share."""
from __future__ import annotations

import logging
import re
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from .db import session_scope
from .models import ROLES, AuditEntry, Dataset, Tenant, User, new_session_token, utcnow

log = logging.getLogger(__name__)

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD_LENGTH = 10
#: Additions refused for an existing address that one admin may make per hour; beyond
#: it every addition is refused for the hour, so the one answer that must exist
#: (emails are unique logins) cannot be used to enumerate other tenants' users.
MAX_REFUSED_ADDITIONS_PER_HOUR = 10
#: werkzeug's scrypt (N=2**15, r=8, p=1): memory-hard, ~50 ms per check.
PASSWORD_METHOD = "scrypt"
_DUMMY_HASH = generate_password_hash("timing-equaliser-not-a-password", method=PASSWORD_METHOD)


class AccountError(ValueError):
    """A request about tenants or users that cannot be done; the message says why."""


# --------------------------------------------------------------------------
# passwords


def password_problem(password: str, email: str = "") -> str | None:
    """Why ``password`` is too weak, or None: at least 10 characters, at least two
    of lower case / upper case / digits / other characters, and not the email."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"The password must have at least {MIN_PASSWORD_LENGTH} characters."
    classes = sum(
        bool(re.search(pattern, password)) for pattern in (r"[a-z]", r"[A-Z]", r"[0-9]", r"[^a-zA-Z0-9]")
    )
    if classes < 2:
        return "The password must mix at least two kinds of characters (lower case, upper case, digits, symbols)."
    lowered = password.strip().lower()
    email = email.strip().lower()
    if email and (lowered == email or lowered == email.split("@")[0]):
        return "The password must not be the email address."
    return None


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=PASSWORD_METHOD)


def verify_password(user: User | None, password: str) -> bool:
    """Check a password; for an unknown user, spend the same time on a dummy hash."""
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return False
    return check_password_hash(user.password_hash, password)


# --------------------------------------------------------------------------
# tenants and users


def normalize_email(email: str) -> str:
    return email.strip().lower()


def create_tenant(slug: str, name: str) -> Tenant:
    slug = slug.strip().lower()
    if not SLUG_RE.match(slug):
        raise AccountError(
            f"Invalid tenant slug {slug!r}: use lower-case letters, digits and dashes (at most 64)."
        )
    if not name.strip():
        raise AccountError("The tenant name must not be empty.")
    with session_scope() as session:
        if session.scalars(select(Tenant).where(Tenant.slug == slug)).first() is not None:
            raise AccountError(f"Tenant {slug!r} already exists.")
        tenant = Tenant(slug=slug, name=name.strip())
        session.add(tenant)
        session.flush()
        return tenant


def get_tenant(session: Session, slug: str) -> Tenant:
    tenant = session.scalars(select(Tenant).where(Tenant.slug == slug.strip().lower())).one_or_none()
    if tenant is None:
        raise AccountError(f"Unknown tenant {slug!r}.")
    return tenant


def create_user(tenant_id: int, email: str, password: str, role: str, *,
                actor_id: int | None = None, ip: str | None = None) -> User:
    """Add a user to a tenant after checking the email, the role and the password."""
    email = normalize_email(email)
    if not EMAIL_RE.match(email) or len(email) > 254:
        raise AccountError(f"Invalid email address {email!r}.")
    if role not in ROLES:
        raise AccountError(f"Invalid role {role!r}: choose one of {', '.join(ROLES)}.")
    problem = password_problem(password, email)
    if problem:
        raise AccountError(problem)
    with session_scope() as session:
        if actor_id is not None and _refused_additions(session, actor_id) >= MAX_REFUSED_ADDITIONS_PER_HOUR:
            raise AccountError("Too many additions were refused in the last hour; try again later.")
        if session.scalars(select(User).where(User.email == email)).first() is not None:
            # One answer whichever tenant holds the address: it never says which, or that
            # it is another one (the admin's own users are listed on the page anyway).
            message = f"{email!r} cannot be added: a portal login with this address already exists. Use another address."
            if actor_id is not None:
                record_refusal = AuditEntry(tenant_id=tenant_id, user_id=actor_id, action="user_create_refused",
                                            detail={"email": email}, ip=ip, at=utcnow())
                session.add(record_refusal)
                session.commit()
            raise AccountError(message)
        user = User(tenant_id=tenant_id, email=email, password_hash=hash_password(password), role=role,
                    active=True, session_token=new_session_token())
        session.add(user)
        session.flush()
        audit(session, "user_created", tenant_id=tenant_id, user_id=actor_id, ip=ip,
              detail={"email": email, "role": role, "new_user_id": user.id})
        return user


def _refused_additions(session: Session, actor_id: int) -> int:

    return session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.user_id == actor_id, AuditEntry.action == "user_create_refused",
        AuditEntry.at > utcnow() - timedelta(hours=1)))


def set_password(user_id: int, password: str) -> None:
    """Change a password; ends every session of the user (new session token)."""
    with session_scope() as session:
        user = session.get(User, user_id)
        problem = password_problem(password, user.email)
        if problem:
            raise AccountError(problem)
        user.password_hash = hash_password(password)
        user.session_token = new_session_token()
        audit(session, "password_changed", tenant_id=user.tenant_id, user_id=user.id, detail={})


def end_sessions(user_id: int) -> None:
    """End every session of a user on every worker and host (a new session token)."""
    with session_scope() as session:
        user = session.get(User, int(user_id))
        if user is not None:
            user.session_token = new_session_token()


def set_role(tenant_id: int, email: str, role: str, *, actor_id: int | None = None,
             ip: str | None = None) -> User:
    """Change the role of a user of ``tenant_id``; ends the user's sessions (they sign in again
    with the new role)."""
    if role not in ROLES:
        raise AccountError(f"Invalid role {role!r}: choose one of {', '.join(ROLES)}.")
    with session_scope() as session:
        user = session.scalars(
            select(User).where(User.tenant_id == tenant_id, User.email == normalize_email(email))
        ).one_or_none()
        if user is None:
            raise AccountError("No such user in this tenant.")
        if actor_id is not None and user.id == actor_id and role != "admin":
            raise AccountError("You cannot take the admin role from your own account.")
        old = user.role
        user.role = role
        user.session_token = new_session_token()
        audit(session, "role_changed", tenant_id=tenant_id, user_id=actor_id, ip=ip,
              detail={"email": user.email, "from": old, "to": role})
        return user


def set_active(tenant_id: int, email: str, active: bool, *, actor_id: int | None = None,
               ip: str | None = None) -> User:
    """(De)activate a user of ``tenant_id``; deactivation ends the user's sessions."""
    with session_scope() as session:
        user = session.scalars(
            select(User).where(User.tenant_id == tenant_id, User.email == normalize_email(email))
        ).one_or_none()
        if user is None:
            raise AccountError("No such user in this tenant.")
        if actor_id is not None and user.id == actor_id and not active:
            raise AccountError("You cannot deactivate your own account.")
        user.active = active
        user.session_token = new_session_token()
        audit(session, "user_activated" if active else "user_deactivated", tenant_id=tenant_id,
              user_id=actor_id, ip=ip, detail={"email": user.email})
        return user


def list_users(tenant_id: int) -> list[dict[str, Any]]:
    with session_scope() as session:
        users = session.scalars(select(User).where(User.tenant_id == tenant_id).order_by(User.email))
        return [
            {"email": u.email, "role": u.role, "active": u.active,
             "created_at": u.created_at.isoformat(timespec="seconds"),
             "last_login_at": u.last_login_at.isoformat(timespec="seconds") if u.last_login_at else ""}
            for u in users
        ]


def tenant_overview() -> list[dict[str, Any]]:
    """One row per tenant: slug, name, users, current dataset version and rows, models status."""
    with session_scope() as session:
        user_counts = dict(session.execute(select(User.tenant_id, func.count()).group_by(User.tenant_id)).all())
        rows = []
        for tenant in session.scalars(select(Tenant).order_by(Tenant.slug)):
            dataset = session.get(Dataset, tenant.current_dataset_id) if tenant.current_dataset_id else None
            rows.append({
                "slug": tenant.slug, "name": tenant.name, "users": user_counts.get(tenant.id, 0),
                "version": dataset.version if dataset else None,
                "rows": dataset.rows_in if dataset else None,
                "models": dataset.models_status if dataset else None,
            })
        return rows


# --------------------------------------------------------------------------
# audit log


def audit(session: Session, action: str, *, tenant_id: int | None, user_id: int | None = None,
          detail: dict[str, Any] | None = None, ip: str | None = None) -> None:
    """Add an audit entry in ``session``'s transaction."""
    session.add(AuditEntry(tenant_id=tenant_id, user_id=user_id, action=action, detail=detail or {},
                           ip=ip, at=utcnow()))


def record(action: str, *, tenant_id: int | None, user_id: int | None = None,
           detail: dict[str, Any] | None = None, ip: str | None = None) -> None:
    """Add an audit entry in its own transaction."""
    with session_scope() as session:
        audit(session, action, tenant_id=tenant_id, user_id=user_id, detail=detail, ip=ip)


def audit_entries(tenant_id: int, limit: int = 100) -> list[AuditEntry]:
    with session_scope() as session:
        return list(session.scalars(
            select(AuditEntry).where(AuditEntry.tenant_id == tenant_id)
            .order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)
        ))
