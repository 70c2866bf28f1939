"""Events posted over the API and applied by the worker (``live.pending_apply``).

On PostgreSQL the request stores a batch and leaves it in ``PendingEvent``; the worker's task
``referrals.apply`` (queued when the request commits) applies all that waits. Live must still
equal the replay of the stored events once the worker has run, a read never counts an event
that waits, and nothing waits forever: the minute task, verify and recompute apply what a lost
task left, and a request that finds too much waiting applies it itself after a while.
"""

from __future__ import annotations

import random
import threading

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from partnerhub.accounts.services import api_token_create
from partnerhub.partners.models import Organisation
from partnerhub.referrals import tasks
from partnerhub.referrals.engine import run
from partnerhub.referrals.models import PendingEvent, ReferralClient, ReferralPartner, StoredEvent
from partnerhub.referrals.selectors import standing as selectors
from partnerhub.referrals.services import intake, live
from partnerhub.referrals.services.live import feed as live_feed
from partnerhub.referrals.services.live import pending as live_pending
from tests.factories import OrganisationFactory, ProgramFactory
from tests.referrals.test_live import (
    NOW,
    T0,
    _stream,
    activity,
    assert_live_equals_replay,
    at,
    client,
    partner,
    partner_with_a_stale_saved_state,
    payment,
    same_history,
    stored,
)


@pytest.fixture
def program(db):
    return ProgramFactory(code="referrals")


def deferred(program, events) -> intake.IngestResult:
    """A batch stored for the worker (the request's path on PostgreSQL)."""
    return intake.events_ingest(program=program, objs=events, received_at=NOW, defer=True)


def worker_run(program) -> int:
    with transaction.atomic():
        return live.pending_apply(program=program)


def waiting(program) -> int:
    return PendingEvent.objects.filter(program=program).count()


def test_a_deferred_batch_is_stored_and_waits_until_the_worker_applies_it(program):
    # given a batch stored for the worker (the request returns the usual counts)
    events = [partner("p1", "AB12CD"), client("c1", "a.ru", "AB12CD", 1), activity("a1", "a.ru", 2)]
    result = deferred(program, events)
    assert (result.accepted, result.duplicates, result.rejected) == (3, 0, [])
    assert StoredEvent.objects.filter(program=program).count() == 3
    assert waiting(program) == 3
    # then no standing counts it yet
    assert live.standing_at(program=program, code="AB12CD", as_of=NOW) is None
    # when the worker runs
    assert worker_run(program) == 3
    # then the standing follows, nothing waits, and a second run has nothing to do
    standing = selectors.standing_of(program=program, code="AB12CD", as_of=NOW)
    assert (standing.clients, standing.active_clients) == (1, 1)
    assert waiting(program) == 0
    assert worker_run(program) == 0
    assert_live_equals_replay(program, NOW)


def test_duplicates_of_waiting_events_are_counted_and_not_left_twice(program):
    events = [partner("p1", "AB12CD"), client("c1", "a.ru", "AB12CD", 1)]
    deferred(program, events)
    result = deferred(program, events)
    assert (result.accepted, result.duplicates) == (0, 2)
    assert waiting(program) == 2


def test_the_api_leaves_the_batch_to_the_task_queued_on_commit(
    world, settings, django_capture_on_commit_callbacks
):
    # given the API applies in the worker (PostgreSQL's default)
    settings.REFERRAL_APPLY_IN_WORKER = True
    program = ProgramFactory(vendor=world.vendor, code="referrals")
    _token, raw = api_token_create(organisation=world.vendor, name="product", role="administrator")
    from django.test import Client

    api = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    events = [partner("p1", "AB12CD"), client("c1", "a.ru", "AB12CD", 1), activity("a1", "a.ru", 2)]
    # when a batch is posted
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = api.post("/api/v1/referrals/events", events, content_type="application/json")
    assert response.json() == {"accepted": 3, "waiting": 0, "duplicates": 0, "rejected": []}
    # then it waits, and the task queued on commit applies it
    assert waiting(program) == 3
    assert len(callbacks) == 1
    callbacks[0]()  # Huey runs tasks at once in tests
    assert waiting(program) == 0
    standing = api.get("/api/v1/referrals/partners/AB12CD/standing").json()
    assert (standing["clients"], standing["active_clients"]) == (1, 1)


def test_a_waiting_late_event_is_not_read_into_the_standing(program):
    # given a partner's events applied, and its saved state older than its last event
    partner_with_a_stale_saved_state(program)
    # when a late client, dated between them, waits for the worker
    deferred(program, [client("c4", "d.ru", "AB12CD", 110)])
    live.cache_clear()  # a reader in another process: saved state + stored events
    # then a read does not count it (the state does not include it yet)
    assert live.standing_at(program=program, code="AB12CD", as_of=NOW).standing.clients == 3
    # and once the worker ran it counts once
    worker_run(program)
    assert live.standing_at(program=program, code="AB12CD", as_of=NOW).standing.clients == 4
    assert_live_equals_replay(program, NOW)


