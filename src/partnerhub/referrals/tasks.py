"""Periodic work of the referral program: reviews and expiries on time with no new events."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task, lock_task

from partnerhub.core.audit import system_actor
from partnerhub.partners.models import Program, ProgramKind
from partnerhub.referrals.services import bulk, live


@db_periodic_task(crontab(minute="*"), name="referrals.catch_up")  # type: ignore[untyped-decorator]
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


@db_task(name="referrals.analyze")  # type: ignore[untyped-decorator]
@lock_task("referrals-analyze")
def referrals_analyze() -> list[str]:
    """Refresh the planner's statistics of the intake's tables that grew (PostgreSQL)."""
    return bulk.analyze_stale()
