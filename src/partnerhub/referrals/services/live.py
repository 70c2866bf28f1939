"""The live standing: the engine's state per partner, kept up to date as events arrive.

Issue "Referral program" parts 3-5, 9, 10. Each partner code has one ``PartnerState``: the
pickled ``engine.Engine`` fed with that partner's events only (its partition, see
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

The pickles are written and read only by this module, in this application's own database.
"""

from __future__ import annotations

import datetime as dt
import pickle
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

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
from partnerhub.referrals.models.events import (
    EventPartition,
    EventRejection,
    PartnerState,
    ReferralClient,
    RejectionStage,
    StateCheckpoint,
    StoredEvent,
)
from partnerhub.referrals.models.partner import ReferralPartner
from partnerhub.referrals.selectors.config import config_set
from partnerhub.referrals.services.bulk import update_rows

__all__ = [
    "Mismatch",
    "cache_clear",
    "partition_recompute",
    "partitions_apply",
    "partitions_catch_up",
    "recompute",
    "repartition_after",
    "standing_at",
    "verify",
]

BONUS_PURPOSE = "bonus_rub"
EXPENSE_PURPOSE = "bonus_expense"
EXPIRY_NOTICE = dt.timedelta(days=14)
PICKLE_PROTOCOL = 5
#: The saved state is rewritten after this many events (and at every late event, level change
#: or correction); in between, a reader replays the partner's newer stored events onto it.
BLOB_EVERY = 2_000
#: Live states kept in this process's memory, most recently used first.
CACHE_SIZE = 2_000
MIN_KEY = -(2**62)
#: Events kept in memory since a partner's last checkpoint, at most.
RECENT_LIMIT = 20_000


def to_us(moment: dt.datetime) -> int:
    """Microseconds since the epoch."""
    return (moment - EPOCH) // ONE_US


@dataclass
class _Live:
    """What a ``PartnerState`` blob holds: the engine and the bookkeeping beside it.

    ``posted`` mirrors the ledger postings made for the engine's bonus entries (by entry ref);
    ``generation`` changes at every recomputation from a checkpoint, so that a copy made before
    it (another process's cache, an older blob) is never continued; ``unsaved`` counts events
    applied since the blob was last written. In memory only (never in the blob): ``recent``,
    the events applied since the latest checkpoint (``recent_from``, whose pickled engine is
    ``recent_checkpoint``), so that a late event after that checkpoint is recomputed without
    reading the database. ``before_advance`` is the engine as it was after its last event,
    before time was moved on (reviews and expiries with no events, ``partitions_catch_up``):
    events after that last event but before the time reached continue from it.
    """

    engine: Engine
    posted: dict[str, Decimal] = field(default_factory=dict)
    corrections: int = 0
    levels_seen: int = 0
    generation: int = 0
    unsaved: int = 0
    rejections_saved: int = 0
    recent: list[Event] | None = None
    recent_from: int = MIN_KEY
    recent_checkpoint: bytes | None = None
    before_advance: bytes | None = None

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.update(recent=None, recent_from=MIN_KEY, recent_checkpoint=None)
        return state


_CACHE: OrderedDict[tuple[int, str], _Live] = OrderedDict()


def cache_clear() -> None:
    """Forget the states kept in memory (tests; a worker may call it any time)."""
    _CACHE.clear()


def _cache_put(key: tuple[int, str], live: _Live) -> None:
    _CACHE[key] = live
    _CACHE.move_to_end(key)
    while len(_CACHE) > CACHE_SIZE:
        _CACHE.popitem(last=False)


def _dump(live: _Live) -> bytes:
    return pickle.dumps(live, protocol=PICKLE_PROTOCOL)


def _load(blob: bytes | memoryview) -> _Live:
    return pickle.loads(bytes(blob))  # noqa: S301 - our own state, written by _dump only


