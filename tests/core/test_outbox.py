"""The outbox delivery engine (core issue, "Outbox and tasks"): retries on the backoff schedule,
dead letters after the last attempt and their requeueing from the back office, one delivery per
claim with parallel workers, nothing delivered from a rolled-back transaction, handlers only
for the event types they match, and a crashed worker's delivery taken over after its lease.

The spec's numbers: backoff 10 s doubling (10, 20, 40 ...) up to 3600 s, dead after 8 attempts.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter

import pytest
import time_machine
from django.db import connection, transaction
from huey.contrib.djhuey import HUEY
from huey.storage import MemoryStorage

from partnerhub.core.delivery import DeliveryReport, backoff, deliver_due, retry_dead
from partnerhub.core.errors import Conflict
from partnerhub.core.models.audit import AuditEvent
from partnerhub.core.models.outbox import DeliveryState, OutboxDelivery, OutboxEvent
from partnerhub.core.outbox import emit, fan_out, fan_out_pending, handler, unregister
from partnerhub.core.tasks import deliver_event, outbox_sweep

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


class WorkerKilled(BaseException):
    """Stands for the worker process dying inside a handler: not an error the engine catches."""


@pytest.fixture
def register():
    """Register test handlers for the test only."""
    names: list[str] = []

    def add(pattern: str, name: str, fn) -> None:
        handler(pattern, name=name)(fn)
        names.append(name)

    yield add
    for name in names:
        unregister(name)


@pytest.fixture
def stopped_worker(monkeypatch):
    """No worker runs: enqueued tasks wait in Huey's in-memory queue instead of running at once
    (the suite's default is Huey's immediate mode)."""
    monkeypatch.setattr(HUEY, "_immediate", False)
    monkeypatch.setattr(HUEY, "storage", MemoryStorage(HUEY.name))
    return HUEY


class FlakyReceiver:
    """A handler that fails its first ``failures`` calls, then succeeds; counts every call."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls: list[str] = []

    def __call__(self, event: OutboxEvent, target: str) -> None:
        self.calls.append(str(event.pk))
        if len(self.calls) <= self.failures:
            raise ConnectionError(f"receiver down (call {len(self.calls)})")


def delivery_of(event: OutboxEvent, name: str) -> OutboxDelivery:
    return OutboxDelivery.objects.get(event=event, handler=name)


# --- backoff and retries --------------------------------------------------------------------


def test_backoff_doubles_from_ten_seconds_and_stops_at_an_hour():
    waits = [backoff(attempt).total_seconds() for attempt in range(1, 11)]
    assert waits == [10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600]


@pytest.mark.django_db
def test_failing_handler_is_retried_on_the_backoff_schedule_and_delivered_once(register):
    receiver = FlakyReceiver(failures=3)
    register("test.orders.*", "test.flaky", receiver)
    with time_machine.travel(T0, tick=False) as clock:
        event = emit("test.orders.placed", {"order": 7})

        schedule = []
        for _ in range(3):
            assert deliver_due() == DeliveryReport(retried=1)
            row = delivery_of(event, "test.flaky")
            schedule.append(row.next_attempt_at)
            assert deliver_due() == DeliveryReport(), "not due before its backoff"
            clock.move_to(row.next_attempt_at)
        assert deliver_due() == DeliveryReport(delivered=1)
        clock.shift(dt.timedelta(days=1))
        assert deliver_due() == DeliveryReport()

    # Failed at T0, T0+10 s and T0+30 s: next attempts 10, 20, then 40 seconds later.
    assert schedule == [
        T0 + dt.timedelta(seconds=10),
        T0 + dt.timedelta(seconds=30),
        T0 + dt.timedelta(seconds=70),
    ]
    row = delivery_of(event, "test.flaky")
    assert row.state == DeliveryState.DONE
    assert row.delivered_at == T0 + dt.timedelta(seconds=70)
    assert row.attempts == 4
    assert row.last_error == "ConnectionError: receiver down (call 3)"
    assert receiver.calls == [str(event.pk)] * 4


@pytest.mark.django_db
def test_delivery_is_dead_after_the_last_attempt(register, settings):
    settings.OUTBOX_MAX_ATTEMPTS = 3
    receiver = FlakyReceiver(failures=100)
    register("test.orders.*", "test.down", receiver)
    with time_machine.travel(T0, tick=False) as clock:
        event = emit("test.orders.placed", {})
        reports = []
        for _ in range(3):
            reports.append(deliver_due())
            clock.shift(dt.timedelta(hours=2))
        assert deliver_due() == DeliveryReport(), "a dead delivery is not tried again"

    assert reports == [DeliveryReport(retried=1), DeliveryReport(retried=1), DeliveryReport(dead=1)]
    row = delivery_of(event, "test.down")
    assert row.state == DeliveryState.DEAD
    assert row.attempts == 3
    assert row.last_error == "ConnectionError: receiver down (call 3)"
    assert len(receiver.calls) == 3


