"""The audit log: rows written by the services in their own transaction, with the actor (user, API
token, system task), IP and request id of the request; the back office page; the read-only admin."""

import datetime as dt
import json
import uuid

import pytest
import time_machine
from django.db import transaction
from django.test import Client

from partnerhub.accounts import services as account_services
from partnerhub.core.audit import Actor, record, system_actor
from partnerhub.core.models.audit import AuditEvent, AuditEventError
from partnerhub.partners import services
from tests.factories import PASSWORD, ProgramFactory

MSK = dt.timezone(dt.timedelta(hours=3))


def token_client(org, *, name="crm", role="owner"):
    _token, raw = account_services.api_token_create(organisation=org, name=name, role=role)
    return Client(HTTP_AUTHORIZATION=f"Token {raw}")


def card_update(org, **changes):
    return services.card_update(organisation=org, changes=changes, changed_by=None, source="api")


# --- who, from where --------------------------------------------------------------------------


def test_a_card_change_by_a_user_records_the_user_the_ip_the_request_id_and_only_changed_fields(
    world, login_as
):
    client = login_as("a:owner")
    response = client.patch(
        "/api/v1/card/",
        {"kpp": "773601001", "short_name": "ООО «Альфа»"},
        content_type="application/json",
        HTTP_X_REQUEST_ID="req-42.a",
        REMOTE_ADDR="203.0.113.7",
    )
    assert response.status_code == 200, response.json()
    assert response["X-Request-ID"] == "req-42.a"
    event = AuditEvent.objects.get(action="partner.card.updated")
    assert event.actor_kind == "user"
    assert event.actor_user == world.user("a:owner")
    assert (event.actor_organisation_id, event.actor_label) == (
        world.partner_a.pk,
        "owner@a.example",
    )
    assert (event.ip, event.request_id) == ("203.0.113.7", "req-42.a")
    assert (event.object_type, event.object_id) == (
        "partners.organisation",
        str(world.partner_a.pk),
    )
    assert event.organisation_id == world.partner_a.pk
    assert (event.before, event.after) == ({"kpp": ""}, {"kpp": "773601001"})


def test_a_card_change_by_an_api_token_records_the_token(world):
    token, raw = account_services.api_token_create(organisation=world.partner_b, name="crm")
    response = Client().patch(
        "/api/v1/card/",
        {"kpp": "773601001"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {raw}",
    )
    assert response.status_code == 200
    event = AuditEvent.objects.get(action="partner.card.updated")
    assert (event.actor_kind, event.actor_token_id, event.actor_user) == ("token", token.pk, None)
    assert event.actor_organisation_id == world.partner_b.pk
    assert event.actor_label == "API token crm"
    assert event.request_id == response["X-Request-ID"]


@pytest.mark.django_db
def test_work_inside_system_actor_is_recorded_as_that_system_task(world):
    with system_actor("card-import"):
        card_update(world.partner_a, kpp="773601001")
        card_update(world.partner_b, kpp="773601001")
    first, second = AuditEvent.objects.filter(action="partner.card.updated").order_by("id")
    assert (first.actor_kind, first.actor_label, first.actor_user) == (
        "system",
        "card-import",
        None,
    )
    assert first.ip is None
    assert first.request_id == second.request_id  # one run, one id
    assert uuid.UUID(first.request_id)


@pytest.mark.django_db
def test_a_service_called_outside_any_request_or_task_is_recorded_as_the_system(world):
    card_update(world.partner_a, kpp="773601001")
    event = AuditEvent.objects.get(action="partner.card.updated")
    assert (event.actor_kind, event.actor_label, event.request_id) == ("system", "", "")


def test_an_unsafe_request_id_is_replaced_by_a_new_uuid(world):
    response = token_client(world.partner_a).patch(
        "/api/v1/card/",
        {"kpp": "773601001"},
        content_type="application/json",
        HTTP_X_REQUEST_ID="<script>alert(1)</script>",
    )
    request_id = response["X-Request-ID"]
    assert uuid.UUID(request_id).version == 4
    assert AuditEvent.objects.get(action="partner.card.updated").request_id == request_id


@pytest.mark.django_db
def test_every_response_gets_its_own_request_id(client):
    first = client.get("/accounts/login/")["X-Request-ID"]
    second = client.get("/accounts/login/")["X-Request-ID"]
    assert uuid.UUID(first) != uuid.UUID(second)


@pytest.mark.django_db
def test_joining_through_the_public_form_is_recorded_as_the_new_owner(client):
    form = {
        "legal_form": "ul",
        "name": "ООО «Ромашка»",
        "inn": "7707083893",
        "contact_name": "Иван Петров",
        "email": "ivan@romashka.example",
        "phone": "+7 495 123-45-67",
        "password": "Strong-pass-2026!",
    }
    response = client.post("/join/", form, REMOTE_ADDR="198.51.100.4")
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="partner.joined")
    assert (event.actor_kind, event.actor_label) == ("user", "ivan@romashka.example")
    assert event.organisation_id == event.actor_organisation_id
    assert event.after == {
        "legal_form": "ul",
        "short_name": "ООО «Ромашка»",
        "inn": "7707083893",
        "owner": "ivan@romashka.example",
    }
    assert (event.ip, event.request_id) == ("198.51.100.4", response["X-Request-ID"])


