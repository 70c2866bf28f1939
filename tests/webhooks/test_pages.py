"""Cabinet pages of webhooks: the owner or developer adds an endpoint and sees its secret once,
reads the delivery log, switches an endpoint off and deletes it; another partner's endpoint is
a 404; wrong input names the field."""

from __future__ import annotations

import datetime as dt
import socket

import pytest

from partnerhub.core.outbox import emit
from partnerhub.webhooks.models import AttemptOutcome, WebhookAttempt, WebhookEndpoint
from partnerhub.webhooks.services import webhook_endpoint_create

pytestmark = pytest.mark.django_db


def alfa_endpoint(world, url: str = "https://crm.alfa.example/hooks") -> WebhookEndpoint:
    return webhook_endpoint_create(organisation=world.partner_a, url=url)


def test_developer_adds_an_endpoint_and_sees_its_secret_once(world, login_as):
    client = login_as("a:developer")

    response = client.post(
        "/cabinet/webhooks/new/",
        {"url": "https://crm.alfa.example/hooks", "event_types": "partners.enrolment.*, leads.*"},
    )

    endpoint = WebhookEndpoint.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/cabinet/webhooks/{endpoint.pk}/"
    assert endpoint.organisation == world.partner_a
    assert endpoint.event_types == ["partners.enrolment.*", "leads.*"]
    assert endpoint.secret.startswith("whsec_")
    first = client.get(response["Location"]).content.decode()
    assert endpoint.secret in first
    again = client.get(response["Location"]).content.decode()
    assert endpoint.secret not in again
    assert endpoint.secret[:10] in again


def test_plain_http_address_is_refused_with_the_field_named(world, login_as, settings):
    settings.WEBHOOK_ALLOW_LOCAL = False

    response = login_as("a:owner").post(
        "/cabinet/webhooks/new/", {"url": "http://crm.alfa.example/hooks", "event_types": ""}
    )

    assert response.status_code == 400
    assert response.context["form"].errors == {"url": ["Адрес должен начинаться с https://."]}
    assert 'data-field="url"' in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://[64:ff9b::a00:1]/hook",
        "https://[2002:a9fe:a9fe::]/hook",
        "https://10.1.2.3/hook",
        "https://localhost/hook",
        "https://crm.local/h",
    ],
)
def test_address_inside_a_private_network_is_refused(world, login_as, settings, url):
    settings.WEBHOOK_ALLOW_LOCAL = False

    response = login_as("a:owner").post("/cabinet/webhooks/new/", {"url": url})

    assert response.status_code == 400
    assert response.context["form"].errors == {
        "url": ["Адрес должен быть доступен из интернета, а не только из вашей сети."]
    }


def test_malformed_event_type_is_refused_with_the_field_named(world, login_as):
    response = login_as("a:owner").post(
        "/cabinet/webhooks/new/",
        {"url": "https://crm.alfa.example/hooks", "event_types": "partners.enrolment.*\nЛиды!"},
    )

    assert response.status_code == 400
    [message] = response.context["form"].errors["event_types"]
    assert message.startswith("Непонятный тип события: Лиды!.")
    assert not WebhookEndpoint.objects.exists()


def test_organisation_has_at_most_the_configured_number_of_endpoints(world, login_as, settings):
    settings.WEBHOOK_MAX_ENDPOINTS = 2
    alfa_endpoint(world)
    alfa_endpoint(world, "https://erp.alfa.example/hooks")

    response = login_as("a:owner").post(
        "/cabinet/webhooks/new/", {"url": "https://third.alfa.example/hooks"}
    )

    assert response.status_code == 400
    assert response.context["form"].non_field_errors() == [
        "У организации уже 2 адресов вебхуков: удалите ненужные."
    ]
    assert WebhookEndpoint.objects.count() == 2


def test_delivery_log_shows_each_attempt_newest_first(world, login_as):
    endpoint = alfa_endpoint(world)
    event = emit("partners.enrolment.applied", {}, organisation_id=world.partner_a.pk)
    at = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    for attempt, outcome, status, error in [
        (1, AttemptOutcome.HTTP_ERROR, 500, "HTTP 500: сломалось"),
        (2, AttemptOutcome.TIMEOUT, None, "no answer within 5 s"),
        (3, AttemptOutcome.OK, 200, ""),
    ]:
        WebhookAttempt.objects.create(
            endpoint=endpoint,
            event_id=event.pk,
            event_type=event.event_type,
            attempt=attempt,
            outcome=outcome,
            status_code=status,
            error=error,
            duration_ms=120,
            at=at + dt.timedelta(seconds=10 * attempt),
        )

    response = login_as("a:owner").get(f"/cabinet/webhooks/{endpoint.pk}/")

    assert [a.attempt for a in response.context["page"]] == [3, 2, 1]
    body = response.content.decode()
    assert body.count("Не доставлено") == 2
    for text in ("Доставлено", str(event.pk)):
        assert text in body
    for remote in ("HTTP 500", "сломалось", "Нет ответа", "Ошибка HTTP", "no answer", ">500<"):
        assert remote not in body, "the receiver's answer and the kind of failure are staff's"


