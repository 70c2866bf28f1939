"""Vendors never see each other's data (issue 14, break 7).

Given two vendors, each with its own referral program and partners (partner A registered with
vendor 1, partner C with vendor 2), the staff and the API tokens of one vendor get 404 for the
other's partners and never find them in their lists. The URL authorisation table walks every
URL with vendor 2's staff; these tests pin down the referral pages and the API the issue found
open, and the selectors the pages read through.
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from partnerhub.accounts.services import api_token_create
from partnerhub.contracts import services as contract_services
from partnerhub.core import audit, outbox
from partnerhub.core.audit import system_actor
from partnerhub.core.errors import ValidationFailed
from partnerhub.core.models.audit import AuditEvent
from partnerhub.core.models.outbox import DeliveryState, OutboxDelivery, OutboxEvent
from partnerhub.core.outbox import fan_out
from partnerhub.partners import selectors as partner_selectors
from partnerhub.partners import services as partner_services
from partnerhub.partners.models import (
    CounterpartyDocumentKind,
    Enrolment,
    EnrolmentState,
    Organisation,
    ProgramKind,
    StatusGrant,
    StatusKind,
)
from partnerhub.partners.services.catalogues import vendor_catalogues_seed
from partnerhub.referrals.models import StoredEvent
from partnerhub.referrals.selectors import standing as st
from partnerhub.referrals.services.partners import referral_partner_register
from tests.conftest import PARTNER_C_NAME, VENDOR2_NAME
from tests.factories import ProgramFactory
from tests.partners.issue6_factories import pdf_bytes

PARTNER_A_NAME = "ООО «Альфа»"


@pytest.fixture
def two_programs(world) -> dict[str, Any]:
    """Vendor 1's referral program (made first, so it is "the first in the database") with
    partner A registered; vendor 2's with partner C."""
    program = ProgramFactory(vendor=world.vendor, name="Реферальная программа вендора 1")
    a = referral_partner_register(program=program, organisation=world.partner_a, at=timezone.now())
    second = world.vendor2_programs()
    return {"program": program, "a_code": a.code, "vendor2": second}


def token_client(organisation, role: str) -> Client:
    _token, raw = api_token_create(organisation=organisation, name="isolation", role=role)
    return Client(HTTP_AUTHORIZATION=f"Token {raw}")


# --- the back office's referral pages ---------------------------------------------------------


def test_vendor2_staff_list_only_their_own_referral_partners(world, two_programs, login_as):
    response = login_as("vendor2:support").get(reverse("backoffice:referrals"))
    assert response.status_code == 200
    body = response.content.decode()
    assert response.context["program"] == two_programs["vendor2"].referral_program
    assert two_programs["vendor2"].referral_code in body
    assert PARTNER_C_NAME in body
    assert two_programs["a_code"] not in body
    assert PARTNER_A_NAME not in body


def test_vendor1_staff_do_not_see_vendor2_partners(world, two_programs, login_as):
    body = login_as("vendor:support").get(reverse("backoffice:referrals")).content.decode()
    assert two_programs["a_code"] in body
    assert two_programs["vendor2"].referral_code not in body
    assert PARTNER_C_NAME not in body


def test_vendor2_staff_get_404_on_a_partner_of_vendor1(world, two_programs, login_as):
    url = reverse("backoffice:referral_partner", kwargs={"code": two_programs["a_code"]})
    assert login_as("vendor2:support").get(url).status_code == 404
    assert login_as("vendor:support").get(url).status_code == 200


def test_vendor2_cannot_adjust_a_partner_of_vendor1(world, two_programs, login_as):
    url = reverse("backoffice:referral_partner_adjust", kwargs={"code": two_programs["a_code"]})
    response = login_as("vendor2:administrator").post(url, {"points": "15", "reason": "чужой"})
    assert response.status_code == 404
    assert not StoredEvent.objects.filter(type="points.adjusted").exists()


def test_vendor2_export_holds_only_its_own_partners(world, two_programs, login_as):
    response = login_as("vendor2:accountant").get(reverse("backoffice:referral_export"))
    body = b"".join(response.streaming_content).decode()
    assert two_programs["vendor2"].referral_code in body
    assert two_programs["a_code"] not in body
    assert PARTNER_A_NAME not in body


