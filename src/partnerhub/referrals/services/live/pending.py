"""Events stored over the API and left for the worker to apply (``PendingEvent``), with the
backpressure that keeps the backlog short."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterable, Sequence

import orjson
from django.db import connection, transaction

from partnerhub.core.clock import now
from partnerhub.partners.models import Program
from partnerhub.referrals.engine import Event, parse_event
from partnerhub.referrals.models.events import PendingEvent, StoredEvent, WaitingEvent
from partnerhub.referrals.services.bulk import existing, insert_rows
from partnerhub.referrals.services.live.apply import partition_recompute, partitions_apply
from partnerhub.referrals.services.live.partitions import registered, waiting_sweep
from partnerhub.referrals.services.live.store import program_lock

logger = logging.getLogger(__name__)


#: The worker's look for waiting events whose client or payment a parallel batch stored covers
#: the events received this recently (the minute task looks at all of them).
WAITING_SWEEP_RECENT = dt.timedelta(minutes=10)


def pending_add(
    *,
    program: Program,
    events: Sequence[Event],
    partition: dict[str, str],
    rebuild: Iterable[str] = (),
) -> None:
    """Leave just-stored events (and partners to rebuild) for the worker, in this transaction;
    the caller queues ``referrals.apply`` once it commits."""
    pk = program.pk
    insert_rows(
        PendingEvent,
        ["program_id", "event_id", "partner"],
        [(pk, e.id, partition[e.id]) for e in events] + [(pk, "", code) for code in rebuild],
    )


def pending_count(program: Program) -> int:
    """Events (and rebuilds) waiting for the worker."""
    return PendingEvent.objects.filter(program=program).count()


def pending_room(program: Program, *, limit: int, wait: float) -> bool:
    """Backpressure: wait until no more than ``limit`` events wait for the worker; False when
    that took longer than ``wait`` seconds (no worker running: the caller applies them)."""
    deadline = time.monotonic() + wait
    while (backlog := pending_count(program)) > limit:
        if time.monotonic() >= deadline:
            logger.warning(
                "referral events waited too long for the worker: %s waiting in program %s, "
                "the request applies them",
                backlog,
                program.pk,
            )
            return False
        time.sleep(0.01)
    return True


def _pending_take(program: Program) -> tuple[list[tuple[str, str]], set[str]]:
    """Delete what waits; the (event id, partition) pairs and the partners to rebuild."""
    table = connection.ops.quote_name(PendingEvent._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {table} WHERE program_id = %s RETURNING event_id, partner",  # noqa: S608
            [program.pk],
        )
        rows = cursor.fetchall()
    events = [(event_id, partner) for event_id, partner in rows if event_id]
    return events, {partner for event_id, partner in rows if not event_id}


def pending_drain(program: Program) -> None:
    """Apply what waits for the worker now, in a transaction of its own."""
    if (
        PendingEvent.objects.filter(program=program).exists()
        or WaitingEvent.objects.filter(program=program, dropped_at__isnull=True).exists()
    ):
        with transaction.atomic():
            pending_apply(program=program, sweep_all=True)


def pending_apply(
    *,
    program: Program,
    events: Sequence[Event] = (),
    partition: dict[str, str] | None = None,
    rebuild: Iterable[str] = (),
    sweep_all: bool = False,
) -> int:
    """Apply, in this transaction, every event waiting for the worker, then ``events`` (stored
    in this transaction, partitioned by ``partition``), and rebuild the partners in
    ``rebuild`` and those left by waiting batches. Returns the number of events applied.

    The worker's task (``referrals.apply``) calls it with nothing (it also releases waiting
    events whose client or payment was stored by a parallel batch, ``waiting_sweep``: those
    received recently, or all of them with ``sweep_all``, as the minute task does); intake
    with its batch when it applies in the request. A stored event is applied exactly once:
    here, after it left ``PendingEvent`` (replays of stored events pass over those still waiting).
    """
    program_lock(program)
    taken, rebuild_more = _pending_take(program)
    partition = partition or {}
    if not events:  # the worker: release what a parallel batch's events wait for
        released = waiting_sweep(
            program=program, since=None if sweep_all else now() - WAITING_SWEEP_RECENT
        )
        events, partition = released.events, released.partition
    by_partition: dict[str, list[Event]] = {}
    if taken:
        partner_of = dict(taken)
        for event_id, pk, raw in existing(
            StoredEvent, "event_id", list(partner_of), program_id=program.pk, extra=["id", "raw"]
        ):
            data = raw if isinstance(raw, dict) else orjson.loads(raw)
            by_partition.setdefault(partner_of[event_id], []).append(parse_event(data, pk))
    for event in events:
        by_partition.setdefault(partition[event.id], []).append(event)
    # partners whose clients moved are rebuilt from all their stored events (those applied
    # here included); one registering only now is computed from them when it is activated
    rebuilt = registered(program, {*rebuild, *rebuild_more})
    partitions_apply(
        program=program,
        new_events={code: found for code, found in by_partition.items() if code not in rebuilt},
    )
    for code in sorted(rebuilt):
        partition_recompute(program=program, code=code)
    return len(taken) + len(events)
