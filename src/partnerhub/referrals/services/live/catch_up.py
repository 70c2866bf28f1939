"""Time passing with no events: due reviews and expiries, and "points expire soon" notices
(the minute task)."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Q

from partnerhub.core import outbox
from partnerhub.core.clock import now
from partnerhub.partners.models import Program
from partnerhub.referrals.engine import ONE_US
from partnerhub.referrals.models.events import PartnerState
from partnerhub.referrals.selectors.config import config_set
from partnerhub.referrals.services.live.feed import Feed, current
from partnerhub.referrals.services.live.pending import pending_drain
from partnerhub.referrals.services.live.store import (
    EXPIRY_NOTICE,
    LiveState,
    lock_states,
    organisation_ids,
    program_lock,
    to_us,
)
from partnerhub.referrals.services.live.writer import Writer

#: The minute task leaves alone a partner whose state changed more recently than this.
CATCH_UP_QUIET = dt.timedelta(seconds=60)


#: Partners brought forward in one transaction by the minute task.
CATCH_UP_CHUNK = 25


def partitions_catch_up(
    *, program: Program, moment: dt.datetime | None = None, quiet: bool = False
) -> int:
    """Apply the reviews and expiries that are due, and send "points expire soon" notices.

    Runs every minute (``referrals.tasks``); idempotent: a state already brought to ``moment``
    is not touched again. Returns the number of partners brought forward.
    """
    pending_drain(program)  # events the worker has not applied (it died, its task was lost)
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
            rows = lock_states(program, due[start : start + CATCH_UP_CHUNK])
            writer = Writer(program, organisation_ids(program, rows))
            for code, row in rows.items():
                live, checkpoints = current(program, code, row, configs, take=True)
                run = Feed(program, code, live)
                run.advance(moment_us)
                _expiry_notices(program, code, row, live, moment_us, writer)
                writer.add(code, row, live, [*checkpoints, *run.checkpoints], set(), persist=True)
            writer.flush()
            moved += len(rows)
    return moved


def _expiry_notices(
    program: Program, code: str, row: PartnerState, live: LiveState, moment_us: int, writer: Writer
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
