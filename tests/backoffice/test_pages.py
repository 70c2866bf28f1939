"""The vendor back office: partner list and card, enrolment decisions."""

from partnerhub.partners.models import Enrolment
from partnerhub.partners.services import enrolment_apply
from tests.factories import ProgramFactory


def test_partner_list_searches_by_inn(world, login_as):
    page = login_as("vendor:support").get("/backoffice/partners/?q=7728").content.decode()
    assert "ООО «Бета»" in page
    assert "ООО «Альфа»" not in page


def test_partner_list_needs_few_queries(world, login_as, django_assert_max_num_queries):
    client = login_as("vendor:support")
    with django_assert_max_num_queries(6):
        client.get("/backoffice/partners/")


def test_program_manager_activates_an_application(world, login_as):
    enrolment = enrolment_apply(
        organisation=world.partner_a, program=ProgramFactory(vendor=world.vendor)
    )
    client = login_as("vendor:program_manager")
    response = client.post(
        f"/backoffice/enrolments/{enrolment.pk}/decide/", {"to": "active"}, follow=True
    )
    assert "Состояние участия изменено." in response.content.decode()
    assert Enrolment.objects.get().state == "active"


def test_rejection_needs_a_reason(world, login_as):
    enrolment = enrolment_apply(
        organisation=world.partner_a, program=ProgramFactory(vendor=world.vendor)
    )
    response = login_as("vendor:administrator").post(
        f"/backoffice/enrolments/{enrolment.pk}/decide/",
        {"to": "rejected", "reason": ""},
        follow=True,
    )
    assert "Укажите причину." in response.content.decode()
    assert Enrolment.objects.get().state == "applied"


def test_dashboard_lists_pending_applications(world, login_as):
    enrolment_apply(
        organisation=world.partner_b,
        program=ProgramFactory(vendor=world.vendor, name="Дистрибуция"),
    )
    page = login_as("vendor:accountant").get("/backoffice/").content.decode()
    assert "ООО «Бета»" in page and "Дистрибуция" in page
