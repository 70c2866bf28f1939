"""Event intake: the one path by which events enter the store (API, file import, portal, staff).

Spec: referrals.md ("Events: the contract with the product"); issue "Referral program" part 3.
``events_ingest`` checks each event alone (``engine.parse_event``) and against the store (a
client never registered, a refund of an unknown payment, a timestamp in the future), ignores ids
seen before, stores the accepted events as received and updates the live standing of the
partners they touch (``services.live``), all in one database transaction: after a crash either
the whole accepted part of a batch is stored or none of it, and a retry with the same ids is
safe (they come back as duplicates). Over the API on PostgreSQL the request only stores them
and the worker applies them (``defer``; ``live.pending_apply``), so that the two run on two
cores; a stored event waiting for the worker is in ``PendingEvent`` until it is applied.

Which partner's state an event belongs to (its partition) is decided here, mirroring the
engine's attribution rule: a client's partition is the partner its link code names when that
partner registered before the client, else the owner of its promo code, else the link code as
given (a partner may register under it later), else none (""). Activity, payments and refunds
follow their client. A late ``partner.registered`` or ``promo_code.created`` (an earlier
creation of a code decides its owner), or a late ``client.registered`` earlier than the
client's first one seen (the first registration in time decides), that changes a client's
partition moves the client's events here (``live.clients_move``), and both partners are
recomputed where the events are applied.

An event that names a client, payment or promo code not seen yet (issue 15 item 2) is not
refused: it is stored and waits (``WaitingEvent``, counted as accepted and as ``waiting``)
with no partition. When what it names arrives, ``live.waiting_release`` gives it the partition
and it is applied like a late event. Within a batch, events naming clients are partitioned
after every registration of the batch, refunds after every payment, whatever their times (the
engine judges the times: a payment dated before its client's registration is passed over, live
as in replay). Replay of a file (``engine.replay``) still judges the file whole and rejects.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, connection, transaction

from partnerhub.core.clock import now
from partnerhub.core.input import (
    InputRefused,
    canonical_json_size,
    find_unstorable,
    nesting_depth,
    printable,
    year_bounds,
)
from partnerhub.partners.models import Program
from partnerhub.referrals.engine import (
    EPOCH,
    ONE_US,
    Event,
    EventRejected,
    in_order,
    parse_event,
    promo_key,
    promo_owner,
)
from partnerhub.referrals.engine.events import extra_fields
from partnerhub.referrals.models.events import (
    EventPartition,
    EventRejection,
    EventSource,
    ReferralClient,
    RejectionStage,
    StoredEvent,
    WaitingEvent,
    WaitsFor,
)
from partnerhub.referrals.selectors.config import current_config
from partnerhub.referrals.services import live
from partnerhub.referrals.services.bulk import existing, insert_rows, json_text
from partnerhub.referrals.tasks import referrals_analyze, referrals_apply

__all__ = ["IngestResult", "events_ingest", "portal_event_record"]

CLIENT_EVENTS = frozenset({"client.activity", "payment"})
PARTNER_EVENTS = frozenset(
    {
        "partner.registered",
        "partner.blocked",
        "partner.unblocked",
        "points.adjusted",
        "bonus.adjusted",
        "promo_code.created",
    }
)


@dataclass
class IngestResult:
    """What became of a batch: counts and each refused event with its position and reason."""

    accepted: int = 0
    duplicates: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)
    #: of the accepted, those stored to wait for the client, payment or promo code they name
    waiting: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "waiting": self.waiting,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
        }


@dataclass
class _Batch:
    program: Program
    source: str
    received_at: dt.datetime
    events: list[Event] = field(default_factory=list)
    partition: dict[str, str] = field(default_factory=dict)  # event id -> partner code
    client_of: dict[str, str] = field(default_factory=dict)  # event id -> client
    rejected: list[dict[str, Any]] = field(default_factory=list)
    #: events that name what has not arrived yet: event id -> (what they wait for, its key)
    waiting: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: clients whose partition changes: (client, was, now)
    moves: list[tuple[str, str, str]] = field(default_factory=list)
    #: stored clients whose first registration is now an earlier one of this batch
    earlier: dict[str, Event] = field(default_factory=dict)
    #: clients this batch's transaction found stored when it began
    known_clients: set[str] = field(default_factory=set)


def _future_limit(moment: dt.datetime) -> int:
    tolerance = dt.timedelta(seconds=settings.REFERRAL_EVENTS_FUTURE_TOLERANCE_SECONDS)
    return (moment + tolerance - EPOCH) // ONE_US


def _chunks(items: Sequence[Any], size: int = 500) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _unstorable(obj: Any) -> None:
    """Refuse an event with a character the database cannot store, in any key or value."""
    found = find_unstorable(obj)
    if found is not None:
        path, char = found
        raise EventRejected(f"{path or 'event'}: character {char} cannot be stored")


def _check_extra(event: Event) -> None:
    """Refuse extra fields nested too deep or too large as canonical JSON."""
    extra = extra_fields(event)
    if not extra:
        return
    depth = max(nesting_depth(value) for value in extra.values())
    if depth > settings.REFERRAL_EVENT_EXTRA_MAX_DEPTH:
        raise EventRejected(
            f"extra fields nest {depth} levels deep, "
            f"at most {settings.REFERRAL_EVENT_EXTRA_MAX_DEPTH} allowed"
        )
    try:
        size = canonical_json_size(extra)
    except InputRefused:
        raise EventRejected("extra fields are not valid JSON") from None
    if size > settings.REFERRAL_EVENT_EXTRA_MAX_BYTES:
        raise EventRejected(
            f"extra fields take {size} bytes as JSON, "
            f"at most {settings.REFERRAL_EVENT_EXTRA_MAX_BYTES} allowed"
        )


def _checked(objs: Sequence[Any], batch: _Batch) -> tuple[list[Event], int]:
    """Events that pass the shape checks, first of each id; (events, duplicates in batch)."""
    limit = _future_limit(batch.received_at)
    years = year_bounds()
    events: list[Event] = []
    seen: set[str] = set()
    duplicates = 0
    for index, obj in enumerate(objs):
        try:
            _unstorable(obj)
            event = parse_event(obj, index, years)
            if event.us > limit:
                raise EventRejected("timestamp in the future")
            _check_extra(event)
        except EventRejected as exc:
            event_id = obj.get("id") if isinstance(obj, dict) else None
            batch.rejected.append(
                {
                    "index": index,
                    "id": printable(event_id) if isinstance(event_id, str) else None,
                    "reason": exc.reason,
                }
            )
            continue
        if event.id in seen:
            duplicates += 1
            continue
        seen.add(event.id)
        events.append(event)
    return events, duplicates


def _known_ids(program: Program, ids: Sequence[str]) -> set[str]:
    return {row[0] for row in existing(StoredEvent, "event_id", ids, program_id=program.pk)}


class _Resolver:
    """Answers, for one batch, what the store and the batch know: registrations of partner
    codes (the earliest), owners of promo codes (the earliest creation), partitions and first
    registrations of clients, partitions of payments."""

    def __init__(self, program: Program, events: list[Event]) -> None:
        self.program = program
        link_codes = {e.data.get("referral_code") for e in events} - {None, ""}
        promo_keys = {promo_key(e.data["promo_code"]) for e in events if e.data.get("promo_code")}
        promo_keys |= {promo_key(e.data["code"]) for e in events if e.type.startswith("promo_")}
        clients = {e.data["client"] for e in events if e.type in CLIENT_EVENTS}
        registering = {e.data["client"] for e in events if e.type == "client.registered"}
        payments = {e.data["payment"] for e in events if e.type == "payment.refunded"}
        #: promo key -> its creations (at_us, id, partner), stored and in the batch
        self.promo_creations: dict[str, list[tuple[int, str, str]]] = {}
        for chunk in _chunks(sorted(promo_keys)):
            for key, at_us, event_id, raw in (
                StoredEvent.objects.filter(
                    program=program, type="promo_code.created", promo_key__in=chunk
                )
                .exclude(promo_key="")
                .values_list("promo_key", "at_us", "event_id", "raw")
            ):
                self.promo_created(key, at_us, event_id, raw["partner"])
        creators = {c[2] for found in self.promo_creations.values() for c in found}
        creators |= {e.data["partner"] for e in events if e.type == "promo_code.created"}
        #: partner code -> its first registration (at_us, id): link codes and promo creators
        named = {code for code in link_codes | creators if isinstance(code, str)}
        self.partner_first = live.partner_registrations(program, named)
        self.client_first: dict[str, tuple[int, str]] = {}  # client -> its first registration
        for chunk in _chunks(sorted(registering)):
            for client, at_us, event_id in StoredEvent.objects.filter(
                program=program, type="client.registered", subject__in=chunk
            ).values_list("subject", "at_us", "event_id"):
                first = (at_us, event_id)
                self.client_first[client] = min(first, self.client_first.get(client, first))
        rows = existing(
            ReferralClient,
            "client",
            sorted(clients | registering),
            program_id=program.pk,
            extra=["partition"],
        )
        self.client_partition: dict[str, str] = {row[0]: row[1] for row in rows}
        self.payment_partition: dict[str, tuple[str, str]] = {}
        for chunk in _chunks(sorted(payments)):
            for event_id, partner, client in EventPartition.objects.filter(
                program=program, event_id__in=chunk, type="payment"
            ).values_list("event_id", "partner", "client"):
                self.payment_partition[event_id] = (partner, client)

    def promo_created(self, key: str, at_us: int, event_id: str, partner: str) -> None:
        """A creation of a promo code (its owner: ``promo_owner``)."""
        self.promo_creations.setdefault(key, []).append((at_us, event_id, partner))

    def partner_registered(self, code: str, at_us: int, event_id: str) -> None:
        """A registration of a partner code (the first one counts)."""
        first = (at_us, event_id)
        self.partner_first[code] = min(first, self.partner_first.get(code, first))

    def promo_owner(self, key: str) -> str | None:
        """The first creation by a partner registered before it (``engine.promo_owner``: the
        engine's own rule, so that the partition is the partner the replay attributes to)."""
        return promo_owner(self.promo_creations.get(key, ()), self.partner_first)

    def client_candidate(self, event: Event) -> str:
        link = event.data.get("referral_code") or ""
        registered = self.partner_first.get(link) if link else None
        if registered is not None and registered[0] <= event.us:
            return str(link)
        promo = event.data.get("promo_code")
        if promo:
            owner = self.promo_owner(promo_key(promo))
            if owner:
                return owner
        return str(link)


def _partition(batch: _Batch, events: list[Event]) -> list[Event]:
    """Give each event its partition; an event that names a client, payment or promo code
    not seen yet waits for it (``batch.waiting``, not partitioned). A registration earlier
    than the client's first one seen decides the client's partition anew (``batch.moves``).

    Registrations and promo codes first (their effect is decided by their times, not by the
    order of arrival), then what names clients, then refunds (which name payments)."""
    resolver = _Resolver(batch.program, events)
    batch.known_clients = set(resolver.client_partition)
    for event in events:
        if event.type == "partner.registered":
            resolver.partner_registered(event.data["partner"], event.us, event.id)
        elif event.type == "promo_code.created":
            data = event.data
            resolver.promo_created(promo_key(data["code"]), event.us, event.id, data["partner"])
    accepted: list[Event] = []
    ordered = sorted(events, key=lambda e: (e.us, e.id))
    for event in ordered:
        if event.type not in CLIENT_EVENTS and event.type != "payment.refunded":
            _partition_one(batch, resolver, event)
    for event in ordered:
        if event.type in CLIENT_EVENTS:
            _partition_one(batch, resolver, event)
    for event in ordered:
        if event.type == "payment.refunded":
            _partition_one(batch, resolver, event)
    for event in events:
        if event.id in batch.partition:
            accepted.append(event)
    return accepted


def _partition_one(batch: _Batch, resolver: _Resolver, event: Event) -> None:
    kind, data = event.type, event.data
    if kind in ("partner.registered", "promo_code.created") or kind in PARTNER_EVENTS:
        partition, client = data["partner"], ""
    elif kind == "promo_code.deactivated":
        key = promo_key(data["code"])
        owner = resolver.promo_owner(key)
        if owner is None:
            batch.waiting[event.id] = (WaitsFor.PROMO, key)
            return
        partition, client = owner, ""
    elif kind == "client.registered":
        client = data["client"]
        partition = _client_registered(batch, resolver, event)
    elif kind in CLIENT_EVENTS:
        client = data["client"]
        found = resolver.client_partition.get(client)
        if found is None:
            batch.waiting[event.id] = (WaitsFor.CLIENT, client)
            return
        partition = found
    else:  # payment.refunded
        found_payment = resolver.payment_partition.get(data["payment"])
        if found_payment is None:
            batch.waiting[event.id] = (WaitsFor.PAYMENT, data["payment"])
            return
        partition, client = found_payment
    if kind == "payment":
        resolver.payment_partition[event.id] = (partition, client)
    batch.partition[event.id] = partition
    batch.client_of[event.id] = client


def _client_registered(batch: _Batch, resolver: _Resolver, event: Event) -> str:
    """The client's partition: decided by its first registration in time, which may arrive
    after a later one (then the client moves, with all its events)."""
    client = event.data["client"]
    current = resolver.client_partition.get(client)
    first = resolver.client_first.get(client)
    key = (event.us, event.id)
    if current is not None and first is not None and first < key:
        return current  # a second registration: the engine rejects it
    resolver.client_first[client] = key
    wanted = resolver.client_candidate(event)
    resolver.client_partition[client] = wanted
    if current is not None:  # stored before: an earlier registration arrived late
        batch.earlier[client] = event
        if current != wanted:
            batch.moves.append((client, current, wanted))
    return wanted


def _subject(event: Event) -> str:
    data = event.data
    if event.type in ("partner.registered", "partner.blocked", "partner.unblocked"):
        return str(data["partner"])
    if event.type.startswith("promo_code."):
        return promo_key(data["code"])
    if event.type == "payment.refunded":
        return str(data["payment"])
    return str(data.get("client") or data.get("partner") or "")


def _store(batch: _Batch, events: list[Event], waiting: list[Event]) -> None:
    """Store the accepted events (those that wait included); partition all but those."""
    program_id = batch.program.pk
    ops = connection.ops
    received = ops.adapt_datetimefield_value(batch.received_at)
    insert_rows(
        StoredEvent,
        [
            "program_id",
            "event_id",
            "type",
            "at",
            "at_us",
            "subject",
            "link_code",
            "promo_key",
            "raw",
            "source",
            "received_at",
        ],
        [
            (
                program_id,
                e.id,
                e.type,
                ops.adapt_datetimefield_value(e.at),
                e.us,
                _subject(e)[:200],
                _link_code(e),
                _promo_key(e),
                json_text(e.data),
                batch.source,
                received,
            )
            for e in [*events, *waiting]
        ],
    )
    insert_rows(
        EventPartition,
        ["program_id", "event_id", "type", "partner", "client", "at_us"],
        [
            (program_id, e.id, e.type, batch.partition[e.id], batch.client_of[e.id], e.us)
            for e in events
        ],
    )
    insert_rows(
        WaitingEvent,
        ["program_id", "event_id", "type", "waits_for", "key", "at_us", "received_at"],
        [(program_id, e.id, e.type, *batch.waiting[e.id], e.us, received) for e in waiting],
    )
    first_registrations: dict[str, Event] = {}
    for e in in_order([e for e in events if e.type == "client.registered"]):
        if e.data["client"] not in batch.earlier:
            first_registrations.setdefault(e.data["client"], e)
    zero = Decimal("0.00")
    insert_rows(
        ReferralClient,
        [
            "program_id",
            "client",
            "partner",
            "partition",
            "reason",
            "registered_at",
            "active_at",
            "payments",
            "paid",
        ],
        [
            (
                program_id,
                client,
                "",
                batch.partition[e.id],
                _first_reason(e),
                ops.adapt_datetimefield_value(e.at),
                None,
                0,
                zero,
            )
            for client, e in first_registrations.items()
        ],
        conflict=["program_id", "client"],
    )
    _check_new_clients(batch, first_registrations)
    insert_rows(
        EventRejection,
        [
            "program_id",
            "stage",
            "partner",
            "event_id",
            "position",
            "reason",
            "raw",
            "source",
            "received_at",
        ],
        [
            (
                program_id,
                RejectionStage.INTAKE,
                "",
                str(r["id"] or "")[:200],
                r["index"],
                r["reason"][:300],
                None,
                batch.source,
                received,
            )
            for r in batch.rejected
        ],
    )


class ParallelRegistration(IntegrityError):
    """A batch running in parallel registered a client this batch took for new: this batch is
    retried (``events_ingest``) and then sees that registration."""


def _check_new_clients(batch: _Batch, first_registrations: dict[str, Event]) -> None:
    """Refuse the batch when a client it registers as new was stored meanwhile by a batch in
    parallel (its row was inserted by the other transaction, which this one did not see when
    it partitioned): on PostgreSQL the insert above waited for that transaction to commit, so
    the row is visible now. Retried, the batch partitions the client's events by its first
    registration of both, as a replay does."""
    new = {c: e for c, e in first_registrations.items() if c not in batch.known_clients}
    if not new:
        return
    for chunk in _chunks(sorted(new)):
        for client, partition, registered_at in ReferralClient.objects.filter(
            program=batch.program, client__in=chunk
        ).values_list("client", "partition", "registered_at"):
            event = new[client]
            if partition != batch.partition[event.id] or registered_at != event.at:
                raise ParallelRegistration(f"client {client} was registered by a parallel batch")


def _first_reason(event: Event) -> str:
    """Why a client is not attributed, as far as intake can tell (the engine decides for the
    clients of registered partners and overwrites it)."""
    data = event.data
    if data.get("referral_code"):
        return "unknown referral code"
    if data.get("promo_code"):
        return "unknown promo code"
    return "no code"


def _link_code(event: Event) -> str:
    if event.type != "client.registered":
        return ""
    return str(event.data.get("referral_code") or "")[:200]


def _promo_key(event: Event) -> str:
    if event.type == "client.registered":
        promo = event.data.get("promo_code")
        return promo_key(promo)[:200] if promo else ""
    if event.type.startswith("promo_code."):
        return promo_key(event.data["code"])[:200]
    return ""


#: Events stored by this process after which the worker refreshes the planner's statistics.
ANALYZE_EVERY = 20_000
_stored_since_analyze = 0


def _count_for_statistics(stored: int) -> None:
    """After ``ANALYZE_EVERY`` events, have the worker analyse the tables that grew
    (``bulk.analyze_stale``), once this transaction has committed."""
    global _stored_since_analyze
    _stored_since_analyze += stored
    if _stored_since_analyze < ANALYZE_EVERY or connection.vendor != "postgresql":
        return
    _stored_since_analyze = 0
    transaction.on_commit(referrals_analyze)


def events_ingest(
    *,
    program: Program,
    objs: Sequence[Any],
    source: str = EventSource.API,
    received_at: dt.datetime | None = None,
    defer: bool = False,
) -> IngestResult:
    """Check, store and apply a batch of raw events (decoded JSON objects), in one transaction.

    Bad events are refused one by one with a reason; ids stored before (or repeated in the
    batch) count as duplicates and change nothing. ``defer``: the events are stored and left
    for the worker to apply (``live.pending_apply``, queued when the transaction commits);
    while more than ``REFERRAL_PENDING_LIMIT`` events wait, the call waits for the worker, and
    applies them itself after ``REFERRAL_PENDING_WAIT_SECONDS``.
    """
    if defer and not live.pending_room(
        program,
        limit=settings.REFERRAL_PENDING_LIMIT,
        wait=settings.REFERRAL_PENDING_WAIT_SECONDS,
    ):
        defer = False
    for attempt in range(3):
        try:
            return _ingest_once(
                program=program,
                objs=objs,
                source=source,
                received_at=received_at or now(),
                defer=defer,
            )
        except IntegrityError:  # a parallel batch stored some of the same ids first
            if attempt == 2:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _ingest_once(
    *, program: Program, objs: Sequence[Any], source: str, received_at: dt.datetime, defer: bool
) -> IngestResult:
    batch = _Batch(program=program, source=source, received_at=received_at)
    events, duplicates = _checked(objs, batch)
    with transaction.atomic():
        known = _known_ids(program, [e.id for e in events])
        duplicates += len(known)
        fresh = [e for e in events if e.id not in known]
        accepted = _partition(batch, fresh)
        waiting = [e for e in fresh if e.id in batch.waiting]
        _store(batch, accepted, waiting)
        for client, event in batch.earlier.items():
            live.client_first_registration(
                program=program, client=client, at=event.at, reason=_first_reason(event)
            )
        rebuild = live.clients_move(program=program, moves=batch.moves)
        rebuild |= live.repartition_moves(program=program, events=accepted)
        released = live.waiting_release(
            program=program,
            clients={e.data["client"] for e in accepted if e.type == "client.registered"},
            payments={e.id for e in accepted if e.type == "payment"},
            promos={promo_key(e.data["code"]) for e in accepted if e.type == "promo_code.created"},
        )
        partition = {**batch.partition, **released.partition}
        apply = [*accepted, *released.events]
        if defer:
            if apply or rebuild:
                live.pending_add(
                    program=program, events=apply, partition=partition, rebuild=rebuild
                )
                transaction.on_commit(lambda: _apply_later(program))
        else:
            live.pending_apply(program=program, events=apply, partition=partition, rebuild=rebuild)
    _count_for_statistics(len(accepted) + len(waiting))
    batch.rejected.sort(key=lambda r: r["index"])
    return IngestResult(
        accepted=len(accepted) + len(waiting),
        duplicates=duplicates,
        rejected=batch.rejected,
        waiting=len(waiting),
    )


def _apply_later(program: Program) -> None:
    referrals_apply(program.pk)


def portal_event_record(
    *,
    program: Program,
    type: str,
    at: dt.datetime,
    fields: dict[str, Any],
    source: str = EventSource.PORTAL,
) -> Event:
    """Store an event the portal itself produces (partner joined, promo code created, a staff
    adjustment...) through the same path, in the caller's transaction.

    Its id is ``<source>:<type>:<uuid>``; a refusal raises ``EventRejected`` (the caller's
    transaction rolls back).
    """
    event_id = f"{source}:{type}:{uuid.uuid4().hex}"
    # written in the program's time zone: times shown from it (the next review) keep its offset
    local = at.astimezone(ZoneInfo(current_config(program).timezone))
    raw = {"id": event_id, "type": type, "at": local.isoformat(), **fields}
    result = events_ingest(program=program, objs=[raw], source=source, received_at=now())
    if result.rejected:
        raise EventRejected(result.rejected[0]["reason"])
    return parse_event(raw)
