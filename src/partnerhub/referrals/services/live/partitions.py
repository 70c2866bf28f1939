"""Which partner's state an event belongs to after the fact: clients moving to the partner
their first registration names, and events waiting for a client, payment or promo code that
arrives later (released with their partition)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from django.db.models import Q

from partnerhub.partners.models import Program
from partnerhub.referrals.engine import Event, parse_event, promo_key, promo_owner
from partnerhub.referrals.models.events import (
    EventPartition,
    PartnerState,
    ReferralClient,
    StoredEvent,
    WaitingEvent,
    WaitsFor,
)
from partnerhub.referrals.services.bulk import existing, insert_rows
from partnerhub.referrals.services.live.store import program_lock


def repartition_moves(*, program: Program, events: Sequence[Event]) -> set[str]:
    """Move clients whose partition changes because of new registrations or promo codes, and
    return the registered partners whose states must be rebuilt for it (``pending_apply``).

    Runs where the events are stored (they are stored already): the next batch is partitioned
    by the moved clients. A client's partition follows its first registration in time; a
    partner code registers at its earliest registration, a promo code belongs to the partner
    that created it first."""
    codes = {e.data["partner"] for e in events if e.type == "partner.registered"}
    keys = {promo_key(e.data["code"]) for e in events if e.type == "promo_code.created"}
    if not codes and not keys:
        return set()
    registrations = StoredEvent.objects.filter(program=program, type="client.registered").filter(
        (Q(link_code__in=codes) & ~Q(link_code="")) | (Q(promo_key__in=keys) & ~Q(promo_key=""))
    )  # the conditions of the partial indexes
    named = {row[0] for row in registrations.values_list("subject")}
    if not named:
        return set()
    candidates = _first_registrations(program, named)
    links = {c[1] for c in candidates.values() if c[1]}
    registered_at: dict[str, int] = {}
    for code, at_us in StoredEvent.objects.filter(
        program=program, type="partner.registered", subject__in=links
    ).values_list("subject", "at_us"):
        registered_at[code] = min(at_us, registered_at.get(code, at_us))
    owners = _promo_owners(program, {c[2] for c in candidates.values() if c[2]})
    current = dict(
        ReferralClient.objects.filter(program=program, client__in=list(candidates)).values_list(
            "client", "partition"
        )
    )
    moves: list[tuple[str, str, str]] = []
    for client, (at_us, link, key) in candidates.items():
        if link and registered_at.get(link, at_us + 1) <= at_us:
            wanted = link
        elif key and owners.get(key):
            wanted = owners[key]
        else:
            wanted = link
        was = current.get(client, wanted)
        if was != wanted:
            moves.append((client, was, wanted))
    return clients_move(program=program, moves=moves)


def _first_registrations(
    program: Program, clients: Iterable[str]
) -> dict[str, tuple[int, str, str]]:
    """Each client's first registration in (time, id) order: (time, link code, promo key)."""
    found: dict[str, tuple[int, str, str, str]] = {}
    names = sorted(clients)
    for start in range(0, len(names), 500):
        rows = StoredEvent.objects.filter(
            program=program, type="client.registered", subject__in=names[start : start + 500]
        ).values_list("subject", "at_us", "event_id", "link_code", "promo_key")
        for client, at_us, event_id, link, key in rows:
            known = found.get(client)
            if known is None or (at_us, event_id) < known[:2]:
                found[client] = (at_us, event_id, link, key)
    return {client: (at_us, link, key) for client, (at_us, _id, link, key) in found.items()}


def partner_registrations(program: Program, codes: Iterable[str]) -> dict[str, tuple[int, str]]:
    """Each partner code's first stored registration, (µs, event id): what the engine's
    attribution rules compare event keys with (the intake and the re-partitioning)."""
    codes = sorted(codes)
    first: dict[str, tuple[int, str]] = {}
    for start in range(0, len(codes), 500):
        for code, at_us, event_id in StoredEvent.objects.filter(
            program=program, type="partner.registered", subject__in=codes[start : start + 500]
        ).values_list("subject", "at_us", "event_id"):
            first[code] = min((at_us, event_id), first.get(code, (at_us, event_id)))
    return first


