"""Backup and restore of a whole deployment (docs/BACKUP.md): pg_dump of a fresh PostgreSQL
test database, pg_restore into another, and the portal serves the same data from it with
its caches rebuilt (a new cache folder)."""
from __future__ import annotations

import shutil
import subprocess
import uuid

import pandas as pd
import pytest
from portal_testlib import _pg_engine, build_app, make_settings
from sqlalchemy import text
from sqlalchemy.engine import make_url

from portal.data import mappings, results, storage, tenant_settings
from portal.data.imports import import_dataset
from portal.platform import db
from portal.platform.tenancy import system_context

pytestmark = pytest.mark.skipif(not (shutil.which("pg_dump") and shutil.which("pg_restore")),
                                reason="pg_dump/pg_restore are not installed (apt-get install postgresql-client)")


def _libpq(url: str) -> str:
    """A SQLAlchemy URL as libpq wants it (no +driver)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def test_pg_dump_and_restore_on_a_copy(tmp_path, pg_url, pg_server, alpha_csv):
    app = build_app(make_settings(tmp_path / "origin", database_url=pg_url))
    with app.app_context():
        ctx = system_context("alpha")
        tenant_settings.update_settings(ctx, {"currency": "USD", "keep_versions": 5}, refit=False)
        assert import_dataset("alpha", alpha_csv).ok
        mappings.save_mapping(system_context("alpha"), ["a", "b"], mappings.ColumnMapping.from_json(
            {"fields": {"order_id": "a", "order_date": "b"}}))
        original = storage.load_transactions(system_context("alpha"))
    dump = tmp_path / "portal.dump"
    subprocess.run(["pg_dump", "--format=custom", "--no-owner", f"--file={dump}", _libpq(pg_url)], check=True,
                   timeout=120)
    name = f"test_restore_{uuid.uuid4().hex[:12]}"
    admin = _pg_engine(pg_server)
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    restored_url = pg_url.rsplit("/", 1)[0] + f"/{name}"
    try:
        subprocess.run(["pg_restore", "--no-owner", f"--dbname={_libpq(restored_url)}", str(dump)], check=True,
                       timeout=120)
        copy = build_app(make_settings(tmp_path / "copy", database_url=restored_url), tenants=False)
        with copy.app_context():
            ctx = system_context("alpha")
            assert (ctx.currency, ctx.dataset_id is not None) == ("USD", True)
            pd.testing.assert_frame_equal(storage.load_transactions(ctx), original)
            assert mappings.saved_mapping(ctx, ["b", "a"]) is not None
            cleaned = results.get_result(ctx, "cleaned")  # the cache is empty: rebuilt from the database
            assert cleaned.report.rows_in == len(original)
            assert db.current_revision(db.get_database()) == db.head_revision()
    finally:
        for url, database in list(db._databases.items()):
            if url.endswith(f"/{name}"):
                database.engine.dispose()
                db._databases.pop(url, None)
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
