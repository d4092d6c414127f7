"""Sending one message over SMTP (``SMTP_URL``), telling apart a message the server
refused or never got (safe to retry) from one whose fate is unknown.

``smtp://user:password@host:port`` (STARTTLS with ``?starttls=1``) or
``smtps://user:password@host:port`` (TLS from the first byte).
"""
from __future__ import annotations

import re
import smtplib
import ssl
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from urllib.parse import parse_qs, unquote, urlsplit


class NotAccepted(Exception):
    """The server did not take the message (connection, refusal, 4xx): retrying cannot duplicate it."""

    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class OutcomeUnknown(Exception):
    """The whole message was written but the server's answer never came: it may have been accepted."""


def _connect(url: str, timeout: float) -> smtplib.SMTP:
    parts = urlsplit(url)
    host, port = parts.hostname or "localhost", parts.port
    if parts.scheme == "smtps":
        client = smtplib.SMTP_SSL(host, port or 465, timeout=timeout, context=ssl.create_default_context())
    else:
        client = smtplib.SMTP(host, port or 25, timeout=timeout)
        if parse_qs(parts.query).get("starttls", ["0"])[0] in ("1", "true", "yes"):
            client.starttls(context=ssl.create_default_context())
    if parts.username:
        client.login(unquote(parts.username), unquote(parts.password or ""))
    return client


def envelope_sender(message: EmailMessage) -> str:
    sender = str(message["From"])
    return sender.rsplit("<", 1)[-1].rstrip(">").strip()


def send(url: str, message: EmailMessage, *, timeout: float = 20.0, before_data=None) -> None:
    """Send ``message``; :class:`NotAccepted` or :class:`OutcomeUnknown` on failure.

    ``before_data()`` is called after the server accepted the recipients and asked for
    the message (354), just before its bytes go out: the caller records that from now
    on the outcome may be unknown."""
    data = message.as_bytes(policy=SMTP_POLICY)
    data = re.sub(rb"(?m)^\.", b"..", data)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    recipients = [str(message["To"])]
    try:
        client = _connect(url, timeout)
    except (OSError, smtplib.SMTPException) as exc:
        raise NotAccepted(f"could not connect to the SMTP server: {type(exc).__name__}: {exc}") from exc
    try:
        try:
            code, reply = client.ehlo()
            code, reply = client.mail(envelope_sender(message))
            if code != 250:
                raise NotAccepted(f"sender refused: {code} {reply!r}", permanent=code >= 500)
            for recipient in recipients:
                code, reply = client.rcpt(recipient)
                if code not in (250, 251):
                    raise NotAccepted(f"recipient refused: {code} {reply!r}", permanent=code >= 500)
            client.putcmd("data")
            code, reply = client.getreply()
            if code != 354:
                raise NotAccepted(f"DATA refused: {code} {reply!r}", permanent=code >= 500)
            if before_data is not None:
                before_data()
            client.send(data + b".\r\n")
        except NotAccepted:
            raise
        except (OSError, smtplib.SMTPException) as exc:
            raise NotAccepted(f"SMTP conversation failed before the message was complete: "
                              f"{type(exc).__name__}: {exc}") from exc
        try:
            code, reply = client.getreply()
        except (OSError, smtplib.SMTPException) as exc:
            raise OutcomeUnknown(f"no answer after the message was sent: {type(exc).__name__}: {exc}") from exc
        if code != 250:
            raise NotAccepted(f"message refused: {code} {reply!r}", permanent=code >= 500)
    finally:
        try:
            client.quit()
        except (OSError, smtplib.SMTPException):
            client.close()


def send_simple(url: str | None, message: EmailMessage, *, timeout: float = 20.0) -> None:
    """Send an account e-mail (no send record): raises NotAccepted / OutcomeUnknown."""
    if not url:
        raise NotAccepted("SMTP_URL is not set: no e-mail can be sent.", permanent=True)
    send(url, message, timeout=timeout)