def _promo_owners(program: Program, keys: Iterable[str]) -> dict[str, str]:
    """The partner each promo code belongs to: its first creation (time, id) by a partner
    registered before it (``engine.promo_owner``, the engine's own rule)."""
    creations: dict[str, list[tuple[int, str, str]]] = {}
    rows = (
        StoredEvent.objects.filter(program=program, type="promo_code.created", promo_key__in=keys)
        .exclude(promo_key="")
        .values_list("promo_key", "at_us", "event_id", "raw__partner")
    )
    for key, at_us, event_id, partner in rows:
        creations.setdefault(key, []).append((at_us, event_id, str(partner)))
    registered = partner_registrations(
        program, {c[2] for found in creations.values() for c in found}
    )
    owners = {key: promo_owner(found, registered) for key, found in creations.items()}
    return {key: owner for key, owner in owners.items() if owner is not None}


def clients_move(*, program: Program, moves: Sequence[tuple[str, str, str]]) -> set[str]:
    """Move each (client, was, now) with all its stored events to its new partition; the
    registered partners whose states must be rebuilt for it (``pending_apply``). The client
    shows as unattributed until the new partner's state is computed (it writes the row)."""
    if not moves:
        return set()
    # the worker updates these clients' rows as it applies events: wait for it (rather than
    # lock the rows in another order than it does)
    program_lock(program)
    dirty: set[str] = set()
    for client, was, wanted in sorted(moves):
        EventPartition.objects.filter(program=program, client=client).update(partner=wanted)
        ReferralClient.objects.filter(program=program, client=client).update(
            partition=wanted, partner="", active_at=None
        )
        dirty.update({was, wanted})
    return registered(program, dirty)  # codes with no partner are not computed


def client_first_registration(
    *, program: Program, client: str, at: dt.datetime, reason: str
) -> None:
    """A registration earlier than the client's first one arrived late: the client's row
    takes its time (and, until a partner's state writes it, its reason)."""
    ReferralClient.objects.filter(program=program, client=client).update(
        registered_at=at, reason=reason
    )


@dataclass
class Released:
    """Waiting events whose client, payment or promo code has arrived, with their partition."""

    events: list[Event] = field(default_factory=list)
    partition: dict[str, str] = field(default_factory=dict)


def waiting_release(
    *,
    program: Program,
    clients: Iterable[str] = (),
    payments: Iterable[str] = (),
    promos: Iterable[str] = (),
) -> Released:
    """Give the events waiting for these clients, payments or promo codes (stored and
    partitioned already) their partition, and return them to be applied (as late events:
    each partner is recomputed from the earliest of them). A released payment releases the
    refunds that wait for it in turn."""
    released = Released()
    wanted: dict[str, set[str]] = {
        WaitsFor.CLIENT: set(clients),
        WaitsFor.PAYMENT: set(payments),
        WaitsFor.PROMO: set(promos),
    }
    while any(wanted.values()):
        rows = [
            (pk, event_id, kind, key)
            for key, pk, event_id, kind, dropped_at in existing(
                WaitingEvent,
                "key",
                sorted(set().union(*wanted.values())),
                program_id=program.pk,
                extra=["id", "event_id", "waits_for", "dropped_at"],
            )
            if dropped_at is None and key in wanted.get(kind, ())
        ]
        wanted = {WaitsFor.CLIENT: set(), WaitsFor.PAYMENT: set(), WaitsFor.PROMO: set()}
        if not rows:
            break
        found = _referents(program, rows)
        rows = [row for row in rows if (row[2], row[3]) in found]
        if not rows:
            break
        events = {
            event_id: parse_event(raw if isinstance(raw, dict) else orjson.loads(raw), pk)
            for event_id, pk, raw in existing(
                StoredEvent,
                "event_id",
                [row[1] for row in rows],
                program_id=program.pk,
                extra=["id", "raw"],
            )
        }
        partitions: list[tuple[Any, ...]] = []
        for _pk, event_id, waits_for, key in rows:
            event = events[event_id]
            partner, client = found[(waits_for, key)]
            released.events.append(event)
            released.partition[event_id] = partner
            partitions.append((program.pk, event_id, event.type, partner, client, event.us))
            if event.type == "payment":
                wanted[WaitsFor.PAYMENT].add(event_id)
        insert_rows(
            EventPartition,
            ["program_id", "event_id", "type", "partner", "client", "at_us"],
            partitions,
        )
        ids = [row[0] for row in rows]
        for start in range(0, len(ids), 500):
            WaitingEvent.objects.filter(pk__in=ids[start : start + 500]).delete()
    return released