def _stored_events(
    program: Program,
    code: str,
    since_us: int,
    until_us: int | None = None,
    after: tuple[int, str] | None = None,
) -> list[Event]:
    """The partner's stored events from ``since_us`` (to ``until_us``; after the key
    ``after``), in time order."""
    ids = EventPartition.objects.filter(program=program, partner=code, at_us__gte=since_us)
    if until_us is not None:
        ids = ids.filter(at_us__lte=until_us)
    rows = StoredEvent.objects.filter(program=program, event_id__in=ids.values("event_id"))
    events = [parse_event(raw, pk) for pk, raw in rows.values_list("pk", "raw")]
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

    def _to(self, us: int) -> None:
        engine = self.live.engine
        while (review := engine.next_review_us()) is not None and review <= us:
            if self.keep:
                blob = pickle.dumps(engine, protocol=PICKLE_PROTOCOL)
                self.checkpoints.append(
                    StateCheckpoint(
                        program=self.program, partner=self.code, at_us=review, state=blob
                    )
                )
                self.live.recent, self.live.recent_from = [], review
                self.live.recent_checkpoint = blob
            engine.advance_all(review)

    def apply(self, events: Iterable[Event]) -> None:
        engine = self.live.engine
        for event in events:
            self._to(event.us)
            engine.apply((event,))
            self.live.before_advance = None
            recent = self.live.recent
            if recent is not None:
                recent.append(event)
                if len(recent) > RECENT_LIMIT:  # a partner without reviews: use the database
                    self.live.recent = None

    def advance(self, us: int) -> None:
        engine = self.live.engine
        if us <= engine.horizon_us:
            return
        if self.live.before_advance is None:
            self.live.before_advance = pickle.dumps(engine, protocol=PICKLE_PROTOCOL)
        self._to(us)
        if us > engine.horizon_us:
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
        return _Live(Engine(configs), recent=[]), []
    key = (program.pk, code)
    if take:
        cached = _CACHE.pop(key, None)
        if cached is not None and _fresh(cached, row):
            cached.engine.configs = configs
            return cached, []
    live = _load(row.state)
    live.engine.configs = configs
    run = _Run(program, code, live, checkpoints=take)
    if live.generation != row.generation:  # pragma: no cover - late paths write the blob
        live.engine = Engine(configs)
        live.generation = row.generation
        run.apply(_stored_events(program, code, MIN_KEY, row.last_us))
    elif live.engine.last_key < (row.last_us, row.last_id):
        # the events applied since the blob was written, not those of the batch being applied
        # now (``batch``: stored already, some of them late, so not told apart by time)
        row_key = (row.last_us, row.last_id)
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
            live.engine = pickle.loads(live.before_advance)  # noqa: S301 - our own state
            live.engine.configs = configs
            live.before_advance = None
        run.apply(tail)
    if row.horizon_us > live.engine.horizon_us:
        run.advance(row.horizon_us)
    return live, run.checkpoints


def _restore(program: Program, code: str, since_us: int, configs: ConfigSet) -> tuple[Engine, int]:
    """The engine as it was before the last review at or before ``since_us`` (or empty), and
    the time from which the stored events must be replayed onto it."""
    checkpoint = (
        StateCheckpoint.objects.filter(program=program, partner=code, at_us__lte=since_us)
        .order_by("-at_us")
        .first()
    )
    start = checkpoint.at_us if checkpoint is not None else MIN_KEY
    StateCheckpoint.objects.filter(program=program, partner=code, at_us__gt=start).delete()
    if checkpoint is None:
        return Engine(configs), start
    engine: Engine = pickle.loads(bytes(checkpoint.state))  # noqa: S301 - our own state
    engine.configs = configs
    return engine, start


def _lock_states(program: Program, codes: Sequence[str]) -> dict[str, PartnerState]:
    """The partners' state rows, locked for this transaction on PostgreSQL (SQLite serialises
    writers anyway), in code order so that parallel batches cannot deadlock."""
    rows: dict[str, PartnerState] = {}
    for start in range(0, len(codes), 500):
        chunk = codes[start : start + 500]
        query = PartnerState.objects.filter(program=program, partner__in=chunk).order_by("partner")
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
    for code in codes:
        events = in_order(new_events[code])
        row = rows.get(code)
        batch = frozenset(e.id for e in events)
        live, checkpoints = _current(program, code, row, configs, take=True, batch=batch)
        engine = live.engine
        first = events[0]
        late = (first.us, first.id) <= engine.last_key
        touched: set[Any] | None = {e.data.get("client") for e in events}
        if not late and first.us >= engine.horizon_us:
            run = _Run(program, code, live)
            run.apply(events)
        elif not late and live.before_advance is not None:
            # after the last event, before the time the state was moved on to: continue from
            # the state as it was after that event, then move on again
            horizon = engine.horizon_us
            live.engine = pickle.loads(live.before_advance)  # noqa: S301 - our own state
            live.engine.configs = configs
            live.before_advance = None
            live.recent, live.recent_from, live.recent_checkpoint = None, MIN_KEY, None
            StateCheckpoint.objects.filter(
                program=program, partner=code, at_us__gt=first.us
            ).delete()
            checkpoints = []
            run = _Run(program, code, live)
            run.apply(events)
            run.advance(horizon)
        else:
            late = True
            horizon = engine.horizon_us
            if live.recent is not None and first.us >= live.recent_from:
                replay = in_order([*live.recent, *events])
                live.engine = (
                    pickle.loads(live.recent_checkpoint)  # noqa: S301 - our own state
                    if live.recent_checkpoint is not None
                    else Engine(configs)
                )
                live.engine.configs = configs
                StateCheckpoint.objects.filter(
                    program=program, partner=code, at_us__gt=live.recent_from
                ).delete()
            else:
                live.engine, start = _restore(program, code, first.us, configs)
                replay = _stored_events(program, code, start)
                live.recent, live.recent_from, live.recent_checkpoint = None, MIN_KEY, None
            live.recent = [] if live.recent is not None else None
            live.generation += 1
            checkpoints = []
            live.before_advance = None
            run = _Run(program, code, live)
            run.apply(replay)
            run.advance(horizon)
            touched = None
        live.unsaved += len(events)
        writer.add(code, row, live, [*checkpoints, *run.checkpoints], touched, persist=late)
    writer.flush()


