"""Periodic housekeeping of the accounts app."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from partnerhub.accounts.services import login_attempts_cleanup
from partnerhub.core.audit import system_actor


@db_periodic_task(crontab(minute="23"))
def login_attempts_cleanup_task() -> int:
    """Every hour: delete the login attempts older than the throttle window and a day."""
    with system_actor("login_attempts_cleanup"):
        return login_attempts_cleanup()
