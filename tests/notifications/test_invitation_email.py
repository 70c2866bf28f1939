"""The invitation email leaves through the outbox: the event carries no secret, the stored digest
is of the link's token, the mail arrives once at a real SMTP server, and an invitation revoked
before the delivery runs sends nothing."""

from __future__ import annotations

import json
import re

from django.db import transaction
from django.test import Client

from partnerhub.accounts.models import Invitation, token_digest
from partnerhub.accounts.services import invitation_create, invitation_revoke
from partnerhub.core.models.outbox import DeliveryState, OutboxDelivery, OutboxEvent
from partnerhub.core.outbox import fan_out
from partnerhub.notifications.handlers import EMAIL
from partnerhub.notifications.models import EmailSent
from tests.smtp import bodies

LINK = re.compile(r"https?://[^/\s\"]+(/accounts/invitation/[\w-]+/)")
INVITED = "new.accountant@a.example"


def invite(world) -> tuple[Invitation, str]:
    return invitation_create(
        organisation=world.partner_a,
        email=INVITED,
        role="accountant",
        invited_by=world.user("a:owner"),
    )


def test_the_invitation_event_carries_no_secret(world):
    invitation, raw = invite(world)

    event = OutboxEvent.objects.get(event_type="accounts.invitation.created")
    assert event.organisation_id == world.partner_a.pk
    assert event.payload == {"id": invitation.pk, "email": INVITED, "role": "accountant"}
    assert raw not in json.dumps(event.payload)
    assert Invitation.objects.get(pk=invitation.pk).token_digest == token_digest(raw)
    fan_out(event.pk)  # the worker's fan-out after commit
    assert list(OutboxDelivery.objects.filter(event=event).values_list("handler", flat=True)) == [
        EMAIL
    ]


def test_the_invitation_mail_arrives_once_with_a_working_link(
    world, smtp, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _invitation, raw = invite(world)

    assert smtp.recipients == [[INVITED]]
    message = smtp.messages[0]
    assert message.get_content_type() == "multipart/alternative"
    assert world.partner_a.short_name in message["Subject"]
    text, html = bodies(message)
    link = LINK.search(text).group(1)
    assert link == f"/accounts/invitation/{raw}/"
    assert link in html
    assert '<html lang="ru">' in html
    assert Client().get(link).status_code == 200
    delivery = OutboxDelivery.objects.get(handler=EMAIL)
    assert delivery.state == DeliveryState.DONE
    assert EmailSent.objects.get().recipient == INVITED


def test_an_invitation_revoked_before_the_delivery_sends_nothing(
    world, smtp, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks, transaction.atomic():
        invitation, _raw = invite(world)
    invitation_revoke(organisation=world.partner_a, invitation_id=invitation.pk)

    for callback in callbacks:
        callback()

    assert smtp.messages == []
    assert not EmailSent.objects.exists()
