"""The outbox handler that pushes marketplace deals to the partner's own CRM (issue 7, part 6:
"ours to theirs through the outbox").

Every ``leads.deal.*`` event of an organisation with an active ``CrmConnection`` gets one
delivery (target: the connection's id), which runs ``sync.deal_push``; a CRM that fails makes
the handler raise, and the outbox retries with backoff (``core.delivery``). Events whose
``source`` is "crm" came from the partner's CRM and are not pushed back: they get no delivery.

Imported at startup by ``LeadsConfig.ready()`` (``emit()`` writes deliveries only for the
handlers registered at that moment).
"""

from __future__ import annotations

import logging

from partnerhub.core.models.outbox import OutboxEvent
from partnerhub.core.outbox import handler
from partnerhub.leads.crm import selectors, sync
from partnerhub.leads.models import DealStage

logger = logging.getLogger(__name__)

#: The outbox handler name (``OutboxDelivery.handler``).
HANDLER_NAME = "leads.crm_push"


def _deal_id(event: OutboxEvent) -> int | None:
    payload = event.payload if isinstance(event.payload, dict) else {}
    raw = payload.get("deal_id")
    try:
        return int(raw) if raw is not None else None
    except (TypeError, ValueError):
        return None


#: The deal events that change what the CRM holds: the take and each stage. Others under
#: ``leads.deal.*`` (the stale-deal reminder) are not pushed.
PUSHED_EVENTS = frozenset({"leads.deal.taken", *(f"leads.deal.{s}" for s in DealStage.values)})


def crm_targets(event: OutboxEvent) -> list[str]:
    """The organisation's active connection, for a deal event that did not come from its CRM."""
    if event.event_type not in PUSHED_EVENTS:
        return []
    if event.organisation_id is None or _deal_id(event) is None:
        return []
    if isinstance(event.payload, dict) and event.payload.get("source") == "crm":
        return []
    connection_id = selectors.active_connection_id(organisation_id=event.organisation_id)
    return [str(connection_id)] if connection_id is not None else []


@handler("leads.deal.*", name=HANDLER_NAME, targets=crm_targets)
def push_deal(event: OutboxEvent, target: str) -> None:
    """Push the event's deal to the partner's CRM; raises ``CrmError`` so the outbox retries."""
    deal_id = _deal_id(event)
    if deal_id is None:
        return
    link = sync.deal_push(deal_id)
    if link is None:
        logger.info("crm connection %s is off or the deal %s is gone; not pushed", target, deal_id)
