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


def test_the_dashboard_counts_what_waits_for_staff(world, login_as):
    # given a sent application, a document under review, and payouts due today and overdue
    import datetime as dt
    from decimal import Decimal

    from partnerhub.contracts.models import Contract, ContractState
    from partnerhub.core import clock
    from partnerhub.partners import services
    from partnerhub.partners.models import CounterpartyDocumentKind
    from partnerhub.payouts.models import Payout, PayoutState
    from tests.partners.issue6_factories import pdf_bytes, upload_file

    program = ProgramFactory(vendor=world.vendor)
    Contract.objects.create(organisation=world.partner_a, program=program, state=ContractState.SENT)
    services.counterparty_document_upload(
        organisation=world.partner_a,
        kind=CounterpartyDocumentKind.objects.get(
            vendor=world.vendor, code="registration-certificate"
        ),
        upload=upload_file("ogrn.pdf", pdf_bytes()),
        name="ogrn.pdf",
    )
    for key, due_on in (("a", clock.today()), ("b", clock.today() - dt.timedelta(days=3))):
        Payout.objects.create(
            organisation=world.partner_a,
            vendor=world.vendor,
            program=program,
            amount=Decimal("6000.00"),
            idempotency_key=key,
            state=PayoutState.SENT,
            due_on=due_on,
            created_at=clock.now(),
        )

    from partnerhub.leads import services as lead_services
    from tests.leads.factories import lead_program

    lead_services.marketplace_page_submit(
        organisation=world.partner_b,
        program=lead_program(world.vendor),
        url="https://beta.example/vnedrenie",
        by=world.user("b:owner"),
    )

    # when the accountant opens the back office
    page = login_as("vendor:accountant").get("/backoffice/").content.decode()

    # then each waiting thing is counted, with a link to its list
    assert '<strong id="contracts-waiting">1</strong>' in page
    assert '<strong id="documents-waiting">1</strong>' in page
    assert '<strong id="payouts-due-today">1</strong>' in page
    assert '<strong id="payouts-overdue">1</strong>' in page
    assert 'href="/backoffice/payouts/?due=overdue"' in page
    assert '<strong id="pages-waiting">1</strong>' in page
