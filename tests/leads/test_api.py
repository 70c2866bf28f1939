"""The lead-marketplace API (issue 7, parts 2-5; spec leads.md): leads from the vendor's systems,
the marketplace list with masked contacts, the take, the partner's deals. Contacts of an untaken
lead are in no response (checked in the raw JSON text)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.test import Client
from django.urls import reverse

from partnerhub.accounts.services import api_token_create
from partnerhub.core import clock
from partnerhub.leads import services
from partnerhub.leads.models import ContactReveal, Deal, Lead, MarketplaceAccess, PageState
from tests.leads.factories import (
    CONTACT_EMAIL,
    CONTACT_NAME,
    CONTACT_PHONE,
    lead_program,
    make_lead,
)

#: The untaken lead's contacts: none of them may appear in a response before a take.
SECRET_NAME = "Пётр Сидоров"
SECRET_PHONE = "+79031112233"
SECRET_EMAIL = "p.sidorov@untaken.example"


def _token_client(organisation, role: str) -> Client:
    _token, raw = api_token_create(organisation=organisation, name=f"crm-{role}", role=role)
    return Client(HTTP_AUTHORIZATION=f"Token {raw}")


def _post(client: Client, url: str, body: dict | None = None, key: str | None = None):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post(url, json.dumps(body or {}), content_type="application/json", **headers)


def _assert_no_secret(text: str) -> None:
    for secret in (SECRET_NAME, SECRET_PHONE, SECRET_PHONE[2:], "903 111", SECRET_EMAIL):
        assert secret not in text, secret
    assert "Сидоров" not in text and "sidorov" not in text


@pytest.fixture
def untaken(program):
    return make_lead(
        program,
        company_name="ООО «Свободная»",
        contact_name=SECRET_NAME,
        contact_phone=SECRET_PHONE,
        contact_email=SECRET_EMAIL,
    )


LEAD_BODY = {
    "company_name": "ООО «Ромашка»",
    "region": "77",
    "company_size": "medium",
    "need": "crm",
    "description": "CRM для 120 сотрудников",
    "contact_name": "Ольга Смирнова",
    "contact_phone": "8 (926) 555-44-33",
    "contact_email": "o.smirnova@romashka.example",
    "external_id": "SITE-42",
}


# --- POST /api/v1/leads ------------------------------------------------------------------------


def test_vendor_token_posts_a_lead_and_gets_it_with_contacts(world, program):
    client = _token_client(world.vendor, "program_manager")
    response = _post(client, reverse("api:leads"), {"program": program.code, **LEAD_BODY}, "k1")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["contact_phone"] == "+79265554433"
    assert body["source"] == "api" and body["region"] == "77"
    assert Lead.objects.get(pk=body["id"]).external_id == "SITE-42"


def test_the_same_idempotency_key_returns_the_first_lead(world, program):
    client = _token_client(world.vendor, "administrator")
    body = {"program": program.code, **LEAD_BODY}
    first = _post(client, reverse("api:leads"), body, "same-key")
    again = _post(client, reverse("api:leads"), body, "same-key")
    assert again.status_code == 201 and again.json()["id"] == first.json()["id"]
    assert again["Idempotency-Replayed"] == "true"
    assert Lead.objects.count() == 1


def test_the_same_external_id_with_another_key_returns_the_first_lead(world, program):
    client = _token_client(world.vendor, "administrator")
    body = {"program": program.code, **LEAD_BODY}
    first = _post(client, reverse("api:leads"), body, "key-1")
    again = _post(client, reverse("api:leads"), body, "key-2")
    assert again.json()["id"] == first.json()["id"]
    assert Lead.objects.count() == 1


def test_bad_lead_fields_are_named(world, program):
    client = _token_client(world.vendor, "administrator")
    body = {**LEAD_BODY, "program": program.code, "contact_phone": "123", "region": "00"}
    response = _post(client, reverse("api:leads"), body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert set(error["fields"]) == {"contact_phone", "region"}


def test_unknown_program_is_named(world, program):
    client = _token_client(world.vendor, "administrator")
    response = _post(client, reverse("api:leads"), {**LEAD_BODY, "program": "nope"})
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["program"]


def test_vendor_support_token_cannot_post_leads(world, program):
    client = _token_client(world.vendor, "support")
    response = _post(client, reverse("api:leads"), {"program": program.code, **LEAD_BODY})
    assert response.status_code == 403


# --- the marketplace list -------------------------------------------------------------------------


def test_marketplace_list_masks_the_contacts(world, program, untaken, login_as):
    response = login_as("a:operator").get(reverse("api:marketplace_leads"))
    assert response.status_code == 200
    _assert_no_secret(response.content.decode())
    row = response.json()["results"][0]
    assert row["contact_phone_masked"] == "+7 *** ***-**-33"
    assert row["can_take"] is True
    assert "take_count" not in row


def test_marketplace_list_hides_contacts_even_when_others_took_the_lead(
    world, program, untaken, login_as
):
    services.lead_take(lead=untaken, organisation=world.partner_b)
    response = login_as("a:owner").get(reverse("api:marketplace_leads"))
    text = response.content.decode()
    _assert_no_secret(text)
    assert "Бета" not in text


def test_marketplace_list_filters(world, program, untaken, login_as):
    spb = make_lead(program, region="78")
    response = login_as("a:owner").get(reverse("api:marketplace_leads"), {"region": "78"})
    assert [r["id"] for r in response.json()["results"]] == [spb.pk]
    today = clock.local_date(clock.now())
    response = login_as("a:owner").get(
        reverse("api:marketplace_leads"),
        {"published_from": str(today + dt.timedelta(days=1))},
    )
    assert response.json()["results"] == []


def test_marketplace_bad_filter_is_named(world, program, login_as):
    response = login_as("a:owner").get(
        reverse("api:marketplace_leads"), {"published_from": "вчера", "company_size": "huge"}
    )
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"published_from", "company_size"}


def test_marketplace_list_queries_are_bounded(
    world, program, login_as, django_assert_max_num_queries
):
    for _ in range(20):
        make_lead(program)
    client = login_as("a:owner")
    with django_assert_max_num_queries(14):
        response = client.get(reverse("api:marketplace_leads"))
    assert response.json()["count"] == 20


# --- the take -----------------------------------------------------------------------------------


def test_take_answers_201_with_the_contacts_and_a_reveal_through_the_api(world, program, untaken):
    client = _token_client(world.partner_a, "manager")
    url = reverse("api:marketplace_lead_take", kwargs={"pk": untaken.pk})
    response = _post(client, url, key="take-1")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["client"] == {
        "contact_name": SECRET_NAME,
        "contact_phone": SECRET_PHONE,
        "contact_email": SECRET_EMAIL,
    }
    assert body["pipeline"] == "Заявки на внедрение"
    reveal = ContactReveal.objects.get(deal_id=body["id"])
    assert reveal.channel == "api"
    assert reveal.user is None and reveal.actor_label.startswith("API token")


def test_take_repeated_with_the_same_key_replays_without_a_second_deal(world, program, untaken):
    client = _token_client(world.partner_a, "owner")
    url = reverse("api:marketplace_lead_take", kwargs={"pk": untaken.pk})
    first = _post(client, url, key="take-once")
    again = _post(client, url, key="take-once")
    assert again.status_code == 201 and again.json()["id"] == first.json()["id"]
    assert Deal.objects.count() == 1


def test_take_again_without_a_key_is_refused_already_taken(world, program, untaken, login_as):
    client = login_as("a:owner")
    url = reverse("api:marketplace_lead_take", kwargs={"pk": untaken.pk})
    assert _post(client, url).status_code == 201
    response = _post(client, url)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "already_taken"


def test_take_at_the_cap_is_refused_with_the_reason(world, program, untaken, login_as):
    for _ in range(3):
        services.lead_take(lead=make_lead(program), organisation=world.partner_a)
    url = reverse("api:marketplace_lead_take", kwargs={"pk": untaken.pk})
    response = _post(login_as("a:owner"), url)
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "open_deal_cap"
    assert "3 из 3" in error["message"]
    _assert_no_secret(response.content.decode())


def test_take_by_an_ineligible_partner_is_refused(world, program, untaken, login_as):
    MarketplaceAccess.objects.filter(organisation=world.partner_a).update(
        page_state=PageState.PENDING
    )
    url = reverse("api:marketplace_lead_take", kwargs={"pk": untaken.pk})
    response = _post(login_as("a:owner"), url)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "not_eligible"
    _assert_no_secret(response.content.decode())


def test_take_of_a_withdrawn_lead_is_refused(world, program, untaken, login_as):
    services.lead_withdraw(lead=untaken, reason="Дубль", by=None)
    url = reverse("api:marketplace_lead_take", kwargs={"pk": untaken.pk})
    response = _post(login_as("a:owner"), url)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "lead_not_open"


def test_take_of_a_lead_of_another_marketplace_is_a_404(world, program, login_as):
    foreign = make_lead(lead_program())
    url = reverse("api:marketplace_lead_take", kwargs={"pk": foreign.pk})
    assert _post(login_as("a:owner"), url).status_code == 404


# --- deals --------------------------------------------------------------------------------------


@pytest.fixture
def deal(world, program):
    return services.lead_take(lead=make_lead(program), organisation=world.partner_a)


def test_deals_list_shows_own_deals_without_contacts_of_others(
    world, program, untaken, deal, login_as, django_assert_max_num_queries
):
    for _ in range(2):
        services.lead_take(lead=make_lead(program), organisation=world.partner_a)
    services.lead_take(lead=untaken, organisation=world.partner_b)
    client = login_as("a:accountant")
    with django_assert_max_num_queries(8):
        response = client.get(reverse("api:deals"))
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    assert {row["lead"]["company_name"] for row in body["results"]} == {"ООО «Строймонтаж»"}
    _assert_no_secret(response.content.decode())


def test_deal_detail_shows_the_contacts_and_writes_a_reveal(world, deal, login_as):
    response = login_as("a:operator").get(reverse("api:deal", kwargs={"pk": deal.pk}))
    assert response.status_code == 200
    assert response.json()["client"] == {
        "contact_name": CONTACT_NAME,
        "contact_phone": CONTACT_PHONE,
        "contact_email": CONTACT_EMAIL,
    }
    reveal = ContactReveal.objects.filter(deal=deal, channel="api").get()
    assert reveal.user == world.user("a:operator")


def test_partner_b_gets_404_for_a_deal_of_a(world, deal, login_as):
    client = login_as("b:owner")
    assert client.get(reverse("api:deal", kwargs={"pk": deal.pk})).status_code == 404
    url = reverse("api:deal_lose", kwargs={"pk": deal.pk})
    assert _post(client, url, {"reason": "price"}).status_code == 404
    deal.refresh_from_db()
    assert deal.is_open
    assert not ContactReveal.objects.filter(organisation=world.partner_b).exists()


def test_deal_is_worked_through_the_api(world, deal, login_as):
    client = login_as("a:manager")
    kwargs = {"pk": deal.pk}
    response = _post(
        client,
        reverse("api:deal_events", kwargs=kwargs),
        {"kind": "call", "happened_at": clock.now().isoformat(), "text": "Созвонились"},
    )
    assert response.status_code == 201, response.content
    response = _post(client, reverse("api:deal_stage", kwargs=kwargs), {"stage": "meeting"})
    assert response.json()["stage"] == "meeting"
    response = client.patch(
        reverse("api:deal", kwargs=kwargs),
        json.dumps({"amount": "99000.00", "services": "Внедрение CRM"}),
        content_type="application/json",
    )
    assert response.status_code == 200 and response.json()["amount"] == "99000.00"
    response = _post(
        client,
        reverse("api:deal_win", kwargs=kwargs),
        {"won_kind": "portal", "won_reference": "romashka.bitrix24.ru"},
    )
    assert response.status_code == 200
    assert response.json()["stage"] == "won" and response.json()["is_open"] is False


def test_win_without_a_valid_portal_is_refused_naming_the_field(world, deal, login_as):
    url = reverse("api:deal_win", kwargs={"pk": deal.pk})
    response = _post(login_as("a:owner"), url, {"won_kind": "portal", "won_reference": "x.ru"})
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["won_reference"]


def test_lose_without_a_reason_is_refused(world, deal, login_as):
    response = _post(login_as("a:owner"), reverse("api:deal_lose", kwargs={"pk": deal.pk}), {})
    assert response.status_code == 400
    assert "reason" in response.json()["error"]["fields"]


def test_a_closed_deal_refuses_stage_changes(world, deal, login_as):
    client = login_as("a:owner")
    _post(client, reverse("api:deal_lose", kwargs={"pk": deal.pk}), {"reason": "price"})
    response = _post(client, reverse("api:deal_stage", kwargs={"pk": deal.pk}), {"stage": "new"})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "deal_closed"


def test_operator_cannot_take_or_write(world, deal, untaken, login_as):
    client = login_as("a:operator")
    take = reverse("api:marketplace_lead_take", kwargs={"pk": untaken.pk})
    assert _post(client, take).status_code == 403
    assert _post(client, reverse("api:deal_stage", kwargs={"pk": deal.pk}), {}).status_code == 403