# --- the services that write audit rows -------------------------------------------------------


@pytest.mark.django_db
def test_an_invitation_is_recorded_with_who_invited(world):
    invitation, _raw = account_services.invitation_create(
        organisation=world.partner_a,
        email="new@a.example",
        role="manager",
        invited_by=world.user("a:owner"),
    )
    event = AuditEvent.objects.get(action="accounts.invitation.created")
    assert (event.object_type, event.object_id) == ("accounts.invitation", str(invitation.pk))
    assert event.actor_user == world.user("a:owner")
    assert event.organisation_id == world.partner_a.pk
    assert (event.after["email"], event.after["role"]) == ("new@a.example", "manager")


@pytest.mark.django_db
def test_accepting_an_invitation_is_recorded_as_the_new_employee(world):
    invitation, raw = account_services.invitation_create(
        organisation=world.partner_a, email="new@a.example", role="manager", invited_by=None
    )
    user = account_services.invitation_accept(
        raw_token=raw, full_name="Новый Сотрудник", password=PASSWORD
    )
    event = AuditEvent.objects.get(action="accounts.invitation.accepted")
    assert (event.actor_kind, event.actor_user) == ("user", user)
    assert event.object_id == str(invitation.pk)
    assert event.after == {"user_id": user.pk, "email": "new@a.example", "role": "manager"}


@pytest.mark.django_db
def test_revoking_an_invitation_is_recorded(world):
    invitation, _raw = account_services.invitation_create(
        organisation=world.partner_a, email="new@a.example", role="manager", invited_by=None
    )
    account_services.invitation_revoke(organisation=world.partner_a, invitation_id=invitation.pk)
    event = AuditEvent.objects.get(action="accounts.invitation.revoked")
    assert (event.before, event.after["state"]) == ({"state": "pending"}, "revoked")
    assert event.organisation_id == world.partner_a.pk


@pytest.mark.django_db
def test_api_token_creation_and_revocation_are_recorded_without_the_key(world):
    token, raw = account_services.api_token_create(
        organisation=world.partner_a, name="crm", created_by=world.user("a:owner")
    )
    account_services.api_token_revoke(organisation=world.partner_a, token_id=token.pk)
    created = AuditEvent.objects.get(action="accounts.api_token.created")
    revoked = AuditEvent.objects.get(action="accounts.api_token.revoked")
    assert created.after == {"name": "crm", "role": "owner", "prefix": raw[:10]}
    assert created.actor_user == world.user("a:owner")
    assert revoked.object_id == created.object_id == str(token.pk)
    stored = json.dumps([created.before, created.after, revoked.before, revoked.after])
    assert raw not in stored


@pytest.mark.django_db
def test_an_application_to_a_program_is_recorded(world):
    enrolment = services.enrolment_apply(
        organisation=world.partner_a, program=ProgramFactory(vendor=world.vendor)
    )
    event = AuditEvent.objects.get(action="partners.enrolment.created")
    assert (event.object_id, event.after) == (str(enrolment.pk), {"state": "applied"})
    assert event.organisation_id == world.partner_a.pk


# --- one transaction, an immutable log --------------------------------------------------------


@pytest.mark.django_db
def test_an_audit_row_is_rolled_back_with_the_transaction_that_wrote_it(world):
    with pytest.raises(RuntimeError), transaction.atomic():
        card_update(world.partner_a, kpp="773601001")
        assert AuditEvent.objects.filter(action="partner.card.updated").count() == 1
        raise RuntimeError("the surrounding use case fails after the card change")
    assert not AuditEvent.objects.filter(action="partner.card.updated").exists()
    world.partner_a.refresh_from_db()
    assert world.partner_a.kpp == ""


@pytest.mark.django_db
def test_a_refused_service_leaves_no_audit_row(world):
    with pytest.raises(Exception, match="Проверьте"):
        card_update(world.partner_a, kpp="123")
    assert not AuditEvent.objects.exists()


@pytest.mark.django_db
def test_an_audit_row_is_never_changed_or_deleted(world):
    event = record(action="partner.card.updated", obj=world.partner_a, after={"kpp": "1"})
    event.after = {"kpp": "2"}
    with pytest.raises(AuditEventError):
        event.save()
    with pytest.raises(AuditEventError):
        event.delete()
    assert AuditEvent.objects.get().after == {"kpp": "1"}


