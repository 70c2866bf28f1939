"""Sending rendered e-mail from the background worker, after the request's transaction commits.

Until the outbox arrives (core issue), this is the one way mail leaves: callers render the
message and enqueue ``send_rendered_mail``; the worker retries on SMTP failures.
"""

from __future__ import annotations

from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from huey.contrib.djhuey import task


@task(retries=3, retry_delay=30)  # type: ignore[untyped-decorator]
def send_rendered_mail(
    subject: str, text: str, html: str | None, to: list[str], from_email: str | None = None
) -> None:
    """Send one message with a text part and an optional HTML part."""
    message = EmailMultiAlternatives(subject, text, from_email, to)
    if html:
        message.attach_alternative(html, "text/html")
    message.send()


def queue_mail(
    *, subject: str, text: str, html: str | None, to: list[str], from_email: str | None = None
) -> None:
    """Enqueue a rendered message once the current transaction (if any) commits."""
    transaction.on_commit(lambda: send_rendered_mail(subject, text, html, to, from_email))