def test_vendor2_staff_without_a_program_see_none_of_vendor1(world, login_as):
    # given only vendor 1 runs a referral program
    program = ProgramFactory(vendor=world.vendor)
    a = referral_partner_register(program=program, organisation=world.partner_a, at=timezone.now())
    # then vendor 2's staff are told they have no program
    response = login_as("vendor2:program_manager").get(reverse("backoffice:referrals"))
    assert response.status_code == 200
    assert response.context["program"] is None
    assert a.code not in response.content.decode()
    for name in ("backoffice:referral_events", "backoffice:referral_unattributed"):
        assert login_as("vendor2:support").get(reverse(name)).context["program"] is None


# --- the API ----------------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ["api:referral_standing", "api:referral_history"])
def test_vendor2_token_gets_404_on_a_partner_of_vendor1(world, two_programs, endpoint):
    url = reverse(endpoint, kwargs={"code": two_programs["a_code"]})
    response = token_client(world.vendor2, "administrator").get(url)
    assert response.status_code == 404
    # the same request with vendor 1's token: the 404 above is scoping, not a broken URL
    assert token_client(world.vendor, "administrator").get(url).status_code == 200


def test_vendor2_staff_session_gets_404_on_a_partner_of_vendor1(world, two_programs, login_as):
    url = reverse("api:referral_standing", kwargs={"code": two_programs["a_code"]})
    assert login_as("vendor2:support").get(url).status_code == 404
    own = reverse("api:referral_standing", kwargs={"code": two_programs["vendor2"].referral_code})
    response = login_as("vendor2:support").get(own)
    assert response.status_code == 200
    assert response.json()["partner"] == two_programs["vendor2"].referral_code


def test_partner_c_token_reads_only_its_own_code(world, two_programs):
    client = token_client(world.partner_c, "owner")
    own = reverse("api:referral_standing", kwargs={"code": two_programs["vendor2"].referral_code})
    assert client.get(own).status_code == 200
    other = reverse("api:referral_standing", kwargs={"code": two_programs["a_code"]})
    assert client.get(other).status_code == 404


def test_events_of_vendor2_go_to_vendor2s_program(world, two_programs):
    event = {
        "id": "v2-p1",
        "type": "partner.registered",
        "at": timezone.now().isoformat(),
        "partner": "V2FILE",
    }
    response = token_client(world.vendor2, "program_manager").post(
        reverse("api:referral_events"), [event], content_type="application/json"
    )
    assert response.status_code == 200, response.content
    stored = StoredEvent.objects.get(event_id="v2-p1")
    assert stored.program == two_programs["vendor2"].referral_program


# --- the selectors ----------------------------------------------------------------------------


def test_program_for_vendor_is_always_one_vendors(world, two_programs):
    assert st.program_for_vendor(vendor=world.vendor) == two_programs["program"]
    assert st.program_for_vendor(vendor=world.vendor2) == two_programs["vendor2"].referral_program
    # another vendor's program code is not found
    assert st.program_for_vendor(vendor=world.vendor2, code=two_programs["program"].code) is None
    with pytest.raises(TypeError):
        st.program_for_vendor()  # type: ignore[call-arg]


def test_a_partner_code_is_found_only_within_the_askers_vendor(world, two_programs):
    assert st.program_of_code(vendor=world.vendor, code=two_programs["a_code"]) is not None
    assert st.program_of_code(vendor=world.vendor2, code=two_programs["a_code"]) is None


def test_the_command_line_needs_one_referral_program(world, two_programs):
    # two vendors run referral programs: the command cannot guess whose events a file holds
    with pytest.raises(CommandError, match="several"):
        call_command("referrals", "recompute")


# --- catalogues of status kinds and counterparty document kinds (each vendor its own) ---------


