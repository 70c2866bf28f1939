"""Feeding a partner's engine (``Feed``: checkpoints before reviews, engine copies on the
way) and the partner's current state (``current``: this process's copy when it is the latest,
else the saved blob with the newer stored events replayed onto it)."""

from __future__ import annotations

from collections.abc import Iterable

from partnerhub.partners.models import Program
from partnerhub.referrals.engine import ConfigSet, Engine, Event
from partnerhub.referrals.models.events import PartnerState, StateCheckpoint
from partnerhub.referrals.services.live.memory import Memory, engine_blob
from partnerhub.referrals.services.live.store import (
    BLOB_EVERY,
    CACHE,
    LiveState,
    before_advance,
    bookkeeping,
    checkpoint_before,
    state_load,
    stored_events,
)

#: A checkpoint at least every so many events of a partner (late events replay fewer).
CHECKPOINT_EVERY = 2_000
#: An engine copy kept in memory every so many events of a partner (a late event is recomputed
#: from the copy before it rather than from the last review, up to six months back; a copy
#: shares the clients and payments, copy on write, so it costs little even for a large
#: partner; ``memory.MEMORY_SNAPSHOTS``: how many a partner keeps).
MEMORY_MARK_EVERY = 8


class Feed:
    """Feeding one partner's engine, with checkpoints before each review it passes."""

    def __init__(self, program: Program, code: str, live: LiveState, *, checkpoints: bool = True):
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
            if self.keep and memory is not None:  # encoded later (``Memory``)
                memory.mark(review, None, engine, owed=True)
                self.live.since_checkpoint = 0
            elif self.keep:
                reused = self.reuse
                blob = reused[1] if reused is not None and reused[0] == review else None
                blob = blob or engine_blob(engine)
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
        (what a mark means, see ``Mark``; otherwise it waits for the next event)."""
        live = self.live
        if event.us <= live.engine.last_key[0]:
            return
        blob = None
        if live.since_checkpoint >= CHECKPOINT_EVERY:
            blob = engine_blob(live.engine)
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
            self.live.before_advance = engine_blob(engine)
        engine.advance_all(us)


def _fresh(live: LiveState, row: PartnerState) -> bool:
    engine = live.engine
    return (
        live.generation == row.generation
        and engine.last_key == (row.last_us, row.last_id)
        and engine.horizon_us == row.horizon_us
    )


def current(
    program: Program,
    code: str,
    row: PartnerState | None,
    configs: ConfigSet,
    *,
    take: bool,
    batch: frozenset[str] = frozenset(),
) -> tuple[LiveState, list[StateCheckpoint]]:
    """The partner's live state as of its last event and advance: this process's copy when it
    is the latest (``take``: writers only, it leaves the cache until their commit), else the
    saved blob with the newer stored events replayed onto it."""
    if row is None:
        return LiveState(Engine(configs), memory=Memory()), []
    key = (program.pk, code)
    if take:
        cached = CACHE.pop(key, None)
        if cached is not None and _fresh(cached, row):
            cached.engine.configs = configs
            return cached, []
    where = f"partner {code} of program {program.pk}"
    row_key = (row.last_us, row.last_id)
    live = state_load(row.state, configs, where)
    run = Feed(program, code, live, checkpoints=take) if live is not None else None
    if live is not None and live.generation == row.generation and live.engine.last_key < row_key:
        # the events applied since the blob was written, not those of the batch being applied
        # now (``batch``: stored already, some of them late, so not told apart by time)
        tail = [
            e
            for e in stored_events(
                program, code, live.engine.last_key[0], row.last_us, after=live.engine.last_key
            )
            if (e.us, e.id) <= row_key and e.id not in batch
        ]
        if tail and tail[0].us < live.engine.horizon_us:
            # the blob was moved on in time after its last event: continue from before that
            if live.before_advance is None:  # pragma: no cover - advancing always keeps it
                raise RuntimeError(f"referral state of {code} cannot be continued")
            before = before_advance(live, configs, where)
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
        engine, start, _blob = checkpoint_before(program, code, row.last_us, configs)
        live = LiveState(engine, generation=row.generation)
        bookkeeping(program, code, live)
        if unreadable:  # the writer replaces the blob at once (not after BLOB_EVERY events)
            live.unsaved = BLOB_EVERY
        run = Feed(program, code, live, checkpoints=take)
        run.apply(
            e
            for e in stored_events(program, code, start, row.last_us)
            if (e.us, e.id) <= row_key and e.id not in batch
        )
    live.engine.configs = configs
    if row.horizon_us > live.engine.horizon_us:
        run.advance(row.horizon_us)
    for partner in live.engine.partners.values():  # made again: the database has it already
        partner.grants, partner.revocations, partner.bonuses = [], [], []
        partner.levels, partner.reviews = [], []
    return live, run.checkpoints
