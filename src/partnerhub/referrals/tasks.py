"""Periodic work of the referral program: reviews and expiries on time with no new events."""

from __future__ import annotations

from django.db import transaction
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task, lock_task

from partnerhub.core.audit import system_actor
from partnerhub.partners.models import Program, ProgramKind
from partnerhub.referrals.services import bulk, live


@db_periodic_task(crontab(minute="*"), name="referrals.catch_up")
@lock_task("referrals-catch-up")
def referrals_catch_up() -> int:
    """Every minute: apply due reviews and expiries, send "points expire soon" notices.

    Idempotent: a partner already brought to now is not selected again (its ``due_us`` lies
    ahead); a run that overlaps the previous one is skipped by the lock.
    """
    bulk.analyze_stale()
    moved = 0
    with system_actor("referrals.catch_up"):
        for program in Program.objects.filter(kind=ProgramKind.REFERRALS):
            moved += live.partitions_catch_up(program=program, quiet=True)
    return moved


@db_task(name="referrals.analyze")
@lock_task("referrals-analyze")
def referrals_analyze() -> list[str]:
    """Refresh the planner's statistics of the intake's tables that grew (PostgreSQL)."""
    return bulk.analyze_stale()


@db_task(name="referrals.apply")
def referrals_apply(program_id: int) -> int:
    """Apply the events stored over the API to the partners' states (``live.pending_apply``).

    Queued by every such batch; a run takes all that waits, so the runs queued meanwhile find
    little or nothing. Runs of one program are serialised by its lock; a failed run leaves the
    events waiting, and the minute task (or the next run) applies them.
    """
    program = Program.objects.filter(pk=program_id).first()
    if program is None:
        return 0
    with system_actor("referrals.apply"), transaction.atomic():
        return live.pending_apply(program=program)
