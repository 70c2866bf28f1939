"""A real SMTP server for mail tests: aiosmtpd on 127.0.0.1 that Django sends to."""

from __future__ import annotations

import socket
import threading
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller


class Mailbox:
    """aiosmtpd handler that keeps every message it accepts; it answers 451 (try later) to
    messages for the addresses in ``refused``."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.recipients: list[list[str]] = []
        self.refused: set[str] = set()
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # the hook name aiosmtpd calls
        if self.refused & set(envelope.rcpt_tos):
            return "451 Try again later"
        with self._lock:
            self.recipients.append(list(envelope.rcpt_tos))
            self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        """Messages delivered to ``address``."""
        return [m for m, rcpt in zip(self.messages, self.recipients) if address in rcpt]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp(settings):
    """A running SMTP server that Django sends to; yields its mailbox."""
    mailbox = Mailbox()
    controller = Controller(
        mailbox, hostname="127.0.0.1", port=_free_port(), server_hostname="localhost"
    )
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    try:
        yield mailbox
    finally:
        controller.stop()


def bodies(message: EmailMessage) -> tuple[str, str]:
    """The text and the HTML part of a message."""
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    return (
        text.get_content() if text is not None else "",
        html.get_content() if html is not None else "",
    )