def test_delivery_log_is_paginated_with_few_queries(world, login_as, django_assert_max_num_queries):
    endpoint = alfa_endpoint(world)
    event = emit("partners.enrolment.applied", {}, organisation_id=world.partner_a.pk)
    WebhookAttempt.objects.bulk_create(
        WebhookAttempt(
            endpoint=endpoint,
            event_id=event.pk,
            event_type=event.event_type,
            attempt=n,
            outcome=AttemptOutcome.HTTP_ERROR,
            status_code=503,
        )
        for n in range(1, 41)
    )
    client = login_as("a:owner")

    with django_assert_max_num_queries(10):
        response = client.get(f"/cabinet/webhooks/{endpoint.pk}/?page=2")

    assert len(response.context["page"]) == 15
    assert response.context["page"].paginator.num_pages == 2


def test_endpoint_list_shows_the_last_attempt_with_few_queries(
    world, login_as, django_assert_max_num_queries
):
    for n in range(5):
        endpoint = alfa_endpoint(world, f"https://crm{n}.alfa.example/hooks")
        WebhookAttempt.objects.create(
            endpoint=endpoint,
            event_id="00000000-0000-0000-0000-000000000001",
            event_type="partners.enrolment.applied",
            attempt=1,
            outcome=AttemptOutcome.OK,
            status_code=200,
        )
    client = login_as("a:developer")

    with django_assert_max_num_queries(10):
        response = client.get("/cabinet/webhooks/")

    assert [e.last_outcome for e in response.context["endpoints"]] == ["ok"] * 5
    assert "https://crm4.alfa.example/hooks" in response.content.decode()


def test_owner_switches_an_endpoint_off_and_on(world, login_as):
    endpoint = alfa_endpoint(world)
    client = login_as("a:owner")

    client.post(f"/cabinet/webhooks/{endpoint.pk}/deactivate/")
    endpoint.refresh_from_db()
    assert endpoint.is_active is False
    client.post(f"/cabinet/webhooks/{endpoint.pk}/activate/")
    endpoint.refresh_from_db()
    assert endpoint.is_active is True


def test_owner_deletes_an_endpoint(world, login_as):
    endpoint = alfa_endpoint(world)

    response = login_as("a:owner").post(f"/cabinet/webhooks/{endpoint.pk}/delete/")

    assert response.status_code == 302
    assert response["Location"] == "/cabinet/webhooks/"
    assert not WebhookEndpoint.objects.exists()


def test_another_partner_can_neither_see_nor_delete_an_endpoint(world, login_as):
    endpoint = alfa_endpoint(world)
    beta = login_as("b:owner")

    assert beta.get(f"/cabinet/webhooks/{endpoint.pk}/").status_code == 404
    assert beta.post(f"/cabinet/webhooks/{endpoint.pk}/delete/").status_code == 404
    assert beta.post(f"/cabinet/webhooks/{endpoint.pk}/deactivate/").status_code == 404
    listing = beta.get("/cabinet/webhooks/").content.decode()

    assert "crm.alfa.example" not in listing
    endpoint.refresh_from_db()
    assert endpoint.is_active is True


def test_manager_has_no_webhook_pages_nor_the_menu_link(world, login_as):
    manager = login_as("a:manager")

    assert manager.get("/cabinet/webhooks/").status_code == 403
    assert "/cabinet/webhooks/" not in manager.get("/cabinet/").content.decode()
    assert "/cabinet/webhooks/" in login_as("a:developer").get("/cabinet/").content.decode()


def test_a_name_that_resolves_inside_a_private_network_is_refused_when_saved(
    world, login_as, settings, monkeypatch
):
    settings.WEBHOOK_ALLOW_LOCAL = False
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host != "crm.alfa.example":
            return real(host, port, *args, **kwargs)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("192.168.10.5", port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)

    response = login_as("a:owner").post(
        "/cabinet/webhooks/new/", {"url": "https://crm.alfa.example/hooks"}
    )

    assert response.status_code == 400
    assert response.context["form"].errors == {
        "url": ["Адрес должен быть доступен из интернета, а не только из вашей сети."]
    }
    assert not WebhookEndpoint.objects.exists()