def partition_recompute(*, program: Program, code: str) -> None:
    """Rebuild one partner's state from all its stored events (a move between partitions,
    the recompute button)."""
    configs = config_set(program)
    row = _lock_states(program, [code]).get(code)
    old, _checkpoints = _current(program, code, row, configs, take=True)
    StateCheckpoint.objects.filter(program=program, partner=code).delete()
    live = _Live(
        Engine(configs),
        posted=old.posted,
        corrections=old.corrections,
        levels_seen=old.levels_seen,
        generation=old.generation + 1,
    )
    run = _Run(program, code, live)
    run.apply(_stored_events(program, code, MIN_KEY))
    run.advance(max(to_us(now()), old.engine.horizon_us))
    writer = _Writer(program, _organisations(program, [code]))
    writer.add(code, row, live, run.checkpoints, None, persist=True)
    writer.flush()


def repartition_after(*, program: Program, events: Sequence[Event]) -> None:
    """Move clients whose partition changes because of new registrations or promo codes."""
    codes = {e.data["partner"] for e in events if e.type == "partner.registered"}
    keys = {promo_key(e.data["code"]) for e in events if e.type == "promo_code.created"}
    if not codes and not keys:
        return
    registrations = StoredEvent.objects.filter(program=program, type="client.registered").filter(
        Q(link_code__in=codes) | Q(promo_key__in=keys)
    )
    candidates = list(registrations.values_list("subject", "link_code", "promo_key", "at_us"))
    if not candidates:
        return
    links = {c[1] for c in candidates if c[1]}
    registered_at = dict(
        StoredEvent.objects.filter(
            program=program, type="partner.registered", subject__in=links
        ).values_list("subject", "at_us")
    )
    owners = dict(
        StoredEvent.objects.filter(
            program=program, type="promo_code.created", promo_key__in={c[2] for c in candidates}
        ).values_list("promo_key", "raw__partner")
    )
    current = dict(
        ReferralClient.objects.filter(
            program=program, client__in=[c[0] for c in candidates]
        ).values_list("client", "partition")
    )
    dirty: set[str] = set()
    for client, link, key, at_us in candidates:
        if link and registered_at.get(link, at_us + 1) <= at_us:
            wanted = link
        elif key and owners.get(key):
            wanted = str(owners[key])
        else:
            wanted = link
        was = current.get(client, wanted)
        if was == wanted:
            continue
        EventPartition.objects.filter(program=program, client=client).update(partner=wanted)
        ReferralClient.objects.filter(program=program, client=client).update(partition=wanted)
        dirty.update({was, wanted})
    for code in sorted(dirty):
        partition_recompute(program=program, code=code)


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

    def _ledger_sync(self, code: str, live: _Live) -> bool:
        """Post what the ledger lacks; True when a correction was needed."""
        if code not in self.organisations or code not in live.engine.partners:
            return False
        corrected = False
        wanted = {entry.ref: entry for entry in live.engine.partners[code].bonuses}
        organisation_id = self.organisations[code]
        for ref, entry in wanted.items():
            posted = live.posted.get(ref)
            if posted is None:
                ledger_ref = self._post(code, ref, entry.amount, entry)
                live.posted[ref] = entry.amount
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
            elif posted != entry.amount:
                live.corrections += 1
                self._post(code, f"{ref}:fix{live.corrections}", entry.amount - posted, None)
                live.posted[ref] = entry.amount
                corrected = True
        for ref, posted in list(live.posted.items()):
            if ref not in wanted and posted:
                live.corrections += 1
                self._post(code, f"{ref}:fix{live.corrections}", -posted, None)
                live.posted[ref] = Decimal("0.00")
                corrected = True
        return corrected

    def _level_notices(self, code: str, live: _Live) -> bool:
        """Outbox events for level changes not told yet; True when there were any."""
        partner = live.engine.partners.get(code)
        if partner is None:
            return False
        changes: list[LevelChange] = partner.levels[live.levels_seen :]
        live.levels_seen = len(partner.levels)
        organisation_id = self.organisations.get(code)
        if organisation_id is not None:
            for change in changes:
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
                )
        return bool(changes)

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
    ) -> None:
        engine = live.engine
        corrected = self._ledger_sync(code, live)
        levels = self._level_notices(code, live)
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
        self._rejections(code, live, full=touched is None)
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
        self._clients(engine, touched)
        self.cached.append(((self.program.pk, code), live))

    def _clients(self, engine: Engine, touched: set[Any] | None) -> None:
        clients = engine.clients
        ids = clients if touched is None else [c for c in touched if c and c in clients]
        adapt = connection.ops.adapt_datetimefield_value
        for client_id in ids:
            state = clients[client_id]
            self.clients.append(
                (
                    state.partner or "",
                    state.reason or "",
                    adapt(state.active_at),
                    state.payments,
                    state.paid,
                    self.program.pk,
                    client_id,
                )
            )

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
        update_rows(PartnerState, ["id"], STATE_COLUMNS, self.updates)
        update_rows(PartnerState, ["id"], [*STATE_COLUMNS, "state"], self.updates_with_state)
        update_rows(ReferralClient, ["program_id", "client"], CLIENT_COLUMNS, self.clients)
        PartnerState.objects.bulk_create(self.new_rows)
        StateCheckpoint.objects.bulk_create(self.checkpoints, batch_size=200, ignore_conflicts=True)
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
                    notice.event_type, notice.payload, organisation_id=notice.organisation_id
                )
        cached = list(self.cached)
        transaction.on_commit(lambda: [_cache_put(key, live) for key, live in cached])


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


