"""Helpers of the digest and account-mail tests: a small two-tenant app wired to a real
SMTP server (mail_testlib.MailServer), contexts of its users, clean-up between tests."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

from portal_testlib import build_app, make_settings

ALPHA_MIX = {"United Kingdom": 0.6, "France": 0.4}


def write_logs(folder: Path) -> dict[str, Path]:
    """alpha: 60 customers, 4 months, UK and France; beta: 25 customers in Germany."""
    from analytics.synthetic import generate_transactions

    paths = {}
    for slug, customers, seed, mix in (("alpha", 60, 5, ALPHA_MIX), ("beta", 25, 6, {"Germany": 1.0})):
        path = folder / f"{slug}.csv"
        generate_transactions(customers, 4, seed=seed, country_mix=mix).to_csv(path, index=False)
        paths[slug] = path
    return paths


def mail_app(tmp_path: Path, logs: dict[str, Path], smtp_url: str, database_url: str | None = None, **extra):
    extra = {"smtp_url": smtp_url, "public_url": "http://portal.test", "digest_charts": False, **extra}
    return build_app(make_settings(tmp_path, database_url=database_url, extra=extra), logs=logs)


def ctx_of(email: str):
    from sqlalchemy import select

    from portal.platform.db import session_scope
    from portal.platform.models import User
    from portal.platform.tenancy import context_for_user

    with session_scope() as session:
        user_id = session.scalars(select(User.id).where(User.email == email)).one()
    return context_for_user(user_id)


def backdate(sub_id: int, when: datetime = datetime(2026, 1, 1)) -> None:
    """Pretend the subscription was made long ago (its first slots are due)."""
    from portal.platform.db import session_scope
    from portal.platform.mail_models import DigestSubscription

    with session_scope() as session:
        session.get(DigestSubscription, sub_id).created_at = when


def sends(sub_id: int | None = None) -> list:
    from sqlalchemy import select

    from portal.platform.db import session_scope
    from portal.platform.mail_models import DigestSend

    with session_scope() as session:
        query = select(DigestSend).order_by(DigestSend.id)
        if sub_id is not None:
            query = query.where(DigestSend.subscription_id == sub_id)
        return list(session.scalars(query))


def clear_digests() -> None:
    from sqlalchemy import delete

    from portal.platform.db import session_scope
    from portal.platform.mail_models import DigestSend, DigestSubscription
    from portal.platform.models import SavedView

    with session_scope() as session:
        session.execute(delete(DigestSend))
        session.execute(delete(DigestSubscription))
        session.execute(delete(SavedView))


def audit_rows(action: str) -> list:
    from sqlalchemy import select

    from portal.platform.db import session_scope
    from portal.platform.models import AuditEntry

    with session_scope() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))
