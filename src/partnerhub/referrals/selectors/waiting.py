"""Events waiting for the client, payment or promo code they name (issue 15 item 2): the back
office's list, oldest first, with what each waits for and whether it is stale (waiting longer
than ``REFERRAL_WAITING_STALE_DAYS``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db.models import QuerySet

from partnerhub.partners.models import Program
from partnerhub.referrals.engine import EPOCH, ONE_US
from partnerhub.referrals.models.events import WaitingEvent

__all__ = ["WaitingRow", "stale_after", "waiting_events", "waiting_rows"]


def stale_after() -> dt.timedelta:
    return dt.timedelta(days=settings.REFERRAL_WAITING_STALE_DAYS)


def waiting_events(
    *, program: Program, stale_only: bool = False, moment: dt.datetime | None = None
) -> QuerySet[WaitingEvent]:
    """The program's events still waiting (not dropped), received longest ago first;
    ``stale_only``: those received before ``moment`` minus the stale period."""
    rows = WaitingEvent.objects.filter(program=program, dropped_at__isnull=True)
    if stale_only and moment is not None:
        rows = rows.filter(received_at__lte=moment - stale_after())
    return rows.order_by("received_at", "event_id")


@dataclass(frozen=True)
class WaitingRow:
    """One waiting event as staff see it."""

    event_id: str
    type: str
    waits_for: str
    key: str
    at: dt.datetime
    received_at: dt.datetime
    age_days: int
    stale: bool


def waiting_rows(rows: list[WaitingEvent], *, moment: dt.datetime) -> list[WaitingRow]:
    """A page of waiting events with their age (whole days) and staleness at ``moment``."""
    limit = stale_after()
    return [
        WaitingRow(
            event_id=row.event_id,
            type=row.type,
            waits_for=row.get_waits_for_display(),
            key=row.key,
            at=EPOCH + row.at_us * ONE_US,
            received_at=row.received_at,
            age_days=(moment - row.received_at).days,
            stale=moment - row.received_at >= limit,
        )
        for row in rows
    ]
