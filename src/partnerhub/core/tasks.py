"""Background tasks of core: outbox delivery (the "Outbox and tasks" part of the core issue).

- ``deliver_event(event_id)`` is enqueued by ``emit()`` after the business transaction commits
  and delivers that event's deliveries at once.
- ``outbox_sweep`` runs every minute (Huey's scheduler; a starting consumer runs it at once) and
  delivers whatever is due: retries whose backoff has passed, deliveries whose task was lost,
  deliveries a killed worker left ``running`` once their lease has expired.

When an attempt fails, the task schedules ``deliver_event`` for the moment of the next attempt,
so the backoff schedule is kept to the second rather than to the next sweep; the sweep is the
safety net if that scheduled task is lost. Every task is safe to run twice or concurrently: the
engine (``core.delivery``) claims each delivery with a conditional update.
"""

from __future__ import annotations

import time

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task, on_startup

from partnerhub.core.audit import system_actor
from partnerhub.core.delivery import DeliveryReport, deliver_due
from partnerhub.core.idempotency import idempotency_cleanup
from partnerhub.core.runtime import tune_gc

#: Deliveries one sweep batch takes; the sweep takes batches until fewer are due.
SWEEP_BATCH = 200
#: A sweep stops taking new batches after this long (the next one starts a minute later).
SWEEP_BUDGET_SECONDS = 50.0


@on_startup()  # type: ignore[untyped-decorator]
def worker_started() -> None:
    """The worker's process settings (``core.runtime``), once its modules are loaded."""
    tune_gc()


@db_task()  # type: ignore[untyped-decorator]
def deliver_event(event_id: str) -> None:
    """Deliver the due deliveries of one event (after commit, or when its retry is due)."""
    report = deliver_due(event_id=event_id)
    _schedule_retries(report)


@db_periodic_task(crontab(minute="*"))  # type: ignore[untyped-decorator]
def outbox_sweep() -> None:
    """Deliver everything that is due, in batches, for at most ``SWEEP_BUDGET_SECONDS``."""
    started = time.monotonic()
    while True:
        report = deliver_due(limit=SWEEP_BATCH)
        _schedule_retries(report)
        if report.found < SWEEP_BATCH or time.monotonic() - started > SWEEP_BUDGET_SECONDS:
            return


def _schedule_retries(report: DeliveryReport) -> None:
    """Wake the worker for each retried event when its next attempt is due."""
    for event_id, at in report.next_attempts.items():
        deliver_event.schedule(args=(event_id,), eta=at)


@db_periodic_task(crontab(minute="17"))  # type: ignore[untyped-decorator]
def idempotency_keys_cleanup() -> int:
    """Every hour: delete the ``Idempotency-Key`` rows past their 24 hours."""
    with system_actor("idempotency_keys_cleanup"):
        return idempotency_cleanup()
