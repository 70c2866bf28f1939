"""The live standing: the engine's state per partner, kept up to date as events arrive.

Issue "Referral program" parts 3-5, 9, 10. Each partner code has one ``PartnerState``: the
state of an ``engine.Engine`` fed with that partner's events only (its partition, see
``services.intake``) and the standing columns pages list by. New events later than everything
applied continue the saved state (incremental); a late event restores the checkpoint taken just
before the last review at or before it (``StateCheckpoint``) and replays the partner's stored
events from there, so only that partner is recomputed, from the point the event affects.

Bonuses reach the ledger (``core.ledger``) here: every bonus entry of the engine (activation,
reward, refund, adjustment) becomes a transaction between the vendor's ``bonus_expense`` and
the partner's ``bonus_rub`` account, with the rule snapshot; when a recomputation changes or
drops an entry, a correction transaction posts the difference (the ledger is append-only). The
state keeps a mirror of what was posted, so no query is needed to diff. Partners without an
organisation (known only from event files) have no ledger account: their balance is what the
engine accrued.

Notifications (outbox): ``referrals.level.up`` / ``referrals.level.down``,
``referrals.bonus.activation``, ``referrals.reward.accrued`` for new history entries of
portal partners, and ``referrals.points.expiring`` from the periodic catch-up
(``partitions_catch_up``) 14 days before points expire.

States are stored as versioned data (``engine.state``: JSON, issue 14 part 7), never as code:
a state this release cannot read (an older format, damaged or forged bytes) is treated as absent
and rebuilt from the latest readable checkpoint and the stored events.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import orjson
from django.db import connection, transaction
from django.db.models import Q

from partnerhub.core import ledger, outbox
from partnerhub.core.clock import now
from partnerhub.core.models.ledger import Side
from partnerhub.partners.models import Program
from partnerhub.referrals.engine import (
    EPOCH,
    ONE_US,
    ConfigSet,
    Engine,
    Event,
    EventRejected,
    Standing,
    in_order,
    parse_event,
    promo_key,
)
from partnerhub.referrals.engine.results import BonusEntry, LevelChange, PartnerResult
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
    ReferralClient,
    RejectionStage,
    StateCheckpoint,
    StoredEvent,
    WaitingEvent,
    WaitsFor,
)
from partnerhub.referrals.models.partner import ReferralPartner
from partnerhub.referrals.selectors.config import config_set
from partnerhub.referrals.services import history
from partnerhub.referrals.services.bulk import (
    delete_rows,
    existing,
    insert_rows,
    json_text,
    update_rows,
)

__all__ = [
    "Mismatch",
    "Released",
    "cache_clear",
    "client_first_registration",
    "clients_move",
    "partition_recompute",
    "partitions_apply",
    "partitions_catch_up",
    "pending_add",
    "pending_apply",
    "pending_count",
    "pending_room",
    "program_lock",
    "recompute",
    "repartition_moves",
    "standing_at",
    "verify",
    "waiting_release",
    "waiting_sweep",
]

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
MIN_KEY = -(2**62)
#: The minute task leaves alone a partner whose state changed more recently than this.
CATCH_UP_QUIET = dt.timedelta(seconds=60)
#: Partners brought forward in one transaction by the minute task.
CATCH_UP_CHUNK = 25
#: A checkpoint at least every so many events of a partner (late events replay fewer).
CHECKPOINT_EVERY = 2_000
#: The worker's look for waiting events whose client or payment a parallel batch stored covers
#: the events received this recently (the minute task looks at all of them).
WAITING_SWEEP_RECENT = dt.timedelta(minutes=10)
#: Marks of a partner kept in memory with the events since the oldest of them.
MEMORY_MARKS = 20
#: An engine copy kept in memory every so many events of a partner (a late event is recomputed
#: from the copy before it rather than from the last review, up to six months back; a copy
#: shares the clients and payments, copy on write, so it costs little even for a large
#: partner) ...
MEMORY_MARK_EVERY = 8
#: ... and how many of these copies a partner keeps (the newest).
MEMORY_SNAPSHOTS = 16


def to_us(moment: dt.datetime) -> int:
    """Microseconds since the epoch."""
    return (moment - EPOCH) // ONE_US


@dataclass
class _Live:
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
    memory: _Memory | None = None
    before_advance: bytes | None = None
    since_checkpoint: int = 0
    written_clients: dict[Any, tuple[Any, ...]] | None = None


class _Mark:
    """A point the partner's engine can be restored to: the state with every event and review
    before ``at_us`` applied (a review at ``at_us`` and the events at it are not), and the
    position in ``_Memory.events`` of the first event after it. The state is an engine copy
    (``snapshot``: restored by copying it again, several times faster than decoding), the
    encoded checkpoint (``blob``), or neither for the empty engine at ``MIN_KEY``. ``owed``:
    a review's checkpoint the database does not have yet (see ``_Memory.owed``)."""

    __slots__ = ("at_us", "blob", "index", "owed", "snapshot")

    def __init__(
        self,
        at_us: int,
        index: int,
        blob: bytes | None,
        snapshot: Engine | None = None,
        *,
        owed: bool = False,
    ) -> None:
        self.at_us = at_us
        self.index = index
        self.blob = blob
        self.snapshot = snapshot
        self.owed = owed

    def encode(self) -> bytes:
        """The mark's state encoded (a checkpoint's blob), kept with the mark."""
        if self.blob is None:
            if self.snapshot is None:  # pragma: no cover - an owed mark keeps its copy
                raise RuntimeError("a referral state mark with no state")
            self.blob = _engine_blob(self.snapshot)
        return self.blob

    def engine(self, configs: ConfigSet) -> Engine:
        """The engine as it was at this mark (a new object each time)."""
        if self.snapshot is not None:
            engine = self.snapshot.snapshot()
            engine.configs = configs
            return engine
        if self.blob is not None:  # encoded by this process (or read and checked by it)
            return _engine_from_blob(self.blob, configs)
        if self.at_us != MIN_KEY:  # pragma: no cover - ``_Memory.mark`` drops such marks
            raise RuntimeError("a referral state mark with no state")
        return Engine(configs)


