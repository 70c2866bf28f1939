"""Outgoing webhooks through a real HTTP receiver on 127.0.0.1 (core issue: "Webhook tests send
to a local HTTP server started in the test, including a receiver that fails twice then succeeds,
and one that never answers (timeout)").

Time is driven with time-machine and the worker's step is ``deliver_due()``; the spec's backoff
is 10 s, then 20 s.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
import threading

import pytest
import time_machine
from werkzeug import Request, Response

from partnerhub.core.delivery import deliver_due
from partnerhub.core.models.outbox import DeliveryState, OutboxDelivery
from partnerhub.core.outbox import emit, fan_out
from partnerhub.webhooks.models import AttemptOutcome, WebhookAttempt
from partnerhub.webhooks.services import webhook_endpoint_create, webhook_endpoint_set_active
from partnerhub.webhooks.signing import sign, verify_signature
from tests.factories import OrganisationFactory

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


#: An answer given only once the test has ended: after the client's timeout, however long a
#: loaded machine takes to notice it.
LATE = "late"


class Receiver:
    """The partner's system: answers with the given statuses in turn (the last one repeats),
    ``(status, LATE)`` only after the test; keeps every request."""

    def __init__(self, *answers: int | tuple[int, str]) -> None:
        self.answers = [a if isinstance(a, tuple) else (a, "") for a in answers] or [(200, "")]
        self.requests: list[Request] = []
        self.bodies: list[bytes] = []
        self.test_ended = threading.Event()

    def __call__(self, request: Request) -> Response:
        self.requests.append(request)
        self.bodies.append(request.get_data())
        status, when = self.answers[min(len(self.requests), len(self.answers)) - 1]
        if when == LATE:
            self.test_ended.wait(timeout=120)  # the bound only keeps a broken test from hanging
        return Response("принято" if status < 300 else "сломалось", status=status)

    @property
    def event_types(self) -> list[str]:
        return [r.headers["X-Partnerhub-Event-Type"] for r in self.requests]


def endpoint_at(server, organisation, path: str = "/hook", **kwargs):
    return webhook_endpoint_create(organisation=organisation, url=server.url_for(path), **kwargs)


def answering(server, receiver: Receiver, path: str = "/hook") -> Receiver:
    server.expect_request(path, method="POST").respond_with_handler(receiver)
    return receiver


def webhook_delivery(event) -> OutboxDelivery:
    return OutboxDelivery.objects.get(event=event, handler="webhooks")


def attempts_log() -> list[tuple[int, str, int | None]]:
    rows = WebhookAttempt.objects.order_by("at", "pk").values_list(
        "attempt", "outcome", "status_code"
    )
    return list(rows)


def test_request_carries_the_event_as_json_signed_with_the_endpoint_secret(receiver):
    org = OrganisationFactory()
    endpoint = endpoint_at(receiver, org)
    partner = answering(receiver, Receiver(200))
    with time_machine.travel(T0, tick=False):
        event = emit("partners.enrolment.applied", {"program": "cloud"}, organisation_id=org.pk)
        deliver_due()

    [request] = partner.requests
    [body] = partner.bodies
    headers = request.headers
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Partnerhub-Event-Id"] == str(event.pk)
    assert headers["X-Partnerhub-Event-Type"] == "partners.enrolment.applied"
    assert headers["X-Partnerhub-Timestamp"] == str(int(T0.timestamp()))
    signed_at, signature = headers["X-Partnerhub-Timestamp"], headers["X-Partnerhub-Signature"]
    moment = T0.timestamp()
    assert verify_signature(endpoint.secret, signed_at, body, signature, now=moment)
    assert not verify_signature("whsec_another", signed_at, body, signature, now=moment)
    assert not verify_signature(endpoint.secret, signed_at, body + b" ", signature, now=moment)
    assert json.loads(body) == {
        "id": str(event.pk),
        "type": "partners.enrolment.applied",
        "created_at": "2026-03-02T09:00:00+00:00",
        "organisation_id": org.pk,
        "data": {"program": "cloud"},
    }
    assert attempts_log() == [(1, AttemptOutcome.OK, 200)]
    assert webhook_delivery(event).state == DeliveryState.DONE


def test_signature_older_than_five_minutes_is_refused():
    body = b'{"id":"1"}'
    signed_at = int(T0.timestamp())
    signature = sign("whsec_test", signed_at, body)

    assert verify_signature("whsec_test", signed_at, body, signature, now=signed_at + 300)
    assert not verify_signature("whsec_test", signed_at, body, signature, now=signed_at + 301)
    assert signature.startswith("sha256=") and len(signature) == len("sha256=") + 64


def test_receiver_failing_twice_gets_the_event_on_the_third_attempt(receiver):
    org = OrganisationFactory()
    endpoint_at(receiver, org)
    partner = answering(receiver, Receiver(500, 500, 200))
    with time_machine.travel(T0, tick=False) as clock:
        event = emit("partners.enrolment.applied", {}, organisation_id=org.pk)
        deliver_due()
        assert webhook_delivery(event).next_attempt_at == T0 + dt.timedelta(seconds=10)
        clock.shift(dt.timedelta(seconds=10))
        deliver_due()
        assert webhook_delivery(event).next_attempt_at == T0 + dt.timedelta(seconds=30)
        clock.shift(dt.timedelta(seconds=20))
        deliver_due()

    assert attempts_log() == [
        (1, AttemptOutcome.HTTP_ERROR, 500),
        (2, AttemptOutcome.HTTP_ERROR, 500),
        (3, AttemptOutcome.OK, 200),
    ]
    delivery = webhook_delivery(event)
    assert (delivery.state, delivery.attempts) == (DeliveryState.DONE, 3)
    assert delivery.last_error == "WebhookFailed: http_error: HTTP 500: сломалось"
    assert {r.headers["X-Partnerhub-Event-Id"] for r in partner.requests} == {str(event.pk)}
    assert WebhookAttempt.objects.filter(delivery=delivery).count() == 3


def test_receiver_that_does_not_answer_in_time_is_logged_as_timeout_and_retried(receiver):
    org = OrganisationFactory()
    endpoint_at(receiver, org)
    partner = answering(receiver, Receiver((200, LATE), 200))  # the first answer comes too late
    try:
        with time_machine.travel(T0, tick=False) as clock:
            event = emit("partners.enrolment.applied", {}, organisation_id=org.pk)
            deliver_due()
            delivery = webhook_delivery(event)
            assert (delivery.state, delivery.next_attempt_at) == (
                DeliveryState.PENDING,
                T0 + dt.timedelta(seconds=10),
            )
            clock.shift(dt.timedelta(seconds=10))
            deliver_due()
    finally:
        partner.test_ended.set()

    first, second = WebhookAttempt.objects.order_by("attempt")
    assert (first.outcome, first.status_code, first.error) == (
        AttemptOutcome.TIMEOUT,
        None,
        "no answer within 0.5 s",
    )
    assert first.duration_ms >= 500  # the attempt waited its whole timeout
    assert (second.attempt, second.outcome) == (2, AttemptOutcome.OK)
    assert webhook_delivery(event).state == DeliveryState.DONE


def test_endpoint_gets_only_the_event_types_it_subscribed_to(receiver):
    org = OrganisationFactory()
    endpoint_at(receiver, org, event_types=["partners.enrolment.*"])
    partner = answering(receiver, Receiver(200))
    emit("partners.enrolment.applied", {}, organisation_id=org.pk)
    emit("partners.card.changed", {}, organisation_id=org.pk)
    emit("partners.enrolment.withdrawn", {}, organisation_id=org.pk)

    deliver_due()

    assert sorted(partner.event_types) == [
        "partners.enrolment.applied",
        "partners.enrolment.withdrawn",
    ]
    assert OutboxDelivery.objects.filter(handler="webhooks").count() == 2


def test_another_organisations_endpoint_never_gets_this_organisations_events(receiver):
    alfa, beta = OrganisationFactory(), OrganisationFactory()
    endpoint_at(receiver, alfa, path="/alfa")
    endpoint_at(receiver, beta, path="/beta")
    to_alfa = answering(receiver, Receiver(200), path="/alfa")
    to_beta = answering(receiver, Receiver(200), path="/beta")
    event = emit("partners.enrolment.applied", {"secret": "Альфа"}, organisation_id=alfa.pk)

    deliver_due()

    assert [r.headers["X-Partnerhub-Event-Id"] for r in to_alfa.requests] == [str(event.pk)]
    assert to_beta.requests == []


def test_switched_off_endpoint_is_not_called_for_events_already_queued(receiver):
    org = OrganisationFactory()
    endpoint = endpoint_at(receiver, org)
    partner = answering(receiver, Receiver(200))
    event = emit("partners.enrolment.applied", {}, organisation_id=org.pk)
    fan_out(event.pk)  # queued: its delivery to the endpoint is written

    webhook_endpoint_set_active(organisation=org, endpoint_id=endpoint.pk, is_active=False)
    deliver_due()

    assert partner.requests == []
    assert webhook_delivery(event).state == DeliveryState.DONE
    assert not WebhookAttempt.objects.exists()
    emit("partners.enrolment.applied", {}, organisation_id=org.pk)
    assert OutboxDelivery.objects.filter(handler="webhooks").count() == 1, "no new delivery"


def test_local_address_is_refused_at_send_time_when_not_allowed(receiver, settings):
    org = OrganisationFactory()
    endpoint_at(receiver, org)  # saved while local addresses were allowed
    partner = answering(receiver, Receiver(200))
    settings.WEBHOOK_ALLOW_LOCAL = False
    event = emit("partners.enrolment.applied", {}, organisation_id=org.pk)

    deliver_due()

    assert partner.requests == []
    [attempt] = WebhookAttempt.objects.all()
    assert (attempt.outcome, attempt.error) == (AttemptOutcome.BLOCKED, "scheme http is not called")
    assert webhook_delivery(event).state == DeliveryState.PENDING


def test_redirect_is_not_followed_and_counts_as_a_failure(receiver):
    org = OrganisationFactory()
    endpoint_at(receiver, org)
    receiver.expect_request("/hook", method="POST").respond_with_response(
        Response("", status=302, headers={"Location": receiver.url_for("/elsewhere")})
    )
    elsewhere = answering(receiver, Receiver(200), path="/elsewhere")
    event = emit("partners.enrolment.applied", {}, organisation_id=org.pk)

    deliver_due()

    assert elsewhere.requests == []
    assert attempts_log() == [(1, AttemptOutcome.HTTP_ERROR, 302)]
    assert webhook_delivery(event).state == DeliveryState.PENDING


def test_connection_refused_is_logged_and_retried():
    org = OrganisationFactory()
    webhook_endpoint_create(organisation=org, url="http://127.0.0.1:9/hook")  # discard port
    with time_machine.travel(T0, tick=False):
        event = emit("partners.enrolment.applied", {}, organisation_id=org.pk)
        deliver_due()

    [attempt] = WebhookAttempt.objects.all()
    assert attempt.outcome == AttemptOutcome.CONNECTION_ERROR
    assert "refused" in attempt.error.lower()
    assert webhook_delivery(event).next_attempt_at == T0 + dt.timedelta(seconds=10)


def test_a_name_that_resolves_to_a_private_address_when_sending_is_blocked(
    receiver, settings, monkeypatch
):
    """DNS rebinding: public when the endpoint was saved, 127.0.0.1 (the receiver) when the
    attempt connects. The attempt is refused before connecting; the log says why (staff)."""
    settings.WEBHOOK_ALLOW_LOCAL = False
    answers = iter([["93.184.216.34"], ["127.0.0.1"]])
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host != "hooks.alfa.example":
            return real(host, port, *args, **kwargs)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in next(answers)]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    org = OrganisationFactory()
    webhook_endpoint_create(organisation=org, url=f"https://hooks.alfa.example:{receiver.port}/h")
    partner = answering(receiver, Receiver(200), path="/h")
    event = emit("partners.enrolment.applied", {}, organisation_id=org.pk)

    deliver_due()

    assert partner.requests == []
    [attempt] = WebhookAttempt.objects.all()
    assert attempt.outcome == AttemptOutcome.BLOCKED
    assert attempt.error == "hooks.alfa.example resolves to 127.0.0.1 (loopback)"
    assert webhook_delivery(event).state == DeliveryState.PENDING
