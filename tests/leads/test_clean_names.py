"""Lead and deal names carry no bidi controls or invisible characters (issue 14, item 6)."""

from __future__ import annotations

import json

from django.test import Client
from django.urls import reverse

from partnerhub.accounts.services import api_token_create
from partnerhub.leads import services
from partnerhub.leads.models import Lead
from tests.leads.factories import make_lead

RLO = "\u202e"


def test_the_leads_api_stores_names_without_the_override(world, program):
    _token, raw = api_token_create(organisation=world.vendor, name="site", role="program_manager")
    body = {
        "program": program.code,
        "company_name": f"ООО «Ромашка{RLO}»",
        "region": "77",
        "company_size": "medium",
        "need": "crm",
        "contact_name": f"\u200bОльга{RLO} Смирнова\u200d",
        "contact_phone": "8 (926) 555-44-33",
    }

    response = Client(HTTP_AUTHORIZATION=f"Token {raw}").post(
        reverse("api:leads"), json.dumps(body), content_type="application/json"
    )

    assert response.status_code == 201, response.content
    lead = Lead.objects.get(pk=response.json()["id"])
    assert lead.company_name == "ООО «Ромашка»"
    assert lead.contact_name == "Ольга Смирнова"


def test_a_lead_whose_company_name_is_only_controls_is_refused(world, program):
    _token, raw = api_token_create(organisation=world.vendor, name="site", role="program_manager")
    body = {
        "program": program.code,
        "company_name": f"{RLO}\u200f",
        "region": "77",
        "company_size": "medium",
        "need": "crm",
        "contact_name": "Ольга Смирнова",
        "contact_phone": "8 (926) 555-44-33",
    }

    response = Client(HTTP_AUTHORIZATION=f"Token {raw}").post(
        reverse("api:leads"), json.dumps(body), content_type="application/json"
    )

    assert response.status_code == 400
    assert "company_name" in response.content.decode()
    assert not Lead.objects.exists()


def test_the_deal_keeps_names_without_the_override(world, program):
    lead = make_lead(program)
    deal = services.lead_take(lead=lead, organisation=world.partner_a)

    services.deal_update(
        deal=deal,
        by=None,
        company_name=f"ООО {RLO}атеБ",
        contact_name="Пётр\u2066 Сидоров\u2069",
        contact_position=f"{RLO}Директор",
    )

    deal.refresh_from_db()
    assert (deal.company_name, deal.contact_name, deal.contact_position) == (
        "ООО атеБ",
        "Пётр Сидоров",
        "Директор",
    )
