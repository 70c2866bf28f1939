"""Read queries of webhooks: the cabinet's are scoped to the asking organisation; the worker's
and the back office's look across organisations and say so in their names."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import OuterRef, QuerySet, Subquery
from django.utils.translation import gettext as _

from partnerhub.core.errors import NotFound
from partnerhub.partners.models import Organisation
from partnerhub.webhooks.models import WebhookAttempt, WebhookEndpoint


def endpoints_of(*, organisation: Organisation) -> QuerySet[WebhookEndpoint]:
    """The organisation's endpoints, newest first, each with its last attempt's time and
    outcome (``last_attempt_at``, ``last_outcome``) in the same query."""
    last = WebhookAttempt.objects.filter(endpoint=OuterRef("pk")).order_by("-at", "-pk")
    return WebhookEndpoint.objects.filter(organisation=organisation).annotate(
        last_attempt_at=Subquery(last.values("at")[:1]),
        last_outcome=Subquery(last.values("outcome")[:1]),
    )


def endpoint_get(*, organisation: Organisation, endpoint_id: int) -> WebhookEndpoint:
    """One endpoint of the organisation; ``NotFound`` for another organisation's."""
    endpoint = WebhookEndpoint.objects.filter(organisation=organisation, pk=endpoint_id).first()
    if endpoint is None:
        raise NotFound(_("Адрес вебхука не найден."))
    return endpoint


def attempts_of(*, endpoint: WebhookEndpoint) -> QuerySet[WebhookAttempt]:
    """The delivery log of one endpoint (the caller got the endpoint through ``endpoint_get``)."""
    return WebhookAttempt.objects.filter(endpoint=endpoint).order_by("-at", "-pk")


def endpoint_targets(*, organisation_id: int, event_type: str) -> list[str]:
    """Ids (as outbox targets) of the organisation's active endpoints subscribed to
    ``event_type``. Patterns are matched here, not in SQL: a JSON list of fnmatch patterns has
    no portable query, and an organisation has a handful of endpoints."""
    endpoints = WebhookEndpoint.objects.filter(organisation_id=organisation_id, is_active=True)
    return [str(e.pk) for e in endpoints.order_by("pk") if e.subscribes_to(event_type)]


def endpoint_for_delivery(*, endpoint_id: int) -> WebhookEndpoint | None:
    """The worker's view: an endpoint by id, any organisation (None once deleted)."""
    return WebhookEndpoint.objects.filter(pk=endpoint_id).first()


def endpoints_by_id(*, ids: Iterable[int]) -> dict[int, WebhookEndpoint]:
    """Endpoints by id with their organisations, any organisation (the vendor's back office)."""
    endpoints = WebhookEndpoint.objects.filter(pk__in=set(ids)).select_related("organisation")
    return {endpoint.pk: endpoint for endpoint in endpoints}
