"""Alembic environment: the URL comes from the caller (portal.platform.db.upgrade) or,
for a bare ``alembic upgrade head``, from the portal settings (DATABASE_URL)."""
from __future__ import annotations

from alembic import context

from portal.platform.config import Settings
from portal.platform.db import make_engine
from portal.platform.models import Base
import portal.platform.mail_models  # noqa: F401,E402 - tables of migration 0005_digests

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    return url or Settings.from_env().database_url


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True,
                      render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = make_engine(_url())
    sqlite = engine.dialect.name == "sqlite"
    try:
        with engine.connect() as connection:
            if sqlite:
                # SQLite alters a table by rebuilding it (copy, drop, rename): with foreign keys on,
                # dropping the old ``tenants`` would cascade to users, views and datasets.  SQLite's
                # own procedure: foreign keys off outside the transaction, checked before commit.
                connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
                connection.commit()
            context.configure(connection=connection, target_metadata=target_metadata,
                              render_as_batch=True)
            with context.begin_transaction():
                context.run_migrations()
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"the migration left rows without their parent: {broken[:5]}")
            if sqlite:
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
