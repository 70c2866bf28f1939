"""The live standing: intake, incremental and late events, ledger, catch-up, verify.

Live must equal the replay of the stored events (issue "Referral program", part 4).
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from partnerhub.core import ledger
from partnerhub.core.models.ledger import LedgerAccount
from partnerhub.partners.models import Organisation
from partnerhub.referrals.engine import run
from partnerhub.referrals.models import (
    EventRejection,
    PartnerState,
    ReferralClient,
    ReferralPartner,
    StateCheckpoint,
    StoredEvent,
)
from partnerhub.referrals.selectors import standing as selectors
from partnerhub.referrals.services import intake, live
from partnerhub.referrals.services.live import apply as live_apply
from partnerhub.referrals.services.live import feed as live_feed
from partnerhub.referrals.services.live import memory as live_memory
from partnerhub.referrals.services.live import pending as live_pending
from tests.factories import OrganisationFactory, ProgramFactory

MSK = dt.timezone(dt.timedelta(hours=3))
T0 = dt.datetime(2025, 1, 10, 9, 0, tzinfo=MSK)
NOW = dt.datetime(2026, 11, 1, 12, 0, tzinfo=MSK)


def at(days: float) -> str:
    return (T0 + dt.timedelta(days=days)).isoformat()


def partner(eid: str, code: str, days: float = 0) -> dict:
    return {"id": eid, "type": "partner.registered", "at": at(days), "partner": code}


def client(eid: str, name: str, code: str | None, days: float) -> dict:
    event = {"id": eid, "type": "client.registered", "at": at(days), "client": name}
    if code:
        event["referral_code"] = code
    return event


def activity(eid: str, name: str, days: float, users: int = 5) -> dict:
    return {"id": eid, "type": "client.activity", "at": at(days), "client": name, "users": users}


def payment(eid: str, name: str, days: float, product="tariff.team", months=3, amount="1000.00"):
    return {
        "id": eid,
        "type": "payment",
        "at": at(days),
        "client": name,
        "product": product,
        "months": months,
        "amount": amount,
    }


def refund(eid: str, paid: str, days: float) -> dict:
    return {"id": eid, "type": "payment.refunded", "at": at(days), "payment": paid}


@pytest.fixture
def program(db):
    return ProgramFactory(code="referrals")


def stored(program) -> list[dict]:
    return [row.raw for row in StoredEvent.objects.filter(program=program)]


def same_history(got, expected) -> None:
    """The live history (from the database) equals the replay's, entry for entry."""

    def key(item):
        return (item.at, getattr(item, "event_id", None) or "", repr(item))

    for name in ("grants", "bonuses", "levels", "reviews"):
        assert sorted(getattr(got, name), key=key) == sorted(getattr(expected, name), key=key), name


def assert_live_equals_replay(program, as_of: dt.datetime) -> None:
    replay = run(stored(program), as_of=as_of)
    for code, expected in replay.partners.items():
        got = live.standing_at(program=program, code=code, as_of=as_of)
        assert got is not None, code
        assert got.standing == expected.standing, code
        same_history(got, expected)
    assert live.verify(program=program, as_of=as_of) == []


def test_a_batch_is_stored_and_the_standing_follows(program):
    # given a partner with one client that becomes active and pays for Team 12 months (60 pts)
    events = [
        partner("p1", "AB12CD"),
        client("c1", "acme.bitrix24.ru", "AB12CD", 1),
        activity("a1", "acme.bitrix24.ru", 2),
        payment("pay1", "acme.bitrix24.ru", 3, months=12, amount="10000.00"),
    ]
    # when the batch is ingested
    result = intake.events_ingest(program=program, objs=events, received_at=NOW)
    # then everything is accepted and the standing shows 61 points, level 2, 100 bonuses
    assert (result.accepted, result.duplicates, result.rejected) == (4, 0, [])
    standing = selectors.standing_of(program=program, code="AB12CD", as_of=T0 + dt.timedelta(4))
    assert standing is not None
    assert (standing.level, standing.active_points, standing.points_total) == (2, 61, 61)
    assert standing.bonus_accrued == Decimal("100.00")
    assert (standing.clients, standing.active_clients) == (1, 1)
    assert ReferralClient.objects.get(client="acme.bitrix24.ru").partner == "AB12CD"


