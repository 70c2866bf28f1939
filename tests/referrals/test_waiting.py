"""Late events that change attribution, and events that wait for what they name (issue 15,
items 1 and 2; spec referrals.md: "Live, an event that names a client or payment not seen yet
is not 'never registered': it waits ... and then counts from its own time")."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import transaction

from partnerhub.core.clock import now
from partnerhub.referrals.models import EventPartition, ReferralClient, WaitingEvent
from partnerhub.referrals.selectors import standing as selectors
from partnerhub.referrals.services import intake, live
from partnerhub.referrals.services.live import pending as live_pending
from tests.factories import ProgramFactory
from tests.referrals.test_live import (
    NOW,
    activity,
    assert_live_equals_replay,
    client,
    partner,
    payment,
    refund,
)

MSK = dt.timezone(dt.timedelta(hours=3))


@pytest.fixture
def program(db):
    return ProgramFactory(code="referrals")


def on(month: int, day: int) -> str:
    return dt.datetime(2025, month, day, 10, 0, tzinfo=MSK).isoformat()


def dated(event: dict, month: int, day: int) -> dict:
    return {**event, "at": on(month, day)}


def promo(eid: str, code: str, text: str, month: int, day: int) -> dict:
    return {
        "id": eid,
        "type": "promo_code.created",
        "at": on(month, day),
        "partner": code,
        "code": text,
        "valid_from": on(1, 1),
        "valid_until": on(12, 31),
        "client_bonus": "month",
    }


def post(program, *events: dict) -> intake.IngestResult:
    return intake.events_ingest(program=program, objs=list(events), received_at=NOW)


def x_with_p2(program) -> None:
    """P1 and P2 register; X registers on 02-10 with P2's code, is active and pays 12 months
    of tariff.company."""
    post(
        program,
        dated(partner("p1", "PONE11"), 1, 5),
        dated(partner("p2", "PTWO22"), 1, 6),
        dated(client("x1", "x.ru", "PTWO22", 0), 2, 10),
        dated(activity("xa", "x.ru", 0), 2, 12),
        dated(payment("xp", "x.ru", 0, "tariff.company", 12, "10000.00"), 2, 20),
    )


def test_a_late_earlier_registration_moves_the_client_to_its_partner(program):
    # given X attributed to P2 (121 points and 100 of bonuses there)
    x_with_p2(program)
    assert selectors.standing_of(program=program, code="PTWO22").points_total == 121
    # when a registration of X dated 02-01 with P1's code arrives late
    result = post(program, dated(client("x0", "x.ru", "PONE11", 0), 2, 1))
    # then X, its 121 points and 100 of bonuses belong to P1, and P2 has nothing
    assert result.accepted == 1
    one = selectors.standing_of(program=program, code="PONE11")
    two = selectors.standing_of(program=program, code="PTWO22")
    assert (one.points_total, one.bonus_accrued, one.clients) == (121, Decimal("100.00"), 1)
    assert (two.points_total, two.bonus_accrued, two.clients) == (0, Decimal("0.00"), 0)
    row = ReferralClient.objects.get(program=program, client="x.ru")
    assert (row.partner, row.partition) == ("PONE11", "PONE11")
    assert row.registered_at == dt.datetime(2025, 2, 1, 10, 0, tzinfo=MSK)
    assert set(EventPartition.objects.filter(client="x.ru").values_list("partner", flat=True)) == {
        "PONE11"
    }
    assert_live_equals_replay(program, NOW)
    out = io.StringIO()
    call_command("referrals", "verify", stdout=out)  # exits 1 on any difference
    assert "equals the replay" in out.getvalue()


def test_a_late_later_registration_leaves_the_client_where_it_is(program):
    # given X attributed to P2 from 02-10
    x_with_p2(program)
    # when a second registration of X, dated later, names P1
    post(program, dated(client("x9", "x.ru", "PONE11", 0), 3, 1))
    # then X stays with P2 (the first registration decides for good)
    assert selectors.standing_of(program=program, code="PTWO22").points_total == 121
    assert selectors.standing_of(program=program, code="PONE11").clients == 0
    assert_live_equals_replay(program, NOW)


def test_a_late_earlier_promo_code_of_another_partner_takes_its_clients(program):
    # given P2's promo code SPRING, created on 02-05, and X registered with it on 02-10
    post(
        program,
        dated(partner("p1", "PONE11"), 1, 5),
        dated(partner("p2", "PTWO22"), 1, 6),
        promo("c2", "PTWO22", "SPRING", 2, 5),
        {**dated(client("x1", "x.ru", None, 0), 2, 10), "promo_code": "spring"},
        dated(activity("xa", "x.ru", 0), 2, 12),
    )
    assert selectors.standing_of(program=program, code="PTWO22").clients == 1
    # when P1's creation of the same code, dated 02-01, arrives late
    post(
        program,
        promo("c1", "PONE11", "Spring", 2, 1),
    )
    # then the code and X are P1's
    assert selectors.standing_of(program=program, code="PONE11").clients == 1
    assert selectors.standing_of(program=program, code="PTWO22").clients == 0
    assert_live_equals_replay(program, NOW)


def test_events_of_a_client_not_registered_yet_wait_and_count_when_it_arrives(program):
    # given P1 registered
    post(program, dated(partner("p1", "PONE11"), 1, 5))
    # when X's activity, payment and a refund of another payment arrive before X's registration
    result = post(
        program,
        dated(activity("xa", "x.ru", 0), 2, 12),
        dated(payment("xp", "x.ru", 0, "tariff.company", 12, "10000.00"), 2, 20),
        dated(payment("xq", "x.ru", 0, "users.12", 3, "900.00"), 2, 21),
        dated(refund("xr", "xq", 0), 2, 25),
    )
    # then they are accepted and wait; nothing counts yet
    assert result.as_dict() == {"accepted": 4, "waiting": 4, "duplicates": 0, "rejected": []}
    assert WaitingEvent.objects.filter(program=program).count() == 4
    assert selectors.standing_of(program=program, code="PONE11").points_total == 0
    assert_live_equals_replay(program, NOW)
    # when X's registration (02-10, P1's code) arrives
    result = post(program, dated(client("x1", "x.ru", "PONE11", 0), 2, 10))
    # then they join P1 from their own times: 1 + 120 points (the refunded users.12 taken back)
    assert (result.accepted, result.waiting) == (1, 0)
    assert not WaitingEvent.objects.filter(program=program).exists()
    standing = selectors.standing_of(program=program, code="PONE11")
    assert (standing.points_total, standing.bonus_accrued, standing.active_clients) == (
        121,
        Decimal("100.00"),
        1,
    )
    assert_live_equals_replay(program, NOW)


def test_a_refund_waits_for_its_payment(program):
    # given P1's active client X at level 0
    post(
        program,
        dated(partner("p1", "PONE11"), 1, 5),
        dated(client("x1", "x.ru", "PONE11", 0), 2, 10),
    )
    # when the refund of a payment arrives before the payment
    assert post(program, dated(refund("xr", "xp", 0), 3, 1)).waiting == 1
    post(program, dated(payment("xp", "x.ru", 0, "tariff.company", 12, "10000.00"), 2, 20))
    # then the payment's 120 points are taken back
    assert selectors.standing_of(program=program, code="PONE11").points_total == 0
    assert not WaitingEvent.objects.exists()
    assert_live_equals_replay(program, NOW)


def test_an_event_whose_client_never_registers_keeps_waiting_and_changes_nothing(program):
    post(program, dated(partner("p1", "PONE11"), 1, 5))
    post(program, dated(payment("xp", "ghost.ru", 0, "tariff.team", 3, "10.00"), 2, 20))
    assert WaitingEvent.objects.get(program=program).key == "ghost.ru"
    assert live.verify(program=program, as_of=NOW) == []


def test_an_activity_before_the_registration_in_the_same_batch_joins_the_client(program):
    # activity dated before the registration: the engine passes over it, live as in replay
    result = post(
        program,
        dated(partner("p1", "PONE11"), 1, 5),
        dated(activity("xa", "x.ru", 0), 2, 9),
        dated(client("x1", "x.ru", "PONE11", 0), 2, 10),
        dated(activity("xb", "x.ru", 0), 2, 12),
    )
    assert (result.accepted, result.waiting) == (4, 0)
    assert selectors.standing_of(program=program, code="PONE11").active_clients == 1
    assert_live_equals_replay(program, NOW)


def test_the_worker_releases_what_a_parallel_batch_could_not_see(program, monkeypatch):
    # given X's payment waiting, and X's registration stored by a batch that ran in parallel
    # (its transaction did not see the waiting payment: nothing released)
    post(program, dated(partner("p1", "PONE11"), 1, 5))
    post(program, dated(payment("xp", "x.ru", 0, "tariff.company", 12, "10000.00"), 2, 20))
    WaitingEvent.objects.filter(program=program).update(received_at=now())  # a moment ago
    with monkeypatch.context() as patch:
        patch.setattr(live, "waiting_release", lambda **kwargs: live.Released())
        post(program, dated(client("x1", "x.ru", "PONE11", 0), 2, 10))
    assert WaitingEvent.objects.filter(program=program).count() == 1
    # when the worker runs
    with transaction.atomic():
        live.pending_apply(program=program)
    # then the payment has joined P1 (120 points)
    assert not WaitingEvent.objects.filter(program=program).exists()
    assert selectors.standing_of(program=program, code="PONE11").points_total == 120
    assert_live_equals_replay(program, NOW)


def test_the_worker_looks_at_recent_waiting_events_and_the_minute_task_at_all(program, monkeypatch):
    # given X's payment received long ago and still waiting, and X's registration stored by a
    # batch that ran in parallel (its transaction did not see the waiting payment)
    post(program, dated(partner("p1", "PONE11"), 1, 5))
    post(program, dated(payment("xp", "x.ru", 0, "tariff.company", 12, "10000.00"), 2, 20))
    WaitingEvent.objects.filter(program=program).update(
        received_at=now() - live_pending.WAITING_SWEEP_RECENT - dt.timedelta(minutes=1)
    )
    with monkeypatch.context() as patch:
        patch.setattr(live, "waiting_release", lambda **kwargs: live.Released())
        post(program, dated(client("x1", "x.ru", "PONE11", 0), 2, 10))
    # when the worker runs, it leaves the old waiting payment (it looks at recent ones only)
    with transaction.atomic():
        live.pending_apply(program=program)
    assert WaitingEvent.objects.filter(program=program).count() == 1
    # then the minute task releases it: the payment joins P1 (120 points)
    live.partitions_catch_up(program=program)
    assert not WaitingEvent.objects.filter(program=program).exists()
    assert selectors.standing_of(program=program, code="PONE11").points_total == 120
    assert_live_equals_replay(program, NOW)


def test_a_client_registered_by_two_parallel_batches_goes_to_its_first_registration(
    program, monkeypatch
):
    # given P1 and P2, and X registered on 02-10 with P2's code by one batch
    post(program, dated(partner("p1", "PONE11"), 1, 5), dated(partner("p2", "PTWO22"), 1, 6))
    post(program, dated(client("x2", "x.ru", "PTWO22", 0), 2, 10))
    # when a batch running in parallel (its transaction began before that one committed, so
    # it does not see X) registers X on 02-01 with P1's code, and X pays
    resolver = intake._Resolver
    hidden = []

    def blind(program, events):
        found = resolver(program, events)
        if not hidden:  # the first attempt only: a retry begins after the other committed
            hidden.append(found.client_partition.pop("x.ru", None))
            found.client_first.pop("x.ru", None)
        return found

    monkeypatch.setattr(intake, "_Resolver", blind)
    result = post(
        program,
        dated(client("x1", "x.ru", "PONE11", 0), 2, 1),
        dated(payment("xp", "x.ru", 0, "tariff.company", 12, "10000.00"), 2, 20),
    )
    # then the batch was retried and X, with its payment, belongs to P1 as in the replay
    assert hidden == ["PTWO22"]
    assert (result.accepted, result.rejected) == (2, [])
    assert ReferralClient.objects.get(program=program, client="x.ru").partition == "PONE11"
    assert set(
        EventPartition.objects.filter(program=program, client="x.ru").values_list(
            "partner", flat=True
        )
    ) == {"PONE11"}
    assert selectors.standing_of(program=program, code="PONE11").clients == 1
    assert selectors.standing_of(program=program, code="PTWO22").clients == 0
    assert_live_equals_replay(program, NOW)
