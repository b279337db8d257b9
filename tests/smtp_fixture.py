"""A local SMTP server for tests (aiosmtpd), with ENGAGEMENT_SMTP_* pointing at it."""

from __future__ import annotations

import email
import socket
from email import policy

import pytest
from aiosmtpd.controller import Controller


class Inbox:
    """An aiosmtpd handler keeping every message it receives."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        self.messages.append(email.message_from_bytes(envelope.original_content or envelope.content,
                                                      policy=policy.default))
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def smtp(monkeypatch):
    inbox = Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("ENGAGEMENT_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("ENGAGEMENT_SMTP_PORT", str(port))
    monkeypatch.setenv("ENGAGEMENT_SMTP_FROM", "digest@example.com")
    monkeypatch.delenv("ENGAGEMENT_SMTP_STARTTLS", raising=False)
    yield inbox
    controller.stop()
