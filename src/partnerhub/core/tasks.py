"""Background tasks of core: outbox delivery (first version: the delivery worker issue hardens
it with claiming, backoff, dead letters and the periodic sweep)."""

from __future__ import annotations

import uuid

from huey.contrib.djhuey import db_task

from partnerhub.core.clock import now
from partnerhub.core.models.outbox import DeliveryState, OutboxDelivery
from partnerhub.core.outbox import registered_handlers


@db_task()  # type: ignore[untyped-decorator]
def deliver_event(event_id: str) -> None:
    """Deliver the pending deliveries of one event."""
    handlers = registered_handlers()
    pending = OutboxDelivery.objects.filter(
        event_id=uuid.UUID(event_id), state=DeliveryState.PENDING
    )
    for delivery in pending.select_related("event"):
        registered = handlers.get(delivery.handler)
        if registered is None:
            continue
        registered.fn(delivery.event, delivery.target)
        OutboxDelivery.objects.filter(pk=delivery.pk).update(
            state=DeliveryState.DONE, delivered_at=now(), attempts=delivery.attempts + 1
        )
