"""The outbox delivery engine: at-least-once delivery with retries, backoff and dead letters.

Implements the "Outbox and tasks" part of the core issue: the worker (``core.tasks``) calls
``deliver_due()``, which works through the delivery rows ``core.outbox.emit()`` wrote inside the
business transaction.

How one delivery goes:

1. **Claim.** A due row (``pending`` with ``next_attempt_at <= now``, or ``running`` whose
   ``locked_until`` has passed: the worker holding it died) is taken by one conditional UPDATE
   that also counts the attempt: ``UPDATE ... SET state='running', locked_until=now+LEASE,
   attempts=attempts+1 WHERE id=... AND state=<seen> AND attempts=<seen> AND <still due>``.
   One row updated means this worker owns the attempt; none means another worker took it. The
   guarantee comes from the UPDATE alone, so it holds on SQLite (which ignores
   ``select_for_update``) as on PostgreSQL. Counting at claim time means an attempt that kills
   the worker still counts, so a poison event ends dead instead of looping forever.
2. **Run** the registered handler ``fn(event, target)`` in autocommit, outside any transaction
   of ours (an HTTP call must not hold database locks).
3. **Finish**, again conditionally on ``(state='running', attempts=<ours>)`` so that a worker
   whose lease ran out cannot overwrite the outcome of the worker that took the row over:
   ``done`` with ``delivered_at``; or, when the handler raised, ``pending`` again with
   ``last_error`` and ``next_attempt_at = now + backoff(attempts)``, or ``dead`` once
   ``attempts`` reaches ``OUTBOX_MAX_ATTEMPTS``. A handler name nobody registered is dead at once.

Decisions the issue left open:

- **No jitter.** ``backoff()`` is exact, so staff and partners can read the schedule ("next
  attempt at 12:04:10") and tests can state it. Retries of different events are spread anyway
  by the moments the events happened, and each row is claimed on its own, so simultaneous due
  rows do not contend.
- **Requeueing a dead delivery keeps its attempt count** (``retry_dead``): it gets one immediate
  attempt; if that fails too it is dead again. Attempt numbers stay increasing, which keeps the
  webhook delivery log readable.
- Handlers are at least once: a worker killed after the side effect and before "done" repeats
  it. Receivers deduplicate by the event id (webhooks send it in ``X-Partnerhub-Event-Id``).
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Case, Count, IntegerField, Q, QuerySet, Value, When
from django.utils.translation import gettext as _

from partnerhub.core import audit, clock
from partnerhub.core.errors import Conflict, NotFound
from partnerhub.core.models.outbox import DeliveryState, OutboxDelivery
from partnerhub.core.outbox import fan_out, fan_out_pending, registered_handlers, wake

logger = logging.getLogger(__name__)

#: ``last_error`` keeps the start of the error: enough to read, bounded in size.
ERROR_MAX_CHARS = 2000


@dataclass(frozen=True)
class DeliveryReport:
    """What one ``deliver_due()`` call did.

    ``next_attempts`` maps each event with a retried delivery to its earliest next attempt (the
    worker schedules a wake-up for it); ``found`` is how many due rows the call saw, so a sweep
    knows whether to take another batch. Neither takes part in equality.
    """

    delivered: int = 0
    retried: int = 0
    dead: int = 0
    next_attempts: dict[str, dt.datetime] = field(default_factory=dict, compare=False)
    found: int = field(default=0, compare=False)


def backoff(attempt: int) -> dt.timedelta:
    """Wait before the attempt after failed attempt number ``attempt`` (1-based):
    ``min(OUTBOX_RETRY_BASE_SECONDS * 2**(attempt-1), OUTBOX_RETRY_CAP_SECONDS)``."""
    base: int = settings.OUTBOX_RETRY_BASE_SECONDS
    cap: int = settings.OUTBOX_RETRY_CAP_SECONDS
    return dt.timedelta(seconds=min(base * 2 ** max(attempt - 1, 0), cap))


def lease() -> dt.timedelta:
    """How long a claimed delivery stays with its worker before another may take it over."""
    seconds: int = settings.OUTBOX_LEASE_SECONDS
    return dt.timedelta(seconds=seconds)


def max_attempts() -> int:
    """Attempts after which a failing delivery is dead."""
    limit: int = settings.OUTBOX_MAX_ATTEMPTS
    return limit


def _due(now: dt.datetime) -> Q:
    return Q(state=DeliveryState.PENDING, next_attempt_at__lte=now) | Q(
        state=DeliveryState.RUNNING, locked_until__lt=now
    )


def deliver_due(
    *, now: dt.datetime | None = None, limit: int = 200, event_id: uuid.UUID | str | None = None
) -> DeliveryReport:
    """Deliver up to ``limit`` due deliveries (of one event when ``event_id`` is given), once
    the events not fanned out yet (that event, or up to ``limit`` of them) have their deliveries.

        Safe to run in any number of workers at once: each delivery is claimed by one of them.
        ``now`` fixes the clock for the whole call (tests); otherwise each step reads the clock.
        Must not be called inside a transaction: handlers do network calls.
    """
    # Events emitted since: their deliveries are written first (issue 17: after commit).
    if event_id is not None:
        fan_out(uuid.UUID(str(event_id)))
    else:
        fan_out_pending(limit=limit)
    moment = now or clock.now()
    due = OutboxDelivery.objects.filter(_due(moment))
    if event_id is not None:
        due = due.filter(event_id=uuid.UUID(str(event_id)))
    rows = list(
        due.order_by("next_attempt_at", "pk").values_list("pk", "state", "attempts")[:limit]
    )
    delivered = retried = dead = 0
    next_attempts: dict[str, dt.datetime] = {}
    for pk, state, attempts in rows:
        outcome = _deliver_one(pk=pk, seen_state=state, seen_attempts=attempts, now=now)
        if outcome is None:
            continue
        if outcome.state == DeliveryState.DONE:
            delivered += 1
        elif outcome.state == DeliveryState.DEAD:
            dead += 1
        else:
            retried += 1
            key = str(outcome.event_id)
            if key not in next_attempts or outcome.next_attempt_at < next_attempts[key]:
                next_attempts[key] = outcome.next_attempt_at
    return DeliveryReport(
        delivered=delivered,
        retried=retried,
        dead=dead,
        next_attempts=next_attempts,
        found=len(rows),
    )


@dataclass(frozen=True)
class _Outcome:
    state: str
    event_id: uuid.UUID
    next_attempt_at: dt.datetime


def _deliver_one(
    *, pk: int, seen_state: str, seen_attempts: int, now: dt.datetime | None
) -> _Outcome | None:
    """Claim, run and finish one delivery; None when another worker had it first."""
    claimed_at = now or clock.now()
    attempt = seen_attempts + 1
    if seen_state == DeliveryState.RUNNING and seen_attempts >= max_attempts():
        # The worker died during the last allowed attempt: nothing left to try.
        error = f"WorkerLost: the worker stopped during attempt {seen_attempts}"
        taken = _claimable(pk, seen_state, seen_attempts, claimed_at).update(
            state=DeliveryState.DEAD, locked_until=None, last_error=error
        )
        if not taken:
            return None
        logger.error("outbox delivery %s is dead: %s", pk, error)
        return _Outcome(DeliveryState.DEAD, _event_id(pk), claimed_at)
    taken = _claimable(pk, seen_state, seen_attempts, claimed_at).update(
        state=DeliveryState.RUNNING, locked_until=claimed_at + lease(), attempts=attempt
    )
    if not taken:
        return None
    delivery = OutboxDelivery.objects.select_related("event").get(pk=pk)
    registered = registered_handlers().get(delivery.handler)
    if registered is None:
        error = f"LookupError: no outbox handler is registered as {delivery.handler!r}"
        return _finish_failed(delivery, attempt=attempt, error=error, now=now, final=True)
    try:
        # Audit rows a handler writes are the outbox's doing, wherever deliver_due runs.
        with audit.system_actor(f"outbox:{delivery.handler}"):
            registered.fn(delivery.event, delivery.target)
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        logger.warning("outbox delivery %s attempt %s failed: %s", pk, attempt, error)
        return _finish_failed(delivery, attempt=attempt, error=error, now=now, final=False)
    return _finish_done(delivery, attempt=attempt, now=now)


def _claimable(
    pk: int, seen_state: str, seen_attempts: int, now: dt.datetime
) -> QuerySet[OutboxDelivery]:
    """The row, only if it is still as this worker saw it and still due."""
    return OutboxDelivery.objects.filter(_due(now), pk=pk, state=seen_state, attempts=seen_attempts)


def _event_id(pk: int) -> uuid.UUID:
    event_id: uuid.UUID = OutboxDelivery.objects.values_list("event_id", flat=True).get(pk=pk)
    return event_id


def _owned(delivery: OutboxDelivery, attempt: int) -> QuerySet[OutboxDelivery]:
    """The row, only while this worker's attempt still holds it."""
    return OutboxDelivery.objects.filter(
        pk=delivery.pk, state=DeliveryState.RUNNING, attempts=attempt
    )