@pytest.mark.django_db
def test_delivery_to_a_handler_nobody_registered_is_dead_with_the_name(register):
    register("test.orders.*", "test.removed", FlakyReceiver(failures=0))
    event = emit("test.orders.placed", {})
    fan_out(event.pk)  # its delivery is written while the handler is registered
    unregister("test.removed")

    assert deliver_due() == DeliveryReport(dead=1)

    row = delivery_of(event, "test.removed")
    assert row.state == DeliveryState.DEAD
    assert "no outbox handler is registered as 'test.removed'" in row.last_error


@pytest.mark.django_db
def test_failed_attempt_schedules_the_worker_for_its_next_attempt(register, stopped_worker):
    register("test.orders.*", "test.flaky", FlakyReceiver(failures=1))
    with time_machine.travel(T0, tick=False):
        event = emit("test.orders.placed", {})

        deliver_event.call_local(str(event.pk))

    [task] = stopped_worker.pending()
    assert task.name.endswith("deliver_event")
    assert task.args == (str(event.pk),)
    assert task.eta == (T0 + dt.timedelta(seconds=10)).replace(tzinfo=None)  # Huey: naive UTC


@pytest.mark.django_db
def test_sweep_delivers_whatever_is_due(register):
    receiver = FlakyReceiver(failures=0)
    register("test.orders.*", "test.recorder", receiver)
    events = [emit("test.orders.placed", {"n": n}) for n in range(3)]

    outbox_sweep.call_local()

    assert sorted(receiver.calls) == sorted(str(e.pk) for e in events)
    assert set(OutboxDelivery.objects.values_list("state", flat=True)) == {DeliveryState.DONE}


# --- fan-out after commit (issue 17) -----------------------------------------------------------


@pytest.mark.django_db
def test_emit_writes_the_event_alone_and_the_fan_out_writes_its_deliveries_once(
    register, django_assert_num_queries
):
    register("test.orders.*", "test.a", FlakyReceiver(failures=0))
    register("test.*", "test.b", FlakyReceiver(failures=0))
    with django_assert_num_queries(1):
        event = emit("test.orders.placed", {})
    assert not OutboxDelivery.objects.exists()

    assert fan_out(event.pk) == 2
    assert fan_out(event.pk) == 0  # a second run (a retried task, the sweep) writes nothing

    assert sorted(OutboxDelivery.objects.values_list("handler", flat=True)) == ["test.a", "test.b"]
    assert OutboxEvent.objects.get(pk=event.pk).fanned_out_at is not None


@pytest.mark.django_db
def test_the_sweep_fans_out_an_event_whose_task_was_lost(register, stopped_worker):
    receiver = FlakyReceiver(failures=0)
    register("test.orders.*", "test.recorder", receiver)
    event = emit("test.orders.placed", {})  # its wake-up waits in a queue nobody reads

    outbox_sweep.call_local()

    assert receiver.calls == [str(event.pk)]
    assert delivery_of(event, "test.recorder").state == DeliveryState.DONE


@pytest.mark.django_db
def test_the_deliveries_go_to_the_handlers_registered_when_the_event_is_fanned_out(register):
    early, late = FlakyReceiver(failures=0), FlakyReceiver(failures=0)
    register("test.orders.*", "test.early", early)
    event = emit("test.orders.placed", {})
    register("test.orders.*", "test.late", late)  # e.g. a webhook endpoint added meanwhile

    deliver_event.call_local(str(event.pk))

    assert (early.calls, late.calls) == ([str(event.pk)], [str(event.pk)])


# --- patterns and transactions --------------------------------------------------------------


@pytest.mark.django_db
def test_handler_gets_only_the_events_its_pattern_matches(register):
    orders, leads = FlakyReceiver(failures=0), FlakyReceiver(failures=0)
    register("test.orders.*", "test.orders", orders)
    register("test.leads.taken", "test.leads", leads)
    placed = emit("test.orders.placed", {})
    taken = emit("test.leads.taken", {})
    emit("test.leads.lost", {})

    deliver_due()

    assert orders.calls == [str(placed.pk)]
    assert leads.calls == [str(taken.pk)]
    assert sorted(OutboxDelivery.objects.values_list("handler", flat=True)) == [
        "test.leads",
        "test.orders",
    ]


