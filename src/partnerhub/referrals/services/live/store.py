"""The stored live state: ``PartnerState`` rows and their blobs, checkpoints, the in-process
cache of states, the partners' stored events, and the program's applier lock."""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection

from partnerhub.core.models.ledger import LedgerEntry, Side
from partnerhub.partners.models import Program
from partnerhub.referrals.engine import (
    EPOCH,
    ONE_US,
    ConfigSet,
    Engine,
    Event,
    in_order,
    parse_event,
)
from partnerhub.referrals.engine.state import (
    StateFormatError,
    engine_from_data,
    engine_to_data,
    read_int,
    read_str,
    state_decode,
    state_encode,
)
from partnerhub.referrals.models.events import (
    EventPartition,
    EventRejection,
    HistoryItem,
    PartnerState,
    PendingEvent,
    RejectionStage,
    StateCheckpoint,
    StoredEvent,
)
from partnerhub.referrals.models.partner import ReferralPartner
from partnerhub.referrals.services.live.memory import MIN_KEY, Memory, engine_from_blob

logger = logging.getLogger(__name__)


BONUS_PURPOSE = "bonus_rub"


EXPENSE_PURPOSE = "bonus_expense"


EXPIRY_NOTICE = dt.timedelta(days=14)


#: The version of a ``PartnerState`` document (the engine's own document inside it has its own,
#: ``engine.state.FORMAT``): a state of another version is rebuilt from the stored events.
LIVE_FORMAT = 1


#: The saved state is rewritten after this many events (and at every late event, level change
#: or correction); in between, a reader replays the partner's newer stored events onto it.
BLOB_EVERY = 2_000


#: Live states kept in this process's memory, most recently used first.
CACHE_SIZE = 2_000


def to_us(moment: dt.datetime) -> int:
    """Microseconds since the epoch."""
    return (moment - EPOCH) // ONE_US


@dataclass
class LiveState:
    """What a ``PartnerState`` blob holds: the engine and the bookkeeping beside it.

    ``posted`` mirrors the ledger postings made for the engine's bonus entries (entry ref ->
    amount and time); ``notified_levels`` the level changes already told (time, from, to);
    ``generation`` changes at every recomputation from a checkpoint, so that a copy made before
    it (another process's cache, an older blob) is never continued; ``unsaved`` counts events
    applied since the blob was last written. In memory only (never in the blob): ``memory``,
    the latest checkpoints with the events applied since the oldest of them, so that a late
    event after one of them is recomputed without reading the database. ``before_advance``
    is the engine as it was after its last event, before time was moved on (reviews and
    expiries with no events, ``partitions_catch_up``): events after that last event but
    before the time reached continue from it.
    """

    engine: Engine
    posted: dict[str, tuple[Decimal, int]] = field(default_factory=dict)
    corrections: int = 0
    notified_levels: set[tuple[int, int, int]] = field(default_factory=set)
    generation: int = 0
    unsaved: int = 0
    rejections_saved: int = 0
    memory: Memory | None = None
    before_advance: bytes | None = None
    since_checkpoint: int = 0
    written_clients: dict[Any, tuple[Any, ...]] | None = None


CACHE: OrderedDict[tuple[int, str], LiveState] = OrderedDict()


def cache_clear() -> None:
    """Forget the states kept in memory (tests; a worker may call it any time)."""
    CACHE.clear()


def cache_put(key: tuple[int, str], live: LiveState) -> None:
    CACHE[key] = live
    CACHE.move_to_end(key)
    while len(CACHE) > CACHE_SIZE:
        CACHE.popitem(last=False)


def state_dump(live: LiveState) -> bytes:
    """The ``PartnerState`` blob: the engine and the bookkeeping beside it, as data."""
    before = live.before_advance
    return state_encode(
        {
            "format": LIVE_FORMAT,
            "engine": engine_to_data(live.engine),
            "posted": [[ref, str(amount), at_us] for ref, (amount, at_us) in live.posted.items()],
            "corrections": live.corrections,
            "notified_levels": sorted(list(key) for key in live.notified_levels),
            "generation": live.generation,
            "unsaved": live.unsaved,
            "rejections_saved": live.rejections_saved,
            "before_advance": state_decode(before) if before is not None else None,
            "since_checkpoint": live.since_checkpoint,
        }
    )