def _finish_done(delivery: OutboxDelivery, *, attempt: int, now: dt.datetime | None) -> _Outcome:
    finished_at = now or clock.now()
    updated = _owned(delivery, attempt).update(
        state=DeliveryState.DONE, delivered_at=finished_at, locked_until=None
    )
    if not updated:
        logger.warning(
            "outbox delivery %s: attempt %s finished after its lease; another worker took over",
            delivery.pk,
            attempt,
        )
    return _Outcome(DeliveryState.DONE, delivery.event_id, finished_at)


def _finish_failed(
    delivery: OutboxDelivery,
    *,
    attempt: int,
    error: str,
    now: dt.datetime | None,
    final: bool,
) -> _Outcome:
    finished_at = now or clock.now()
    error = error[:ERROR_MAX_CHARS]
    changes: dict[str, Any] = {"last_error": error, "locked_until": None}
    if final or attempt >= max_attempts():
        state = DeliveryState.DEAD
        next_at = finished_at
        logger.error(
            "outbox delivery %s is dead after %s attempts: %s", delivery.pk, attempt, error
        )
    else:
        state = DeliveryState.PENDING
        next_at = finished_at + backoff(attempt)
        changes["next_attempt_at"] = next_at
    _owned(delivery, attempt).update(state=state, **changes)
    return _Outcome(state, delivery.event_id, next_at)


