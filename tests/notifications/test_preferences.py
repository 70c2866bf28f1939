"""Partners choose which emails they get: a settings page lists the optional emails grouped,
every one on by default; a user who switches one off gets no such email while the in-app
notification stays and the other recipients still get theirs; invitations cannot be switched
off; each user's choice is their own."""

from __future__ import annotations

import re

from django.test import Client

from partnerhub.accounts.services import invitation_create
from partnerhub.core.models.audit import AuditEvent
from partnerhub.core.outbox import emit
from partnerhub.notifications.models import Notification, NotificationPreference
from partnerhub.notifications.services import email_preferences_set

SETTINGS = "/cabinet/notifications/settings/"
OWNER = "owner@a.example"
MANAGER = "manager@a.example"
LEVEL_UP = "referrals.level.up"
REWARD = "referrals.reward.accrued"
#: In the order the apps register their rules (INSTALLED_APPS: partners' rules are the
#: notifications app's own, then referrals, contracts, payouts, leads).
OPTIONAL = [
    "partners.enrolment.active",
    "partners.enrolment.rejected",
    "partners.enrolment.suspended",
    "partners.enrolment.terminated",
    "partners.status.granted",
    "partners.status.ended",
    "partners.counterparty_document.accepted",
    "referrals.level.up",
    "referrals.level.down",
    "referrals.points.expiring",
    "referrals.bonus.activation",
    "referrals.reward.accrued",
    "contracts.contract.sent",
    "contracts.contract.under_review",
    "payouts.payout.generated",
    "payouts.payout.sent",
    "payouts.payout.accepted",
    "payouts.payout.rejected",
    "payouts.payout.paid",
    "leads.page.accepted",
    "leads.digest",
    "leads.lead.expiring",
    "leads.deal.stale",
]


def checked(page: str) -> list[str]:
    return re.findall(r'name="email" value="([^"]+)" checked', page)


def listed(page: str) -> list[str]:
    return re.findall(r'name="email" value="([^"]+)"', page)


def level_up(world, callbacks):
    with callbacks(execute=True):
        return emit(
            LEVEL_UP,
            {"partner_id": 1, "code": "AB12CD", "old": 1, "new": 2, "at": "2026-05-20T10:00:00Z"},
            organisation_id=world.partner_a.pk,
        )


def save(client: Client, *enabled: str):
    return client.post(SETTINGS, {"email_settings": "1", "email": list(enabled)})


# --- the page -------------------------------------------------------------------------------


def test_the_page_lists_the_optional_emails_grouped_and_all_on(world, login_as):
    page = login_as("a:accountant").get(SETTINGS).content.decode()

    assert listed(page) == OPTIONAL
    assert checked(page) == OPTIONAL
    assert "Участие в программах" in page
    assert "Реферальная программа" in page
    assert "Повышение уровня" in page
    assert "Начислено вознаграждение" in page
    assert "accounts.invitation.created" not in page


def test_saving_switches_off_what_is_unchecked(world, login_as):
    client = login_as("a:owner")
    on = [t for t in OPTIONAL if t != LEVEL_UP]

    response = save(client, *on)

    assert response.status_code == 302
    assert response["Location"] == SETTINGS
    page = client.get(SETTINGS).content.decode()
    assert "Настройки писем сохранены." in page
    assert checked(page) == on
    assert list(
        NotificationPreference.objects.filter(user=world.user("a:owner")).values_list(
            "event_type", "email"
        )
    ) == [(LEVEL_UP, False)]


def test_switching_back_on_and_saving_again_changes_only_what_changed(world, login_as):
    client = login_as("a:owner")
    save(client, *[t for t in OPTIONAL if t != LEVEL_UP])

    save(client, *OPTIONAL)
    save(client, *OPTIONAL)

    assert checked(client.get(SETTINGS).content.decode()) == OPTIONAL
    audits = AuditEvent.objects.filter(action="notifications.preferences.changed").order_by("id")
    assert [(a.before, a.after) for a in audits] == [
        ({LEVEL_UP: True}, {LEVEL_UP: False}),
        ({LEVEL_UP: False}, {LEVEL_UP: True}),
    ]
    assert audits[0].actor_user_id == world.user("a:owner").pk


def test_a_post_without_the_form_marker_changes_nothing(world, login_as):
    response = login_as("a:owner").post(SETTINGS, {})

    assert response.status_code == 400
    assert not NotificationPreference.objects.exists()


def test_vendor_staff_and_anonymous_visitors_do_not_get_the_page(world, login_as):
    assert login_as("vendor:support").get(SETTINGS).status_code == 403
    response = Client().get(SETTINGS)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


# --- the effect on sending ------------------------------------------------------------------


def test_a_user_who_switched_the_email_off_gets_none_but_keeps_the_in_app_notification(
    world, login_as, smtp, django_capture_on_commit_callbacks
):
    save(login_as("a:owner"), *[t for t in OPTIONAL if t != LEVEL_UP])

    event = level_up(world, django_capture_on_commit_callbacks)

    assert smtp.to(OWNER) == []
    assert len(smtp.to(MANAGER)) == 1
    notified = sorted(
        Notification.objects.filter(event_id=event.pk).values_list("user__email", flat=True)
    )
    assert notified == [MANAGER, OWNER]


def test_switching_one_email_off_leaves_the_others(
    world, login_as, smtp, django_capture_on_commit_callbacks
):
    save(login_as("a:owner"), *[t for t in OPTIONAL if t != LEVEL_UP])

    with django_capture_on_commit_callbacks(execute=True):
        emit(
            REWARD,
            {
                "partner_id": 1,
                "code": "AB12CD",
                "client": "acme.bitrix24.ru",
                "amount": "1300.00",
                "rate": "20",
            },
            organisation_id=world.partner_a.pk,
        )

    assert len(smtp.to(OWNER)) == 1


def test_the_email_comes_again_once_switched_back_on(
    world, login_as, smtp, django_capture_on_commit_callbacks
):
    client = login_as("a:owner")
    save(client, *[t for t in OPTIONAL if t != LEVEL_UP])
    save(client, *OPTIONAL)

    level_up(world, django_capture_on_commit_callbacks)

    assert len(smtp.to(OWNER)) == 1


def test_invitations_cannot_be_switched_off(world, smtp, django_capture_on_commit_callbacks):
    owner = world.user("a:owner")

    changes = email_preferences_set(user=owner, enabled=["accounts.invitation.created"])
    with django_capture_on_commit_callbacks(execute=True):
        invitation_create(
            organisation=world.partner_a,
            email="new.person@a.example",
            role="manager",
            invited_by=owner,
        )

    assert "accounts.invitation.created" not in changes
    assert not NotificationPreference.objects.filter(
        event_type="accounts.invitation.created"
    ).exists()
    assert smtp.recipients == [["new.person@a.example"]]
