"""Settings from environment variables: one frozen dataclass, read once per app.

Every variable, its default and its meaning is listed in ``docs/CONFIGURATION.md``;
keep that table and :meth:`Settings.from_env` in step.
"""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Mapping

from limits import parse

PROJECT_ROOT = Path(__file__).resolve().parents[2]

#: Documented demo password, used for the demo logins only outside production.
DEFAULT_DEMO_PASSWORD = "demo-portal-2024"

ENVIRONMENTS = ("development", "production", "test")
#: Shortest SECRET_KEY accepted in production (a short key can be brute-forced offline
#: from any signed cookie, which then forges every session).
MIN_SECRET_KEY_LENGTH = 32
BACKGROUND_JOBS = ("auto", "diskcache", "celery")


class ConfigError(RuntimeError):
    """A setting is missing or invalid; the message says which and what to do."""


def normalize_database_url(url: str) -> str:
    """Accept the ``postgres://`` / ``postgresql://`` URLs PaaS providers hand out
    and route them to the psycopg 3 driver SQLAlchemy needs."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    value = env.get(name)
    if value is None or value.strip() == "":
        return default
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be a yes/no value (1/0, true/false), got {value!r}.")


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}.") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}.")
    return value


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...], default: str) -> str:
    value = env.get(name, "").strip().lower() or default
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {value!r}.")
    return value


@dataclass(frozen=True)
class Settings:
    """Everything the portal reads from its environment (see docs/CONFIGURATION.md)."""

    env: str = "development"
    secret_key: str = ""
    database_url: str = ""
    redis_url: str | None = None
    data_dir: Path = PROJECT_ROOT / "data"
    max_upload_mb: int = 200
    cache_timeout: int = 7 * 24 * 3600
    lru_max_mb: int = 512
    #: Memory bound of the per-process memo of rendered page callbacks (figures, tables).
    view_cache_mb: int = 64
    #: FAILED sign-ins allowed per client address in the window (limits notation); then
    #: that address gets 429 with Retry-After until the window has passed.
    login_rate_limit: str = "10 per minute"
    #: Failed sign-ins of one account (from any address) before it is slowed down.
    login_account_free_failures: int = 5
    #: Longest wait between two sign-in attempts of a slowed-down account (never a lockout).
    login_account_max_delay_s: int = 60
    #: Proxies in front of the app whose X-Forwarded-For/-Proto/-Host are trusted
    #: (1 right behind a PaaS router; 0 when clients connect directly).
    proxy_hops: int = 0
    #: Largest request body except uploads (413 before it is read).
    max_request_kb: int = 1024
    #: Largest decompressed size of a compressed upload (XLSX, .gz, Parquet) and most rows.
    max_decompressed_mb: int = 1024
    max_import_rows: int = 5_000_000
    #: Rows of a customer list a viewer's grid shows (the first ones, no paging beyond).
    viewer_list_rows: int = 100
    #: Token that opens the detailed /healthz (header X-Health-Token); admins see it too.
    health_token: str | None = None
    #: Production only: run on a local SQLite file anyway (data lost when the disk is).
    allow_local_database: bool = False
    demo_password: str | None = None
    session_cookie_secure: bool = False
    auto_setup: bool = True
    seed_demo: bool = True
    job_stale_minutes: int = 10
    #: Seconds before Redis re-delivers a job whose worker was lost (Celery, acks late).
    job_visibility_timeout_s: int = 300
    #: Who may read /metrics: clients in these networks (comma-separated CIDRs), or with the token.
    metrics_allowed_networks: str = "127.0.0.1/32,::1/128"
    metrics_token: str = ""
    #: Namespace of cache, lock and rate-limit keys in a shared Redis.
    cache_prefix: str = "portal"
    #: How seeding fits the demo models: spawn (detached processes), sync or skip.
    demo_fit_models: str = "spawn"
    #: Where background callbacks and model fitting run: auto (celery when
    #: ``redis_url`` is set, else diskcache), diskcache (this machine) or celery.
    background_jobs: str = "auto"
    log_level: str = "INFO"
    #: Test hook: seconds to sleep inside the import transaction (never set in production).
    import_sleep_in_tx: float = 0.0
    extra: dict = field(default_factory=dict, compare=False)

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def max_upload_bytes(self) -> int:
        return self.max_upload_mb * 1024 * 1024

    @property
    def max_request_bytes(self) -> int:
        return self.max_request_kb * 1024

    @property
    def max_decompressed_bytes(self) -> int:
        return self.max_decompressed_mb * 1024 * 1024

    def production_problems(self) -> list[str]:
        """What in these settings must not run in production (empty outside production)."""
        if not self.production:
            return []
        problems = []
        if not self.secret_key:
            problems.append(
                "SECRET_KEY is not set. In production (PORTAL_ENV=production) the portal refuses "
                "to start without it: set SECRET_KEY to a long random value, e.g. the output of "
                "`python -c \"import secrets; print(secrets.token_hex(32))\"`.")
        elif len(self.secret_key) < MIN_SECRET_KEY_LENGTH:
            problems.append(
                f"SECRET_KEY is {len(self.secret_key)} characters long; production needs at least "
                f"{MIN_SECRET_KEY_LENGTH} random characters, e.g. the output of "
                "`python -c \"import secrets; print(secrets.token_hex(32))\"`.")
        if self.is_sqlite and not self.allow_local_database:
            problems.append(
                "DATABASE_URL is not set, so production would keep every tenant's data in a SQLite file "
                "on this machine's disk, which a PaaS wipes on every restart. Set DATABASE_URL to a "
                "PostgreSQL URL, or set ALLOW_LOCAL_DATABASE=1 if this disk is really persistent.")
        return problems

    def check_production(self) -> None:
        problems = self.production_problems()
        if problems:
            raise ConfigError(" ".join(problems))

    @property
    def cache_dir(self) -> Path:
        return self.data_dir / "cache"

    @property
    def jobs_dir(self) -> Path:
        return self.data_dir / "jobs"

    @property
    def uses_celery(self) -> bool:
        """Background callbacks and model fitting go to Celery workers (on ``redis_url``)."""
        return self.background_jobs == "celery" or (self.background_jobs == "auto" and bool(self.redis_url))

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def with_overrides(self, **changes) -> "Settings":
        return replace(self, **changes)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        env = dict(os.environ if environ is None else environ)
        mode = env.get("PORTAL_ENV", "development").strip().lower() or "development"
        if mode not in ENVIRONMENTS:
            raise ConfigError(f"PORTAL_ENV must be one of {', '.join(ENVIRONMENTS)}, got {mode!r}.")
        production = mode == "production"
        data_dir = Path(env.get("DATA_DIR") or PROJECT_ROOT / "data").expanduser().resolve()
        database_url = normalize_database_url(
            env.get("DATABASE_URL", "").strip() or f"sqlite:///{data_dir / 'portal.sqlite3'}"
        )
        secret_key = env.get("SECRET_KEY", "").strip()
        demo_password = env.get("DEMO_PASSWORD") or (None if production else DEFAULT_DEMO_PASSWORD)
        try:
            sleep = float(env.get("PORTAL_TEST_IMPORT_SLEEP", "0") or 0)
        except ValueError:
            raise ConfigError("PORTAL_TEST_IMPORT_SLEEP must be a number of seconds.") from None
        redis_url = env.get("REDIS_URL", "").strip() or None
        background_jobs = _choice(env, "BACKGROUND_JOBS", BACKGROUND_JOBS, "auto")
        if background_jobs == "celery" and not redis_url:
            raise ConfigError("BACKGROUND_JOBS=celery needs REDIS_URL (the Celery broker and result store); "
                              "set REDIS_URL or use BACKGROUND_JOBS=diskcache.")
        login_rate_limit = env.get("LOGIN_RATE_LIMIT", "").strip() or "10 per minute"
        try:

            parse(login_rate_limit)
        except ValueError:
            raise ConfigError(f"LOGIN_RATE_LIMIT must look like '10 per minute', got {login_rate_limit!r}.") from None
        settings = cls(
            env=mode,
            secret_key=secret_key,
            database_url=database_url,
            redis_url=redis_url,
            data_dir=data_dir,
            max_upload_mb=_int(env, "MAX_UPLOAD_MB", 200, minimum=1),
            cache_timeout=_int(env, "CACHE_TIMEOUT", 7 * 24 * 3600),
            lru_max_mb=_int(env, "LRU_MAX_MB", 512),
            view_cache_mb=_int(env, "VIEW_CACHE_MB", 64),
            login_rate_limit=login_rate_limit,
            login_account_free_failures=_int(env, "LOGIN_ACCOUNT_FREE_FAILURES", 5, minimum=1),
            login_account_max_delay_s=_int(env, "LOGIN_ACCOUNT_MAX_DELAY", 60, minimum=1),
            proxy_hops=_int(env, "PROXY_HOPS", 1 if production else 0),
            max_request_kb=_int(env, "MAX_REQUEST_KB", 1024, minimum=16),
            max_decompressed_mb=_int(env, "MAX_DECOMPRESSED_MB", 1024, minimum=1),
            max_import_rows=_int(env, "MAX_IMPORT_ROWS", 5_000_000, minimum=1),
            viewer_list_rows=_int(env, "VIEWER_LIST_ROWS", 100),
            health_token=env.get("HEALTH_TOKEN", "").strip() or None,
            allow_local_database=_flag(env, "ALLOW_LOCAL_DATABASE", False),
            demo_password=demo_password,
            session_cookie_secure=_flag(env, "SESSION_COOKIE_SECURE", production),
            auto_setup=_flag(env, "AUTO_SETUP", not production),
            seed_demo=_flag(env, "SEED_DEMO", not production),
            job_stale_minutes=_int(env, "JOB_STALE_MINUTES", 10, minimum=1),
            job_visibility_timeout_s=_int(env, "JOB_VISIBILITY_TIMEOUT", 300, minimum=5),
            metrics_allowed_networks=env.get("METRICS_ALLOWED_NETWORKS", "127.0.0.1/32,::1/128").strip(),
            metrics_token=env.get("METRICS_TOKEN", "").strip(),
            cache_prefix=env.get("CACHE_PREFIX", "").strip() or "portal",
            demo_fit_models=_choice(env, "DEMO_FIT_MODELS", ("spawn", "sync", "skip"), "spawn"),
            background_jobs=background_jobs,
            log_level=(env.get("LOG_LEVEL", "INFO").strip() or "INFO").upper(),
            import_sleep_in_tx=0.0 if production else sleep,
        )
        settings.check_production()
        return settings

    def resolved_secret_key(self) -> str:
        """``SECRET_KEY``, or (development/test only) a random key persisted in
        ``DATA_DIR/secret_key`` so sessions survive restarts and are shared by the
        workers of one machine."""
        if self.secret_key:
            return self.secret_key
        if self.production:  # from_env already refuses this; guard direct construction too
            self.check_production()
        path = self.data_dir / "secret_key"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            # Write a temporary file, then hard-link it into place: the link is
            # atomic, so concurrent workers agree on the first key written.
            tmp = path.with_name(f".secret_key.{os.getpid()}.{secrets.token_hex(4)}")
            tmp.write_text(secrets.token_hex(32))
            os.chmod(tmp, 0o600)
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass
            finally:
                tmp.unlink()
        return path.read_text().strip()
