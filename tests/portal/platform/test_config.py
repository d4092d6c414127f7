"""portal.platform.config: environment variables, production refusals, URL rewriting."""
from __future__ import annotations

import subprocess
import sys

import pytest
from portal_testlib import ROOT

from portal.platform.config import DEFAULT_DEMO_PASSWORD, ConfigError, Settings, normalize_database_url


def test_defaults_in_development(tmp_path):
    settings = Settings.from_env({"DATA_DIR": str(tmp_path)})
    assert settings.env == "development" and not settings.production
    assert settings.database_url == f"sqlite:///{tmp_path / 'portal.sqlite3'}"
    assert settings.redis_url is None
    assert settings.max_upload_mb == 200 and settings.max_upload_bytes == 200 * 1024 * 1024
    assert settings.demo_password == DEFAULT_DEMO_PASSWORD
    assert settings.session_cookie_secure is False
    assert settings.auto_setup and settings.seed_demo


@pytest.mark.parametrize("url, expected", [
    ("postgres://u:p@host:5432/db", "postgresql+psycopg://u:p@host:5432/db"),
    ("postgresql://u:p@host/db?sslmode=require", "postgresql+psycopg://u:p@host/db?sslmode=require"),
    ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
    ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
])
def test_postgres_urls_are_rewritten_for_psycopg(url, expected):
    assert normalize_database_url(url) == expected
    assert Settings.from_env({"DATABASE_URL": url}).database_url == expected


def test_production_refuses_without_secret_key():
    with pytest.raises(ConfigError, match="SECRET_KEY is not set"):
        Settings.from_env({"PORTAL_ENV": "production"})


def test_production_defaults(tmp_path):
    settings = Settings.from_env({"PORTAL_ENV": "production", "SECRET_KEY": "x" * 40, "DATA_DIR": str(tmp_path),
                                  "DATABASE_URL": "postgres://u:p@db.internal/portal"})
    assert settings.session_cookie_secure is True
    assert settings.proxy_hops == 1  # right behind the PaaS router; PROXY_HOPS=0 without one
    assert settings.demo_password is None  # no default demo password in production
    assert not settings.auto_setup and not settings.seed_demo
    assert settings.import_sleep_in_tx == 0.0


def test_production_server_does_not_start_without_secret_key(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "PORTAL_ENV": "production", "DATA_DIR": str(tmp_path), "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "wsgi.py"], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 1
    assert "SECRET_KEY is not set" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("name, value", [
    ("MAX_UPLOAD_MB", "lots"), ("MAX_UPLOAD_MB", "0"), ("PORTAL_ENV", "staging"),
    ("SESSION_COOKIE_SECURE", "maybe"), ("DEMO_FIT_MODELS", "later"),
])
def test_invalid_values_are_named(name, value):
    with pytest.raises(ConfigError, match=name):
        Settings.from_env({name: value})


def test_development_secret_key_is_persisted_and_shared(tmp_path):
    first = Settings.from_env({"DATA_DIR": str(tmp_path)}).resolved_secret_key()
    second = Settings.from_env({"DATA_DIR": str(tmp_path)}).resolved_secret_key()
    assert first == second and len(first) == 64
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
    assert Settings.from_env({"DATA_DIR": str(tmp_path), "SECRET_KEY": "given"}).resolved_secret_key() == "given"


PRODUCTION = {"PORTAL_ENV": "production", "DATABASE_URL": "postgres://u:p@db.internal/portal"}


@pytest.mark.parametrize("key", ["x", "short-but-not-empty", "y" * 31])
def test_production_refuses_a_secret_key_under_32_characters(key):
    with pytest.raises(ConfigError, match=f"SECRET_KEY is {len(key)} characters long.*at least 32"):
        Settings.from_env({**PRODUCTION, "SECRET_KEY": key})
    assert Settings.from_env({**PRODUCTION, "SECRET_KEY": "y" * 32}).secret_key == "y" * 32
    # outside production a short key is the developer's business
    assert Settings.from_env({"SECRET_KEY": key}).secret_key == key


def test_production_refuses_sqlite_without_an_explicit_opt_in(tmp_path):
    env = {"PORTAL_ENV": "production", "SECRET_KEY": "k" * 40, "DATA_DIR": str(tmp_path)}
    with pytest.raises(ConfigError, match="Set DATABASE_URL to a PostgreSQL URL, or set ALLOW_LOCAL_DATABASE=1"):
        Settings.from_env(env)
    with pytest.raises(ConfigError, match="ALLOW_LOCAL_DATABASE"):
        Settings.from_env({**env, "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"})
    settings = Settings.from_env({**env, "ALLOW_LOCAL_DATABASE": "1"})
    assert settings.is_sqlite and settings.allow_local_database


def test_settings_built_in_code_are_checked_by_create_app(tmp_path):
    from portal import create_app

    settings = Settings(env="production", secret_key="x", data_dir=tmp_path,
                        database_url=f"sqlite:///{tmp_path / 'p.db'}")
    with pytest.raises(ConfigError, match="SECRET_KEY is 1 characters long"):
        create_app(settings)


def test_production_server_with_a_one_character_key_does_not_start(tmp_path):
    """Both problems in one message; that ``python wsgi.py`` turns the ConfigError into that
    message and exit code 1 without a traceback is tested as a process above."""
    env = {"PATH": "/usr/bin:/bin", "PORTAL_ENV": "production", "SECRET_KEY": "x", "DATA_DIR": str(tmp_path)}
    with pytest.raises(ConfigError) as refused:
        Settings.from_env(env)
    assert "SECRET_KEY is 1 characters long" in str(refused.value) and "DATABASE_URL is not set" in str(refused.value)


@pytest.mark.parametrize("name, value", [("PROXY_HOPS", "-1"), ("LOGIN_RATE_LIMIT", "lots"),
                                         ("MAX_REQUEST_KB", "1"), ("ALLOW_LOCAL_DATABASE", "perhaps")])
def test_new_invalid_values_are_named(name, value):
    with pytest.raises(ConfigError, match=name):
        Settings.from_env({name: value})
