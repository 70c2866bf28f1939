"""The live standing against the replay of the stored events (``verify``), and rebuilding
every partner's state from the events (``recompute``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Q, Sum

from partnerhub.core.clock import now
from partnerhub.core.models.ledger import LedgerEntry, Side
from partnerhub.partners.models import Program
from partnerhub.referrals.engine import (
    Engine,
    Event,
    EventRejected,
    Standing,
    in_order,
    parse_event,
)
from partnerhub.referrals.engine.results import STANDING_FIGURES
from partnerhub.referrals.models.events import (
    EventPartition,
    PartnerState,
    StoredEvent,
    WaitingEvent,
)
from partnerhub.referrals.selectors.config import config_set
from partnerhub.referrals.services.live.apply import partition_recompute
from partnerhub.referrals.services.live.pending import pending_drain
from partnerhub.referrals.services.live.read import standing_at
from partnerhub.referrals.services.live.store import (
    BONUS_PURPOSE,
    organisation_ids,
    program_lock,
    to_us,
)


@dataclass(frozen=True)
class Mismatch:
    """A difference between the live standing and the replay of the stored events."""

    partner: str
    field: str
    live: Any
    replay: Any


def replay_all(program: Program, as_of: dt.datetime) -> dict[str, Standing]:
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


def verify(*, program: Program, as_of: dt.datetime | None = None) -> list[Mismatch]:
    """Replay every stored event and compare with the live standing of every partner, and the
    ledger's bonus postings with what the engine accrued."""
    pending_drain(program)
    as_of = as_of or now()
    replayed = replay_all(program, as_of)
    mismatches: list[Mismatch] = []
    codes = set(replayed) | set(
        PartnerState.objects.filter(program=program, registered=True).values_list(
            "partner", flat=True
        )
    )
    organisations = organisation_ids(program, codes)
    for code in sorted(codes):
        live = standing_at(program=program, code=code, as_of=as_of)
        replay = replayed.get(code)
        if live is None or replay is None:
            mismatches.append(Mismatch(code, "partner", live is not None, replay is not None))
            continue
        for name in STANDING_FIGURES:
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
    pending_drain(program)
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
