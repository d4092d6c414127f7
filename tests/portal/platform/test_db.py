"""portal.platform.db and the Alembic migrations, on SQLite and PostgreSQL."""
from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from portal_testlib import make_settings
from sqlalchemy import inspect

import portal.platform.mail_models  # noqa: F401 - the digests' tables are part of the metadata
from portal.platform import db
from portal.platform.models import Base

TABLES = {"tenants", "users", "saved_views", "audit_log", "datasets", "dataset_payloads", "dataset_results",
          "digest_subscriptions", "digest_sends", "account_tokens", "tenant_mappings", "customer_contacts", "alembic_version",
          "login_attempts", "staged_uploads", "staged_upload_chunks", "model_records"}


@pytest.fixture(params=["sqlite", "postgresql"])
def settings(request, tmp_path):
    if request.param == "postgresql":
        return make_settings(tmp_path, database_url=request.getfixturevalue("pg_url"))
    return make_settings(tmp_path)


def test_upgrade_creates_the_schema_the_models_describe(settings):
    db.upgrade(settings)
    database = db.configure(settings)
    with database.engine.connect() as connection:
        assert set(inspect(connection).get_table_names()) == TABLES
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    assert db.current_revision(database) == db.head_revision()


def test_upgrade_is_idempotent_and_downgrade_round_trips(settings):
    db.upgrade(settings)
    db.upgrade(settings)
    command.downgrade(db.alembic_config(settings.database_url), "base")
    database = db.configure(settings)
    with database.engine.connect() as connection:
        assert set(inspect(connection).get_table_names()) <= {"alembic_version"}
    db.upgrade(settings)
    assert db.current_revision(database) == db.head_revision()


def test_session_scope_commits_and_rolls_back(settings):
    from portal.platform.models import Tenant

    db.upgrade(settings)
    database = db.configure(settings)
    with database.session() as session:
        session.add(Tenant(slug="kept", name="Kept"))
    with pytest.raises(RuntimeError):
        with database.session() as session:
            session.add(Tenant(slug="dropped", name="Dropped"))
            session.flush()
            raise RuntimeError("boom")
    with database.session() as session:
        assert [t.slug for t in session.query(Tenant)] == ["kept"]
