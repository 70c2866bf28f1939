"""Periodic work of payouts: the daily digest of deadlines to the vendor's accountants."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from partnerhub.core.audit import system_actor
from partnerhub.core.clock import today
from partnerhub.partners.models import Organisation, OrgKind
from partnerhub.payouts.services import digest_send

# Huey's crontab is in UTC: 06:00 UTC is 09:00 in Moscow (no daylight saving time there).
DAILY_AT_9_MOSCOW = crontab(hour="6", minute="0")


@db_periodic_task(DAILY_AT_9_MOSCOW, name="payouts.digest")
@lock_task("payouts-digest")
def payouts_digest() -> int:
    """At 09:00 Moscow time: the digest of payouts due today and overdue, per vendor. Safe to
    run twice: a vendor gets one digest a day (``DigestSent``), none on days off."""
    sent = 0
    with system_actor("payouts.digest"):
        for vendor in Organisation.objects.filter(kind=OrgKind.VENDOR):
            sent += digest_send(vendor=vendor, on=today())
    return sent
