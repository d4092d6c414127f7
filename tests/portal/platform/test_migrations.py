"""Upgrading a database that holds data keeps every row (issue 15's table rebuilds on SQLite
once cascaded to users and saved views: SQLite rebuilds a table to alter it, and with
foreign keys on, dropping the old ``tenants`` table deleted what referenced it)."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from portal.platform import db


def _fill(engine) -> None:
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO tenants (id, slug, name, created_at, updated_at) "
                                "VALUES (1, 'shop', 'Shop Ltd', '2026-01-01', '2026-01-01')"))
        connection.execute(text("INSERT INTO users (id, tenant_id, email, password_hash, role, active, "
                                "session_token, created_at) VALUES (1, 1, 'ann@shop.example', 'x', 'admin', TRUE, "
                                "'t', '2026-01-01')"))
        connection.execute(text("INSERT INTO saved_views (id, tenant_id, owner_id, name, page, state, shared, "
                                "created_at, updated_at) VALUES (1, 1, 1, 'Champions', '/segments', "
                                "'{\"query\": \"?segment=Champions\"}', TRUE, '2026-01-01', '2026-01-01')"))
        connection.execute(text("INSERT INTO audit_log (id, tenant_id, user_id, action, detail, at) "
                                "VALUES (1, 1, 1, 'login', '{}', '2026-01-01')"))


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_upgrading_from_the_first_revision_keeps_every_row(backend, tmp_path, request):
    from portal_testlib import make_settings

    url = request.getfixturevalue("pg_url") if backend == "postgresql" else None
    settings = make_settings(tmp_path, database_url=url)
    db.upgrade(settings, "0001_initial")
    engine = db.make_engine(settings.database_url)
    try:
        _fill(engine)
        db.upgrade(settings, "head")
        with engine.connect() as connection:
            counts = {table: connection.execute(text(f"SELECT count(*) FROM {table}")).scalar()
                      for table in ("tenants", "users", "saved_views", "audit_log")}
            currency = connection.execute(text("SELECT currency FROM tenants")).scalar()
            if backend == "sqlite":
                assert connection.execute(text("PRAGMA foreign_key_check")).fetchall() == []
    finally:
        engine.dispose()
    assert counts == {"tenants": 1, "users": 1, "saved_views": 1, "audit_log": 1}
    assert currency == "GBP"