def test_a_batch_applied_in_the_request_applies_what_waits_first(program):
    deferred(program, [partner("p1", "AB12CD"), client("c1", "a.ru", "AB12CD", 1)])
    intake.events_ingest(program=program, objs=[activity("a1", "a.ru", 2)], received_at=NOW)
    assert waiting(program) == 0
    standing = selectors.standing_of(program=program, code="AB12CD", as_of=NOW)
    assert (standing.clients, standing.active_clients) == (1, 1)
    assert_live_equals_replay(program, NOW)


def test_while_too_much_waits_a_request_waits_then_applies_it_itself(program, settings):
    # given a limit of 2 waiting events and a worker that does not run
    settings.REFERRAL_PENDING_LIMIT = 2
    settings.REFERRAL_PENDING_WAIT_SECONDS = 0.05
    deferred(program, [partner("p1", "AB12CD"), client("c1", "a.ru", "AB12CD", 1)])
    # when a batch arrives with the backlog at the limit, it is left for the worker
    deferred(program, [activity("a1", "a.ru", 2)])
    assert waiting(program) == 3
    # and the next one, with the backlog over the limit, applies everything itself
    deferred(program, [client("c2", "b.ru", "AB12CD", 3)])
    assert waiting(program) == 0
    standing = selectors.standing_of(program=program, code="AB12CD", as_of=NOW)
    assert (standing.clients, standing.active_clients) == (2, 1)
    assert_live_equals_replay(program, NOW)


def test_a_request_waiting_for_room_goes_on_once_the_worker_catches_up(
    program, settings, monkeypatch
):
    # given a limit of 1 waiting event, 2 waiting, and a worker that catches up at the third
    # look the waiting request takes at the backlog
    settings.REFERRAL_PENDING_LIMIT = 1
    settings.REFERRAL_PENDING_WAIT_SECONDS = 30
    deferred(program, [partner("p1", "AB12CD"), client("c1", "a.ru", "AB12CD", 1)])
    looks = 0
    count = live.pending_count

    def worker_catches_up(program) -> int:
        nonlocal looks
        looks += 1
        if looks == 3:
            live.pending_apply(program=program)
        return count(program)

    monkeypatch.setattr(live_pending, "pending_count", worker_catches_up)
    # when a batch arrives, it waits for room and is then left for the worker
    deferred(program, [activity("a1", "a.ru", 2)])
    assert looks == 3
    monkeypatch.undo()
    assert waiting(program) == 1
    assert StoredEvent.objects.filter(program=program, event_id="a1").exists()


def test_the_minute_task_applies_what_a_lost_task_left_waiting(program):
    deferred(program, [partner("p1", "AB12CD"), client("c1", "a.ru", "AB12CD", 1)])
    live.partitions_catch_up(program=program, moment=NOW)
    assert waiting(program) == 0
    assert selectors.standing_of(program=program, code="AB12CD", as_of=NOW).clients == 1


def test_verify_and_recompute_apply_what_waits_first(program):
    deferred(program, [partner("p1", "AB12CD"), client("c1", "a.ru", "AB12CD", 1)])
    assert live.verify(program=program, as_of=NOW) == []
    assert waiting(program) == 0
    deferred(program, [client("c2", "b.ru", "AB12CD", 2)])
    assert live.recompute(program=program) == 1
    assert waiting(program) == 0
    assert selectors.standing_of(program=program, code="AB12CD", as_of=NOW).clients == 2


def test_the_task_applies_every_program_s_own_events_only(program):
    other = ProgramFactory(code="referrals-2")
    deferred(program, [partner("p1", "AB12CD"), client("c1", "a.ru", "AB12CD", 1)])
    deferred(other, [partner("p1", "AB12CD")])
    assert tasks.referrals_apply.call_local(program.pk) == 2
    assert (waiting(program), waiting(other)) == (0, 1)
    assert tasks.referrals_apply.call_local(-1) == 0  # a program deleted meanwhile


def test_a_late_promo_code_left_for_the_worker_moves_its_client_and_rebuilds_the_owner(program):
    # given a registered partner, and a client that came with a promo code nobody owned yet
    intake.events_ingest(program=program, objs=[partner("p1", "AB12CD")], received_at=NOW)
    came = {**client("c1", "a.ru", None, 5), "promo_code": "SPRING"}
    intake.events_ingest(program=program, objs=[came], received_at=NOW)
    assert ReferralClient.objects.get(program=program, client="a.ru").partition == ""
    # when the partner's promo code, created before the client came, arrives for the worker
    promo = {
        "id": "pc1",
        "type": "promo_code.created",
        "at": at(1),
        "partner": "AB12CD",
        "code": "SPRING",
        "valid_from": at(1),
        "valid_until": at(60),
        "client_bonus": "month",
    }
    deferred(program, [promo])
    # then the client moved at once (the next batch follows it), and the worker rebuilt the
    # partner with its client
    assert ReferralClient.objects.get(program=program, client="a.ru").partition == "AB12CD"
    assert set(PendingEvent.objects.values_list("event_id", "partner")) == {
        ("pc1", "AB12CD"),
        ("", "AB12CD"),
    }
    deferred(program, [activity("a1", "a.ru", 6)])
    worker_run(program)
    standing = selectors.standing_of(program=program, code="AB12CD", as_of=NOW)
    assert (standing.clients, standing.active_clients) == (1, 1)
    assert_live_equals_replay(program, NOW)


