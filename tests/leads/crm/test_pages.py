"""The cabinet page of the partner's CRM (issue 7, part 6): connecting by the incoming webhook
(bad input named on the field), disconnecting, the inbound address, the delivery log, the
token masked, and another partner's connection out of sight."""

from __future__ import annotations

import socket

import pytest
from django.urls import reverse

from partnerhub.core.models.audit import AuditEvent
from partnerhub.leads.crm.services import crm_connect
from partnerhub.leads.models import CrmCall, CrmCallOutcome, CrmConnection

pytestmark = pytest.mark.django_db

URL = reverse("cabinet:lead_crm")
TOKEN = "s3cr3tt0ken0123"
GENERIC_FAILURE = (
    "Портал не ответил на проверочный запрос или ответил ошибкой. "
    "Проверьте адрес и попробуйте ещё раз."
)


def field_errors(response, name: str) -> list[str]:
    return [str(e) for e in response.context["form"].errors.get(name, [])]


def test_the_owner_connects_the_portal_by_its_incoming_webhook(login_as, world, fake_crm):
    response = login_as("a:owner").post(URL, {"webhook_url": fake_crm.webhook_url})

    assert response.status_code == 302
    connection = CrmConnection.objects.get(organisation=world.partner_a)
    assert (connection.webhook_url, connection.is_active) == (fake_crm.webhook_url, True)
    assert fake_crm.methods() == ["crm.category.list"]
    audit = AuditEvent.objects.get(action="leads.crm.connected")
    assert audit.after == {"portal": "127.0.0.1", "is_active": True}


def test_a_url_that_is_not_an_incoming_webhook_is_named_on_the_field(login_as, world, fake_crm):
    response = login_as("a:manager").post(URL, {"webhook_url": "https://name.bitrix24.ru/crm/"})

    assert response.status_code == 400
    assert field_errors(response, "webhook_url") == [
        "Это не адрес входящего вебхука: он выглядит так: например "
        "https://name.bitrix24.ru/rest/1/abcdef0123456789/."
    ]
    assert not CrmConnection.objects.exists()


def test_plain_http_is_refused_in_production(login_as, settings):
    settings.CRM_ALLOW_LOCAL = False

    response = login_as("a:owner").post(
        URL, {"webhook_url": "http://name.bitrix24.ru/rest/1/abcdef0123456789/"}
    )

    assert response.status_code == 400
    assert field_errors(response, "webhook_url")[0].startswith("Адрес должен начинаться с https://")


def test_a_webhook_the_portal_refuses_is_not_saved(login_as, fake_crm):
    fake_crm.fail("crm.category.list", "auth")

    response = login_as("a:owner").post(URL, {"webhook_url": fake_crm.webhook_url})

    assert response.status_code == 400
    assert field_errors(response, "webhook_url") == [
        "Портал не принял вебхук: проверьте адрес, вебхук мог быть удалён."
    ]
    assert not CrmConnection.objects.exists()


def test_a_portal_that_does_not_answer_is_named_on_the_field(login_as, fake_crm):
    fake_crm.fail("crm.category.list", "timeout")

    response = login_as("a:owner").post(URL, {"webhook_url": fake_crm.webhook_url})

    assert response.status_code == 400
    assert field_errors(response, "webhook_url") == [GENERIC_FAILURE]


def test_the_page_masks_the_token_and_shows_the_inbound_address_to_the_owner(login_as, connected):
    response = login_as("a:owner").get(URL)

    content = response.content.decode()
    assert TOKEN not in content
    assert "/rest/1/••••••/" in content
    inbound = reverse("crm_inbound", kwargs={"secret": connected.inbound_secret})
    assert f"http://testserver{inbound}" in content


def test_an_accountant_reads_the_page_without_the_inbound_secret_or_the_form(login_as, connected):
    response = login_as("a:accountant").get(URL)

    content = response.content.decode()
    assert response.status_code == 200
    assert connected.inbound_secret not in content
    assert 'id="crm-connect"' not in content


def test_the_log_shows_the_last_50_calls_newest_first(login_as, connected):
    for n in range(55):
        CrmCall.objects.create(
            connection=connected, method=f"crm.method{n}", outcome=CrmCallOutcome.OK, status=200
        )

    response = login_as("a:operator").get(URL)

    calls = response.context["calls"]
    assert len(calls) == 50
    assert calls[0].method == "crm.method54"
    assert "crm.method4<" not in response.content.decode()


def test_the_log_of_a_push_lists_each_call_with_its_outcome(login_as, world, program, connected):
    from partnerhub.core.delivery import deliver_due
    from partnerhub.leads import services
    from tests.leads.factories import make_lead

    lead = make_lead(program)
    services.lead_take(lead=lead, organisation=world.partner_a, by=world.user("a:owner"))
    deliver_due()

    response = login_as("a:owner").get(URL)

    methods = [call.method for call in response.context["calls"]]
    assert methods[0] == "crm.deal.add"
    assert "crm.contact.add" in methods
    assert {call.outcome for call in response.context["calls"]} == {CrmCallOutcome.OK}
    assert "Успешно" in response.content.decode()