class _Memory:
    """The last few marks of a partner's engine (checkpoints before reviews, and engine copies
    every ``MEMORY_MARK_EVERY`` events) and the events applied since the oldest of them: a late
    event after one of them is recomputed from it without reading the database.

    A review's checkpoint is owed rather than encoded at once (``owed``): events arriving out
    of order often come before a review just passed, and the checkpoint would be encoded,
    deleted and encoded again with every batch. It is encoded when its engine copy leaves the
    memory (``MEMORY_SNAPSHOTS`` newer ones were made) or when the state itself is saved
    (``take_owed``), and written with the batch that encodes it (``ready``). One lost with
    the memory (the process stopped) costs only time: a late event before the next review is
    then recomputed from the checkpoint before it."""

    __slots__ = ("events", "marks", "ready", "since_mark")

    def __init__(self, start: int = MIN_KEY, blob: bytes | None = None) -> None:
        self.events: list[Event] = []
        self.marks: list[_Mark] = [_Mark(start, 0, blob)]
        self.since_mark = 0
        #: owed checkpoints encoded, for the writer to store: (time, blob)
        self.ready: list[tuple[int, bytes]] = []

    def mark(self, at_us: int, blob: bytes | None, engine: Engine, *, owed: bool = False) -> None:
        """A mark at ``at_us`` of ``engine`` as it is now (``blob``: its encoding, when made
        for a checkpoint; ``owed``: a checkpoint to encode later). The mark a recomputation
        restarted from is not made again."""
        self.since_mark = 0
        last = self.marks[-1]
        if last.at_us == at_us and last.index == len(self.events):
            last.blob = last.blob or blob
            if last.snapshot is not None or last.blob is not None:
                return
        self.marks.append(_Mark(at_us, len(self.events), blob, engine.snapshot(), owed=owed))
        copies = [m for m in self.marks if m.snapshot is not None]
        for old in copies[: max(0, len(copies) - MEMORY_SNAPSHOTS)]:
            if old.owed:  # its checkpoint is encoded while the copy is still here
                self.ready.append((old.at_us, old.encode()))
                old.owed = False
            old.snapshot = None  # the oldest copies go first; a mark left with nothing goes
        kept = [
            m
            for m in self.marks
            if m.snapshot is not None or m.blob is not None or m.at_us == MIN_KEY
        ][-MEMORY_MARKS:]
        cut = kept[0].index  # the events before the oldest mark kept are not needed
        if cut:
            self.events = self.events[cut:]
            for m in kept:
                m.index -= cut
        self.marks = kept

    def take_owed(self) -> list[tuple[int, bytes]]:
        """Every checkpoint encoded and not stored yet, owed ones encoded now (the state is
        being saved: its checkpoints go with it)."""
        for mark in self.marks:
            if mark.owed:
                self.ready.append((mark.at_us, mark.encode()))
                mark.owed = False
        return self.take_ready()

    def take_ready(self) -> list[tuple[int, bytes]]:
        """The checkpoints encoded and not stored yet (the writer stores them)."""
        ready, self.ready = self.ready, []
        return ready

    def point_for(self, us: int) -> tuple[_Mark, list[Event]] | None:
        """The latest mark at or before ``us`` and the events after it; the memory is cut back
        to that mark (what follows is applied again, and marked again)."""
        for number in range(len(self.marks) - 1, -1, -1):
            found = self.marks[number]
            if found.at_us <= us:
                after = self.events[found.index :]
                self.events = self.events[: found.index]
                self.marks = self.marks[: number + 1]
                self.ready = [(at_us, blob) for at_us, blob in self.ready if at_us <= found.at_us]
                self.since_mark = 0
                return found, after
        return None


_CACHE: OrderedDict[tuple[int, str], _Live] = OrderedDict()


def cache_clear() -> None:
    """Forget the states kept in memory (tests; a worker may call it any time)."""
    _CACHE.clear()


def _cache_put(key: tuple[int, str], live: _Live) -> None:
    _CACHE[key] = live
    _CACHE.move_to_end(key)
    while len(_CACHE) > CACHE_SIZE:
        _CACHE.popitem(last=False)


def _engine_blob(engine: Engine) -> bytes:
    """The engine's state, encoded, without the history it made since the last drain (that
    history is drained into the database by the writer; a copy restored later must not make it
    twice)."""
    return state_encode(engine_to_data(engine, history=False))


def _engine_from_blob(blob: bytes | memoryview, configs: ConfigSet) -> Engine:
    """The engine of a blob of ``_engine_blob`` (``StateFormatError`` when unreadable)."""
    return engine_from_data(state_decode(blob), configs)


def _dump(live: _Live) -> bytes:
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


