"""Demo data: two tenants with synthetic logs of different sizes and countries, and
an admin, a manager and a viewer in each.  Idempotent: what exists is kept.

Demo passwords: ``DEMO_PASSWORD``, or outside production the documented
default :data:`portal.platform.config.DEFAULT_DEMO_PASSWORD`.  In production without
``DEMO_PASSWORD`` seeding refuses.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import select

from analytics.synthetic import generate_transactions

from ..platform import accounts
from ..platform.db import file_lock, session_scope
from ..platform.models import Tenant, User
from .imports import import_dataset
from .jobs import fit_dataset_models, spawn_fit

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemoTenant:
    slug: str
    name: str
    customers: int
    months: int
    seed: int
    country_mix: dict[str, float] = field(default_factory=dict)


DEMO_TENANTS = (
    DemoTenant("acme", "Acme Retail Ltd", 3000, 24, 11, {
        "United Kingdom": 0.86, "EIRE": 0.04, "Germany": 0.03, "France": 0.03, "Netherlands": 0.02,
        "Spain": 0.01, "Belgium": 0.01}),
    DemoTenant("globex", "Globex Handels GmbH", 800, 18, 22, {
        "Germany": 0.55, "France": 0.3, "Switzerland": 0.06, "Austria": 0.05, "Belgium": 0.04}),
)
DEMO_ROLES = ("admin", "manager", "viewer")


class SeedError(RuntimeError):
    pass


def demo_email(role: str, slug: str) -> str:
    return f"{role}@{slug}.example"


def demo_logins(password: str) -> list[tuple[str, str, str, str]]:
    return [(t.slug, role, demo_email(role, t.slug), password) for t in DEMO_TENANTS for role in DEMO_ROLES]


def generate_demo_log(tenant: DemoTenant):
    return generate_transactions(tenant.customers, tenant.months, seed=tenant.seed,
                                           country_mix=tenant.country_mix)


def seed_demo(*, password: str | None = None, fit_models: str = "sync",
              echo=lambda line: None) -> list[int]:
    """Create the demo tenants, users and datasets that are missing.

    ``fit_models``: ``"sync"`` fits after each import, ``"spawn"`` starts a
    detached process per dataset, ``"skip"`` leaves the models pending.
    Returns the ids of the datasets imported now.
    """
    settings = current_app.extensions["portal"].settings
    password = password or settings.demo_password
    if not password:
        raise SeedError("DEMO_PASSWORD is not set: in production the demo logins need an explicit password.")
    imported: list[int] = []
    with file_lock(settings.data_dir / ".seed.lock"):
        for demo in DEMO_TENANTS:
            tenant_id, has_data = _ensure_tenant(demo)
            for role in DEMO_ROLES:
                _ensure_user(tenant_id, demo_email(role, demo.slug), password, role)
            if has_data:
                continue
            echo(f"Generating the demo log of {demo.slug} ({demo.customers:,} customers)...")
            frame = generate_demo_log(demo)
            outcome = import_dataset(demo.slug, frame.to_parquet(index=False), f"{demo.slug}-demo.parquet")
            if not outcome.ok:
                raise SeedError(f"Demo import of {demo.slug} failed: {outcome.error}")
            echo(f"  {outcome.message}")
            imported.append(outcome.dataset_id)
    for dataset_id in imported:
        if fit_models == "sync":
            status = fit_dataset_models(dataset_id)
            echo(f"  models of dataset {dataset_id}: {status}")
        elif fit_models == "spawn":
            spawn_fit(dataset_id)
    return imported


def _ensure_tenant(demo: DemoTenant) -> tuple[int, bool]:
    with session_scope() as session:
        tenant = session.scalars(select(Tenant).where(Tenant.slug == demo.slug)).one_or_none()
        if tenant is not None:
            return tenant.id, tenant.current_dataset_id is not None
    try:
        tenant = accounts.create_tenant(demo.slug, demo.name)
    except accounts.AccountError:  # created meanwhile by another process
        with session_scope() as session:
            tenant = session.scalars(select(Tenant).where(Tenant.slug == demo.slug)).one()
    return tenant.id, False


def _ensure_user(tenant_id: int, email: str, password: str, role: str) -> None:
    with session_scope() as session:
        if session.scalars(select(User).where(User.email == email)).first() is not None:
            return
    accounts.create_user(tenant_id, email, password, role)



def print_logins(logins, echo=print) -> None:
    echo("Demo logins (tenant, role, email, password):")
    for slug, role, email, password in logins:
        echo(f"  {slug:<8} {role:<8} {email:<24} {password}")