def test_duplicates_are_ignored_and_counted(program):
    events = [partner("p1", "AB12CD"), client("c1", "x.bitrix24.ru", "AB12CD", 1)]
    intake.events_ingest(program=program, objs=events, received_at=NOW)
    again = intake.events_ingest(program=program, objs=[*events, events[0]], received_at=NOW)
    assert (again.accepted, again.duplicates) == (0, 3)
    assert StoredEvent.objects.count() == 2


def test_each_bad_event_is_rejected_alone_and_the_rest_is_stored(program):
    events = [
        partner("p1", "AB12CD"),
        {"id": "bad1", "type": "client.vanished", "at": at(1)},
        {"id": "bad2", "type": "payment", "at": "2025-01-11T10:00:00", "client": "x"},
        payment("wait3", "ghost.bitrix24.ru", 2),
        {**payment("bad4", "x.bitrix24.ru", 2), "amount": "-5.00"},
        {**payment("bad5", "x.bitrix24.ru", 2), "amount": "12,50"},
        refund("wait6", "nope", 3),
        client("c1", "x.bitrix24.ru", "AB12CD", 1),
    ]
    result = intake.events_ingest(program=program, objs=events, received_at=NOW)
    reasons = {r["id"]: r["reason"] for r in result.rejected}
    assert (result.accepted, result.waiting) == (4, 2)  # naming what is not here yet: waiting
    assert reasons["bad1"].startswith("unknown type")
    assert "offset" in reasons["bad2"]
    assert "negative" in reasons["bad4"]
    assert "decimal" in reasons["bad5"]
    assert [r["index"] for r in result.rejected] == [1, 2, 4, 5]
    assert EventRejection.objects.filter(stage="intake").count() == 4


def test_a_timestamp_in_the_future_is_rejected(program):
    late = (NOW + dt.timedelta(hours=1)).isoformat()
    result = intake.events_ingest(
        program=program,
        objs=[{"id": "f", "type": "partner.registered", "at": late, "partner": "AB12CD"}],
        received_at=NOW,
    )
    assert result.rejected[0]["reason"] == "timestamp in the future"


def test_a_late_event_recomputes_from_the_checkpoint_before_it(program):
    # given a partner whose history runs past two reviews
    base = [partner("p1", "AB12CD")] + [
        client(f"c{i}", f"c{i}.ru", "AB12CD", 1 + i) for i in range(20)
    ]
    intake.events_ingest(program=program, objs=base, received_at=NOW)
    intake.events_ingest(
        program=program, objs=[activity("a19", "c19.ru", 200)], received_at=NOW
    )  # past the reviews of 10 Apr and 10 Jul: checkpoints taken before each
    assert StateCheckpoint.objects.filter(partner="AB12CD").count() == 2
    # when a late payment arrives, dated before the second review
    late = payment("late", "c3.ru", 100, product="tariff.company", months=12, amount="5000.00")
    intake.events_ingest(program=program, objs=[late], received_at=NOW)
    # then the result equals the replay of everything stored, at any time
    for moment in (T0 + dt.timedelta(99), T0 + dt.timedelta(101), NOW):
        assert_live_equals_replay(program, moment)
    standing = selectors.standing_of(program=program, code="AB12CD", as_of=T0 + dt.timedelta(101))
    assert standing.level == 3


