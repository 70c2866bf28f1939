"""A deal's amount and times from the API and the cabinet's forms (issue 14, break 5):
decimals are range-checked before quantizing, years outside 2000..2100 are refused with a field
error, never a 500; the deal stays unchanged."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.urls import reverse

from partnerhub.leads import services
from partnerhub.leads.models import DealEvent
from tests.leads.factories import make_lead


@pytest.fixture
def deal(world, program):
    deal = services.lead_take(lead=make_lead(program), organisation=world.partner_a)
    services.deal_update(deal=deal, by=None, amount="500.00")
    return deal


def patch(client, deal, body: str):
    url = reverse("api:deal", kwargs={"pk": deal.pk})
    return client.patch(url, body, content_type="application/json")


@pytest.mark.parametrize(
    "body",
    [
        '{"amount": "1e30"}',
        '{"amount": 1e308}',
        '{"amount": "1E+308"}',
        '{"amount": "-1e30"}',
        '{"amount": "NaN"}',
        '{"amount": "sNaN"}',
        '{"amount": "Infinity"}',
        '{"amount": "-Infinity"}',
        '{"amount": 1e400}',
        '{"amount": "1000000000000"}',
        '{"amount": "12.345"}',
        '{"amount": "-5"}',
        '{"amount": "много"}',
    ],
)
def test_a_bad_amount_is_a_400_naming_amount_and_the_deal_is_unchanged(world, deal, login_as, body):
    response = patch(login_as("a:manager"), deal, body)
    assert response.status_code == 400, response.content
    assert list(response.json()["error"]["fields"]) == ["amount"]
    deal.refresh_from_db()
    assert deal.amount == Decimal("500.00")


def test_the_largest_amount_is_taken(world, deal, login_as):
    response = patch(login_as("a:manager"), deal, json.dumps({"amount": "999999999999.99"}))
    assert response.status_code == 200
    assert response.json()["amount"] == "999999999999.99"


def test_an_amount_over_the_limit_is_called_too_large(world, deal, login_as):
    response = patch(login_as("a:manager"), deal, '{"amount": "1e30"}')
    assert response.json()["error"]["fields"]["amount"] == ["Слишком большая сумма."]


@pytest.mark.parametrize(
    "moment", ["0001-01-01T00:00:00+14:00", "1999-12-31T23:59:00+03:00", "2101-01-01T00:00:00Z"]
)
def test_a_deal_event_outside_the_years_is_a_400_naming_happened_at(world, deal, login_as, moment):
    url = reverse("api:deal_events", kwargs={"pk": deal.pk})
    body = {"kind": "call", "happened_at": moment, "text": "Созвонились"}
    response = login_as("a:manager").post(url, json.dumps(body), content_type="application/json")
    assert response.status_code == 400, response.content
    assert list(response.json()["error"]["fields"]) == ["happened_at"]
    assert not DealEvent.objects.filter(deal=deal).exists()


def test_a_marketplace_filter_at_year_1_is_a_400_naming_it(world, program, login_as):
    response = login_as("a:owner").get(
        reverse("api:marketplace_leads"), {"published_from": "0001-01-01"}
    )
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["published_from"]


def test_the_cabinet_event_form_at_year_1_is_a_form_error(world, deal, login_as):
    url = reverse("cabinet:deal_event_add", kwargs={"pk": deal.pk})
    response = login_as("a:manager").post(
        url, {"kind": "call", "happened_at": "0001-01-01T00:00", "text": "Звонок"}
    )
    assert response.status_code == 400
    assert "Год должен быть от 2000 до 2100." in response.content.decode()
    assert not DealEvent.objects.filter(deal=deal).exists()


@pytest.mark.parametrize("amount", ["1e30", "NaN", "Infinity", "99999999999999999999"])
def test_the_cabinet_deal_form_refuses_a_bad_amount(world, deal, login_as, amount):
    url = reverse("cabinet:deal_edit", kwargs={"pk": deal.pk})
    response = login_as("a:manager").post(url, {"amount": amount})
    assert response.status_code == 400
    deal.refresh_from_db()
    assert deal.amount == Decimal("500.00")
