"""The transactional outbox (house rule 9): side effects leave only after the business
transaction commits, at least once, to handlers that are safe to run twice.

Producers call ``emit()`` inside their transaction; it writes the event, one INSERT. After
commit the worker fans the event out (``fan_out``): one delivery row per matching handler and
per target the handler names (e.g. each subscribed webhook endpoint), read at that moment; then
it delivers them (``core.tasks``). A periodic sweep fans out what a lost task left behind and
retries what failed or what a crashed worker left. Handlers register with
``@handler(pattern, name=...)``.

Issue 17: the fan-out used to run inside the producer's transaction, which cost every write a
query per handler (a lead take: the partner's webhook endpoints and its CRM connection) while
the user waited. The event is still written with the business change or not at all; only who
receives it is decided a moment later, by the worker.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import transaction

from partnerhub.core.clock import now as clock_now
from partnerhub.core.models.outbox import OutboxDelivery, OutboxEvent

HandlerFn = Callable[[OutboxEvent, str], None]
TargetsFn = Callable[[OutboxEvent], list[str]]


@dataclass(frozen=True)
class Handler:
    """A registered handler: events whose type matches ``pattern`` (fnmatch) reach ``fn``."""

    name: str
    pattern: str
    fn: HandlerFn
    targets: TargetsFn | None = None

    def matches(self, event_type: str) -> bool:
        return fnmatch.fnmatchcase(event_type, self.pattern)

    def targets_for(self, event: OutboxEvent) -> list[str]:
        return self.targets(event) if self.targets is not None else [""]


_HANDLERS: dict[str, Handler] = {}


def handler(
    pattern: str, *, name: str, targets: TargetsFn | None = None
) -> Callable[[HandlerFn], HandlerFn]:
    """Register ``fn(event, target)`` for event types matching ``pattern``.

    ``targets(event)`` may fan one event out to several targets, each delivered and retried on
    its own; without it the handler gets one delivery with target "".
    """

    def register(fn: HandlerFn) -> HandlerFn:
        _HANDLERS[name] = Handler(name=name, pattern=pattern, fn=fn, targets=targets)
        return fn

    return register


def unregister(name: str) -> None:
    """Forget the handler registered as ``name`` (tests that register their own handlers).
    Deliveries already written for it stay; the engine marks them dead (no handler)."""
    _HANDLERS.pop(name, None)


def registered_handlers() -> dict[str, Handler]:
    """The handlers registered so far, by name."""
    return dict(_HANDLERS)


def emit(
    event_type: str,
    payload: dict[str, Any],
    *,
    organisation_id: int | None = None,
    vendor_id: int | None = None,
) -> OutboxEvent:
    """Record an event in the current transaction; after commit the worker fans it out to its
    deliveries and delivers them. ``vendor_id`` names the vendor whose programs the event
    concerns (its staff alone see it on the outbox page; none: every vendor whose partner
    ``organisation_id`` is)."""
    event = OutboxEvent.objects.create(
        event_type=event_type,
        payload=payload,
        organisation_id=organisation_id,
        vendor_id=vendor_id,
    )
    transaction.on_commit(lambda: wake(event.pk))
    return event


def fan_out(event_id: Any) -> int:
    """Write the deliveries of event ``event_id`` if nobody has yet: one per matching handler and
    target, as the handlers' targets are now. The number written (0 when it had been fanned
    out, or is gone). Safe to run twice or concurrently: the event is claimed by a conditional
    UPDATE in the same transaction as its deliveries."""
    with transaction.atomic():
        claimed = OutboxEvent.objects.filter(pk=event_id, fanned_out_at__isnull=True).update(
            fanned_out_at=clock_now()
        )
        if claimed != 1:
            return 0
        event = OutboxEvent.objects.get(pk=event_id)
        deliveries = [
            OutboxDelivery(event=event, handler=h.name, target=target)
            for h in _HANDLERS.values()
            if h.matches(event.event_type)
            for target in h.targets_for(event)
        ]
        OutboxDelivery.objects.bulk_create(deliveries)
    return len(deliveries)


def fan_out_pending(*, limit: int = 200) -> int:
    """Fan out up to ``limit`` events not fanned out yet, oldest first (the sweep: their task
    was lost); how many were found (``limit``: there may be more)."""
    pending = list(
        OutboxEvent.objects.filter(fanned_out_at__isnull=True)
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
    for pk in pending:
        fan_out(pk)
    return len(pending)


#: What wakes the worker for an event: the ``core.tasks.deliver_event`` task, set when the app
#: is ready (``CoreConfig.ready``); the task module imports this one, so this one cannot.
_waker: Callable[[str], None] | None = None


def waker_set(wake: Callable[[str], None]) -> None:
    """Name what enqueues the delivery of an event's due deliveries (``CoreConfig.ready``)."""
    global _waker
    _waker = wake


def wake(event_id: Any) -> None:
    """Enqueue the fan-out and delivery of the event (the worker reloads it by id)."""
    if _waker is None:
        raise ImproperlyConfigured("the outbox has no waker: is partnerhub.core installed?")
    _waker(str(event_id))
