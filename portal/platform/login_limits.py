"""Sign-in limits that count FAILED attempts only, in the database every worker and
host shares (table ``login_attempts``; SQLite in the embedded default, PostgreSQL
when scaled), so two gunicorn workers give an attacker no more tries than one.

Two rules, checked before the password is looked at:

* **per address** (``LOGIN_RATE_LIMIT``, e.g. ``10 per minute``): an address with
  that many failures inside the window is refused (429, ``Retry-After``) until its
  oldest failure leaves the window.  Successful sign-ins are not counted, so fifty
  managers of one office behind one address all sign in.
* **per account**: after ``LOGIN_ACCOUNT_FREE_FAILURES`` failures of one account
  (from any address, within :data:`ACCOUNT_WINDOW`), each further attempt must wait
  ``2 ** (failures - free)`` seconds after the last failure, at most
  ``LOGIN_ACCOUNT_MAX_DELAY`` seconds.  That slows a distributed guesser to one
  try per delay but never locks the owner out: the right password gets in at most
  that many seconds later.  A successful sign-in clears the account's failures.

The client address is ``request.remote_addr``: the peer, or the address the
``PROXY_HOPS`` trusted proxies report (``ProxyFix``, see :func:`portal.create_app`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from limits import parse
from sqlalchemy import delete, func, select

from .config import Settings
from .db import session_scope
from .models import LoginAttempt, utcnow

#: How far back failures of an account count for its slow-down.
ACCOUNT_WINDOW = timedelta(minutes=15)
#: Failures older than this are deleted (the table stays small).
RETENTION = timedelta(days=1)


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int = 0  # seconds
    rule: str = ""  # "address" | "account" when refused


class LoginLimits:
    """The two rules of the module docstring, on the shared ``login_attempts`` table."""

    def __init__(self, settings: Settings) -> None:
        item = parse(settings.login_rate_limit)
        self.address_limit = int(item.amount)
        self.window = timedelta(seconds=int(item.get_expiry()))
        self.free_failures = settings.login_account_free_failures
        self.max_delay = settings.login_account_max_delay_s

    def account_delay(self, failures: int) -> int:
        """Seconds an account with ``failures`` recent failures waits after its last one."""
        if failures < self.free_failures:
            return 0
        return int(min(2 ** (failures - self.free_failures), self.max_delay))

    def check(self, address: str, account: str, now: datetime | None = None) -> Verdict:
        now = now or utcnow()
        with session_scope() as session:
            count, oldest = session.execute(
                select(func.count(), func.min(LoginAttempt.at))
                .where(LoginAttempt.address == address, LoginAttempt.at > now - self.window)
            ).one()
            if count >= self.address_limit:
                return Verdict(False, _seconds(oldest + self.window - now), "address")
            if not account:
                return Verdict(True)
            count, last = session.execute(
                select(func.count(), func.max(LoginAttempt.at))
                .where(LoginAttempt.account == account, LoginAttempt.at > now - ACCOUNT_WINDOW)
            ).one()
        delay = self.account_delay(count)
        if delay and last is not None and last + timedelta(seconds=delay) > now:
            return Verdict(False, _seconds(last + timedelta(seconds=delay) - now), "account")
        return Verdict(True)

    def record_failure(self, address: str, account: str, now: datetime | None = None) -> None:
        now = now or utcnow()
        with session_scope() as session:
            session.add(LoginAttempt(address=address[:64], account=account[:254], at=now))
            session.execute(delete(LoginAttempt).where(LoginAttempt.at < now - RETENTION))

    def record_success(self, account: str) -> None:
        with session_scope() as session:
            session.execute(delete(LoginAttempt).where(LoginAttempt.account == account))


def _seconds(delta: timedelta) -> int:
    return max(1, math.ceil(delta.total_seconds()))
