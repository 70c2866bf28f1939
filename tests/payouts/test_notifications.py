"""Notifications of payouts: the partner's owner and accountant hear about each step (in the
cabinet and by email); the vendor's accountants get one digest a business day of what is due
today and overdue, and none when nothing is."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from partnerhub.core.clock import PROGRAM_TZ
from partnerhub.notifications.models import Notification
from partnerhub.payouts import services
from partnerhub.payouts.models import DigestSent
from partnerhub.payouts.tasks import payouts_digest
from tests.payouts.factories import convert, partner_ready
from tests.smtp import bodies

pytestmark = pytest.mark.django_db

OWNER = "owner@a.example"
ACCOUNTANT = "accountant@a.example"
VENDOR_ACCOUNTANT = "accountant@vendor.example"


def moscow(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=PROGRAM_TZ)


def test_a_conversion_is_told_to_the_owner_and_the_accountant(
    world, smtp, django_capture_on_commit_callbacks
):
    setup = partner_ready(world)

    with django_capture_on_commit_callbacks(execute=True):
        payout = convert(setup, "6000.00")

    recipients = sorted(r for rcpt in smtp.recipients for r in rcpt)
    assert recipients == [ACCOUNTANT, OWNER]
    (message,) = smtp.to(OWNER)
    text, _html = bodies(message)
    assert "6 000,00" in message["Subject"]
    assert f"№ {payout.pk}" in text
    assert Notification.objects.filter(user=world.user("a:owner")).count() == 1
    assert not Notification.objects.filter(user=world.user("a:manager")).exists()


def test_a_rejection_tells_the_reason(world, smtp, django_capture_on_commit_callbacks):
    setup = partner_ready(world)
    payout = services.payout_mark_sent(payout=convert(setup))

    with django_capture_on_commit_callbacks(execute=True):
        services.payout_reject(payout=payout, reason="Нет подписи директора")

    texts = [bodies(m)[0] for m in smtp.to(OWNER)]
    assert any("Нет подписи директора" in t and "возвращены" in t for t in texts)


def sent_payouts(world):
    setup = partner_ready(world, balance=Decimal("20000.00"))
    due_today = services.payout_mark_sent(payout=convert(setup), now=moscow(2026, 5, 8, 10))
    overdue = services.payout_mark_sent(payout=convert(setup), now=moscow(2026, 5, 7, 10))
    return due_today, overdue


def test_the_digest_lists_due_today_and_overdue_to_vendor_accountants(
    world, smtp, django_capture_on_commit_callbacks
):
    due_today, overdue = sent_payouts(world)

    with (
        time_machine.travel(moscow(2026, 5, 12, 9), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        sent = payouts_digest.call_local()

    assert sent == 1
    (message,) = smtp.to(VENDOR_ACCOUNTANT)
    text, _html = bodies(message)
    assert "12.05.2026" in message["Subject"]
    assert "Просрочено" in text and f"№ {overdue.pk}" in text
    assert "Срок сегодня" in text and f"№ {due_today.pk}" in text
    assert sorted(r for rcpt in smtp.recipients for r in rcpt) == [VENDOR_ACCOUNTANT]


def test_the_digest_runs_twice_a_day_but_sends_once(world, django_capture_on_commit_callbacks):
    sent_payouts(world)

    with time_machine.travel(moscow(2026, 5, 12, 9), tick=False):
        first = services.digest_send(vendor=world.vendor, on=dt.date(2026, 5, 12))
        second = services.digest_send(vendor=world.vendor, on=dt.date(2026, 5, 12))

    assert (first, second) == (True, False)
    assert DigestSent.objects.count() == 1


def test_no_digest_when_nothing_is_due(world, smtp):
    partner_ready(world)

    sent = services.digest_send(vendor=world.vendor, on=dt.date(2026, 5, 12))

    assert sent is False
    assert not DigestSent.objects.exists()


def test_no_digest_on_a_day_off(world):
    sent_payouts(world)

    # Monday 11 May 2026 is a day off (the holiday of Saturday 9 May moved).
    assert services.digest_send(vendor=world.vendor, on=dt.date(2026, 5, 11)) is False