def test_late_events_restart_from_the_engine_copies_kept_in_memory(ledger_committed, monkeypatch):
    # (committed: this process keeps the states in memory once a batch commits)
    live.cache_clear()
    program = ProgramFactory(code="referrals")
    # given a partner whose ten clients pay every few days, with an engine copy kept in
    # memory every second event, all kept (the marks a late event restarts from)
    monkeypatch.setattr(live_feed, "MEMORY_MARK_EVERY", 2)
    monkeypatch.setattr(live_memory, "MEMORY_SNAPSHOTS", 50)
    monkeypatch.setattr(live_memory, "MEMORY_MARKS", 60)
    base = [partner("p1", "AB12CD")]
    for i in range(10):
        base += [client(f"c{i}", f"c{i}.ru", "AB12CD", 1 + 3 * i)]
        base += [activity(f"a{i}", f"c{i}.ru", 2 + 3 * i)]
        base += [payment(f"pay{i}", f"c{i}.ru", 3 + 3 * i, months=12, amount="10000.00")]
    intake.events_ingest(program=program, objs=base, received_at=NOW)
    generation = _generation(program)
    # when two late payments arrive one after the other, both between the same two marks
    # (the second restarts from the copy the first restarted from)
    for n, days in enumerate((15.2, 15.1)):
        late = payment(f"late{n}", "c1.ru", days, product="tariff.company", months=12)
        intake.events_ingest(program=program, objs=[late], received_at=NOW)
    # then each was a recomputation from a mark in memory, and the live standing and history
    # equal the replay at any time
    assert _generation(program) == generation + 2
    for moment in (T0 + dt.timedelta(15.15), T0 + dt.timedelta(40), NOW):
        assert_live_equals_replay(program, moment)


def test_a_review_checkpoint_is_written_once_its_engine_copy_leaves_the_memory(
    ledger_committed, monkeypatch
):
    # (committed: this process keeps the states in memory once a batch commits)
    live.cache_clear()
    program = ProgramFactory(code="referrals")
    monkeypatch.setattr(live_feed, "MEMORY_MARK_EVERY", 2)
    monkeypatch.setattr(live_memory, "MEMORY_SNAPSHOTS", 3)
    # given a partner with twenty clients, then an event after its first review (10 April):
    # the review's checkpoint is owed, not encoded (a late event may soon change it)
    base = [partner("p1", "AB12CD")] + [
        client(f"c{i}", f"c{i}.ru", "AB12CD", 1 + i) for i in range(20)
    ]
    intake.events_ingest(program=program, objs=base, received_at=NOW)
    intake.events_ingest(program=program, objs=[activity("a0", "c0.ru", 95)], received_at=NOW)
    checkpoints = StateCheckpoint.objects.filter(program=program, partner="AB12CD")
    assert not checkpoints.exists()
    # when more events come, one a batch, until the memory drops the review's engine copy
    for n in range(8):
        intake.events_ingest(
            program=program, objs=[activity(f"b{n}", f"c{n}.ru", 96 + n)], received_at=NOW
        )
    # then the checkpoint before the review is stored, at the review
    review = checkpoints.get().at_us
    assert live.to_us(T0 + dt.timedelta(days=89)) < review < live.to_us(T0 + dt.timedelta(95))
    # when the process forgets its states and a late event after the review arrives
    live.cache_clear()
    read_from = []
    stored_events = live_apply.stored_events
    monkeypatch.setattr(
        live_apply,
        "stored_events",
        lambda *a, **k: read_from.append(a[2]) or stored_events(*a, **k),
    )
    late = payment("late", "c3.ru", 96.5, product="tariff.company", months=12)
    intake.events_ingest(program=program, objs=[late], received_at=NOW)
    # then the partner is recomputed from that checkpoint, and equals the replay
    assert read_from[-1] == review
    monkeypatch.undo()
    for moment in (T0 + dt.timedelta(96), T0 + dt.timedelta(97), NOW):
        assert_live_equals_replay(program, moment)


