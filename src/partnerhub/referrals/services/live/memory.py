"""Engine copies a partner's live state keeps in memory (marks), and the encoding of engines.

A late event is recomputed from the latest mark before it: an engine copy (``Engine.snapshot``,
copy on write) or an encoded checkpoint. Nothing here touches the database."""

from __future__ import annotations

from partnerhub.referrals.engine import ConfigSet, Engine, Event
from partnerhub.referrals.engine.state import (
    engine_from_data,
    engine_to_data,
    state_decode,
    state_encode,
)

#: The key before every event (the empty engine's mark).
MIN_KEY = -(2**62)
#: Marks of a partner kept in memory with the events since the oldest of them ...
MEMORY_MARKS = 20
#: ... and how many of them keep an engine copy (the newest; ``feed.MEMORY_MARK_EVERY``).
MEMORY_SNAPSHOTS = 16


class Mark:
    """A point the partner's engine can be restored to: the state with every event and review
    before ``at_us`` applied (a review at ``at_us`` and the events at it are not), and the
    position in ``Memory.events`` of the first event after it. The state is an engine copy
    (``snapshot``: restored by copying it again, several times faster than decoding), the
    encoded checkpoint (``blob``), or neither for the empty engine at ``MIN_KEY``. ``owed``:
    a review's checkpoint the database does not have yet (see ``Memory``)."""

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
            self.blob = engine_blob(self.snapshot)
        return self.blob

    def engine(self, configs: ConfigSet) -> Engine:
        """The engine as it was at this mark (a new object each time)."""
        if self.snapshot is not None:
            engine = self.snapshot.snapshot()
            engine.configs = configs
            return engine
        if self.blob is not None:  # encoded by this process (or read and checked by it)
            return engine_from_blob(self.blob, configs)
        if self.at_us != MIN_KEY:  # pragma: no cover - ``Memory.mark`` drops such marks
            raise RuntimeError("a referral state mark with no state")
        return Engine(configs)


class Memory:
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
        self.marks: list[Mark] = [Mark(start, 0, blob)]
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
        self.marks.append(Mark(at_us, len(self.events), blob, engine.snapshot(), owed=owed))
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

    def point_for(self, us: int) -> tuple[Mark, list[Event]] | None:
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


def engine_blob(engine: Engine) -> bytes:
    """The engine's state, encoded, without the history it made since the last drain (that
    history is drained into the database by the writer; a copy restored later must not make it
    twice)."""
    return state_encode(engine_to_data(engine, history=False))


def engine_from_blob(blob: bytes | memoryview, configs: ConfigSet) -> Engine:
    """The engine of a blob of ``engine_blob`` (``StateFormatError`` when unreadable)."""
    return engine_from_data(state_decode(blob), configs)