def test_partner_b_sees_neither_as_connection_nor_its_log(login_as, world, connected):
    CrmCall.objects.create(
        connection=connected, method="crm.deal.add", outcome=CrmCallOutcome.OK, status=200
    )

    response = login_as("b:owner").get(URL)

    content = response.content.decode()
    assert response.context["connection"] is None
    assert response.context["calls"] == []
    assert "crm.deal.add" not in content
    assert connected.inbound_secret not in content


def test_the_owner_disconnects_and_the_connection_is_kept_switched_off(login_as, connected):
    response = login_as("a:owner").post(reverse("cabinet:lead_crm_disconnect"))

    assert response.status_code == 302
    connected.refresh_from_db()
    assert connected.is_active is False
    assert AuditEvent.objects.filter(action="leads.crm.disconnected").count() == 1


def test_connecting_another_portal_forgets_the_pipeline_and_the_twins(world, fake_crm, connected):
    from partnerhub.leads.models import CrmDealLink

    CrmConnection.objects.filter(pk=connected.pk).update(category_id="7")
    other = fake_crm.webhook_url.replace("127.0.0.1", "localhost")

    crm_connect(organisation=world.partner_a, webhook_url=other, by=world.user("a:owner"))

    connected.refresh_from_db()
    assert (connected.webhook_url, connected.category_id) == (other, "")
    assert not CrmDealLink.objects.filter(connection=connected).exists()


def test_reconnecting_the_same_portal_keeps_the_pipeline_and_switches_the_push_on(
    world, fake_crm, connected
):
    CrmConnection.objects.filter(pk=connected.pk).update(category_id="7", is_active=False)

    crm_connect(
        organisation=world.partner_a, webhook_url=fake_crm.webhook_url, by=world.user("a:owner")
    )

    connected.refresh_from_db()
    assert (connected.category_id, connected.is_active) == ("7", True)


def test_the_owner_replaces_the_inbound_address_and_the_old_one_stops_answering(
    world, connected, login_as, client
):
    old_secret = connected.inbound_secret

    response = login_as("a:owner").post(reverse("cabinet:lead_crm_secret_rotate"))

    assert response.status_code == 302
    connected.refresh_from_db()
    assert connected.inbound_secret != old_secret
    assert client.post(f"/hooks/crm/{old_secret}/", {"event": "ONCRMDEALUPDATE"}).status_code == 404
    page = login_as("a:owner").get(reverse("cabinet:lead_crm")).content.decode()
    assert f"/hooks/crm/{connected.inbound_secret}/" in page


@pytest.mark.parametrize("kind", ["500", "limit", "timeout"])
def test_every_failure_of_the_check_call_reads_the_same_and_never_the_portals_text(
    login_as, fake_crm, kind
):
    fake_crm.fail("crm.category.list", kind)

    response = login_as("a:owner").post(URL, {"webhook_url": fake_crm.webhook_url})

    assert field_errors(response, "webhook_url") == [GENERIC_FAILURE]
    body = response.content.decode()
    for remote in ("QUERY_LIMIT_EXCEEDED", "Too many requests", "Internal Server Error", "503"):
        assert remote not in body


def test_a_refused_connection_reads_like_a_portal_that_did_not_answer(login_as, fake_crm):
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()

    response = login_as("a:owner").post(
        URL, {"webhook_url": f"http://127.0.0.1:{port}/rest/1/{TOKEN}/"}
    )

    assert field_errors(response, "webhook_url") == [GENERIC_FAILURE]
    assert "refused" not in response.content.decode().lower()


def test_the_log_shows_our_outcome_never_the_portals_answer_or_the_kind_of_failure(
    login_as, connected
):
    for outcome, status, detail in [
        (CrmCallOutcome.ERROR, 503, "QUERY_LIMIT_EXCEEDED: Too many requests"),
        (CrmCallOutcome.HTTP_ERROR, 502, "HTTP 502: upstream db-7.internal down"),
        (CrmCallOutcome.TIMEOUT, None, "no answer within 10 s"),
        (CrmCallOutcome.NETWORK, None, "ConnectError: [Errno 111] Connection refused"),
    ]:
        CrmCall.objects.create(
            connection=connected,
            method="crm.deal.add",
            outcome=outcome,
            status=status,
            detail=detail,
            duration_ms=10_000 if outcome == CrmCallOutcome.TIMEOUT else 3,
        )

    body = login_as("a:owner").get(URL).content.decode()

    log = body[body.index('id="crm-log"') :]
    assert log.count("Не выполнено") == 4
    assert log.count("Портал не ответил или ответил ошибкой.") == 4
    for remote in (
        "QUERY_LIMIT_EXCEEDED",
        "Too many requests",
        "db-7.internal",
        "503",
        "502",
        "no answer",
        "refused",
        "Нет ответа",
        "Сбой соединения",
        "Ошибка HTTP",
        "Ошибка CRM",
        "10000 мс",
    ):
        assert remote not in log