def test_refund_after_conversion_like_balance_and_ledger_follow_the_engine(program):
    organisation = OrganisationFactory()
    ReferralPartner.objects.create(
        program=program, organisation=organisation, code="AB12CD", registered_at=T0
    )
    events = [
        partner("p1", "AB12CD"),
        client("c1", "a.ru", "AB12CD", 1),
        activity("a1", "a.ru", 2),
        payment("pay0", "a.ru", 3, product="tariff.company", months=12, amount="100.00"),
        payment("pay1", "a.ru", 4, product="users.12", months=3, amount="1000.00"),
    ]
    intake.events_ingest(program=program, objs=events, received_at=NOW)
    # level 3 after 121 points; the users.12 payment is a later purchase: 20% of 1000 = 200
    standing = selectors.standing_of(program=program, code="AB12CD")
    assert standing.bonus_accrued == Decimal("300.00")
    assert standing.bonus_balance == Decimal("300.00")
    intake.events_ingest(program=program, objs=[refund("r1", "pay1", 5)], received_at=NOW)
    standing = selectors.standing_of(program=program, code="AB12CD")
    assert standing.bonus_accrued == standing.bonus_balance == Decimal("100.00")
    account = LedgerAccount.objects.get(organisation_id=organisation.pk, purpose="bonus_rub")
    assert ledger.balance(account) == Decimal("-100.00")
    assert ledger.check_invariants() == []
    assert live.verify(program=program) == []


def test_reviews_happen_on_time_without_new_events(program):
    # given a partner at level 1 whose points all expire before the review
    events = [partner("p1", "AB12CD")]
    events += [client(f"c{i}", f"c{i}.ru", "AB12CD", 1) for i in range(15)]
    events += [activity(f"a{i}", f"c{i}.ru", 2) for i in range(15)]
    intake.events_ingest(program=program, objs=events, received_at=NOW)
    assert PartnerState.objects.get(partner="AB12CD").level == 1
    # when the minute task runs after the July review (the April review still saw the points
    # granted on 12 January: they expire on 12 April)
    july = dt.datetime(2025, 7, 11, tzinfo=MSK)
    moved = live.partitions_catch_up(program=program, moment=july)
    # then the July review found 0 active points: level 0, and a second run changes nothing
    state = PartnerState.objects.get(partner="AB12CD")
    assert moved == 1
    assert state.level == 0
    assert (
        live.partitions_catch_up(program=program, moment=dt.datetime(2025, 7, 11, tzinfo=MSK)) == 0
    )


def test_a_late_partner_registration_moves_its_clients(program):
    # the client arrives first with a code nobody registered yet (kept under that code)
    intake.events_ingest(program=program, objs=[client("c1", "a.ru", "LATE01", 5)], received_at=NOW)
    # then the partner's registration, dated before the client, arrives
    intake.events_ingest(program=program, objs=[partner("p1", "LATE01", 1)], received_at=NOW)
    standing = selectors.standing_of(program=program, code="LATE01")
    assert standing.clients == 1
    assert_live_equals_replay(program, NOW)


def _stream(draw_ops, seed: int) -> list[dict]:
    rng = random.Random(seed)
    events = [partner("p1", "AAA111", 0), partner("p2", "BBB222", 3)]
    clients: list[str] = []
    payments: list[str] = []
    for n, op in enumerate(draw_ops):
        day = rng.uniform(0, 400)
        if op == 0 or not clients:
            name = f"c{n}.ru"
            clients.append(name)
            events.append(client(f"e{n}", name, rng.choice(["AAA111", "BBB222", None]), day))
        elif op == 1:
            events.append(activity(f"e{n}", rng.choice(clients), day, rng.randint(1, 8)))
        elif op == 2:
            product = rng.choice(["tariff.team", "tariff.company", "users.12", "disk.1tb", "x"])
            events.append(
                payment(
                    f"e{n}",
                    rng.choice(clients),
                    day,
                    product,
                    rng.choice([3, 6, 12]),
                    f"{rng.randint(1, 50000)}.{rng.randint(0, 99):02d}",
                )
            )
            payments.append(f"e{n}")
        elif payments:
            events.append(refund(f"e{n}", rng.choice(payments), day))
    return events


