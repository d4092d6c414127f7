"""Database engine and sessions; Alembic migrations.

One :class:`Database` per URL and process.  Inside a Flask app context the app's
database is used; outside (jobs, scripts) the most recently configured one.
"""
from __future__ import annotations

import fcntl
import logging
import os
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from flask import current_app, has_app_context
from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from .config import PROJECT_ROOT, Settings

log = logging.getLogger(__name__)

ALEMBIC_INI = PROJECT_ROOT / "alembic.ini"
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


class Database:
    """An engine and its session factory."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in a transaction: committed on success, rolled back on error."""
        session = self.sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def ping(self) -> None:
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(
        url, pool_pre_ping=True, pool_size=5, max_overflow=5, pool_recycle=1800,
        connect_args={"connect_timeout": 5} if "psycopg" in url else {},
    )


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers never wait for the writer
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


_databases: dict[str, Database] = {}
_default: Database | None = None
_lock = threading.Lock()


def configure(settings: Settings) -> Database:
    """The process-wide :class:`Database` for ``settings.database_url`` (created once)."""
    global _default
    with _lock:
        database = _databases.get(settings.database_url)
        if database is None:
            database = _databases[settings.database_url] = Database(settings.database_url)
        _default = database
        return database


def get_database() -> Database:
    if has_app_context() and "portal" in current_app.extensions:
        return current_app.extensions["portal"].db
    if _default is None:
        return configure(Settings.from_env())
    return _default


@contextmanager
def session_scope() -> Iterator[Session]:
    """``with session_scope() as session:`` one transaction on the current database."""
    with get_database().session() as session:
        yield session


def _dispose_after_fork() -> None:
    # Connections must not be shared with the parent process (gunicorn workers,
    # background-callback processes): drop the inherited pool without closing it.
    for database in list(_databases.values()):
        database.engine.dispose(close=False)


os.register_at_fork(after_in_child=_dispose_after_fork)


# --------------------------------------------------------------------------
# migrations


def alembic_config(database_url: str):
    config = Config(str(ALEMBIC_INI)) if ALEMBIC_INI.exists() else Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(settings: Settings, revision: str = "head") -> None:
    """``alembic upgrade head`` for ``settings.database_url``, serialised between the
    processes of one machine by a file lock (gunicorn workers starting together)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with file_lock(settings.data_dir / ".migrate.lock"):
        command.upgrade(alembic_config(settings.database_url), revision)


def current_revision(database: Database) -> str | None:
    with database.engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive ``fcntl`` lock on ``path`` (created if needed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
