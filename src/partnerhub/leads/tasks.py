"""Periodic work of the lead marketplace (issue 7, part 2): leads whose time is up expire.

The notification tasks (digest, stuck deals, leads about to expire) and the CRM polling belong to
their own modules.
"""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from partnerhub.leads.services import leads_expire

#: Every hour, at minute 5.
HOURLY = crontab(minute="5")


@db_periodic_task(HOURLY, name="leads.expire")
@lock_task("leads-expire")
def leads_expire_task() -> int:
    """Move every open lead whose ``expires_at`` has passed to "expired"; returns how many.
    Safe to run twice (``leads_expire`` skips what another run moved)."""
    return leads_expire()
