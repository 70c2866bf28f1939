"""Applying just-stored events to their partners' states: in order (continue the state),
late (recompute the partner from the mark or checkpoint before the earliest late event), or for
a partner registering only now (computed from everything stored under its code)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import connection

from partnerhub.core.clock import now
from partnerhub.partners.models import Program
from partnerhub.referrals.engine import ConfigSet, Engine, Event, in_order
from partnerhub.referrals.models.events import PartnerState, ReferralClient, StateCheckpoint
from partnerhub.referrals.selectors.config import config_set
from partnerhub.referrals.services.live.feed import Feed, current
from partnerhub.referrals.services.live.memory import MIN_KEY, Memory
from partnerhub.referrals.services.live.store import (
    CACHE,
    LiveState,
    before_advance,
    bookkeeping,
    lock_states,
    organisation_ids,
    restore,
    stored_events,
    to_us,
)
from partnerhub.referrals.services.live.writer import Writer


def partitions_apply(*, program: Program, new_events: dict[str, list[Event]]) -> None:
    """Apply just-stored events to the states of the partners they belong to."""
    if not new_events:
        return
    configs = config_set(program)
    codes = sorted(new_events)
    rows = lock_states(program, codes)
    writer = Writer(program, organisation_ids(program, codes))
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
        live, checkpoints = current(program, code, row, configs, take=True, batch=batch)
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
            before_advance(live, configs, f"partner {code} of program {program.pk}")
            if not late and first.us < engine.horizon_us
            else None
        )
        if not late and first.us >= engine.horizon_us:
            run = Feed(program, code, live)
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
            run = Feed(program, code, live)
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
                live.engine, start, blob = restore(program, code, first.us, configs)
                replay = stored_events(program, code, start)
                live.memory = Memory(start, blob)
            restart = (start, False)
            reuse = (start, blob) if blob is not None else None
            live.since_checkpoint = 0
            live.generation += 1
            checkpoints = []
            live.before_advance = None
            run = Feed(program, code, live)
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
    program: Program, code: str, row: PartnerState | None, configs: ConfigSet, writer: Writer
) -> None:
    """A partner registers under a code: compute its state from every event stored under the
    code (clients may have come with the code before the partner did)."""
    StateCheckpoint.objects.filter(program=program, partner=code).delete()
    live = LiveState(Engine(configs), memory=Memory())
    run = Feed(program, code, live)
    replay = stored_events(program, code, MIN_KEY)
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
    row = lock_states(program, [code]).get(code)
    CACHE.pop((program.pk, code), None)  # this process's copy is replaced on commit
    StateCheckpoint.objects.filter(program=program, partner=code).delete()
    live = LiveState(
        Engine(configs), generation=(row.generation if row is not None else 0) + 1, memory=Memory()
    )
    bookkeeping(program, code, live)
    run = Feed(program, code, live)
    run.apply(stored_events(program, code, MIN_KEY))
    run.advance(max(to_us(now()), row.horizon_us if row is not None else MIN_KEY))
    writer = Writer(program, organisation_ids(program, [code]))
    writer.add(code, row, live, run.checkpoints, None, persist=True, restart=(MIN_KEY, False))
    writer.flush()
