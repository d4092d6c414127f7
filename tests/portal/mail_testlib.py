"""A real SMTP server for the e-mail tests: aiosmtpd on a free loopback port.

``MailServer().start()`` collects every accepted message (parsed with the standard
library); ``plan`` lists what to do with the next DATA commands, one entry each:
``"accept"`` (default when the plan is empty), ``"tempfail"`` (answer 451: not accepted),
``"drop"`` (take the whole message, then close the connection without an answer:
outcome unknown to the sender).  ``hold_rcpt`` makes the server wait at RCPT TO until
``release`` is set (a sender can be killed mid-conversation)."""
from __future__ import annotations

import asyncio
import logging
import email
import threading
import time
from collections import deque
from email import policy

from portal_testlib import free_port

logging.getLogger("mail.log").setLevel(logging.WARNING)  # one line per SMTP command otherwise


class MailServer:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.plan: deque[str] = deque()
        self.data_commands = 0
        self.hold_rcpt = threading.Event()
        self.release = threading.Event()
        self.rcpt_seen = threading.Event()
        self.port = free_port()
        self._controller = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> "MailServer":
        from aiosmtpd.controller import Controller

        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()

    def clear(self) -> None:
        self.messages.clear()
        self.envelopes.clear()
        self.plan.clear()
        self.data_commands = 0

    # aiosmtpd handler hooks
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self.rcpt_seen.set()
        while self.hold_rcpt.is_set() and not self.release.is_set():
            await asyncio.sleep(0.05)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.data_commands += 1
        action = self.plan.popleft() if self.plan else "accept"
        if action == "tempfail":
            return "451 4.3.0 Try again later"
        message = email.message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        self.messages.append(message)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        if action == "drop":
            server.transport.close()
        return "250 2.0.0 Accepted"

    def wait_for(self, count: int, timeout: float = 30.0) -> list:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return list(self.messages)


def attachments(message) -> dict[str, bytes]:
    return {part.get_filename(): part.get_payload(decode=True) for part in message.iter_attachments()
            if part.get_filename() and part.get_content_disposition() == "attachment"}


def inline_images(message) -> list:
    return [part for part in message.walk() if part.get_content_type() == "image/png"]


def body(message, kind: str = "plain") -> str:
    return message.get_body(preferencelist=(kind,)).get_content()
