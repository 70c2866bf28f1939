"""Referral program events reach the partner: the owner and the managers get an in-app
notification and an email (at a real SMTP server) with the numbers of the event: levels, points,
amounts in roubles, the rate, moments in Moscow time; nobody else hears about them."""

from __future__ import annotations

import pytest
from django.urls import reverse

from partnerhub.core.outbox import emit
from partnerhub.notifications.models import Notification
from partnerhub.notifications.rules import rule_for
from partnerhub.referrals.notification_rules import REFERRAL_LINK
from tests.smtp import bodies

OWNER = "owner@a.example"
MANAGER = "manager@a.example"
CODE = "AB12CD"

REFERRAL_EVENTS = (
    "referrals.level.up",
    "referrals.level.down",
    "referrals.points.expiring",
    "referrals.bonus.activation",
    "referrals.reward.accrued",
)


def emit_for(world, event_type: str, payload: dict, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return emit(
            event_type,
            {"partner_id": 1, "code": CODE, **payload},
            organisation_id=world.partner_a.pk,
        )


def only_text(smtp, address: str) -> tuple[str, str, str]:
    (message,) = smtp.to(address)
    text, html = bodies(message)
    return message["Subject"].strip(), text, html


@pytest.mark.parametrize("event_type", REFERRAL_EVENTS)
def test_every_referral_event_has_an_optional_email_rule_for_the_owner_and_the_managers(
    event_type,
):
    rule = rule_for(event_type)

    assert rule is not None
    assert rule.in_app
    assert rule.email == event_type.replace(".", "_")
    assert rule.optional
    assert rule.link == REFERRAL_LINK
    assert str(rule.group) == "Реферальная программа"


def test_a_level_up_notifies_the_owner_and_the_managers_in_the_cabinet_and_by_email(
    world, smtp, settings, django_capture_on_commit_callbacks
):
    event = emit_for(
        world,
        "referrals.level.up",
        {"old": 1, "new": 2, "at": "2026-05-20T10:15:00+00:00"},
        django_capture_on_commit_callbacks,
    )

    notifications = Notification.objects.filter(event_id=event.pk)
    assert sorted(n.user.email for n in notifications) == [MANAGER, OWNER]
    notification = notifications.get(user__email=OWNER)
    assert notification.title == "Уровень повышен: 1 → 2"
    assert notification.body == (
        f"Партнёр {CODE}: уровень в реферальной программе повышен с 1 до 2."
    )
    assert notification.url == reverse(REFERRAL_LINK)
    assert sorted(r for rcpt in smtp.recipients for r in rcpt) == [MANAGER, OWNER]
    subject, text, html = only_text(smtp, OWNER)
    assert subject == "Уровень в реферальной программе повышен до 2"
    assert "Новый уровень: 2" in text
    assert "Был уровень: 1" in text
    assert "Когда: 20.05.2026 13:15" in text  # Moscow time
    assert f"{settings.SITE_URL}{reverse(REFERRAL_LINK)}" in text
    assert f"{settings.SITE_URL}/cabinet/notifications/settings/" in text
    assert "ООО «Альфа»" in text
    assert '<html lang="ru">' in html
    assert "2</td>" in html


def test_a_level_down_at_a_review_tells_the_review_time(
    world, smtp, django_capture_on_commit_callbacks
):
    event = emit_for(
        world,
        "referrals.level.down",
        {"old": 2, "new": 1, "at": "2026-07-10T06:00:00+00:00"},
        django_capture_on_commit_callbacks,
    )

    notification = Notification.objects.get(event_id=event.pk, user__email=OWNER)
    assert notification.title == "Уровень понижен: 2 → 1"
    assert notification.body == (
        "Пересмотр 10.07.2026 09:00: активных баллов меньше порога уровня 2, уровень понижен до 1."
    )
    subject, text, _html = only_text(smtp, OWNER)
    assert subject == "Уровень в реферальной программе понижен до 1"
    assert "Пересмотр: 10.07.2026 09:00" in text


def test_points_expiring_tell_how_many_and_when(world, smtp, django_capture_on_commit_callbacks):
    event = emit_for(
        world,
        "referrals.points.expiring",
        {"points": 60, "expires_at": "2026-06-01T09:00:00+03:00"},
        django_capture_on_commit_callbacks,
    )

    notification = Notification.objects.get(event_id=event.pk, user__email=MANAGER)
    assert notification.title == "Скоро сгорят баллы: 60"
    assert notification.body == "Баллы (60) перестанут быть активными 01.06.2026 09:00."
    subject, text, html = only_text(smtp, MANAGER)
    assert subject == "Баллы реферальной программы сгорят 01.06.2026 09:00"
    assert "Баллов сгорит: 60" in text
    assert "01.06.2026 09:00" in html


def test_an_activation_bonus_is_told_in_roubles(world, smtp, django_capture_on_commit_callbacks):
    event = emit_for(
        world,
        "referrals.bonus.activation",
        {"client": "acme.bitrix24.ru", "amount": "100.00"},
        django_capture_on_commit_callbacks,
    )

    notification = Notification.objects.get(event_id=event.pk, user__email=OWNER)
    assert notification.title == "Бонус за активного клиента: 100,00\u00a0₽"
    assert (
        notification.body == "Клиент acme.bitrix24.ru стал активным: начислен бонус 100,00\u00a0₽."
    )
    subject, text, _html = only_text(smtp, OWNER)
    assert subject == "Бонус за активного клиента: 100,00 ₽"  # one line: spaces collapse
    assert "Клиент: acme.bitrix24.ru" in text
    assert "Бонус: 100,00\u00a0₽" in text


def test_a_reward_tells_the_amount_and_the_rate(world, smtp, django_capture_on_commit_callbacks):
    # A first tariff purchase of 6 500 ₽ at level 1 (20 %) earns 1 300 ₽.
    event = emit_for(
        world,
        "referrals.reward.accrued",
        {"client": "acme.bitrix24.ru", "amount": "1300.00", "rate": "20"},
        django_capture_on_commit_callbacks,
    )

    notification = Notification.objects.get(event_id=event.pk, user__email=OWNER)
    assert notification.title == "Вознаграждение: 1\u00a0300,00\u00a0₽"
    assert notification.body == (
        "За оплату клиента acme.bitrix24.ru начислено вознаграждение 1\u00a0300,00\u00a0₽ "
        "(ставка 20\u00a0%)."
    )
    subject, text, html = only_text(smtp, OWNER)
    assert subject == "Начислено вознаграждение 1 300,00 ₽"
    assert "Ставка: 20\u00a0%" in text
    assert "Вознаграждение: 1\u00a0300,00\u00a0₽" in text
    assert "1\u00a0300,00\u00a0₽" in html


def test_a_fractional_rate_keeps_its_decimals(world, smtp, django_capture_on_commit_callbacks):
    emit_for(
        world,
        "referrals.reward.accrued",
        {"client": "acme.bitrix24.ru", "amount": "2275.00", "rate": "35.50"},
        django_capture_on_commit_callbacks,
    )

    _subject, text, _html = only_text(smtp, OWNER)
    assert "Ставка: 35,5\u00a0%" in text


def test_nobody_outside_the_owner_and_the_managers_hears_of_it(
    world, smtp, django_capture_on_commit_callbacks
):
    emit_for(
        world,
        "referrals.level.up",
        {"old": 0, "new": 1, "at": "2026-05-20T10:15:00+00:00"},
        django_capture_on_commit_callbacks,
    )

    notified = set(Notification.objects.values_list("user__email", flat=True))
    mailed = {r for rcpt in smtp.recipients for r in rcpt}
    assert notified == mailed == {OWNER, MANAGER}


def test_a_partner_known_only_from_event_files_notifies_nobody(
    world, smtp, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        emit("referrals.level.up", {"partner_id": 7, "code": "ZX98YW", "old": 0, "new": 1})

    assert not Notification.objects.exists()
    assert smtp.messages == []