def state_load(blob: bytes | memoryview | None, configs: ConfigSet, where: str) -> LiveState | None:
    """The live state of a ``PartnerState`` blob; None when this release cannot read it (an
    older format or release, damaged or forged bytes): the caller rebuilds it. The
    engine copy kept from before the last advance is checked when it is used."""
    try:
        doc = state_decode(blob)
        if not isinstance(doc, dict) or doc.get("format") != LIVE_FORMAT:
            raise StateFormatError(f"live state format {_format_of(doc)!r}")
        before = doc["before_advance"]
        live = LiveState(
            engine_from_data(doc["engine"], configs),
            posted={
                read_str(ref): (Decimal(amount), read_int(at_us))
                for ref, amount, at_us in doc["posted"]
            },
            corrections=read_int(doc["corrections"]),
            notified_levels={
                (read_int(at_us), read_int(old), read_int(new))
                for at_us, old, new in doc["notified_levels"]
            },
            generation=read_int(doc["generation"]),
            unsaved=read_int(doc["unsaved"]),
            rejections_saved=read_int(doc["rejections_saved"]),
            before_advance=state_encode(before) if before is not None else None,
            since_checkpoint=read_int(doc["since_checkpoint"]),
        )
    except (StateFormatError, KeyError, TypeError, ValueError, ArithmeticError) as exc:
        logger.info("referral state of %s not readable, rebuilt from the events: %s", where, exc)
        return None
    return live


def _format_of(doc: Any) -> Any:
    return doc.get("format") if isinstance(doc, dict) else type(doc).__name__


def before_advance(live: LiveState, configs: ConfigSet, where: str) -> Engine | None:
    """The engine as it was after its last event, before time was moved on; None when that
    copy (read from a stored blob) cannot be read: the caller recomputes from a checkpoint."""
    if live.before_advance is None:
        return None
    try:
        return engine_from_blob(live.before_advance, configs)
    except StateFormatError as exc:
        logger.info("referral state of %s not readable, rebuilt from the events: %s", where, exc)
        return None


def stored_events(
    program: Program,
    code: str,
    since_us: int,
    until_us: int | None = None,
    after: tuple[int, str] | None = None,
) -> list[Event]:
    """The partner's stored events from ``since_us`` (to ``until_us``; after the key
    ``after``), in time order, except those waiting for the worker (``PendingEvent``)."""
    partition = EventPartition.objects.filter(
        program=program, partner=code, at_us__gte=since_us
    ).exclude(  # stored, not applied yet: the state does not include them
        event_id__in=PendingEvent.objects.filter(program=program).values("event_id")
    )
    if until_us is not None:
        partition = partition.filter(at_us__lte=until_us)
    ids = list(partition.values_list("event_id", flat=True))
    events: list[Event] = []
    for start in range(0, len(ids), 1000):  # by the unique (program, event_id) index
        rows = StoredEvent.objects.filter(program=program, event_id__in=ids[start : start + 1000])
        events.extend(parse_event(raw, pk) for pk, raw in rows.values_list("pk", "raw"))
    if after is not None:
        events = [e for e in events if (e.us, e.id) > after]
    return in_order(events)


def restore(
    program: Program, code: str, since_us: int, configs: ConfigSet
) -> tuple[Engine, int, bytes | None]:
    """The engine as it was at the last checkpoint at or before ``since_us`` (or empty), the
    time from which the stored events must be replayed onto it, and the checkpoint's blob."""
    engine, start, blob = checkpoint_before(program, code, since_us, configs)
    StateCheckpoint.objects.filter(program=program, partner=code, at_us__gt=start).delete()
    return engine, start, blob


