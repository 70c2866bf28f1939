"""The HTTP API: organisation, card, employees, the JSON error format and the schema."""

from django.test import Client

from partnerhub.accounts.models import Invitation
from partnerhub.accounts.services import api_token_create
from partnerhub.partners.models import CardChange
from tests.factories import COMPLETE_UL_CARD, UserFactory


def token_client(org, role="owner"):
    _token, raw = api_token_create(organisation=org, name=f"t-{role}", role=role)
    return Client(HTTP_AUTHORIZATION=f"Token {raw}")


def test_current_organisation(world, login_as):
    body = login_as("a:manager").get("/api/v1/organisation/").json()
    assert body["inn"] == world.partner_a.inn
    assert body["kind"] == "partner"


def test_card_read_shows_completeness(world):
    body = token_client(world.partner_a).get("/api/v1/card/").json()
    assert body["inn"] == "7707083893"
    assert body["completeness"]["is_complete"] is False
    assert "kpp" in body["completeness"]["missing"]


def test_card_patch_by_token_completes_the_card_and_keeps_history(world):
    client = token_client(world.partner_a)
    response = client.patch("/api/v1/card/", COMPLETE_UL_CARD, content_type="application/json")
    assert response.status_code == 200, response.json()
    assert response.json()["completeness"] == {
        "is_complete": True,
        "percent": 100,
        "missing": [],
        "invalid": [],
    }
    change = CardChange.objects.get(organisation=world.partner_a, field="kpp")
    assert change.source == "api"
    assert change.actor_label == "API token t-owner"


def test_card_patch_with_bad_numbers_answers_field_errors_and_stores_nothing(world):
    client = token_client(world.partner_a)
    response = client.patch(
        "/api/v1/card/",
        {"inn": "7707083894", "bik": "044525225", "correspondent_account": "30101810400000000226"},
        content_type="application/json",
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert set(error["fields"]) == {"inn", "correspondent_account"}
    world.partner_a.refresh_from_db()
    assert world.partner_a.inn == "7707083893"
    assert world.partner_a.bik == ""


def test_card_patch_with_a_wrong_type_names_the_field(world):
    response = token_client(world.partner_a).patch(
        "/api/v1/card/", {"vat_payer": "maybe"}, content_type="application/json"
    )
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["vat_payer"]


def test_session_writes_need_the_csrf_token(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.user("a:owner"))
    response = client.patch("/api/v1/card/", {"kpp": "773601001"}, content_type="application/json")
    assert response.status_code == 403
    world.partner_a.refresh_from_db()
    assert world.partner_a.kpp == ""


def test_employees_list_is_scoped_and_paginated(world, django_assert_max_num_queries):
    client = token_client(world.partner_a)
    with django_assert_max_num_queries(4):
        body = client.get("/api/v1/employees/").json()
    emails = {row["email"] for row in body["results"]}
    assert body["count"] == 5
    assert emails == {
        f"{role}@a.example" for role in ("owner", "manager", "accountant", "operator", "developer")
    }


def test_owner_invites_by_api(world, django_capture_on_commit_callbacks, mailoutbox):
    client = token_client(world.partner_a)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/v1/employees/",
            {"email": "new@a.example", "role": "accountant"},
            content_type="application/json",
        )
    assert response.status_code == 201, response.json()
    assert Invitation.objects.get().organisation == world.partner_a
    assert [m.to for m in mailoutbox] == [["new@a.example"]]
    assert "/accounts/invitation/" in mailoutbox[0].body


def test_invite_with_a_vendor_role_is_refused_with_the_field(world):
    response = token_client(world.partner_a).post(
        "/api/v1/employees/",
        {"email": "x@a.example", "role": "administrator"},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["role"]
    assert not Invitation.objects.exists()


def test_unknown_api_url_answers_json_404(db, client):
    response = client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_a_bad_token_is_401_with_the_error_body(db, client):
    response = client.get("/api/v1/card/", HTTP_AUTHORIZATION="Token ph_nonsense")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_openapi_schema_lists_the_endpoints(db, client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    assert {"/api/v1/card/", "/api/v1/employees/", "/api/v1/organisation/"} <= set(schema["paths"])


def test_openapi_schema_describes_the_marketplace_and_the_token_without_warnings(db):
    from drf_spectacular.drainage import GENERATOR_STATS
    from drf_spectacular.generators import SchemaGenerator

    GENERATOR_STATS.reset()
    schema = SchemaGenerator().get_schema(request=None, public=True)

    assert not GENERATOR_STATS, "the schema generator warned or failed"
    assert {
        "/api/v1/leads",
        "/api/v1/marketplace/leads",
        "/api/v1/marketplace/leads/{id}/take",
        "/api/v1/deals",
    } <= set(schema["paths"])
    assert schema["components"]["securitySchemes"]["apiToken"]["scheme"] == "bearer"


def test_deactivated_user_loses_the_api(world):
    user = UserFactory(organisation=world.partner_a, is_active=False)
    client = Client()
    client.force_login(user)
    assert client.get("/api/v1/card/").status_code in (401, 403)
