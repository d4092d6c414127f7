"""Settings of the e-mails (digests, invitations, resets), read from the environment
once per app.  Tests pass overrides through ``Settings.extra`` (lower-case keys).

Every variable is listed in docs/CONFIGURATION.md.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Mapping
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import current_app

from portal.platform.config import ConfigError, Settings

DEFAULT_TIME_ZONE = "Europe/London"


@dataclass(frozen=True)
class MailSettings:
    #: smtp://user:password@host:port (plain, STARTTLS when ``?starttls=1``),
    #: smtps://... (TLS from the start); None: no e-mail can be sent.
    smtp_url: str | None = None
    mail_from: str = "Customer analytics <no-reply@localhost>"
    #: The portal's address as recipients reach it; links in e-mails start with it.
    public_url: str = "http://127.0.0.1:8050"
    #: Time zone of the digests' hours until tenants carry their own (see schedule.tenant_time_zone).
    time_zone: str = DEFAULT_TIME_ZONE
    digest_charts: bool = True
    digest_max_attempts: int = 5
    #: First retry after this many seconds, then doubling.
    digest_retry_seconds: int = 60
    #: How long a scheduler may work on one send before another may take it over.
    digest_lease_seconds: int = 600
    chromium_path: str = "/usr/bin/chromium"
    invite_hours: int = 72
    reset_minutes: int = 60
    #: Reset e-mails per address (account) per hour; further requests get the same answer, no e-mail.
    reset_per_account_per_hour: int = 3
    reset_rate_limit: str = "10 per hour"
    smtp_timeout: float = 20.0

    @property
    def can_send(self) -> bool:
        return bool(self.smtp_url)

    @property
    def mail_domain(self) -> str:
        address = self.mail_from.rsplit("<", 1)[-1].rstrip(">")
        return address.rsplit("@", 1)[-1] or "localhost"

    def link(self, path: str) -> str:
        return self.public_url.rstrip("/") + path


def _int(value: object, name: str) -> int:
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a whole number, got {value!r}.") from None


def mail_settings_from(settings: Settings, environ: Mapping[str, str] | None = None) -> MailSettings:
    env = dict(os.environ if environ is None else environ)
    extra = dict(settings.extra or {})

    def get(key: str, default):
        if key in extra:
            return extra[key]
        raw = env.get(key.upper(), "").strip()
        return raw if raw else default

    smtp_url = get("smtp_url", None) or None
    if smtp_url and urlsplit(smtp_url).scheme not in ("smtp", "smtps"):
        raise ConfigError(f"SMTP_URL must start with smtp:// or smtps://, got {urlsplit(smtp_url).scheme!r}.")
    time_zone = get("time_zone", DEFAULT_TIME_ZONE)
    try:

        ZoneInfo(time_zone)
    except Exception:  # noqa: BLE001
        raise ConfigError(f"TIME_ZONE must be an IANA time zone such as Europe/London, got {time_zone!r}.") from None
    charts = get("digest_charts", True)
    if isinstance(charts, str):
        charts = charts.lower() not in ("0", "false", "no", "off")
    public_url = str(get("public_url", "http://127.0.0.1:" + env.get("PORT", "8050")))
    if urlsplit(public_url).scheme not in ("http", "https"):
        raise ConfigError(f"PUBLIC_URL must be the portal's http(s) address, got {public_url!r}.")
    return MailSettings(
        smtp_url=smtp_url,
        mail_from=str(get("mail_from", MailSettings.mail_from)),
        public_url=public_url,
        time_zone=time_zone,
        digest_charts=bool(charts),
        digest_max_attempts=_int(get("digest_max_attempts", 5), "DIGEST_MAX_ATTEMPTS"),
        digest_retry_seconds=_int(get("digest_retry_seconds", 60), "DIGEST_RETRY_SECONDS"),
        digest_lease_seconds=_int(get("digest_lease_seconds", 600), "DIGEST_LEASE_SECONDS"),
        chromium_path=str(get("chromium_path", "/usr/bin/chromium")),
        invite_hours=_int(get("invite_hours", 72), "INVITE_HOURS"),
        reset_minutes=_int(get("reset_minutes", 60), "RESET_MINUTES"),
        reset_per_account_per_hour=_int(get("reset_per_account_per_hour", 3), "RESET_PER_ACCOUNT_PER_HOUR"),
        reset_rate_limit=str(get("reset_rate_limit", "10 per hour")),
    )


def mail_settings() -> MailSettings:
    """The current app's :class:`MailSettings` (made by :func:`portal.digests.init_digests`)."""

    found = current_app.extensions.get("portal_mail")
    if found is None:
        found = current_app.extensions["portal_mail"] = mail_settings_from(current_app.extensions["portal"].settings)
    return found
