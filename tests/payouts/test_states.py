"""Payout states and deadlines (seed "ПОРЯДОК ВЫПЛАТ"): generated → sent (by the contract's
channel; a VAT payer only by EDO) → accepted / rejected (the bonuses return) → paid; accept
within 1 business day of "sent", pay within 10 business days of acceptance, by the seeded
production calendar."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from partnerhub.core import ledger
from partnerhub.core.clock import PROGRAM_TZ
from partnerhub.core.errors import Conflict, ValidationFailed
from partnerhub.core.models.audit import AuditEvent
from partnerhub.core.models.outbox import OutboxEvent
from partnerhub.payouts import selectors, services
from partnerhub.payouts.errors import PayoutRefused
from partnerhub.payouts.models import PayoutState
from tests.payouts.factories import convert, partner_ready

pytestmark = pytest.mark.django_db


def moscow(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=PROGRAM_TZ)


def test_sent_on_friday_before_the_may_holidays_is_due_on_tuesday(world):
    # 9 May 2026 is a Saturday holiday, moved to Monday 11 May: the next business day after
    # Friday 8 May is Tuesday 12 May.
    setup = partner_ready(world)
    payout = convert(setup)

    payout = services.payout_mark_sent(payout=payout, now=moscow(2026, 5, 8, 10))

    assert payout.state == PayoutState.SENT
    assert payout.channel == "edo"
    assert payout.accept_due_on == dt.date(2026, 5, 12)
    assert payout.due_on == dt.date(2026, 5, 12)


def test_accepted_on_friday_5_june_is_due_ten_business_days_later_on_22_june(world):
    # 8-11 June (4), 12 June is Russia Day, 15-19 June (9), 22 June (10).
    setup = partner_ready(world)
    payout = services.payout_mark_sent(payout=convert(setup), now=moscow(2026, 6, 4, 12))

    payout = services.payout_accept(payout=payout, now=moscow(2026, 6, 5, 12))

    assert payout.state == PayoutState.ACCEPTED
    assert payout.pay_due_on == dt.date(2026, 6, 22)
    assert payout.due_on == dt.date(2026, 6, 22)


def test_a_late_evening_in_moscow_counts_as_that_moscow_day(world):
    # 23:30 on Friday 8 May in Moscow is 20:30 UTC: still Friday.
    setup = partner_ready(world)

    payout = services.payout_mark_sent(
        payout=convert(setup), now=dt.datetime(2026, 5, 8, 20, 30, tzinfo=dt.UTC)
    )

    assert payout.accept_due_on == dt.date(2026, 5, 12)


def test_paper_channel_of_the_contract_is_recorded(world):
    setup = partner_ready(world, channel="paper")

    payout = services.payout_mark_sent(payout=convert(setup))

    assert payout.channel == "paper"


def test_a_vat_payer_with_a_paper_contract_cannot_mark_documents_sent(world):
    setup = partner_ready(world, channel="paper", vat_payer=True)
    payout = convert(setup)

    with pytest.raises(PayoutRefused) as refused:
        services.payout_mark_sent(payout=payout)

    assert refused.value.code == "vat_payer_edo_only"
    payout.refresh_from_db()
    assert payout.state == PayoutState.GENERATED


def test_sending_twice_is_refused(world):
    payout = services.payout_mark_sent(payout=convert(partner_ready(world)))

    with pytest.raises(Conflict):
        services.payout_mark_sent(payout=payout)


def test_rejection_returns_the_bonuses_by_a_reversing_transaction(world):
    setup = partner_ready(world, balance=Decimal("12000.00"))
    payout = services.payout_mark_sent(payout=convert(setup, "6000.00"))

    payout = services.payout_reject(payout=payout, reason="Неверные реквизиты в акте")

    assert payout.state == PayoutState.REJECTED
    assert payout.reject_reason == "Неверные реквизиты в акте"
    assert payout.due_on is None
    assert selectors.bonus_balance(organisation=setup.organisation) == Decimal("12000.00")
    assert ledger.balance(services.payable_account(setup.organisation.pk)) == Decimal("0.00")
    assert payout.conversion.reversed_by is not None
    assert ledger.check_invariants() == []


def test_rejection_without_a_reason_is_refused_and_changes_nothing(world):
    setup = partner_ready(world, balance=Decimal("12000.00"))
    payout = services.payout_mark_sent(payout=convert(setup, "6000.00"))

    with pytest.raises(ValidationFailed) as refused:
        services.payout_reject(payout=payout, reason="   ")

    assert "reason" in refused.value.fields
    payout.refresh_from_db()
    assert payout.state == PayoutState.SENT
    assert selectors.bonus_balance(organisation=setup.organisation) == Decimal("6000.00")


def test_each_step_is_audited_and_emitted(world):
    payout = convert(partner_ready(world))
    payout = services.payout_mark_sent(payout=payout, by=world.user("a:owner"))
    services.payout_accept(payout=payout, by=world.user("vendor:accountant"))

    events = set(OutboxEvent.objects.values_list("event_type", flat=True))
    assert {"payouts.payout.generated", "payouts.payout.sent", "payouts.payout.accepted"} <= events
    assert AuditEvent.objects.filter(
        action="payouts.payout.accepted", actor_user_id=world.user("vendor:accountant").pk
    ).exists()


def test_accepting_a_generated_payout_is_refused(world):
    payout = convert(partner_ready(world))

    with pytest.raises(Conflict):
        services.payout_accept(payout=payout)


def test_accepting_a_rejected_payout_is_refused(world):
    payout = services.payout_mark_sent(payout=convert(partner_ready(world)))
    payout = services.payout_reject(payout=payout, reason="Нет подписи")

    with pytest.raises(PayoutRefused):
        services.payout_accept(payout=payout)


def test_a_due_today_and_an_overdue_payout_are_listed_apart(world):
    setup = partner_ready(world, balance=Decimal("20000.00"))
    due_today = services.payout_mark_sent(payout=convert(setup), now=moscow(2026, 5, 8, 10))
    overdue = services.payout_mark_sent(payout=convert(setup), now=moscow(2026, 5, 7, 10))

    listed_today = selectors.payouts_for_staff(
        vendor=world.vendor, due="due_today", on=dt.date(2026, 5, 12)
    )
    listed_overdue = selectors.payouts_for_staff(
        vendor=world.vendor, due="overdue", on=dt.date(2026, 5, 12)
    )

    assert overdue.accept_due_on == dt.date(2026, 5, 8)
    assert [p.pk for p in listed_today] == [due_today.pk]
    assert [p.pk for p in listed_overdue] == [overdue.pk]


def test_a_decided_payout_is_no_longer_overdue_for_acceptance(world):
    setup = partner_ready(world)
    payout = services.payout_mark_sent(payout=convert(setup), now=moscow(2026, 5, 7, 10))
    services.payout_reject(payout=payout, reason="Нет подписи")

    with time_machine.travel(moscow(2026, 5, 20, 9), tick=False):
        counts = selectors.due_counts(vendor=world.vendor)

    assert counts == {"due_today": 0, "overdue": 0}