def retry_dead(
    *,
    delivery_id: int,
    now: dt.datetime | None = None,
    organisation_ids: Any = None,
    vendor_id: int | None = None,
) -> OutboxDelivery:
    """Staff action: give a dead delivery one more attempt, right away.

    The attempt count is kept (so a new failure makes it dead again, and attempt numbers keep
    increasing); ``last_error`` stays until the next attempt replaces it. The requeue is written
    to the audit log (the actor comes from the request's context) and the worker is woken for
    the event after commit. Raises ``NotFound`` or ``Conflict`` (not dead). With
    ``organisation_ids`` and ``vendor_id`` (staff asking), a delivery of an event the vendor may
    not see (``_of_vendor``) is not found.
    """
    moment = now or clock.now()
    deliveries = OutboxDelivery.objects.all()
    if organisation_ids is not None:
        deliveries = deliveries.filter(_of_vendor(organisation_ids, vendor_id))
    with transaction.atomic():
        requeued = deliveries.filter(pk=delivery_id, state=DeliveryState.DEAD).update(
            state=DeliveryState.PENDING, next_attempt_at=moment, locked_until=None
        )
        delivery = deliveries.select_related("event").filter(pk=delivery_id).first()
        if delivery is None:
            raise NotFound(_("Доставка не найдена."))
        if not requeued:
            raise Conflict(_("Повторить можно только недоставленное событие."))
        audit.record(
            action="outbox.delivery.requeued",
            obj=delivery,
            organisation_id=delivery.event.organisation_id,
            before={"state": DeliveryState.DEAD, "attempts": delivery.attempts},
            after={"state": DeliveryState.PENDING},
        )
        event_id = str(delivery.event_id)
        transaction.on_commit(lambda: wake(event_id))
    return delivery


# --- reading, for the back office ----------------------------------------------------------

#: Order of the back office list: what needs a person first.
_ATTENTION = Case(
    When(state=DeliveryState.DEAD, then=Value(0)),
    When(state=DeliveryState.PENDING, attempts__gt=0, then=Value(1)),
    When(state=DeliveryState.RUNNING, then=Value(2)),
    When(state=DeliveryState.PENDING, then=Value(3)),
    default=Value(4),
    output_field=IntegerField(),
)


def _of_vendor(organisation_ids: Any, vendor_id: int | None) -> Q:
    """Deliveries the staff of vendor ``vendor_id`` see (issue 14): of events marked with its
    id; never of events marked with another vendor's (a partner of two vendors: each sees the
    events of its own programs); of unmarked events (a partner's card, events written before the
    mark existed), those of ``organisation_ids`` (the vendor and its partners) and the
    platform's own events of no organisation, which every vendor's staff see."""
    unmarked = Q(event__organisation_id__in=organisation_ids) | Q(
        event__organisation_id__isnull=True
    )
    return Q(event__vendor_id=vendor_id) | (Q(event__vendor_id__isnull=True) & unmarked)


def deliveries_list(
    *,
    organisation_ids: Any,
    vendor_id: int | None,
    state: str = "",
    event_type: str = "",
    handler: str = "",
) -> QuerySet[OutboxDelivery]:
    """Deliveries of events of ``organisation_ids`` (ids or a subquery: the asking vendor and
    its partners) for the vendor's staff, filtered by state, event type (prefix) and handler.
    Dead and failing ones come first, then the most recent."""
    qs = (
        OutboxDelivery.objects.filter(_of_vendor(organisation_ids, vendor_id))
        .select_related("event")
        .annotate(attention=_ATTENTION)
    )
    if state:
        qs = qs.filter(state=state)
    if event_type:
        qs = qs.filter(event__event_type__startswith=event_type)
    if handler:
        qs = qs.filter(handler=handler)
    return qs.order_by("attention", "-event__created_at", "-pk")


def delivery_counts(*, organisation_ids: Any, vendor_id: int | None) -> dict[str, int]:
    """How many deliveries of events of ``organisation_ids`` are in each state (the back
    office's summary line)."""
    counts = dict.fromkeys(DeliveryState.values, 0)
    rows = (
        OutboxDelivery.objects.filter(_of_vendor(organisation_ids, vendor_id))
        .order_by()
        .values("state")
        .annotate(n=Count("pk"))
    )
    for row in rows:
        counts[row["state"]] = row["n"]
    return counts


def handler_names() -> list[str]:
    """Handler names known to the registry or present in the table (for the filter)."""
    stored = OutboxDelivery.objects.order_by().values_list("handler", flat=True).distinct()
    return sorted({*registered_handlers(), *stored})