@pytest.mark.django_db(transaction=True)
def test_event_emitted_in_a_rolled_back_transaction_is_never_delivered(register):
    receiver = FlakyReceiver(failures=0)
    register("test.orders.*", "test.recorder", receiver)

    with pytest.raises(RuntimeError), transaction.atomic():
        emit("test.orders.cancelled", {})
        raise RuntimeError("the business rule refused")
    with transaction.atomic():
        kept = emit("test.orders.placed", {})

    # The committed event went to the worker at commit (the suite runs Huey immediately).
    assert receiver.calls == [str(kept.pk)]
    assert deliver_due(now=T0 + dt.timedelta(days=365)) == DeliveryReport()
    assert list(OutboxEvent.objects.values_list("event_type", flat=True)) == ["test.orders.placed"]
    assert receiver.calls == [str(kept.pk)]


# --- concurrency and crashed workers --------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_workers_in_parallel_deliver_each_delivery_once(register, stopped_worker):
    calls: Counter[str] = Counter()
    lock = threading.Lock()

    # each worker holds its first delivery until the other one delivers too: both are then
    # working through the same due rows at once, whatever the machine's load
    both_delivering = threading.Barrier(2, timeout=60)
    first_done = threading.local()

    def meeting_receiver(event: OutboxEvent, target: str) -> None:
        with lock:
            calls[str(event.pk)] += 1
        if not getattr(first_done, "value", False):
            first_done.value = True
            both_delivering.wait()

    register("test.orders.*", "test.counter", meeting_receiver)
    events = [emit("test.orders.placed", {"n": n}) for n in range(40)]
    barrier = threading.Barrier(2)
    reports: list[DeliveryReport] = []

    def worker() -> None:
        try:
            barrier.wait()
            report = deliver_due()
            with lock:
                reports.append(report)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert len(reports) == 2, "a worker thread failed"
    assert calls == Counter({str(e.pk): 1 for e in events})
    assert sum(r.delivered for r in reports) == 40
    assert OutboxDelivery.objects.filter(state=DeliveryState.DONE, attempts=1).count() == 40


@pytest.mark.django_db
def test_delivery_of_a_crashed_worker_is_taken_over_when_its_lease_expires(register, settings):
    settings.OUTBOX_LEASE_SECONDS = 60
    receiver = FlakyReceiver(failures=0)
    crashes = iter([True])

    def dies_once(event: OutboxEvent, target: str) -> None:
        if next(crashes, False):
            raise WorkerKilled
        receiver(event, target)

    register("test.orders.*", "test.dies_once", dies_once)
    with time_machine.travel(T0, tick=False) as clock:
        event = emit("test.orders.placed", {})
        with pytest.raises(WorkerKilled):
            deliver_due()
        row = delivery_of(event, "test.dies_once")
        assert (row.state, row.locked_until) == (
            DeliveryState.RUNNING,
            T0 + dt.timedelta(seconds=60),
        )

        clock.shift(dt.timedelta(seconds=59))
        assert deliver_due() == DeliveryReport(), "the lease still holds"
        clock.shift(dt.timedelta(seconds=2))
        assert deliver_due() == DeliveryReport(delivered=1)

    row = delivery_of(event, "test.dies_once")
    assert (row.state, row.attempts) == (DeliveryState.DONE, 2)
    assert receiver.calls == [str(event.pk)]


@pytest.mark.django_db
def test_delivery_that_kills_the_worker_every_time_ends_dead(register, settings):
    settings.OUTBOX_LEASE_SECONDS = 60
    settings.OUTBOX_MAX_ATTEMPTS = 2

    def always_dies(event: OutboxEvent, target: str) -> None:
        raise WorkerKilled

    register("test.orders.*", "test.poison", always_dies)
    with time_machine.travel(T0, tick=False) as clock:
        event = emit("test.orders.placed", {})
        for _ in range(2):
            with pytest.raises(WorkerKilled):
                deliver_due()
            clock.shift(dt.timedelta(seconds=61))
        assert deliver_due() == DeliveryReport(dead=1)

    row = delivery_of(event, "test.poison")
    assert (row.state, row.attempts) == (DeliveryState.DEAD, 2)
    assert row.last_error == "WorkerLost: the worker stopped during attempt 2"


# --- dead letters in the back office --------------------------------------------------------