def _load(blob: bytes | memoryview | None, configs: ConfigSet, where: str) -> _Live | None:
    """The live state of a ``PartnerState`` blob; None when this release cannot read it (an
    older format or release, damaged or forged bytes): the caller rebuilds it. The
    engine copy kept from before the last advance is checked when it is used."""
    try:
        doc = state_decode(blob)
        if not isinstance(doc, dict) or doc.get("format") != LIVE_FORMAT:
            raise StateFormatError(f"live state format {_format_of(doc)!r}")
        before = doc["before_advance"]
        live = _Live(
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


def _before_advance(live: _Live, configs: ConfigSet, where: str) -> Engine | None:
    """The engine as it was after its last event, before time was moved on; None when that
    copy (read from a stored blob) cannot be read: the caller recomputes from a checkpoint."""
    if live.before_advance is None:
        return None
    try:
        return _engine_from_blob(live.before_advance, configs)
    except StateFormatError as exc:
        logger.info("referral state of %s not readable, rebuilt from the events: %s", where, exc)
        return None


def _stored_events(
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


class _Run:
    """Feeding one partner's engine, with checkpoints before each review it passes."""

    def __init__(self, program: Program, code: str, live: _Live, *, checkpoints: bool = True):
        self.program = program
        self.code = code
        self.live = live
        self.keep = checkpoints
        self.checkpoints: list[StateCheckpoint] = []
        #: (review time, encoded engine) already made for that review: not encoded again
        self.reuse: tuple[int, bytes] | None = None

    def _to(self, us: int) -> None:
        engine = self.live.engine
        memory = self.live.memory
        while (review := engine.next_review_us()) is not None and review <= us:
            if self.keep and memory is not None:  # encoded later (``_Memory``)
                memory.mark(review, None, engine, owed=True)
                self.live.since_checkpoint = 0
            elif self.keep:
                reused = self.reuse
                blob = reused[1] if reused is not None and reused[0] == review else None
                blob = blob or _engine_blob(engine)
                self.checkpoints.append(
                    StateCheckpoint(
                        program=self.program, partner=self.code, at_us=review, state=blob
                    )
                )
                self.live.since_checkpoint = 0
            engine.advance_all(review)

    def _mark_due(self, mark_every: int) -> bool:
        """Whether a checkpoint (every ``CHECKPOINT_EVERY`` events: a partner whose reviews
        are far apart, or a code with no partner at all) or an engine copy in memory (every
        ``mark_every``) is due before the next event."""
        live = self.live
        memory = live.memory
        return live.since_checkpoint >= CHECKPOINT_EVERY or (
            memory is not None and memory.since_mark >= mark_every
        )

    def _checkpoint_every(self, event: Event) -> None:
        """The checkpoint or copy ``_mark_due`` asked for, at ``event.us``: called with every
        review before ``event.us`` applied and none at it, at a time no applied event shares
        (what a mark means, see ``_Mark``; otherwise it waits for the next event)."""
        live = self.live
        if event.us <= live.engine.last_key[0]:
            return
        blob = None
        if live.since_checkpoint >= CHECKPOINT_EVERY:
            blob = _engine_blob(live.engine)
            self.checkpoints.append(
                StateCheckpoint(program=self.program, partner=self.code, at_us=event.us, state=blob)
            )
            live.since_checkpoint = 0
        if live.memory is not None:
            live.memory.mark(event.us, blob, live.engine)

    def apply(self, events: Iterable[Event]) -> None:
        """Feed the events (in time order, after what was applied), passing reviews and
        making marks on the way; the events between two of these go to the engine at once."""
        live = self.live
        engine = live.engine
        memory = live.memory
        keep = self.keep
        mark_every = MEMORY_MARK_EVERY
        review = engine.next_review_us()
        run: list[Event] = []
        fed = False
        for event in events:
            fed = True
            us = event.us
            if (review is not None and review <= us) or (keep and self._mark_due(mark_every)):
                if run:
                    engine.apply(run)
                    run = []
                if keep:
                    self._to(us - 1)
                    self._checkpoint_every(event)
                self._to(us)
                review = engine.next_review_us()
            run.append(event)
            live.since_checkpoint += 1
            if memory is not None:
                memory.events.append(event)
                memory.since_mark += 1
            if event.type == "partner.registered":  # a partner (and its reviews) from now on
                engine.apply(run)
                run = []
                review = engine.next_review_us()
        if run:
            engine.apply(run)
        if fed:
            live.before_advance = None

    def advance(self, us: int) -> None:
        """Move time on to ``us`` with no events: reviews and expiries. No checkpoints: an
        event in that stretch later continues from ``before_advance`` instead."""
        engine = self.live.engine
        if us <= engine.horizon_us:
            return
        if self.live.before_advance is None:
            self.live.before_advance = _engine_blob(engine)
        engine.advance_all(us)


def _fresh(live: _Live, row: PartnerState) -> bool:
    engine = live.engine
    return (
        live.generation == row.generation
        and engine.last_key == (row.last_us, row.last_id)
        and engine.horizon_us == row.horizon_us
    )


def _current(
    program: Program,
    code: str,
    row: PartnerState | None,
    configs: ConfigSet,
    *,
    take: bool,
    batch: frozenset[str] = frozenset(),
) -> tuple[_Live, list[StateCheckpoint]]:
    """The partner's live state as of its last event and advance: this process's copy when it
    is the latest (``take``: writers only, it leaves the cache until their commit), else the
    saved blob with the newer stored events replayed onto it."""
    if row is None:
        return _Live(Engine(configs), memory=_Memory()), []
    key = (program.pk, code)
    if take:
        cached = _CACHE.pop(key, None)
        if cached is not None and _fresh(cached, row):
            cached.engine.configs = configs
            return cached, []
    where = f"partner {code} of program {program.pk}"
    row_key = (row.last_us, row.last_id)
    live = _load(row.state, configs, where)
    run = _Run(program, code, live, checkpoints=take) if live is not None else None
    if live is not None and live.generation == row.generation and live.engine.last_key < row_key:
        # the events applied since the blob was written, not those of the batch being applied
        # now (``batch``: stored already, some of them late, so not told apart by time)
        tail = [
            e
            for e in _stored_events(
                program, code, live.engine.last_key[0], row.last_us, after=live.engine.last_key
            )
            if (e.us, e.id) <= row_key and e.id not in batch
        ]
        if tail and tail[0].us < live.engine.horizon_us:
            # the blob was moved on in time after its last event: continue from before that
            if live.before_advance is None:  # pragma: no cover - advancing always keeps it
                raise RuntimeError(f"referral state of {code} cannot be continued")
            before = _before_advance(live, configs, where)
            if before is None:
                live = None  # unreadable: recomputed from a checkpoint below
            else:
                live.engine, live.before_advance = before, None
        if live is not None and run is not None:
            run.apply(tail)
    if live is None or run is None or live.generation != row.generation:
        # recomputed from a checkpoint in another process since this blob was written (late
        # events do not rewrite the blob), or a blob this release cannot read: start again
        # from the latest checkpoint
        unreadable = live is None
        engine, start, _blob = _checkpoint_before(program, code, row.last_us, configs)
        live = _Live(engine, generation=row.generation)
        _bookkeeping(program, code, live)
        if unreadable:  # the writer replaces the blob at once (not after BLOB_EVERY events)
            live.unsaved = BLOB_EVERY
        run = _Run(program, code, live, checkpoints=take)
        run.apply(
            e
            for e in _stored_events(program, code, start, row.last_us)
            if (e.us, e.id) <= row_key and e.id not in batch
        )
    live.engine.configs = configs
    if row.horizon_us > live.engine.horizon_us:
        run.advance(row.horizon_us)
    for partner in live.engine.partners.values():  # made again: the database has it already
        partner.grants, partner.revocations, partner.bonuses = [], [], []
        partner.levels, partner.reviews = [], []
    return live, run.checkpoints


def _restore(
    program: Program, code: str, since_us: int, configs: ConfigSet
) -> tuple[Engine, int, bytes | None]:
    """The engine as it was at the last checkpoint at or before ``since_us`` (or empty), the
    time from which the stored events must be replayed onto it, and the checkpoint's blob."""
    engine, start, blob = _checkpoint_before(program, code, since_us, configs)
    StateCheckpoint.objects.filter(program=program, partner=code, at_us__gt=start).delete()
    return engine, start, blob


def _checkpoint_before(
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
            return _engine_from_blob(blob, configs), checkpoint.at_us, blob
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


def _bookkeeping(program: Program, code: str, live: _Live) -> None:
    """What a state keeps beside its engine, read back from where it was written: the bonus
    postings (ledger), the corrections made, the level changes told (history), the engine
    rejections stored."""
    from partnerhub.core.models.ledger import LedgerEntry

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


def _lock_states(program: Program, codes: Sequence[str]) -> dict[str, PartnerState]:
    """The partners' state rows, locked for this transaction on PostgreSQL (SQLite serialises
    writers anyway), in code order so that parallel batches cannot deadlock."""
    rows: dict[str, PartnerState] = {}
    for start in range(0, len(codes), 500):
        chunk = codes[start : start + 500]
        query = (
            PartnerState.objects.filter(program=program, partner__in=chunk)
            .defer("state")  # read only when this process has no fresh copy (``_current``)
            .order_by("partner")
        )
        if connection.features.has_select_for_update:
            query = query.select_for_update()
        rows.update({row.partner: row for row in query})
    return rows


def _organisations(program: Program, codes: Iterable[str]) -> dict[str, int]:
    codes = list(codes)
    found: dict[str, int] = {}
    for start in range(0, len(codes), 500):
        found.update(
            ReferralPartner.objects.filter(
                program=program, code__in=codes[start : start + 500], organisation__isnull=False
            ).values_list("code", "organisation_id")
        )
    return found


def partitions_apply(*, program: Program, new_events: dict[str, list[Event]]) -> None:
    """Apply just-stored events to the states of the partners they belong to."""
    if not new_events:
        return
    configs = config_set(program)
    codes = sorted(new_events)
    rows = _lock_states(program, codes)
    writer = _Writer(program, _organisations(program, codes))
    dormant: dict[str, list[Event]] = {}
    for code in codes:
        events = in_order(new_events[code])
        row = rows.get(code)
        if row is None or not row.registered:
            if not any(e.type == "partner.registered" for e in events):
                dormant[code] = events  # no partner under this code (yet): nothing to compute
                continue
            _activate(program, code, row, configs, writer)
            continue
        batch = frozenset(e.id for e in events)
        live, checkpoints = _current(program, code, row, configs, take=True, batch=batch)
        engine = live.engine
        noops = [e for e in events if (e.us, e.id) <= engine.last_key and engine.late_noop(e)]
        if noops:  # stored, and passed over by any replay: no recomputation for them
            live.unsaved += len(noops)
            skipped = {e.id for e in noops}
            events = [e for e in events if e.id not in skipped]
            if not events:
                writer.add(code, row, live, checkpoints, set(), persist=False)
                continue
        first = events[0]
        late = (first.us, first.id) <= engine.last_key
        touched: set[Any] | None = {e.data.get("client") for e in events}
        restart: tuple[int, bool] | None = None
        before = (
            _before_advance(live, configs, f"partner {code} of program {program.pk}")
            if not late and first.us < engine.horizon_us
            else None
        )
        if not late and first.us >= engine.horizon_us:
            run = _Run(program, code, live)
            run.apply(events)
        elif before is not None:
            # after the last event, before the time the state was moved on to: continue from
            # the state as it was after that event. Time is not moved on again here (the
            # minute task does it: one encoding a minute rather than two a batch during a
            # backfill); the standing as of any time is computed from the state anyway.
            live.engine = before
            live.before_advance = None
            restart = (live.engine.horizon_us + 1, True)  # the memory stays valid: its
            # checkpoints and events all come before the last event
            writer.checkpoint_clears.append((program.pk, code, first.us))
            checkpoints = []
            run = _Run(program, code, live)
            run.apply(events)
        else:
            late = True
            point = live.memory.point_for(first.us) if live.memory is not None else None
            if point is not None:
                mark, after = point
                start, blob = mark.at_us, mark.blob
                replay = in_order([*after, *events])
                live.engine = mark.engine(configs)
                writer.checkpoint_clears.append((program.pk, code, start))
            else:
                live.engine, start, blob = _restore(program, code, first.us, configs)
                replay = _stored_events(program, code, start)
                live.memory = _Memory(start, blob)
            restart = (start, False)
            reuse = (start, blob) if blob is not None else None
            live.since_checkpoint = 0
            live.generation += 1
            checkpoints = []
            live.before_advance = None
            run = _Run(program, code, live)
            run.reuse = reuse
            run.apply(replay)
            touched = {e.data.get("client") for e in replay}
            touched |= {e.data.get("client") for e in events}
        live.unsaved += len(events)
        writer.add(
            code,
            row,
            live,
            [*checkpoints, *run.checkpoints],
            touched,
            persist=False,  # a late recomputation bumps the generation; the blob may lag
            restart=restart,
        )
    writer.flush()
    _count_dormant_payments(program, dormant)


def _activate(
    program: Program, code: str, row: PartnerState | None, configs: ConfigSet, writer: _Writer
) -> None:
    """A partner registers under a code: compute its state from every event stored under the
    code (clients may have come with the code before the partner did)."""
    StateCheckpoint.objects.filter(program=program, partner=code).delete()
    live = _Live(Engine(configs), memory=_Memory())
    run = _Run(program, code, live)
    replay = _stored_events(program, code, MIN_KEY)
    run.apply(replay)
    writer.add(
        code,
        row,
        live,
        run.checkpoints,
        {e.data.get("client") for e in replay},
        persist=True,
        restart=(MIN_KEY, False),
    )


def _count_dormant_payments(program: Program, dormant: dict[str, list[Event]]) -> None:
    """Clients under a code with no partner are not computed (nothing depends on them); their
    payments are still counted for the back office's list of unattributed clients."""
    totals: dict[str, list[Any]] = {}
    for events in dormant.values():
        for event in events:
            if event.type == "payment":
                total = totals.setdefault(event.data["client"], [0, Decimal("0.00")])
                total[0] += 1
                total[1] += event.value
    if not totals:
        return
    table = connection.ops.quote_name(ReferralClient._meta.db_table)
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {table} SET payments = payments + %s, paid = paid + %s "  # noqa: S608
            "WHERE program_id = %s AND client = %s",
            [(n, paid, program.pk, client) for client, (n, paid) in totals.items()],
        )


def partition_recompute(*, program: Program, code: str) -> None:
    """Rebuild one partner's state from all its stored events (a move between partitions,
    the recompute button). The stored state is not read: what is kept beside the engine (the
    ledger postings, the level changes told) is read back from where it was written, so a
    state this release cannot read is rebuilt once, not first restored and then rebuilt."""
    configs = config_set(program)
    row = _lock_states(program, [code]).get(code)
    _CACHE.pop((program.pk, code), None)  # this process's copy is replaced on commit
    StateCheckpoint.objects.filter(program=program, partner=code).delete()
    live = _Live(
        Engine(configs), generation=(row.generation if row is not None else 0) + 1, memory=_Memory()
    )
    _bookkeeping(program, code, live)
    run = _Run(program, code, live)
    run.apply(_stored_events(program, code, MIN_KEY))
    run.advance(max(to_us(now()), row.horizon_us if row is not None else MIN_KEY))
    writer = _Writer(program, _organisations(program, [code]))
    writer.add(code, row, live, run.checkpoints, None, persist=True, restart=(MIN_KEY, False))
    writer.flush()


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


def _promo_owners(program: Program, keys: Iterable[str]) -> dict[str, str]:
    """The partner that created each promo code first (time, id)."""
    first: dict[str, tuple[int, str, str]] = {}
    rows = (
        StoredEvent.objects.filter(program=program, type="promo_code.created", promo_key__in=keys)
        .exclude(promo_key="")
        .values_list("promo_key", "at_us", "event_id", "raw__partner")
    )
    for key, at_us, event_id, partner in rows:
        known = first.get(key)
        if known is None or (at_us, event_id) < known[:2]:
            first[key] = (at_us, event_id, str(partner))
    return {key: owner for key, (_at, _id, owner) in first.items()}


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
    return _registered(program, dirty)  # codes with no partner are not computed


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


def _registered(program: Program, codes: Iterable[str]) -> set[str]:
    codes = list(codes)
    if not codes:
        return set()
    return set(
        PartnerState.objects.filter(
            program=program, partner__in=codes, registered=True
        ).values_list("partner", flat=True)
    )


# --- events waiting for the worker --------------------------------------------------------------

#: The first key of the PostgreSQL advisory lock of a program's appliers (the second: its id).
LOCK_CLASS = 0x5245  # "RE"


def program_lock(program: Program) -> None:
    """Serialise, until this transaction ends, whatever applies events to the program's states
    (PostgreSQL advisory lock; SQLite has one writer at a time anyway). Taken before any state
    row is locked, so that appliers cannot deadlock."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_CLASS, program.pk])


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
    import time

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


def _pending_drain(program: Program) -> None:
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
    rebuilt = _registered(program, {*rebuild, *rebuild_more})
    partitions_apply(
        program=program,
        new_events={code: found for code, found in by_partition.items() if code not in rebuilt},
    )
    for code in sorted(rebuilt):
        partition_recompute(program=program, code=code)
    return len(taken) + len(events)


# --- writing states back: standing columns, clients, rejections, ledger, notifications ------


@dataclass
class _Notice:
    ref: str
    event_type: str
    payload: dict[str, Any]
    organisation_id: int


STATE_COLUMNS = (
    "last_us",
    "last_id",
    "horizon_us",
    "due_us",
    "notify_us",
    "expiry_notified_us",
    "generation",
    "registered",
    "level",
    "active_points",
    "points_total",
    "bonus_accrued",
    "clients",
    "active_clients",
    "next_review",
    "updated_at",
)


CLIENT_COLUMNS = ("partner", "reason", "active_at", "payments", "paid")


class _Writer:
    """Everything a batch writes besides the events, gathered and written in a few statements
    at the end: state rows, client rows, rejections, checkpoints, ledger postings, notices."""

    def __init__(self, program: Program, organisations: dict[str, int]) -> None:
        self.program = program
        self.organisations = organisations
        self.postings: list[ledger.Posting] = []
        self.notices: list[_Notice] = []
        self.checkpoints: list[StateCheckpoint] = []
        self.new_rows: list[PartnerState] = []
        self.updates: list[tuple[Any, ...]] = []
        self.updates_with_state: list[tuple[Any, ...]] = []
        self.clients: list[tuple[Any, ...]] = []
        self.rejections: list[EventRejection] = []
        self.cleared_rejections: list[str] = []
        self.cached: list[tuple[tuple[int, str], _Live]] = []
        self.history_clears: list[tuple[str, int, bool]] = []
        self.checkpoint_clears: list[tuple[int, str, int]] = []  # checkpoints after a time
        self.history_rows: list[tuple[str, str, int, str, dict[str, Any]]] = []
        self._accounts: dict[int | None, Any] = {}

    # ledger -------------------------------------------------------------------------------

    def _account(self, organisation_id: int | None) -> Any:
        if organisation_id not in self._accounts:
            if organisation_id is None:
                self._accounts[None] = ledger.account_get_or_create(
                    organisation_id=None, purpose=EXPENSE_PURPOSE, normal_side=Side.DEBIT
                )
            else:
                self._accounts[organisation_id] = ledger.account_get_or_create(
                    organisation_id=organisation_id, purpose=BONUS_PURPOSE, normal_side=Side.CREDIT
                )
        return self._accounts[organisation_id]

    def _post(self, code: str, ref: str, amount: Decimal, entry: BonusEntry | None) -> str:
        organisation_id = self.organisations[code]
        expense, bonus = self._account(None), self._account(organisation_id)
        value = abs(amount)
        if amount > 0:
            lines = [ledger.Line(expense, debit=value), ledger.Line(bonus, credit=value)]
        else:
            lines = [ledger.Line(bonus, debit=value), ledger.Line(expense, credit=value)]
        ledger_ref = f"referrals:{self.program.pk}:{code}:{ref}"
        moment = now()
        self.postings.append(
            ledger.Posting(
                kind=f"referral_{entry.kind}" if entry is not None else "referral_correction",
                lines=lines,
                idempotency_ref=ledger_ref,
                cause=("referrals.partner", f"{self.program.pk}:{code}"),
                snapshot=_snapshot(entry) if entry is not None else {"correction": ref},
                occurred_at=min(entry.at, moment) if entry is not None else moment,
                memo=entry.kind if entry is not None else "",
            )
        )
        return ledger_ref

    def _ledger_sync(
        self, code: str, live: _Live, bonuses: list[BonusEntry], since: int | None
    ) -> bool:
        """Post what the ledger lacks for the bonus entries just made (after a recomputation
        from ``since``, also take back what it no longer makes); True on a correction."""
        if code not in self.organisations:
            return False
        corrected = False
        wanted = {entry.ref: entry for entry in bonuses}
        organisation_id = self.organisations[code]
        if since is not None:
            for ref, (amount, at_us) in list(live.posted.items()):
                if at_us >= since and ref not in wanted and amount:
                    live.corrections += 1
                    self._post(code, f"{ref}:fix{live.corrections}", -amount, None)
                    live.posted[ref] = (Decimal("0.00"), at_us)
                    corrected = True
        for ref, entry in wanted.items():
            previous = live.posted.get(ref)
            at_us = to_us(entry.at)
            if previous is None:
                ledger_ref = self._post(code, ref, entry.amount, entry)
                live.posted[ref] = (entry.amount, at_us)
                if entry.kind in ("activation", "reward"):
                    kind = "bonus.activation" if entry.kind == "activation" else "reward.accrued"
                    self.notices.append(
                        _Notice(
                            ledger_ref,
                            f"referrals.{kind}",
                            _bonus_payload(self.program, code, entry),
                            organisation_id,
                        )
                    )
            elif previous[0] != entry.amount:
                live.corrections += 1
                self._post(code, f"{ref}:fix{live.corrections}", entry.amount - previous[0], None)
                live.posted[ref] = (entry.amount, at_us)
                corrected = True
        return corrected

    def _level_notices(self, code: str, live: _Live, changes: list[LevelChange]) -> bool:
        """Outbox events for level changes not told yet; True when there were any."""
        organisation_id = self.organisations.get(code)
        told = False
        for change in changes:
            key = (to_us(change.at), change.old, change.new)
            if key in live.notified_levels:
                continue
            live.notified_levels.add(key)
            told = True
            if organisation_id is not None:
                outbox.emit(
                    "referrals.level.up" if change.new > change.old else "referrals.level.down",
                    {
                        "program_id": self.program.pk,
                        "code": code,
                        "old": change.old,
                        "new": change.new,
                        "at": change.at.isoformat(),
                    },
                    organisation_id=organisation_id,
                    vendor_id=self.program.vendor_id,
                )
        return told

    # states ---------------------------------------------------------------------------------

    def add(
        self,
        code: str,
        row: PartnerState | None,
        live: _Live,
        checkpoints: list[StateCheckpoint],
        touched: set[Any] | None,
        *,
        persist: bool,
        restart: tuple[int, bool] | None = None,
    ) -> None:
        engine = live.engine
        drained = history.Drained()
        partner_state = engine.partners.get(code)
        if partner_state is not None:
            history.drain(partner_state, drained)
        if restart is not None:
            self.history_clears.append((code, restart[0], restart[1]))
        self.history_rows.extend(drained.rows)
        full_restart = restart[0] if restart is not None and not restart[1] else None
        corrected = self._ledger_sync(code, live, drained.bonuses, full_restart)
        levels = self._level_notices(code, live, drained.levels)
        persist = persist or corrected or levels or row is None or live.unsaved >= BLOB_EVERY
        self.checkpoints.extend(checkpoints)
        partner = engine.partners.get(code)
        standing = Engine.standing_of(partner) if partner is not None else None
        ops = connection.ops
        values: dict[str, Any] = {
            "last_us": engine.last_key[0],
            "last_id": engine.last_key[1],
            "horizon_us": engine.horizon_us,
            "due_us": engine.next_due_us(),
            "notify_us": _notify_due(live, row),
            "expiry_notified_us": row.expiry_notified_us if row is not None else 0,
            "generation": live.generation,
            "registered": standing is not None,
            "level": standing.level if standing else 0,
            "active_points": standing.active_points if standing else 0,
            "points_total": standing.points_total if standing else 0,
            "bonus_accrued": standing.bonus_accrued if standing else Decimal("0.00"),
            "clients": standing.clients if standing else 0,
            "active_clients": standing.active_clients if standing else 0,
            "next_review": standing.next_review if standing else None,
            "updated_at": now(),
        }
        if persist:
            live.unsaved = 0
        if live.memory is not None:  # the checkpoints the memory encoded (all it owes, on save)
            encoded = live.memory.take_owed() if persist else live.memory.take_ready()
            self.checkpoints.extend(
                StateCheckpoint(program=self.program, partner=code, at_us=at_us, state=blob)
                for at_us, blob in encoded
            )
        self._rejections(code, live, full=restart is not None and not restart[1])
        if row is None:
            self.new_rows.append(
                PartnerState(program=self.program, partner=code, state=_dump(live), **values)
            )
        else:
            params = [
                ops.adapt_datetimefield_value(values[c])
                if c in ("next_review", "updated_at")
                else values[c]
                for c in STATE_COLUMNS
            ]
            if persist:
                self.updates_with_state.append((*params, _dump(live), row.pk))
            else:
                self.updates.append((*params, row.pk))
        self._clients(live, touched)
        self.cached.append(((self.program.pk, code), live))

    def _clients(self, live: _Live, touched: set[Any] | None) -> None:
        """Client rows of the touched clients that changed since this process wrote them."""
        clients = live.engine.clients
        ids = clients if touched is None else [c for c in touched if c and c in clients]
        written = live.written_clients
        if written is None or touched is None:
            written = live.written_clients = {}
        for client_id in ids:
            state = clients[client_id]
            values = (
                state.partner or "",
                state.reason or "",
                state.active_at,
                state.payments,
                state.paid,
            )
            if written.get(client_id) == values:
                continue
            written[client_id] = values
            self.clients.append((*values, self.program.pk, client_id))

    def _rejections(self, code: str, live: _Live, *, full: bool) -> None:
        rejected = live.engine.rejected
        if full:
            self.cleared_rejections.append(code)
            live.rejections_saved = 0
        new = rejected[live.rejections_saved :]
        live.rejections_saved = len(rejected)
        self.rejections.extend(
            EventRejection(
                program=self.program,
                stage=RejectionStage.ENGINE,
                partner=code,
                event_id=r.event_id or "",
                reason=r.reason[:300],
                source="",
            )
            for r in new
        )

    def flush(self) -> None:
        pk = self.program.pk
        for reviews_only in (False, True):
            history.clear_many(
                self.program,
                [
                    (code, since)
                    for code, since, only in self.history_clears
                    if only is reviews_only
                ],
                reviews_only=reviews_only,
            )
        delete_rows(
            StateCheckpoint,
            self.checkpoint_clears,
            equal=["program_id", "partner"],
            bound="at_us",
            inclusive=False,
        )
        insert_rows(
            HistoryItem,
            ["program_id", "partner", "kind", "at_us", "event_id", "data"],
            [
                (pk, code, kind, at_us, event_id, json_text(data))
                for code, kind, at_us, event_id, data in self.history_rows
            ],
        )
        update_rows(PartnerState, ["id"], STATE_COLUMNS, self.updates)
        update_rows(PartnerState, ["id"], [*STATE_COLUMNS, "state"], self.updates_with_state)
        adapt = connection.ops.adapt_datetimefield_value
        update_rows(
            ReferralClient,
            ["program_id", "client"],
            CLIENT_COLUMNS,
            [(p, r, adapt(a), n, paid, *key) for p, r, a, n, paid, *key in self.clients],
        )
        PartnerState.objects.bulk_create(self.new_rows)
        insert_rows(
            StateCheckpoint,
            ["program_id", "partner", "at_us", "state"],
            [(c.program_id, c.partner, c.at_us, bytes(c.state)) for c in self.checkpoints],
            conflict=["program_id", "partner", "at_us"],
        )
        if self.cleared_rejections:
            EventRejection.objects.filter(
                program=self.program,
                stage=RejectionStage.ENGINE,
                partner__in=self.cleared_rejections,
            ).delete()
        EventRejection.objects.bulk_create(self.rejections, batch_size=500)
        written = ledger.post_many(self.postings)
        for notice in self.notices:
            if notice.ref in written:
                outbox.emit(
                    notice.event_type,
                    notice.payload,
                    organisation_id=notice.organisation_id,
                    vendor_id=self.program.vendor_id,
                )
        cached = list(self.cached)

        def remember() -> None:
            for key, live in cached:
                _cache_put(key, live)

        transaction.on_commit(remember)


def _bonus_payload(program: Program, code: str, entry: BonusEntry) -> dict[str, Any]:
    return {
        "program_id": program.pk,
        "code": code,
        "client": entry.client,
        "amount": str(entry.amount),
        "rate": str(entry.rate) if entry.rate is not None else None,
    }


def _snapshot(entry: BonusEntry) -> dict[str, Any]:
    return {
        "rule": entry.kind,
        "event": entry.event_id,
        "config_version": entry.config_version,
        "client": entry.client,
        "payment": entry.payment,
        "rate": str(entry.rate) if entry.rate is not None else None,
        "base": str(entry.base) if entry.base is not None else None,
        "amount": str(entry.amount),
    }


def _notify_due(live: _Live, row: PartnerState | None) -> int | None:
    """When the next "points expire soon" notice is due (µs)."""
    notified = row.expiry_notified_us if row is not None else 0
    earliest = None
    for partner in live.engine.partners.values():
        for expires_us, _seq, grant in partner.heap:
            if grant.revoked_at is None and grant.points > 0 and expires_us > notified:
                earliest = expires_us if earliest is None else min(earliest, expires_us)
    if earliest is None:
        return None
    return earliest - EXPIRY_NOTICE // ONE_US


# --- time passing with no events ------------------------------------------------------------


def partitions_catch_up(
    *, program: Program, moment: dt.datetime | None = None, quiet: bool = False
) -> int:
    """Apply the reviews and expiries that are due, and send "points expire soon" notices.

    Runs every minute (``referrals.tasks``); idempotent: a state already brought to ``moment``
    is not touched again. Returns the number of partners brought forward.
    """
    _pending_drain(program)  # events the worker has not applied (it died, its task was lost)
    moment = moment or now()
    moment_us = to_us(moment)
    due = list(
        PartnerState.objects.filter(program=program)
        .filter(Q(due_us__lte=moment_us) | Q(notify_us__lte=moment_us))
        .values_list("partner", flat=True)
    )
    if quiet:  # a partner receiving events is brought forward by them (its standing is
        # computed as of any time anyway): during a backfill the minute task leaves it alone
        busy = set(
            PartnerState.objects.filter(
                program=program, partner__in=due, updated_at__gt=now() - CATCH_UP_QUIET
            ).values_list("partner", flat=True)
        )
        due = [code for code in due if code not in busy]
    if not due:
        return 0
    configs = config_set(program)
    moved = 0
    due.sort()
    for start in range(0, len(due), CATCH_UP_CHUNK):  # short transactions: intake waits less
        with transaction.atomic():
            program_lock(program)
            rows = _lock_states(program, due[start : start + CATCH_UP_CHUNK])
            writer = _Writer(program, _organisations(program, rows))
            for code, row in rows.items():
                live, checkpoints = _current(program, code, row, configs, take=True)
                run = _Run(program, code, live)
                run.advance(moment_us)
                _expiry_notices(program, code, row, live, moment_us, writer)
                writer.add(code, row, live, [*checkpoints, *run.checkpoints], set(), persist=True)
            writer.flush()
            moved += len(rows)
    return moved


def _expiry_notices(
    program: Program, code: str, row: PartnerState, live: _Live, moment_us: int, writer: _Writer
) -> None:
    partner = live.engine.partners.get(code)
    horizon = moment_us + EXPIRY_NOTICE // ONE_US
    if partner is None:
        return
    expiring = [
        (expires_us, grant)
        for expires_us, _seq, grant in partner.heap
        if grant.revoked_at is None
        and grant.points > 0
        and row.expiry_notified_us < expires_us <= horizon
    ]
    row.expiry_notified_us = max(row.expiry_notified_us, horizon)
    organisation_id = writer.organisations.get(code)
    if not expiring or organisation_id is None:
        return
    first = min(expiring, key=lambda item: item[0])[1]
    outbox.emit(
        "referrals.points.expiring",
        {
            "program_id": program.pk,
            "code": code,
            "points": sum(grant.points for _us, grant in expiring),
            "expires_at": first.expires_at.isoformat(),
        },
        organisation_id=organisation_id,
        vendor_id=program.vendor_id,
    )


# --- reading: standing at any time, verification --------------------------------------------


def standing_at(*, program: Program, code: str, as_of: dt.datetime) -> PartnerResult | None:
    """The partner's standing and history as of ``as_of`` (None: no such partner then).

    Later than everything applied: the saved state brought forward. Earlier: the checkpoint
    before ``as_of`` and the partner's stored events up to it.
    """
    row = PartnerState.objects.filter(program=program, partner=code, registered=True).first()
    if row is None:
        return None
    configs = config_set(program)
    as_of_us = to_us(as_of)
    if as_of_us < row.last_us or as_of_us < row.horizon_us:
        engine, start, _blob = _checkpoint_before(program, code, as_of_us, configs)
        engine.apply(_stored_events(program, code, start, as_of_us))
    else:
        engine = _current(program, code, row, configs, take=False)[0].engine
    result = engine.result(as_of, clients=False)
    found = result.partners.get(code)
    if found is None:
        return None
    grants, bonuses, levels, reviews = history.read(program, code, as_of_us)
    # reviews the read itself moved through (after the saved state's time) are not stored yet
    levels += [c for c in found.levels if c.event_id is None and to_us(c.at) > row.horizon_us]
    reviews += [r for r in found.reviews if to_us(r.at) > row.horizon_us]
    return PartnerResult(found.standing, grants, bonuses, levels, reviews)


@dataclass(frozen=True)
class Mismatch:
    """A difference between the live standing and the replay of the stored events."""

    partner: str
    field: str
    live: Any
    replay: Any


def _replay_all(program: Program, as_of: dt.datetime) -> dict[str, Standing]:
    events: list[Event] = []
    rows = StoredEvent.objects.filter(program=program, at_us__lte=to_us(as_of)).exclude(
        event_id__in=WaitingEvent.objects.filter(program=program, dropped_at__isnull=False).values(
            "event_id"
        )
    )  # events staff dropped while they waited count nowhere
    for pk, raw in rows.values_list("pk", "raw").iterator(chunk_size=5000):
        try:
            events.append(parse_event(raw, pk))
        except EventRejected:  # pragma: no cover - stored events passed the same check
            continue
    engine = Engine(config_set(program))
    engine.apply(in_order(events))
    result = engine.result(as_of, history=False, clients=False)
    return {code: r.standing for code, r in result.partners.items()}


STANDING_FIELDS = (
    "level",
    "active_points",
    "points_total",
    "bonus_accrued",
    "clients",
    "active_clients",
    "next_review",
)


def verify(*, program: Program, as_of: dt.datetime | None = None) -> list[Mismatch]:
    """Replay every stored event and compare with the live standing of every partner, and the
    ledger's bonus postings with what the engine accrued."""
    _pending_drain(program)
    as_of = as_of or now()
    replayed = _replay_all(program, as_of)
    mismatches: list[Mismatch] = []
    codes = set(replayed) | set(
        PartnerState.objects.filter(program=program, registered=True).values_list(
            "partner", flat=True
        )
    )
    organisations = _organisations(program, codes)
    for code in sorted(codes):
        live = standing_at(program=program, code=code, as_of=as_of)
        replay = replayed.get(code)
        if live is None or replay is None:
            mismatches.append(Mismatch(code, "partner", live is not None, replay is not None))
            continue
        for name in STANDING_FIELDS:
            if getattr(live.standing, name) != getattr(replay, name):
                mismatches.append(
                    Mismatch(code, name, getattr(live.standing, name), getattr(replay, name))
                )
        if code in organisations:
            posted = _posted_total(program, code)
            if posted != replay.bonus_accrued:
                mismatches.append(Mismatch(code, "ledger", posted, replay.bonus_accrued))
    return mismatches


def _posted_total(program: Program, code: str) -> Decimal:
    from django.db.models import Sum

    from partnerhub.core.models.ledger import LedgerEntry

    total = LedgerEntry.objects.filter(
        transaction__cause_type="referrals.partner",
        transaction__cause_id=f"{program.pk}:{code}",
        account__purpose=BONUS_PURPOSE,
    ).aggregate(
        credit=Sum("amount", filter=Q(side=Side.CREDIT)),
        debit=Sum("amount", filter=Q(side=Side.DEBIT)),
    )
    credit = total["credit"] or Decimal("0")
    debit = total["debit"] or Decimal("0")
    return (credit - debit).quantize(Decimal("0.01"))


def recompute(*, program: Program) -> int:
    """Rebuild every partner's state from the stored events (the back office button)."""
    _pending_drain(program)
    codes = sorted(
        set(
            EventPartition.objects.filter(program=program)
            .values_list("partner", flat=True)
            .distinct()
        )
    )
    for code in codes:
        with transaction.atomic():
            program_lock(program)
            partition_recompute(program=program, code=code)
    return len(codes)


def adjustment_record(
    *,
    program: Program,
    code: str,
    reason: str,
    actor: Any,
    points: int | None = None,
    amount: Decimal | None = None,
) -> None:
    """A manual adjustment of a partner's points or bonuses by vendor staff (mandatory reason).

    It enters the event stream like any event (``points.adjusted`` / ``bonus.adjusted``, source
    back office), so replay and verification see it; bonuses reach the ledger as a transaction;
    an audit row names who did it.
    """
    from django.utils.translation import gettext as _

    from partnerhub.core import audit
    from partnerhub.core.errors import ValidationFailed
    from partnerhub.referrals.models.events import EventSource
    from partnerhub.referrals.services.intake import portal_event_record

    errors: dict[str, list[Any]] = {}
    reason = (reason or "").strip()
    if not reason:
        errors["reason"] = [_("Укажите причину корректировки.")]
    if (points is None) == (amount is None):
        errors["points"] = [_("Укажите либо баллы, либо бонусы.")]
    elif points == 0 or (amount is not None and amount == 0):
        errors["points" if points is not None else "amount"] = [_("Значение не может быть нулём.")]
    if not PartnerState.objects.filter(program=program, partner=code, registered=True).exists():
        errors["partner"] = [_("Партнёр с таким кодом не найден.")]
    if errors:
        raise ValidationFailed(_("Проверьте выделенные поля."), fields=errors)
    fields: dict[str, Any] = {"partner": code, "reason": reason[:200]}
    if points is not None:
        kind, fields["points"] = "points.adjusted", points
    else:
        assert amount is not None
        kind, fields["amount"] = "bonus.adjusted", f"{amount:.2f}"
    with transaction.atomic():
        event = portal_event_record(
            program=program, type=kind, at=now(), fields=fields, source=EventSource.BACKOFFICE
        )
        partner = ReferralPartner.objects.filter(program=program, code=code).first()
        audit.record(
            action=f"referrals.{kind}",
            obj=partner if partner is not None else program,
            organisation_id=partner.organisation_id if partner is not None else None,
            actor=actor,
            after={"event": event.id, **fields},
        )
