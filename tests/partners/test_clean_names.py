"""Names staff read carry no bidi controls or invisible characters (issue 14, item 6): the card
(service and API), the join form, employees."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from partnerhub.accounts import services as accounts
from partnerhub.accounts.models import User
from partnerhub.core.errors import ValidationFailed
from partnerhub.partners import services
from partnerhub.partners.models import Organisation
from tests.factories import OrganisationFactory

RLO = "\u202e"  # RIGHT-TO-LEFT OVERRIDE
PDF = "\u202c"  # POP DIRECTIONAL FORMATTING

pytestmark = pytest.mark.django_db


def test_the_card_stores_names_without_bidi_controls():
    org = OrganisationFactory(inn="7707083893")

    services.card_update(
        organisation=org,
        changes={
            "short_name": f"ООО «Бета{RLO}gpj.exe{PDF}»",
            "full_name": "\u200bОбщество «Бета»\u200d",
            "director_name": f"Иванов{RLO} И. И.",
        },
        changed_by=None,
        source="api",
    )

    org.refresh_from_db()
    assert org.short_name == "ООО «Бетаgpj.exe»"
    assert org.full_name == "Общество «Бета»"
    assert org.director_name == "Иванов И. И."


def test_a_card_name_of_invisible_characters_only_is_refused():
    org = OrganisationFactory(inn="7707083893", short_name="ООО «Альфа»")

    with pytest.raises(ValidationFailed) as exc:
        services.card_update(
            organisation=org, changes={"short_name": f"{RLO}\u200b"}, changed_by=None, source="api"
        )

    assert "short_name" in exc.value.fields
    org.refresh_from_db()
    assert org.short_name == "ООО «Альфа»"


def test_the_card_api_stores_the_name_without_the_override(world, login_as):
    client = login_as("a:owner")

    response = client.patch(
        "/api/v1/card/",
        json.dumps({"short_name": f"ООО {RLO}атеБ"}),
        content_type="application/json",
    )

    assert response.status_code == 200, response.content
    world.partner_a.refresh_from_db()
    assert world.partner_a.short_name == "ООО атеБ"


def test_the_join_form_stores_names_without_bidi_controls():
    response = Client().post(
        "/join/",
        {
            "legal_form": "ul",
            "name": f"ООО «Ромашка{RLO}»",
            "inn": "7707083893",
            "contact_name": "\u2066Иван Петров\u2069",
            "email": "ivan@romashka.example",
            "phone": "+7 495 123-45-67",
            "password": "Strong-pass-2026!",
        },
    )

    assert response.status_code == 302, response.content.decode()
    org = Organisation.objects.get(inn="7707083893")
    assert org.short_name == org.full_name == "ООО «Ромашка»"
    assert User.objects.get(email="ivan@romashka.example").full_name == "Иван Петров"


def test_the_join_form_refuses_a_name_that_is_only_controls():
    response = Client().post(
        "/join/",
        {
            "legal_form": "ul",
            "name": f"{RLO}{PDF}\u200f",
            "inn": "7707083893",
            "contact_name": "Иван Петров",
            "email": "ivan@romashka.example",
            "phone": "+7 495 123-45-67",
            "password": "Strong-pass-2026!",
        },
    )

    assert response.status_code == 200
    assert response.context["form"].errors
    assert not Organisation.objects.filter(inn="7707083893").exists()


def test_an_employee_name_loses_its_controls():
    org = OrganisationFactory()

    user = accounts.user_create(
        organisation=org,
        email="emp@example.com",
        password=None,
        role="manager",
        full_name=f"Пётр{RLO} Сидоров\u200e",
    )

    assert user.full_name == "Пётр Сидоров"