# --- live equals replay, whoever applies the events and when --------------------------------


@pytest.mark.django_db(transaction=True)
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    ops=st.lists(st.integers(min_value=0, max_value=3), min_size=5, max_size=100),
    seed=st.integers(min_value=0, max_value=10_000),
    batches=st.integers(min_value=1, max_value=12),
    defer=st.lists(st.booleans(), min_size=5, max_size=5),
    drain=st.lists(st.booleans(), min_size=4, max_size=4),
    forget=st.lists(st.booleans(), min_size=3, max_size=3),
)
def test_live_equals_replay_when_the_worker_applies_at_random_moments(
    ledger_committed, monkeypatch, ops, seed, batches, defer, drain, forget
):
    # given random events arriving shuffled in random batches, some applied in the request,
    # some left for a worker that runs at random moments (its queued task is lost)
    monkeypatch.setattr(intake, "_apply_later", lambda program: None)
    live_feed.CHECKPOINT_EVERY, every = 7, live_feed.CHECKPOINT_EVERY
    try:
        StoredEvent.objects.all().delete()
        PendingEvent.objects.all().delete()
        program = ProgramFactory()
        organisation = Organisation.objects.filter(kind="partner").first() or OrganisationFactory()
        ReferralPartner.objects.filter(code="AAA111").delete()
        ReferralPartner.objects.create(
            program=program, organisation=organisation, code="AAA111", registered_at=T0
        )
        events = _stream(ops, seed)
        random.Random(seed).shuffle(events)
        size = max(1, len(events) // batches)
        for number, start in enumerate(range(0, len(events), size)):
            if forget[number % len(forget)]:
                live.cache_clear()
            if drain[number % len(drain)]:
                worker_run(program)
            intake.events_ingest(
                program=program,
                objs=events[start : start + size],
                received_at=NOW,
                defer=defer[number % len(defer)],
            )
        # when the worker has run
        worker_run(program)
        # then the live standing equals the replay of the stored events
        assert waiting(program) == 0
        replay = run(stored(program), as_of=NOW)
        for code, expected in replay.partners.items():
            got = live.standing_at(program=program, code=code, as_of=NOW)
            assert got is not None and got.standing == expected.standing
            same_history(got, expected)
        assert live.verify(program=program, as_of=NOW) == []
    finally:
        live_feed.CHECKPOINT_EVERY = every


@pytest.mark.django_db(transaction=True)
def test_parallel_requests_and_workers_apply_each_event_once(ledger_committed, monkeypatch):
    # given four requests storing batches for the worker and two workers running meanwhile
    monkeypatch.setattr(intake, "_apply_later", lambda program: None)
    program = ProgramFactory()
    intake.events_ingest(
        program=program,
        objs=[partner("p1", "AAA111", 0), partner("p2", "BBB222", 0)],
        received_at=NOW,
    )
    failures: list[BaseException] = []
    stop = threading.Event()

    def request(number: int) -> None:
        try:
            for batch in range(5):
                base = f"r{number}b{batch}"
                code = "AAA111" if number % 2 else "BBB222"
                day = 10 + batch * 20 + number
                deferred(
                    program,
                    [
                        client(f"{base}c", f"{base}.ru", code, day),
                        activity(f"{base}a", f"{base}.ru", day + 1),
                        payment(f"{base}p", f"{base}.ru", day + 2, months=12, amount="5000.00"),
                    ],
                )
        except BaseException as exc:
            failures.append(exc)
        finally:
            connection.close()

    def worker() -> None:
        try:
            while not stop.is_set():
                # with nothing pending, wait a moment as the real worker does (it runs when a
                # task is queued): two threads spinning on SQLite's write lock starved the
                # requests past the 20 s busy timeout on a loaded machine ("database is locked")
                if worker_run(program) == 0:
                    stop.wait(0.02)
        except BaseException as exc:
            failures.append(exc)
        finally:
            connection.close()

    workers = [threading.Thread(target=worker) for _ in range(2)]
    requests = [threading.Thread(target=request, args=(n,)) for n in range(4)]
    for thread in [*workers, *requests]:
        thread.start()
    for thread in requests:
        thread.join()
    stop.set()
    for thread in workers:
        thread.join()
    assert failures == []
    # then, once the last run is over, every event counted once and live equals replay
    worker_run(program)
    assert waiting(program) == 0
    assert StoredEvent.objects.filter(program=program).count() == 2 + 4 * 5 * 3
    assert selectors.standing_of(program=program, code="AAA111", as_of=NOW).clients == 10
    assert selectors.standing_of(program=program, code="BBB222", as_of=NOW).clients == 10
    assert live.verify(program=program, as_of=NOW) == []