@pytest.mark.django_db(transaction=True)
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    ops=st.lists(st.integers(min_value=0, max_value=3), min_size=5, max_size=120),
    seed=st.integers(min_value=0, max_value=10_000),
    batches=st.integers(min_value=1, max_value=15),
    as_of_days=st.floats(min_value=0, max_value=700),
    forget=st.lists(st.booleans(), min_size=6, max_size=6),
    tick=st.lists(st.booleans(), min_size=5, max_size=5),
)
def test_live_equals_replay_on_random_streams(
    ledger_committed, ops, seed, batches, as_of_days, forget, tick
):
    # checkpoints between reviews too, and engine copies in memory every few events
    saved = live_feed.CHECKPOINT_EVERY, live_feed.MEMORY_MARK_EVERY, live_memory.MEMORY_SNAPSHOTS
    live_feed.CHECKPOINT_EVERY, live_feed.MEMORY_MARK_EVERY, live_memory.MEMORY_SNAPSHOTS = 7, 3, 2
    try:
        _live_equals_replay(ops, seed, batches, as_of_days, forget, tick)
    finally:
        live_feed.CHECKPOINT_EVERY, live_feed.MEMORY_MARK_EVERY, live_memory.MEMORY_SNAPSHOTS = (
            saved
        )


def _live_equals_replay(ops, seed, batches, as_of_days, forget, tick):
    # given random events arriving shuffled in random batches, handled by "processes" that
    # sometimes have the partner's state in memory and sometimes only the saved one; one of
    # the partners has an organisation (so its bonuses go to the ledger)
    StoredEvent.objects.all().delete()
    program = ProgramFactory()
    organisation = Organisation.objects.filter(kind="partner").first() or OrganisationFactory()
    ReferralPartner.objects.filter(code="AAA111").delete()  # the database outlives an example
    ReferralPartner.objects.create(
        program=program, organisation=organisation, code="AAA111", registered_at=T0
    )
    events = _stream(ops, seed)
    random.Random(seed).shuffle(events)
    size = max(1, len(events) // batches)
    for number, start in enumerate(range(0, len(events), size)):
        if forget[number % len(forget)]:
            live.cache_clear()
        if tick[number % len(tick)]:  # the minute task moves every state on to "now"
            live.partitions_catch_up(program=program, moment=NOW)
        intake.events_ingest(program=program, objs=events[start : start + size], received_at=NOW)
    # then at any as-of time the live standing equals the replay of the stored events
    as_of = T0 + dt.timedelta(days=as_of_days)
    replay = run(stored(program), as_of=as_of)
    for code, expected in replay.partners.items():
        got = live.standing_at(program=program, code=code, as_of=as_of)
        assert got is not None and got.standing == expected.standing
        same_history(got, expected)
    assert live.verify(program=program, as_of=NOW) == []


def partner_with_a_stale_saved_state(program) -> None:
    """AB12CD's saved state written with its first batch (days 0-1), and a later batch (days
    100 and 120) that crossed the 10 April review without being saved (no level change, no
    late event)."""
    intake.events_ingest(
        program=program,
        objs=[partner("p1", "AB12CD"), client("c1", "a.ru", "AB12CD", 1)],
        received_at=NOW,
    )
    intake.events_ingest(
        program=program,
        objs=[client("c2", "b.ru", "AB12CD", 100), client("c3", "c.ru", "AB12CD", 120)],
        received_at=NOW,
    )


def test_a_late_event_after_a_stale_saved_state_is_applied_once(program):
    # given a saved state older than the partner's last event
    partner_with_a_stale_saved_state(program)
    # when a late event dated between those two arrives in a process without the state in
    # memory (tests never commit, so nothing is cached)
    intake.events_ingest(
        program=program, objs=[client("c4", "d.ru", "AB12CD", 110)], received_at=NOW
    )
    # then it is applied once and live equals replay
    assert selectors.standing_of(program=program, code="AB12CD").clients == 4
    assert_live_equals_replay(program, NOW)


def test_events_dated_before_the_time_the_state_was_moved_on_to_are_applied(program):
    # given a partner whose state the minute task moved on past two reviews
    events = [partner("p1", "AB12CD"), client("c1", "a.ru", "AB12CD", 1)]
    intake.events_ingest(program=program, objs=events, received_at=NOW)
    live.partitions_catch_up(program=program, moment=T0 + dt.timedelta(days=200))
    # when events dated after the last one but before that time arrive
    later = [activity("a1", "a.ru", 2), client("c2", "b.ru", "AB12CD", 150)]
    intake.events_ingest(program=program, objs=later, received_at=NOW)
    # then they count as if they had arrived in order
    standing = selectors.standing_of(program=program, code="AB12CD", as_of=NOW)
    assert (standing.clients, standing.active_clients) == (2, 1)
    assert_live_equals_replay(program, NOW)


def test_a_crash_in_the_middle_of_a_batch_stores_nothing_and_a_retry_is_safe(program, monkeypatch):
    # given the live update fails after the batch's events were written
    events = [partner("p1", "AB12CD"), client("c1", "a.ru", "AB12CD", 1)]

    def crash(**kwargs):
        raise RuntimeError("worker killed")

    monkeypatch.setattr(live_pending, "partitions_apply", crash)
    with pytest.raises(RuntimeError):
        intake.events_ingest(program=program, objs=events, received_at=NOW)
    # then nothing of the batch is stored
    assert StoredEvent.objects.count() == 0
    assert ReferralClient.objects.count() == 0
    # and sending the same batch again stores it once
    monkeypatch.undo()
    result = intake.events_ingest(program=program, objs=events, received_at=NOW)
    assert (result.accepted, result.duplicates) == (2, 0)
    assert selectors.standing_of(program=program, code="AB12CD").clients == 1


def test_the_minute_task_leaves_partners_receiving_events_alone(program):
    # given a partner whose review is due but whose state changed a moment ago
    intake.events_ingest(program=program, objs=[partner("p1", "AB12CD")], received_at=NOW)
    july = dt.datetime(2025, 7, 11, tzinfo=MSK)
    # then the quiet minute task skips it, and brings it forward once it has been quiet
    assert live.partitions_catch_up(program=program, moment=july, quiet=True) == 0
    PartnerState.objects.update(updated_at=dt.datetime(2020, 1, 1, tzinfo=MSK))
    assert live.partitions_catch_up(program=program, moment=july, quiet=True) == 1


def test_a_state_rebuilt_after_a_late_event_keeps_its_ledger_and_notices(program):
    # given a portal partner with bonuses, and a late event that recomputes it (the saved blob
    # is not rewritten for late events: another process rebuilds from a checkpoint)
    organisation = OrganisationFactory()
    ReferralPartner.objects.create(
        program=program, organisation=organisation, code="AB12CD", registered_at=T0
    )
    events = [partner("p1", "AB12CD")]
    events += [client(f"c{i}", f"c{i}.ru", "AB12CD", 1) for i in range(5)]
    events += [activity(f"a{i}", f"c{i}.ru", 3) for i in range(4)]
    events += [payment("pay1", "c0.ru", 5, product="tariff.team", amount="1000.00")]
    intake.events_ingest(program=program, objs=events, received_at=NOW)
    late = [activity("a4", "c4.ru", 2), payment("pay2", "c1.ru", 6, amount="500.00")]
    intake.events_ingest(program=program, objs=late, received_at=NOW)
    # when a later batch arrives (the state is rebuilt: tests never commit, nothing is cached)
    intake.events_ingest(
        program=program, objs=[payment("pay3", "c2.ru", 7, amount="2000.00")], received_at=NOW
    )
    # then the ledger holds each bonus once and equals what the engine accrued
    standing = selectors.standing_of(program=program, code="AB12CD")
    account = LedgerAccount.objects.get(organisation_id=organisation.pk, purpose="bonus_rub")
    assert -ledger.balance(account) == standing.bonus_accrued == standing.bonus_balance
    assert ledger.check_invariants() == []
    assert_live_equals_replay(program, NOW)


def _generation(program) -> int:
    return PartnerState.objects.get(program=program, partner="AB12CD").generation


def test_a_late_activity_of_a_client_active_before_it_changes_nothing_and_is_not_recomputed(
    program,
):
    # given a client activated on day 2 and later events up to day 50
    events = [
        partner("p1", "AB12CD"),
        client("c1", "acme.ru", "AB12CD", 1),
        activity("a1", "acme.ru", 2),
        client("c2", "beta.ru", "AB12CD", 30),
        activity("a2", "beta.ru", 50),
    ]
    intake.events_ingest(program=program, objs=events, received_at=NOW)
    generation = _generation(program)
    # when a report of acme's activity on day 10 arrives late (acme is active since day 2)
    result = intake.events_ingest(
        program=program, objs=[activity("late", "acme.ru", 10, users=40)], received_at=NOW
    )
    # then it is stored, nothing is recomputed, and live still equals the replay
    assert (result.accepted, result.rejected) == (1, [])
    assert StoredEvent.objects.filter(program=program, event_id="late").exists()
    assert _generation(program) == generation
    for moment in (T0 + dt.timedelta(11), NOW):
        assert_live_equals_replay(program, moment)


def test_a_late_activity_before_the_activation_moves_the_activation_back(program):
    # given a client first reported active (4 users) on day 20, and a later client on day 50
    events = [
        partner("p1", "AB12CD"),
        client("c1", "acme.ru", "AB12CD", 1),
        activity("a1", "acme.ru", 20),
        client("c2", "beta.ru", "AB12CD", 50),
    ]
    intake.events_ingest(program=program, objs=events, received_at=NOW)
    generation = _generation(program)
    # when an activity report of day 5 arrives late
    intake.events_ingest(program=program, objs=[activity("late", "acme.ru", 5)], received_at=NOW)
    # then the partner is recomputed: the client is active from day 5, as in the replay
    assert _generation(program) == generation + 1
    row = ReferralClient.objects.get(program=program, client="acme.ru")
    assert row.active_at == T0 + dt.timedelta(5)
    for moment in (T0 + dt.timedelta(6), NOW):
        assert_live_equals_replay(program, moment)


@pytest.mark.parametrize("snapshots, marks", [(1, 2), (2, 3), (3, 8), (8, 3)])
def test_every_mark_kept_in_memory_restores_the_engine_it_marked(monkeypatch, snapshots, marks):
    # given a partner's engine fed 40 events one by one, with a mark before every third event
    # (every fifth one also encoded, as a checkpoint is), and fewer copies and marks kept
    from partnerhub.referrals.engine import Engine, in_order, parse_event
    from partnerhub.referrals.engine.state import engine_to_data

    monkeypatch.setattr(live_memory, "MEMORY_SNAPSHOTS", snapshots)
    monkeypatch.setattr(live_memory, "MEMORY_MARKS", marks)
    raw = [partner("p1", "AB12CD")] + [
        client(f"c{i}", f"c{i}.ru", "AB12CD", 1 + i)
        if i % 2 == 0
        else activity(f"a{i}", f"c{i - 1}.ru", 1.5 + i)
        for i in range(39)
    ]
    events = in_order([parse_event(e, n) for n, e in enumerate(raw)])
    engine, memory = Engine(), live_memory.Memory()
    for n, event in enumerate(events):
        if n and n % 3 == 0:
            blob = live_memory.engine_blob(engine) if n % 5 == 0 else None
            memory.mark(event.us, blob, engine)
        engine.apply([event])
        memory.events.append(event)
        # then at every step each mark kept restores the engine as it was there: with the
        # events kept after it, it makes the engine of now
        assert len(memory.marks) <= marks
        assert sum(m.snapshot is not None for m in memory.marks) <= snapshots
        for mark in memory.marks:
            restored = mark.engine(engine.configs)
            restored.apply(memory.events[mark.index :])
            assert engine_to_data(restored, history=False) == engine_to_data(engine, history=False)