@pytest.fixture
def media(settings, tmp_path):
    """Uploads go to a fresh storage directory per test."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def enrolled_with_both(world) -> Organisation:
    """Partner A enrolled with vendor 1 (a leads program) and with vendor 2 (its referral
    program); vendor 2 has its own catalogues of kinds (the world's vendor 2 starts empty)."""
    vendor_catalogues_seed(vendor=world.vendor2)
    mine = ProgramFactory(vendor=world.vendor, name="Программа вендора 1", kind=ProgramKind.LEADS)
    theirs = world.vendor2_programs().referral_program
    for program in (mine, theirs):
        Enrolment.objects.create(
            organisation=world.partner_a, program=program, state=EnrolmentState.ACTIVE
        )
    return world.partner_a


def test_vendor2_staff_do_not_see_vendor1s_status_kinds(world, login_as):
    login_as("vendor:administrator").post(
        reverse("backoffice:status_kind_add"), {"code": "gold", "name": "Золотой партнёр"}
    )
    page = login_as("vendor2:support").get(reverse("backoffice:status_kinds"))
    assert page.status_code == 200
    assert "Золотой партнёр" not in page.content.decode()
    assert "Франчайзи" not in page.content.decode()  # vendor 1's seeded kinds neither
    assert list(page.context["kinds"]) == []


def test_vendor2_adds_a_status_kind_to_its_own_catalogue_even_with_vendor1s_code(world, login_as):
    login_as("vendor:administrator").post(
        reverse("backoffice:status_kind_add"), {"code": "gold", "name": "Золотой партнёр"}
    )
    response = login_as("vendor2:administrator").post(
        reverse("backoffice:status_kind_add"), {"code": "gold", "name": "Золото вендора 2"}
    )
    assert response.status_code == 302
    assert StatusKind.objects.get(vendor=world.vendor2, code="gold").name == "Золото вендора 2"
    assert StatusKind.objects.get(vendor=world.vendor, code="gold").name == "Золотой партнёр"
    page = login_as("vendor:support").get(reverse("backoffice:status_kinds")).content.decode()
    assert "Золото вендора 2" not in page


def test_vendor2_cannot_grant_a_status_kind_of_vendor1(world, login_as):
    partner_c = world.partner_c
    world.vendor2_programs()
    foreign = StatusKind.objects.get(vendor=world.vendor, code="franchisee")
    response = login_as("vendor2:administrator").post(
        reverse("backoffice:partner_status_grant", kwargs={"pk": partner_c.pk}),
        {"status": foreign.pk, "valid_from": "2026-01-01"},
    )
    assert response.status_code == 400
    assert not StatusGrant.objects.filter(organisation=partner_c).exists()
    # the grant form offers vendor 2's kinds only
    page = login_as("vendor2:administrator").get(
        reverse("backoffice:partner_statuses", kwargs={"pk": partner_c.pk})
    )
    assert list(page.context["form"].fields["status"].queryset) == []


def test_the_grant_service_refuses_another_vendors_kind(world):
    foreign = StatusKind.objects.get(vendor=world.vendor, code="franchisee")
    with pytest.raises(ValidationFailed) as refused:
        partner_services.status_grant(
            organisation=world.partner_c,
            status=foreign,
            valid_from=dt.date(2026, 1, 1),
            vendor=world.vendor2,
        )
    assert "status" in refused.value.fields


def test_vendor2_staff_do_not_see_or_add_over_vendor1s_document_kinds(world, login_as):
    login_as("vendor:administrator").post(
        reverse("backoffice:counterparty_document_kind_add"),
        {"code": "bank-letter", "name": "Письмо банка", "applies_to": "both", "position": 50},
    )
    page = login_as("vendor2:administrator").get(reverse("backoffice:counterparty_document_kinds"))
    body = page.content.decode()
    assert "Письмо банка" not in body and "Выписка из ЕГРЮЛ/ЕГРИП" not in body
    response = login_as("vendor2:administrator").post(
        reverse("backoffice:counterparty_document_kind_add"),
        {
            "code": "bank-letter",
            "name": "Письмо банка вендора 2",
            "applies_to": "both",
            "position": 50,
        },
    )
    assert response.status_code == 302
    assert CounterpartyDocumentKind.objects.filter(code="bank-letter").count() == 2
    mine = login_as("vendor:administrator").get(reverse("backoffice:counterparty_document_kinds"))
    assert "Письмо банка вендора 2" not in mine.content.decode()


def test_a_partner_of_two_vendors_is_asked_each_vendors_documents(world, login_as, media):
    partner = enrolled_with_both(world)
    rows = partner_selectors.counterparty_documents_of(organisation=partner)
    assert [(r.kind.vendor_id, r.kind.code) for r in rows if r.kind.required] == sorted(
        [
            (world.vendor.pk, "registration-certificate"),
            (world.vendor.pk, "registry-extract"),
            (world.vendor2.pk, "registration-certificate"),
            (world.vendor2.pk, "registry-extract"),
        ],
        key=lambda pair: (pair[0] != world.vendor.pk, pair[1]),
    )
    page = login_as("a:owner").get(reverse("cabinet:counterparty_documents")).content.decode()
    assert f"Запрашивает {VENDOR2_NAME}" in page.replace("&laquo;", "«").replace("&raquo;", "»")
    # partner C (vendor 2 only) is asked vendor 2's documents only
    world.vendor2_programs()
    only = partner_selectors.counterparty_document_kinds_for(organisation=world.partner_c)
    assert {kind.vendor_id for kind in only} == {world.vendor2.pk}


def test_vendor2_does_not_see_or_review_an_upload_for_vendor1s_kind(world, login_as, media):
    partner = enrolled_with_both(world)
    kind = CounterpartyDocumentKind.objects.get(
        vendor=world.vendor, code="registration-certificate"
    )
    document = partner_services.counterparty_document_upload(
        organisation=partner,
        kind=kind,
        upload=io.BytesIO(pdf_bytes()),
        name="ogrn.pdf",
    )
    queue = login_as("vendor2:program_manager").get(reverse("backoffice:counterparty_documents"))
    assert list(queue.context["page"].object_list) == []
    download = reverse("backoffice:counterparty_document_download", kwargs={"pk": document.pk})
    assert login_as("vendor2:program_manager").get(download).status_code == 404
    assert login_as("vendor:program_manager").get(download).status_code == 200
    review = reverse("backoffice:counterparty_document_review", kwargs={"pk": document.pk})
    response = login_as("vendor2:administrator").post(review, {"decision": "accept"})
    assert response.status_code == 404
    document.refresh_from_db()
    assert document.state == "under_review"
    # vendor 2's view of the partner's documents: its own kinds, nothing uploaded yet
    assert not partner_selectors.counterparty_documents_uploaded(
        organisation=partner, vendor=world.vendor2
    )


# --- status grants (each vendor sees and ends the grants of its own kinds) -------------------


def test_vendor2_does_not_see_vendor1s_status_grants_of_a_shared_partner(world, login_as):
    partner = enrolled_with_both(world)
    partner_services.status_grant(
        organisation=partner,
        status=StatusKind.objects.get(vendor=world.vendor, code="franchisee"),
        valid_from=dt.date(2026, 1, 1),
        note="грант вендора 1",
    )
    partner_services.status_grant(
        organisation=partner,
        status=StatusKind.objects.get(vendor=world.vendor2, code="csk"),
        valid_from=dt.date(2026, 1, 1),
        note="грант вендора 2",
    )
    statuses = reverse("backoffice:partner_statuses", kwargs={"pk": partner.pk})
    detail = reverse("backoffice:partner_detail", kwargs={"pk": partner.pk})
    for url in (statuses, detail):
        body = login_as("vendor2:support").get(url).content.decode()
        assert "1С:ЦСК" in body
        assert "Франчайзи" not in body and "грант вендора 1" not in body
        mine = login_as("vendor:support").get(url).content.decode()
        assert "Франчайзи" in mine and "1С:ЦСК" not in mine
    # the partner itself sees both vendors' statuses on its card
    card = login_as("a:owner").get(reverse("cabinet:card")).content.decode()
    assert "Франчайзи" in card and "1С:ЦСК" in card


def test_vendor2_cannot_end_vendor1s_grant_of_a_shared_partner(world, login_as):
    partner = enrolled_with_both(world)
    grant = partner_services.status_grant(
        organisation=partner,
        status=StatusKind.objects.get(vendor=world.vendor, code="franchisee"),
        valid_from=dt.date(2026, 1, 1),
    )
    url = reverse("backoffice:partner_status_end", kwargs={"pk": grant.pk})
    response = login_as("vendor2:administrator").post(url, {"on": "2026-03-31"})
    assert response.status_code == 404
    grant.refresh_from_db()
    assert grant.valid_until is None
    assert login_as("vendor:administrator").post(url, {"on": "2026-03-31"}).status_code == 302


# --- audit rows and outbox events carry the vendor whose programs they concern ---------------


def vendor1_enrolment_suspended(world) -> Enrolment:
    """Partner A (enrolled with both vendors) has its enrolment in vendor 1's program suspended
    by vendor 1's staff: an audit row and an outbox event about vendor 1's program."""
    partner = enrolled_with_both(world)
    enrolment = Enrolment.objects.get(organisation=partner, program__vendor=world.vendor)
    return partner_services.enrolment_transition(
        enrolment=enrolment, to=EnrolmentState.SUSPENDED, reason="проверка", by=None
    )


def audit_rows_seen(client: Client, **params: str) -> list[AuditEvent]:
    response = client.get(reverse("backoffice:audit_log"), params)
    assert response.status_code == 200
    return list(response.context["page"].object_list)


def outbox_events_seen(client: Client) -> set[Any]:
    response = client.get(reverse("backoffice:outbox"))
    assert response.status_code == 200
    return {row.event_id for row in response.context["page"].object_list}


def test_vendor2_audit_page_hides_vendor1s_enrolment_rows_of_a_shared_partner(world, login_as):
    enrolment = vendor1_enrolment_suspended(world)
    row = AuditEvent.objects.get(action="partners.enrolment.suspended", object_id=enrolment.pk)
    assert row.vendor_id == world.vendor.pk
    assert row not in audit_rows_seen(login_as("vendor2:administrator"))
    assert row in audit_rows_seen(login_as("vendor:administrator"))
    # vendor 2 still sees the rows of its own programs (partner A's and C's registration in its
    # referral program, marked with its id through the referral partner's program)
    own = list(AuditEvent.objects.filter(vendor_id=world.vendor2.pk))
    seen = audit_rows_seen(login_as("vendor2:administrator"))
    assert own and all(r in seen for r in own)


def test_vendor2_audit_page_hides_vendor1s_contract_of_a_shared_partner(world, login_as):
    partner = enrolled_with_both(world)
    program = Enrolment.objects.get(organisation=partner, program__vendor=world.vendor).program
    contract = contract_services.contract_start(organisation=partner, program=program)
    row = AuditEvent.objects.get(action="contracts.contract.created", object_id=contract.pk)
    assert row.vendor_id == world.vendor.pk
    assert row not in audit_rows_seen(login_as("vendor2:administrator"))
    assert row in audit_rows_seen(login_as("vendor:administrator"))


def test_vendor2_outbox_page_hides_vendor1s_enrolment_event_of_a_shared_partner(world, login_as):
    enrolment = vendor1_enrolment_suspended(world)
    event = OutboxEvent.objects.get(
        event_type="partners.enrolment.suspended", payload__id=enrolment.pk
    )
    assert event.vendor_id == world.vendor.pk
    fan_out(event.pk)  # the worker's fan-out after commit
    assert event.deliveries.exists()  # the page lists deliveries: there is one to hide
    assert event.pk not in outbox_events_seen(login_as("vendor2:administrator"))
    assert event.pk in outbox_events_seen(login_as("vendor:administrator"))
    delivery = event.deliveries.first()
    OutboxDelivery.objects.filter(pk=delivery.pk).update(state=DeliveryState.DEAD)
    retry = reverse("backoffice:outbox_retry", kwargs={"pk": delivery.pk})
    assert login_as("vendor2:administrator").post(retry).status_code == 404


def test_a_system_audit_row_with_vendor1s_id_shows_to_vendor1_only(world, login_as):
    with system_actor("payouts.monthly"):
        row = audit.record(action="payouts.run.finished", vendor_id=world.vendor.pk)
    assert row.organisation_id is None and row.actor_organisation_id is None
    assert row in audit_rows_seen(login_as("vendor:administrator"))
    assert row not in audit_rows_seen(login_as("vendor2:administrator"))
    # a system row of no vendor and no organisation is still no vendor's
    with system_actor("cleanup"):
        anonymous = audit.record(action="core.cleanup.finished")
    assert anonymous not in audit_rows_seen(login_as("vendor:administrator"))


def test_outbox_events_of_no_organisation_show_to_their_vendor_or_to_every_vendor(world, login_as):
    with transaction.atomic():
        mine = outbox.emit("payouts.run.finished", {"n": 1}, vendor_id=world.vendor.pk)
        platform = outbox.emit("core.calendar.updated", {"n": 2})
    for event in (mine, platform):  # no handler targets them here: give each a delivery row
        OutboxDelivery.objects.get_or_create(event=event, handler="test.recorder")
    seen1 = outbox_events_seen(login_as("vendor:administrator"))
    seen2 = outbox_events_seen(login_as("vendor2:administrator"))
    assert mine.pk in seen1 and mine.pk not in seen2
    assert platform.pk in seen1 and platform.pk in seen2