def checkpoint_before(
    program: Program, code: str, since_us: int, configs: ConfigSet
) -> tuple[Engine, int, bytes | None]:
    """The latest readable checkpoint at or before ``since_us`` (an empty engine when there is
    none): one this release cannot read (an older format, damaged bytes) is passed over."""
    bound = since_us
    while True:
        checkpoint = (
            StateCheckpoint.objects.filter(program=program, partner=code, at_us__lte=bound)
            .order_by("-at_us")
            .first()
        )
        if checkpoint is None:
            return Engine(configs), MIN_KEY, None
        blob = bytes(checkpoint.state)
        try:
            return engine_from_blob(blob, configs), checkpoint.at_us, blob
        except StateFormatError as exc:
            logger.info(
                "referral checkpoint of partner %s of program %s at %s not readable: %s",
                code,
                program.pk,
                checkpoint.at_us,
                exc,
            )
            bound = checkpoint.at_us - 1


_FIX = re.compile(r"^(?P<ref>.*):fix(?P<n>[0-9]+)$")


def bookkeeping(program: Program, code: str, live: LiveState) -> None:
    """What a state keeps beside its engine, read back from where it was written: the bonus
    postings (ledger), the corrections made, the level changes told (history), the engine
    rejections stored."""
    prefix = f"referrals:{program.pk}:{code}:"
    base_at: dict[str, int] = {}
    amounts: dict[str, Decimal] = {}
    entries = LedgerEntry.objects.filter(
        transaction__cause_type="referrals.partner",
        transaction__cause_id=f"{program.pk}:{code}",
        account__purpose=BONUS_PURPOSE,
    ).values_list("transaction__idempotency_ref", "side", "amount", "transaction__occurred_at")
    for full_ref, side, amount, occurred_at in entries:
        ref = full_ref[len(prefix) :]
        fix = _FIX.match(ref)
        if fix is not None:
            ref = fix["ref"]
            live.corrections = max(live.corrections, int(fix["n"]))
        else:
            base_at[ref] = to_us(occurred_at)
        signed = amount if side == Side.CREDIT else -amount
        amounts[ref] = amounts.get(ref, Decimal("0.00")) + signed
    live.posted = {ref: (amounts[ref], base_at.get(ref, MIN_KEY)) for ref in amounts}
    live.notified_levels = {
        (at_us, data["old"], data["new"])
        for at_us, data in HistoryItem.objects.filter(
            program=program, partner=code, kind="level"
        ).values_list("at_us", "data")
    }
    live.rejections_saved = EventRejection.objects.filter(
        program=program, stage=RejectionStage.ENGINE, partner=code
    ).count()


def lock_states(program: Program, codes: Sequence[str]) -> dict[str, PartnerState]:
    """The partners' state rows, locked for this transaction on PostgreSQL (SQLite serialises
    writers anyway), in code order so that parallel batches cannot deadlock."""
    rows: dict[str, PartnerState] = {}
    for start in range(0, len(codes), 500):
        chunk = codes[start : start + 500]
        query = (
            PartnerState.objects.filter(program=program, partner__in=chunk)
            .defer("state")  # read only when this process has no fresh copy (``current``)
            .order_by("partner")
        )
        if connection.features.has_select_for_update:
            query = query.select_for_update()
        rows.update({row.partner: row for row in query})
    return rows


def organisation_ids(program: Program, codes: Iterable[str]) -> dict[str, int]:
    codes = list(codes)
    found: dict[str, int] = {}
    for start in range(0, len(codes), 500):
        found.update(
            ReferralPartner.objects.filter(
                program=program, code__in=codes[start : start + 500], organisation__isnull=False
            ).values_list("code", "organisation_id")
        )
    return found


#: The first key of the PostgreSQL advisory lock of a program's appliers (the second: its id).
LOCK_CLASS = 0x5245  # "RE"


def program_lock(program: Program) -> None:
    """Serialise, until this transaction ends, whatever applies events to the program's states
    (PostgreSQL advisory lock; SQLite has one writer at a time anyway). Taken before any state
    row is locked, so that appliers cannot deadlock."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_CLASS, program.pk])