def _referents(
    program: Program, rows: Sequence[tuple[int, str, str, str]]
) -> dict[tuple[str, str], tuple[str, str]]:
    """(kind, key) -> (partition, client) of what waiting events name, where it has arrived."""
    keys: dict[str, set[str]] = {}
    for _pk, _event_id, kind, key in rows:
        keys.setdefault(kind, set()).add(key)
    found: dict[tuple[str, str], tuple[str, str]] = {}
    for client, partition in existing(
        ReferralClient,
        "client",
        sorted(keys.get(WaitsFor.CLIENT, ())),
        program_id=program.pk,
        extra=["partition"],
    ):
        found[(WaitsFor.CLIENT, client)] = (partition, client)
    payments = sorted(keys.get(WaitsFor.PAYMENT, ()))
    for start in range(0, len(payments), 500):
        for event_id, partner, client in EventPartition.objects.filter(
            program=program, type="payment", event_id__in=payments[start : start + 500]
        ).values_list("event_id", "partner", "client"):
            found[(WaitsFor.PAYMENT, event_id)] = (partner, client)
    for key, owner in _promo_owners(program, keys.get(WaitsFor.PROMO, ())).items():
        found[(WaitsFor.PROMO, key)] = (owner, "")
    return found


def waiting_sweep(*, program: Program, since: dt.datetime | None = None) -> Released:
    """Release every waiting event (received ``since``, when given) whose client, payment or
    promo code has arrived (the worker's catch-up: a registration stored in parallel with an
    event naming it, each transaction not seeing the other's rows). The worker looks at the
    events received in the last ``WAITING_SWEEP_RECENT`` only (a parallel batch is that
    recent: the look costs in proportion to them, not to the whole history); the minute task
    at all of them."""
    waiting = WaitingEvent.objects.filter(program=program, dropped_at__isnull=True)
    if since is not None:
        waiting = waiting.filter(received_at__gte=since)
    keys: dict[str, set[str]] = {
        WaitsFor.CLIENT: set(),
        WaitsFor.PAYMENT: set(),
        WaitsFor.PROMO: set(),
    }
    for kind, key in waiting.values_list("waits_for", "key"):
        keys.setdefault(kind, set()).add(key)
    if not any(keys.values()):
        return Released()
    # what they wait for is looked up by key (unique indexes), not joined: the waiting rows are
    # few, the clients and payments many (and a join's plan depends on fresh statistics)
    return waiting_release(
        program=program,
        clients=keys[WaitsFor.CLIENT],
        payments=keys[WaitsFor.PAYMENT],
        promos=keys[WaitsFor.PROMO],
    )


def registered(program: Program, codes: Iterable[str]) -> set[str]:
    codes = list(codes)
    if not codes:
        return set()
    return set(
        PartnerState.objects.filter(
            program=program, partner__in=codes, registered=True
        ).values_list("partner", flat=True)
    )