def make_dead(settings, register, *, event_type: str = "test.orders.placed"):
    """An event whose delivery to ``test.down`` is dead, and the handler (down, for now)."""
    settings.OUTBOX_MAX_ATTEMPTS = 2
    receiver = FlakyReceiver(failures=2)
    register("test.orders.*", "test.down", receiver)
    with time_machine.travel(T0, tick=False) as clock:
        event = emit(event_type, {})
        deliver_due()
        clock.shift(dt.timedelta(minutes=5))
        deliver_due()
    return event, receiver


@pytest.mark.django_db
def test_dead_delivery_is_listed_first_on_the_back_office_page(world, login_as, register, settings):
    recorder = FlakyReceiver(failures=0)
    register("test.orders.*", "test.recorder", recorder)
    event, _receiver = make_dead(settings, register)

    page = login_as("vendor:support").get("/backoffice/outbox/")

    assert page.status_code == 200
    rows = [d.pk for d, _endpoint in page.context["rows"]]
    assert rows[0] == delivery_of(event, "test.down").pk
    assert delivery_of(event, "test.recorder").pk in rows[1:]
    body = page.content.decode()
    assert "ConnectionError: receiver down (call 2)" in body
    assert "Не доставлено" in body
    assert "Повторить" not in body, "support may look but not requeue"


@pytest.mark.django_db
def test_back_office_filters_deliveries_by_state_and_handler(world, login_as, register, settings):
    register("test.orders.*", "test.recorder", FlakyReceiver(failures=0))
    event, _receiver = make_dead(settings, register)
    client = login_as("vendor:program_manager")

    dead = client.get("/backoffice/outbox/?state=dead").context["rows"]
    recorder = client.get("/backoffice/outbox/?handler=test.recorder").context["rows"]
    other_type = client.get("/backoffice/outbox/?event_type=test.leads").context["rows"]

    assert [d.pk for d, _ in dead] == [delivery_of(event, "test.down").pk]
    assert [d.pk for d, _ in recorder] == [delivery_of(event, "test.recorder").pk]
    assert other_type == []


@pytest.mark.django_db
def test_back_office_list_needs_few_queries(
    world, login_as, register, django_assert_max_num_queries
):
    register("test.orders.*", "test.recorder", FlakyReceiver(failures=0))
    for n in range(30):
        emit("test.orders.placed", {"n": n})
    fan_out_pending()  # the worker's fan-out after commit
    client = login_as("vendor:administrator")
    with django_assert_max_num_queries(12):
        response = client.get("/backoffice/outbox/")
    assert len(response.context["rows"]) == 25


@pytest.mark.django_db
def test_administrator_requeues_a_dead_delivery_and_the_worker_delivers_it(
    world, login_as, register, settings, django_capture_on_commit_callbacks
):
    event, receiver = make_dead(settings, register)
    dead = delivery_of(event, "test.down")
    administrator = login_as("vendor:administrator")
    page = administrator.get("/backoffice/outbox/").content.decode()
    assert f'action="/backoffice/outbox/{dead.pk}/retry/"' in page

    with django_capture_on_commit_callbacks(execute=True):
        response = administrator.post(
            f"/backoffice/outbox/{dead.pk}/retry/", {"next": "/backoffice/outbox/?state=dead"}
        )

    assert response.status_code == 302
    assert response["Location"] == "/backoffice/outbox/?state=dead"
    row = delivery_of(event, "test.down")
    assert row.state == DeliveryState.DONE
    assert row.attempts == 3, "the requeued attempt continues the count"
    assert len(receiver.calls) == 3
    [requeued] = AuditEvent.objects.filter(action="outbox.delivery.requeued")
    assert (requeued.object_id, requeued.actor_label) == (
        str(dead.pk),
        "administrator@vendor.example",
    )


@pytest.mark.django_db
def test_requeue_after_a_new_failure_makes_it_dead_again(register, settings):
    event, receiver = make_dead(settings, register)
    receiver.failures = 100

    retry_dead(delivery_id=delivery_of(event, "test.down").pk)
    assert delivery_of(event, "test.down").state == DeliveryState.PENDING
    assert deliver_due() == DeliveryReport(dead=1)

    assert delivery_of(event, "test.down").state == DeliveryState.DEAD


@pytest.mark.django_db
def test_only_a_dead_delivery_can_be_requeued(register):
    register("test.orders.*", "test.recorder", FlakyReceiver(failures=0))
    event = emit("test.orders.placed", {})
    fan_out(event.pk)  # the worker's fan-out after commit

    with pytest.raises(Conflict):
        retry_dead(delivery_id=delivery_of(event, "test.recorder").pk)

    assert delivery_of(event, "test.recorder").state == DeliveryState.PENDING
