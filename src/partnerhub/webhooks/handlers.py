"""The outbox handler of webhooks: every event of an organisation goes to each of its active
endpoints subscribed to the event's type, one outbox delivery per endpoint (retried on its own).

The targets are chosen when the event is emitted, inside the business transaction; an endpoint
switched off or deleted before its delivery runs is skipped without a request.
"""

from __future__ import annotations

import logging

from partnerhub.core.models.outbox import OutboxEvent
from partnerhub.core.outbox import handler
from partnerhub.webhooks import selectors, services

logger = logging.getLogger(__name__)


def subscribed_endpoints(event: OutboxEvent) -> list[str]:
    """Outbox targets of ``event``: ids of the subscribed active endpoints of its organisation."""
    if event.organisation_id is None:
        return []
    return selectors.endpoint_targets(
        organisation_id=event.organisation_id, event_type=event.event_type
    )


@handler("*", name=services.HANDLER_NAME, targets=subscribed_endpoints)
def deliver_webhook(event: OutboxEvent, target: str) -> None:
    """Send ``event`` to endpoint ``target``; raises (so the outbox retries) unless a 2xx came."""
    endpoint = selectors.endpoint_for_delivery(endpoint_id=int(target))
    if endpoint is None or not endpoint.is_active:
        logger.info(
            "webhook endpoint %s is gone or switched off; event %s not sent", target, event.pk
        )
        return
    services.webhook_send(endpoint=endpoint, event=event)
