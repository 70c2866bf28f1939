"""Use cases of webhooks: endpoints of an organisation (create, switch off and on, delete) and
sending one event to one endpoint, logged as an attempt.

Core issue, "Outgoing webhooks per organisation (URL, secret, event types): JSON body signed
with HMAC-SHA256 in a header, retries as above, delivery log visible to the organisation".
Decisions the issue left open:

- the **secret** is generated here and shown once, right after creation (like API tokens); a
  partner who lost it creates a new endpoint and deletes the old one;
- **http** and local addresses are refused unless ``WEBHOOK_ALLOW_LOCAL`` is on
  (``core.netguard``, when the endpoint is saved and when each request connects);
- a **switched-off or deleted** endpoint is not called: deliveries already queued for it end
  without a request (nothing to log against a deleted endpoint);
- an organisation has at most ``WEBHOOK_MAX_ENDPOINTS`` endpoints.

Retries belong to the outbox: ``webhook_send`` logs the attempt and raises ``WebhookFailed`` on
anything but a 2xx answer, and the delivery engine schedules the next attempt with backoff.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
import time
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from partnerhub.core import audit, clock, netguard
from partnerhub.core.errors import ValidationFailed
from partnerhub.core.models.outbox import OutboxDelivery, OutboxEvent
from partnerhub.partners.models import Organisation
from partnerhub.webhooks import signing, transport
from partnerhub.webhooks.models import AttemptOutcome, WebhookAttempt, WebhookEndpoint
from partnerhub.webhooks.selectors import endpoint_get

#: The outbox handler name of webhooks (``OutboxDelivery.handler``).
HANDLER_NAME = "webhooks"
SECRET_PREFIX = "whsec_"
EVENT_PATTERN = re.compile(r"[a-z0-9_*?\-]+(\.[a-z0-9_*?\-]+)*")
MAX_PATTERNS = 20
USER_AGENT = "partnerhub-webhooks/1"


class WebhookFailed(Exception):
    """An attempt did not get a 2xx answer; the outbox retries the delivery."""

    def __init__(self, attempt: WebhookAttempt) -> None:
        super().__init__(f"{attempt.outcome}: {attempt.error}")
        self.attempt = attempt


# --- endpoints ------------------------------------------------------------------------------


def clean_url(url: str) -> str:
    """The endpoint URL, stripped; ``ValidationFailed`` naming the ``url`` field when the
    address is not one we call (``core.netguard``: the spelling and the host's DNS answer now;
    the address is checked again whenever a request connects)."""
    url = url.strip()
    allow_local: bool = settings.WEBHOOK_ALLOW_LOCAL
    parts = urlsplit(url)
    problem = None
    if parts.scheme not in ({"http", "https"} if allow_local else {"https"}):
        problem = _("Адрес должен начинаться с https://.")
    elif not parts.hostname:
        problem = _("Укажите адрес целиком, например https://crm.example.ru/hooks/partnerhub.")
    elif parts.username or parts.password:
        problem = _("Адрес не должен содержать логин и пароль.")
    else:
        try:
            netguard.check_url(url, allow_local=allow_local)
        except netguard.DestinationRefused as refused:
            problem = _destination_problem(refused)
    if problem is not None:
        raise ValidationFailed(problem, fields={"url": [problem]})
    return url


def _destination_problem(refused: netguard.DestinationRefused) -> str:
    if refused.reason == "scheme":
        return _("Адрес должен начинаться с https://.")
    if refused.reason == "malformed":
        return _("Укажите адрес целиком, например https://crm.example.ru/hooks/partnerhub.")
    if refused.reason == "unresolvable":
        return _("Сервер с таким адресом не найден. Проверьте адрес.")
    return _("Адрес должен быть доступен из интернета, а не только из вашей сети.")


def clean_event_types(patterns: Iterable[str]) -> list[str]:
    """Event type patterns, stripped and without repeats; empty means every event."""
    cleaned = list(dict.fromkeys(p.strip() for p in patterns if p.strip()))
    bad = [p for p in cleaned if len(p) > 100 or not EVENT_PATTERN.fullmatch(p)]
    if bad:
        message = _(
            "Непонятный тип события: %(bad)s. Пишите типы через точку, например "
            "partners.enrolment.* (звёздочка — любое окончание)."
        ) % {"bad": ", ".join(bad)}
        raise ValidationFailed(message, fields={"event_types": [message]})
    if len(cleaned) > MAX_PATTERNS:
        message = _("Не больше %(n)s типов событий.") % {"n": MAX_PATTERNS}
        raise ValidationFailed(message, fields={"event_types": [message]})
    return cleaned


def webhook_endpoint_create(
    *,
    organisation: Organisation,
    url: str,
    event_types: Iterable[str] = (),
    created_by: Any = None,
) -> WebhookEndpoint:
    """Add an endpoint with a new signing secret (``endpoint.secret``: show it once)."""
    url = clean_url(url)
    patterns = clean_event_types(event_types)
    limit: int = settings.WEBHOOK_MAX_ENDPOINTS
    with transaction.atomic():
        # Lock the organisation so that two concurrent creations cannot both pass the limit.
        Organisation.objects.select_for_update().filter(pk=organisation.pk).first()
        if WebhookEndpoint.objects.filter(organisation=organisation).count() >= limit:
            message = _("У организации уже %(n)s адресов вебхуков: удалите ненужные.") % {
                "n": limit
            }
            raise ValidationFailed(message)
        endpoint = WebhookEndpoint.objects.create(
            organisation=organisation,
            url=url,
            event_types=patterns,
            secret=SECRET_PREFIX + secrets.token_urlsafe(32),
            created_by=created_by,
        )
        audit.record(
            action="webhooks.endpoint.created",
            obj=endpoint,
            after={"url": url, "event_types": patterns},
        )
    return endpoint


def webhook_endpoint_set_active(
    *, organisation: Organisation, endpoint_id: int, is_active: bool
) -> WebhookEndpoint:
    """Switch an endpoint of the organisation off (nothing more is sent to it) or on again."""
    with transaction.atomic():
        endpoint = endpoint_get(organisation=organisation, endpoint_id=endpoint_id)
        if endpoint.is_active != is_active:
            WebhookEndpoint.objects.filter(pk=endpoint.pk).update(is_active=is_active)
            action = "activated" if is_active else "deactivated"
            audit.record(
                action=f"webhooks.endpoint.{action}",
                obj=endpoint,
                before={"is_active": endpoint.is_active},
                after={"is_active": is_active},
            )
            endpoint.is_active = is_active
    return endpoint


def webhook_endpoint_delete(*, organisation: Organisation, endpoint_id: int) -> None:
    """Delete an endpoint of the organisation with its delivery log."""
    with transaction.atomic():
        endpoint = endpoint_get(organisation=organisation, endpoint_id=endpoint_id)
        audit.record(
            action="webhooks.endpoint.deleted",
            obj=endpoint,
            before={"url": endpoint.url, "event_types": endpoint.event_types},
        )
        endpoint.delete()


# --- sending --------------------------------------------------------------------------------


def webhook_body(event: OutboxEvent) -> bytes:
    """The JSON body for ``event`` (the exact bytes that are signed)."""
    document = {
        "id": str(event.pk),
        "type": event.event_type,
        "created_at": event.created_at.isoformat(),
        "organisation_id": event.organisation_id,
        "data": event.payload,
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def webhook_headers(
    *, endpoint: WebhookEndpoint, event: OutboxEvent, body: bytes
) -> dict[str, str]:
    """Headers of one request, signed now (each retry gets a fresh timestamp)."""
    timestamp = str(int(clock.now().timestamp()))
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        signing.EVENT_ID_HEADER: str(event.pk),
        signing.EVENT_TYPE_HEADER: event.event_type,
        signing.TIMESTAMP_HEADER: timestamp,
        signing.SIGNATURE_HEADER: signing.sign(endpoint.secret, timestamp, body),
    }


def webhook_send(*, endpoint: WebhookEndpoint, event: OutboxEvent) -> WebhookAttempt:
    """POST ``event`` to ``endpoint`` and log the attempt; ``WebhookFailed`` unless a 2xx
    answer came back within ``WEBHOOK_TIMEOUT_SECONDS``.

    Called by the outbox handler outside any transaction: the log row is committed even when
    the delivery is then retried.
    """
    delivery_id, attempt_no = _delivery_of(endpoint=endpoint, event=event)
    body = webhook_body(event)
    headers = webhook_headers(endpoint=endpoint, event=event, body=body)
    timeout: float = settings.WEBHOOK_TIMEOUT_SECONDS
    allow_local: bool = settings.WEBHOOK_ALLOW_LOCAL
    started_at = clock.now()
    started = time.perf_counter()
    status: int | None = None
    outcome, error = AttemptOutcome.OK, ""
    try:
        status = transport.post(
            endpoint.url, body, headers, timeout=timeout, allow_local=allow_local
        ).status
    except transport.TransportError as exc:
        outcome, error, status = AttemptOutcome(exc.outcome), exc.detail, exc.status
    attempt = _attempt_record(
        endpoint=endpoint,
        event=event,
        delivery_id=delivery_id,
        attempt=attempt_no,
        outcome=outcome,
        status_code=status,
        error=error,
        duration_ms=round((time.perf_counter() - started) * 1000),
        at=started_at,
    )
    if outcome != AttemptOutcome.OK:
        raise WebhookFailed(attempt)
    return attempt


def _delivery_of(*, endpoint: WebhookEndpoint, event: OutboxEvent) -> tuple[int | None, int]:
    """The outbox delivery being worked on and its attempt number (the engine counts an
    attempt when it claims the row)."""
    row = (
        OutboxDelivery.objects.filter(event=event, handler=HANDLER_NAME, target=str(endpoint.pk))
        .values_list("pk", "attempts")
        .first()
    )
    if row is not None and row[1] > 0:
        return row[0], row[1]
    earlier = WebhookAttempt.objects.filter(endpoint=endpoint, event_id=event.pk).count()
    return (row[0] if row else None), earlier + 1


def _attempt_record(
    *,
    endpoint: WebhookEndpoint,
    event: OutboxEvent,
    delivery_id: int | None,
    attempt: int,
    outcome: AttemptOutcome,
    status_code: int | None,
    error: str,
    duration_ms: int,
    at: dt.datetime,
) -> WebhookAttempt:
    return WebhookAttempt.objects.create(
        endpoint=endpoint,
        event_id=event.pk,
        event_type=event.event_type,
        delivery_id=delivery_id,
        attempt=attempt,
        outcome=outcome,
        status_code=status_code,
        error=error[:1000],
        duration_ms=duration_ms,
        at=at,
    )
