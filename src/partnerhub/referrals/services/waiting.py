"""Staff drop events that wait for a client, payment or promo code that will not come (issue 15
item 2). The event stays stored (the store is append-only), marked dropped: it never joins a
partition, and the verifying replay passes over it (``live.verify.replay_all``)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from partnerhub.core import audit
from partnerhub.core.clock import now
from partnerhub.core.errors import ValidationFailed
from partnerhub.partners.models import Program
from partnerhub.referrals.models.events import WaitingEvent
from partnerhub.referrals.services.live import program_lock

__all__ = ["waiting_event_drop"]


def waiting_event_drop(*, program: Program, event_ids: list[str], actor: Any) -> int:
    """Drop the named events still waiting (an audit row each); the number dropped."""
    if not event_ids:
        raise ValidationFailed(_("Выберите события."), fields={"events": [_("Выберите события.")]})
    with transaction.atomic():
        program_lock(program)  # not while the worker releases them
        rows = list(
            WaitingEvent.objects.select_for_update().filter(
                program=program, event_id__in=event_ids[:500], dropped_at__isnull=True
            )
        )
        moment = now()
        for row in rows:
            row.dropped_at = moment
            row.save(update_fields=["dropped_at"])
            audit.record(
                action="referrals.waiting.dropped",
                obj=program,
                actor=actor,
                after={"event": row.event_id, "waits_for": row.waits_for, "key": row.key},
            )
    return len(rows)
