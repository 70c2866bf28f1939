"""The vendor's public site form for clients (issue 7, part 2: "the vendor's site form (a public
page with a honeypot and rate limit)"); ``leads.site_form``."""

from __future__ import annotations

import pytest
from django.test import Client

from partnerhub.leads.models import Lead, LeadProgramSettings, LeadSource
from tests.leads.factories import lead_program

URL = "/leads/request/"


@pytest.fixture
def program(world):
    return lead_program(world.vendor)


def form_data(**overrides: str) -> dict[str, str]:
    data = {
        "company_name": "ООО «Ромашка»",
        "region": "77",
        "company_size": "small",
        "need": "crm",
        "description": "Нужна CRM для отдела продаж.",
        "contact_name": "Иван Петров",
        "contact_phone": "8 (916) 123-45-67",
        "contact_email": "ivan@romashka.example",
        "consent": "on",
        "website": "",
    }
    data.update(overrides)
    return data


def post(data: dict[str, str], ip: str = "203.0.113.10", query: str = ""):
    return Client(REMOTE_ADDR=ip).post(f"{URL}{query}", data)


def test_the_form_is_public_and_lists_active_regions(program):
    page = Client().get(URL).content.decode()

    assert 'name="company_name"' in page
    assert "Республика Татарстан" in page
    assert 'name="consent"' in page


def test_a_client_request_creates_a_normalised_site_lead(program):
    response = post(form_data())

    assert response.status_code == 302
    assert response["Location"] == "/leads/request/thanks/"
    lead = Lead.objects.get()
    assert (lead.program, lead.source) == (program, LeadSource.SITE)
    assert lead.contact_phone == "+79161234567"
    assert lead.source_ip == "203.0.113.10"
    assert lead.region.code == "77"
    assert lead.consent_at is not None  # the client's personal-data consent, with its time


def test_a_filled_honeypot_pretends_success_and_stores_nothing(program):
    response = post(form_data(website="http://spam.example"))

    assert response.status_code == 302
    assert response["Location"] == "/leads/request/thanks/"
    assert Lead.objects.count() == 0


def test_the_sixth_request_in_an_hour_from_one_ip_gets_429(program, settings):
    assert settings.LEAD_FORM_PER_IP_PER_HOUR == 5
    for n in range(5):
        assert post(form_data(contact_phone=f"+7916000000{n}")).status_code == 302

    response = post(form_data(contact_phone="+79160000009"))

    assert response.status_code == 429
    assert "Слишком много заявок" in response.content.decode()
    assert Lead.objects.count() == 5
    assert post(form_data(), ip="203.0.113.99").status_code == 302  # another address still can


def test_a_bad_phone_names_the_field_and_stores_nothing(program):
    response = post(form_data(contact_phone="12345"))

    assert response.status_code == 400
    assert 'data-field="contact_phone"' in response.content.decode()
    assert Lead.objects.count() == 0


def test_no_consent_no_lead(program):
    data = form_data()
    del data["consent"]

    response = post(data)

    assert response.status_code == 400
    assert 'data-field="consent"' in response.content.decode()
    assert Lead.objects.count() == 0


def test_program_code_picks_the_marketplace(world, program):
    other = lead_program(world.vendor)

    post(form_data(), query=f"?program={other.code}")

    assert Lead.objects.get().program == other


def test_a_marketplace_with_the_form_switched_off_does_not_take_requests(program):
    LeadProgramSettings.objects.filter(program=program).update(site_form_enabled=False)

    response = post(form_data())

    assert response.status_code == 404
    assert Lead.objects.count() == 0