@pytest.mark.django_db
def test_an_action_must_be_a_dotted_slug(world):
    with pytest.raises(ValueError, match="dotted"):
        record(action="Card updated", obj=world.partner_a)
    assert not AuditEvent.objects.exists()


# --- the back office page ---------------------------------------------------------------------


@pytest.fixture
def three_events(world):
    """Events of two partners by a user, a token and a system task on 1, 5 and 10 March 2026."""
    owner = world.user("a:owner")
    token = Actor(kind="token", label="API token crm", organisation_id=world.partner_b.pk)
    with time_machine.travel(dt.datetime(2026, 3, 1, 10, 0, tzinfo=MSK), tick=False):
        record(action="partner.card.updated", obj=world.partner_a, actor=owner)
    with time_machine.travel(dt.datetime(2026, 3, 5, 12, 0, tzinfo=MSK), tick=False):
        record(
            action="partner.joined",
            obj=world.partner_b,
            organisation_id=world.partner_b.pk,
            actor=token,
        )
    # 00:30 in Moscow on 10 March is still 9 March in UTC: the filter goes by Moscow dates.
    with time_machine.travel(dt.datetime(2026, 3, 10, 0, 30, tzinfo=MSK), tick=False):
        record(action="accounts.invitation.created", obj=owner, actor=Actor(kind="system"))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["accounts.invitation.created", "partner.joined", "partner.card.updated"]),
        ("action=partner.", ["partner.joined", "partner.card.updated"]),
        ("organisation={b}", ["partner.joined"]),
        ("object_type=accounts.user", ["accounts.invitation.created"]),
        ("actor=OWNER@a", ["partner.card.updated"]),
        ("date_from=2026-03-02&date_to=2026-03-09", ["partner.joined"]),
        ("date_from=2026-03-10", ["accounts.invitation.created"]),
    ],
)
def test_the_back_office_filters_the_log(world, three_events, login_as, query, expected):
    query = query.format(b=world.partner_b.pk)
    response = login_as("vendor:support").get(f"/backoffice/audit/?{query}")
    assert response.status_code == 200
    assert [event.action for event in response.context["page"]] == expected


def test_a_bad_filter_is_named_and_shows_no_rows(world, three_events, login_as):
    response = login_as("vendor:support").get(
        "/backoffice/audit/?date_from=2026-03-09&date_to=2026-03-01"
    )
    assert response.status_code == 400
    assert "Дата «по» раньше даты «с»." in response.content.decode()
    assert list(response.context["page"]) == []


def test_the_back_office_shows_who_what_and_the_change(world, login_as):
    card_update(world.partner_a, kpp="773601001", vat_payer=True)
    page = login_as("vendor:administrator").get("/backoffice/audit/").content.decode()
    assert "partner.card.updated" in page
    assert "ООО «Альфа»" in page
    assert "<strong>kpp</strong>: — → 773601001" in page
    assert "<strong>vat_payer</strong>: нет → да" in page


def test_the_back_office_page_does_not_query_per_row(
    world, login_as, django_assert_max_num_queries
):
    owner = world.user("a:owner")
    for _ in range(25):
        record(action="partner.card.updated", obj=world.partner_a, actor=owner)
    client = login_as("vendor:program_manager")
    client.get("/backoffice/audit/")  # warm the session
    with django_assert_max_num_queries(8):
        response = client.get("/backoffice/audit/")
    assert len(response.context["page"]) == 25


def test_the_next_page_link_keeps_the_filters(world, login_as):
    for _ in range(30):
        record(
            action="partner.card.updated", obj=world.partner_a, organisation_id=world.partner_a.pk
        )
    page = login_as("vendor:support").get("/backoffice/audit/?action=partner.card").content
    assert b'href="?action=partner.card&amp;page=2"' in page


def test_the_menu_links_the_log_for_the_staff_who_may_open_it(world, login_as):
    link = 'href="/backoffice/audit/"'
    assert link in login_as("vendor:support").get("/backoffice/").content.decode()
    assert link not in login_as("vendor:accountant").get("/backoffice/").content.decode()


# --- the admin --------------------------------------------------------------------------------


def test_the_admin_shows_the_log_read_only(world, login_as):
    event = record(action="partner.card.updated", obj=world.partner_a, after={"kpp": "1"})
    client = login_as("vendor:administrator")
    base = "/admin/core/auditevent/"
    assert "partner.card.updated" in client.get(base).content.decode()
    assert client.get(f"{base}{event.pk}/change/").status_code == 200  # view only
    assert client.get(f"{base}add/").status_code == 403
    assert client.post(f"{base}{event.pk}/change/", {"action": "x.y"}).status_code == 403
    assert client.post(f"{base}{event.pk}/delete/", {"post": "yes"}).status_code == 403
    assert AuditEvent.objects.get().action == "partner.card.updated"
