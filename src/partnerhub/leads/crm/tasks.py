"""Background work of the partner's CRM (issue 7, part 6: "theirs to ours by polling
``crm.deal.get`` on a schedule or an outgoing webhook endpoint of ours").

- ``crm_deal_pull(deal_id)`` is queued (after commit) by our inbound webhook for one deal.
- ``crm_poll`` runs every minute and polls the connections whose last poll is older than
  ``CRM_POLL_MINUTES`` (any value works, and the connections' polls spread over the minutes).

Both are safe to run twice or concurrently: a pull applies a remote stage once (the twin's
stage is recorded with it) and the services refuse a stale move.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task, lock_task

from partnerhub.core import clock
from partnerhub.core.audit import system_actor
from partnerhub.leads.crm import selectors, sync
from partnerhub.leads.crm.client import CrmError

logger = logging.getLogger(__name__)


@db_task()
def crm_deal_pull(deal_id: int) -> None:
    """Pull one deal's stage from the partner's CRM (a failure waits for the next poll)."""
    with system_actor("leads.crm_pull"):
        try:
            sync.deal_pull(deal_id)
        except CrmError as error:
            logger.info("crm pull of deal %s failed: %s", deal_id, error.detail)


def poll_due(*, now: dt.datetime | None = None) -> int:
    """Poll every connection that is due; returns how many deals moved."""
    every = dt.timedelta(minutes=settings.CRM_POLL_MINUTES)
    moved = 0
    with system_actor("leads.crm_poll"):
        for connection_id in selectors.connections_due_for_poll(
            now=now or clock.now(), every=every
        ):
            try:
                moved += sync.connection_poll(connection_id)
            except CrmError as error:
                logger.info("crm poll of connection %s stopped: %s", connection_id, error.detail)
    return moved


@db_periodic_task(crontab(minute="*"), name="leads.crm_poll")
@lock_task("leads-crm-poll")
def crm_poll() -> int:
    """Every minute: poll the CRM connections due (see ``poll_due``)."""
    return poll_due()