def partitions_catch_up(*, program: Program, moment: dt.datetime | None = None) -> int:
    """Apply the reviews and expiries that are due, and send "points expire soon" notices.

    Runs every minute (``referrals.tasks``); idempotent: a state already brought to ``moment``
    is not touched again. Returns the number of partners brought forward.
    """
    moment = moment or now()
    moment_us = to_us(moment)
    due = list(
        PartnerState.objects.filter(program=program)
        .filter(Q(due_us__lte=moment_us) | Q(notify_us__lte=moment_us))
        .values_list("partner", flat=True)
    )
    if not due:
        return 0
    configs = config_set(program)
    with transaction.atomic():
        rows = _lock_states(program, sorted(due))
        writer = _Writer(program, _organisations(program, rows))
        for code, row in rows.items():
            live, checkpoints = _current(program, code, row, configs, take=True)
            run = _Run(program, code, live)
            run.advance(moment_us)
            _expiry_notices(program, code, row, live, moment_us, writer)
            writer.add(code, row, live, [*checkpoints, *run.checkpoints], set(), persist=False)
        writer.flush()
    return len(rows)


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
        checkpoint = (
            StateCheckpoint.objects.filter(program=program, partner=code, at_us__lte=as_of_us)
            .order_by("-at_us")
            .first()
        )
        if checkpoint is None:
            engine, start = Engine(configs), MIN_KEY
        else:
            engine = pickle.loads(bytes(checkpoint.state))  # noqa: S301 - our own state
            engine.configs, start = configs, checkpoint.at_us
        engine.apply(_stored_events(program, code, start, as_of_us))
    else:
        engine = _current(program, code, row, configs, take=False)[0].engine
    result = engine.result(as_of, clients=False)
    return result.partners.get(code)


@dataclass(frozen=True)
class Mismatch:
    """A difference between the live standing and the replay of the stored events."""

    partner: str
    field: str
    live: Any
    replay: Any


def _replay_all(program: Program, as_of: dt.datetime) -> dict[str, Standing]:
    events: list[Event] = []
    rows = StoredEvent.objects.filter(program=program, at_us__lte=to_us(as_of))
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
    codes = sorted(
        set(
            EventPartition.objects.filter(program=program)
            .values_list("partner", flat=True)
            .distinct()
        )
    )
    for code in codes:
        with transaction.atomic():
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

    errors: dict[str, list[str]] = {}
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
