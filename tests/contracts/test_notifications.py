"""The partner's owner and accountant hear of each step of the contract: an in-app notification
and an email (text + HTML) at a real SMTP server; the manager and the other roles are not
mailed."""

from __future__ import annotations

import pytest

from partnerhub.contracts import services
from partnerhub.core import clock
from partnerhub.notifications.models import Notification
from tests.contracts.factories import prepare_edo
from tests.smtp import bodies

OWNER = "owner@a.example"
ACCOUNTANT = "accountant@a.example"
PROGRAM = "Партнёрская программа Битрикс24"


def mailed(smtp) -> list[str]:
    return sorted(r for rcpt in smtp.recipients for r in rcpt)


def test_sending_the_application_emails_the_owner_and_the_accountant(
    world, ready, smtp, django_capture_on_commit_callbacks, settings
):
    with django_capture_on_commit_callbacks(execute=True):
        contract = services.contract_send(contract=prepare_edo(ready), by=world.user("a:owner"))

    assert mailed(smtp) == [ACCOUNTANT, OWNER]
    message = smtp.to(ACCOUNTANT)[0]
    subject = f"Договор «{PROGRAM}»: заявление № {contract.application_number} отправлено"
    assert message["Subject"].strip() == subject
    text, html = bodies(message)
    assert f"{settings.SITE_URL}/cabinet/contracts/" in text
    assert "ООО «Альфа»" in html


def test_signing_tells_the_date_in_the_cabinet_and_by_email(
    world, ready, smtp, django_capture_on_commit_callbacks
):
    staff = world.user("vendor:program_manager")
    contract = services.contract_send(contract=prepare_edo(ready))
    contract = services.contract_review_start(contract=contract, by=staff)
    today = clock.today()

    with django_capture_on_commit_callbacks(execute=True):
        services.contract_sign(contract=contract, signed_on=today, by=staff)

    notification = Notification.objects.get(
        kind="contracts.contract.signed", user=world.user("a:owner")
    )
    assert notification.title == f"Договор «{PROGRAM}» подписан"
    assert notification.url == "/cabinet/contracts/"
    text, _html = bodies(smtp.to(OWNER)[0])
    assert f"Договор подписан {today:%d.%m.%Y}" in text
    assert mailed(smtp) == [ACCOUNTANT, OWNER]


@pytest.mark.parametrize("step", ["rejected", "terminated"])
def test_a_rejection_or_termination_tells_the_reason(
    world, ready, smtp, django_capture_on_commit_callbacks, step
):
    reason = "Выписка из ЕГРЮЛ старше 30 дней"
    contract = services.contract_send(contract=prepare_edo(ready))
    if step == "terminated":
        contract = services.contract_review_start(contract=contract)
        contract = services.contract_sign(contract=contract, signed_on=clock.today())

    with django_capture_on_commit_callbacks(execute=True):
        if step == "rejected":
            services.contract_reject(contract=contract, reason=reason)
        else:
            services.contract_terminate(contract=contract, reason=reason)

    notification = Notification.objects.get(
        kind=f"contracts.contract.{step}", user=world.user("a:accountant")
    )
    assert notification.body == f"Причина: {reason}"
    text, html = bodies(smtp.to(ACCOUNTANT)[0])
    assert reason in text and reason in html


def test_partner_b_hears_nothing_of_partner_a_contract(
    world, ready, smtp, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.contract_send(contract=prepare_edo(ready))

    assert not any(r.endswith("@b.example") for r in mailed(smtp))
    assert not Notification.objects.filter(organisation=world.partner_b).exists()


def test_the_decision_email_cannot_be_switched_off_but_the_acknowledgement_can(
    world, ready, smtp, django_capture_on_commit_callbacks
):
    from partnerhub.notifications.rules import optional_email_rules
    from partnerhub.notifications.services import email_preferences_set

    optional = {rule.event_type for rule in optional_email_rules()}
    assert {"contracts.contract.sent", "contracts.contract.under_review"} <= optional
    assert not {"contracts.contract.signed", "contracts.contract.rejected"} & optional
    owner = world.user("a:owner")
    email_preferences_set(user=owner, enabled=set(optional) - {"contracts.contract.sent"})

    with django_capture_on_commit_callbacks(execute=True):
        contract = services.contract_send(contract=prepare_edo(ready))
    with django_capture_on_commit_callbacks(execute=True):
        services.contract_reject(contract=contract, reason="Нет подписи")

    subjects = [m["Subject"].strip() for m in smtp.to(OWNER)]
    assert subjects == [f"Договор «{PROGRAM}»: заявление отклонено"]
    assert len(smtp.to(ACCOUNTANT)) == 2
