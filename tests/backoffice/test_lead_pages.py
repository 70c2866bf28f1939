"""The back office's lead marketplace pages (issue 7, parts 1 and 2): the leads with their
contacts, staff entry, the import's report, a lead's deals and its withdrawal, the review of
partners' pages and the marketplace's settings. All staff read; the program manager and the
administrator change."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from partnerhub.core import clock
from partnerhub.core.models.audit import AuditEvent
from partnerhub.leads import selectors, services
from partnerhub.leads.models import Lead, LeadProgramSettings, LeadState, PageState
from tests.leads.factories import (
    CONTACT_PHONE,
    eligible_partner,
    lead_program,
    make_eligible,
    make_lead,
    make_lead_at,
)

LEADS = "/backoffice/leads/"


@pytest.fixture
def program(world):
    return lead_program(world.vendor)


def test_every_staff_role_sees_leads_with_their_contacts(world, program, login_as):
    make_lead(program, company_name="ООО «Видимая»")

    page = login_as("vendor:support").get(LEADS).content.decode()

    assert "ООО «Видимая»" in page
    assert CONTACT_PHONE in page


def test_partners_cannot_open_the_back_office_leads(world, program, login_as):
    assert login_as("a:owner").get(LEADS).status_code == 403


def test_leads_list_filters_by_state_and_publication_date(world, program, login_as):
    old = make_lead_at(program, clock.now() - dt.timedelta(days=10), company_name="ООО «Старая»")
    make_lead(program, company_name="ООО «Новая»")
    services.lead_withdraw(lead=old, reason="Дубль", by=world.user("vendor:administrator"))
    client = login_as("vendor:accountant")

    by_state = client.get(LEADS, {"state": "withdrawn"}).content.decode()
    since = (clock.today() - dt.timedelta(days=1)).isoformat()
    by_date = client.get(LEADS, {"published_from": since}).content.decode()

    assert "ООО «Старая»" in by_state and "ООО «Новая»" not in by_state
    assert "ООО «Новая»" in by_date and "ООО «Старая»" not in by_date


def test_leads_list_needs_few_queries(world, program, login_as, django_assert_max_num_queries):
    for n in range(5):
        make_lead(program, company_name=f"ООО «{n}»")
    client = login_as("vendor:support")
    with django_assert_max_num_queries(8):
        client.get(LEADS)


def test_program_manager_enters_a_lead(world, program, login_as):
    response = login_as("vendor:program_manager").post(
        f"{LEADS}new/",
        {
            "company_name": "ООО «Звонок»",
            "region": "16",
            "company_size": "medium",
            "need": "sites",
            "contact_name": "Ильдар",
            "contact_phone": "8 843 111 22 33",
        },
    )

    lead = Lead.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"{LEADS}{lead.pk}/"
    assert (lead.source, lead.contact_phone, lead.created_by) == (
        "staff",
        "+78431112233",
        world.user("vendor:program_manager"),
    )


def test_staff_entry_without_phone_or_email_names_the_field(world, program, login_as):
    response = login_as("vendor:administrator").post(
        f"{LEADS}new/",
        {
            "company_name": "ООО «Звонок»",
            "region": "16",
            "company_size": "medium",
            "need": "sites",
            "contact_name": "Ильдар",
        },
    )

    assert response.status_code == 400
    assert 'data-field="contact_phone"' in response.content.decode()
    assert Lead.objects.count() == 0


def test_support_cannot_enter_or_import_leads(world, program, login_as):
    client = login_as("vendor:support")

    assert client.get(f"{LEADS}new/").status_code == 403
    assert client.get(f"{LEADS}import/").status_code == 403


def test_import_page_shows_the_report_with_the_bad_rows(world, program, login_as):
    content = (
        "Компания;Регион;Размер;Потребность;Контактное лицо;Телефон\n"
        "ООО «Один»;Москва;small;crm;Иван;+79160000001\n"
        "ООО «Два»;Москва;small;crm;Мария;12345\n"
    ).encode()
    upload = SimpleUploadedFile("leads.csv", content, content_type="text/csv")

    response = login_as("vendor:program_manager").post(f"{LEADS}import/", {"file": upload})

    page = response.content.decode()
    assert response.status_code == 200
    assert '<strong id="report-created">1</strong>' in page
    assert 'data-row="3" data-field="contact_phone"' in page
    assert Lead.objects.get().company_name == "ООО «Один»"


def test_import_page_refuses_a_pdf_with_the_reason(world, program, login_as):
    upload = SimpleUploadedFile("leads.csv", b"%PDF-1.7\n%%EOF\n", content_type="text/csv")

    response = login_as("vendor:administrator").post(f"{LEADS}import/", {"file": upload})

    assert response.status_code == 400
    assert "не CSV и не XLSX" in response.content.decode()


def test_lead_detail_lists_the_partners_deals(world, program, login_as):
    lead = make_lead(program)
    make_eligible(world.partner_a, program)
    services.lead_take(lead=lead, organisation=world.partner_a, by=world.user("a:owner"))

    page = login_as("vendor:support").get(f"{LEADS}{lead.pk}/").content.decode()

    assert "ООО «Альфа»" in page
    assert "Новая" in page  # the deal's stage


def test_lead_detail_shows_whom_the_contacts_were_shown(
    world, program, login_as, django_assert_max_num_queries
):
    lead = make_lead(program)
    make_eligible(world.partner_a, program)
    deal = services.lead_take(lead=lead, organisation=world.partner_a, by=world.user("a:owner"))
    services.deal_contacts_reveal(deal=deal, by=world.user("a:manager"), channel="page")
    client = login_as("vendor:support")

    with django_assert_max_num_queries(10):
        page = client.get(f"{LEADS}{lead.pk}/").content.decode()

    reveals = page.split('id="reveals"')[1].split("</table>")[0]
    assert reveals.count("<tr>") == 3  # the header, the take and the page view
    assert "контактное лицо, телефон, эл. почта" in reveals
    assert "Взятие заявки" in reveals and "Страница сделки" in reveals


def test_staff_read_a_partners_deal_with_its_events_and_reveals(
    world, program, login_as, django_assert_max_num_queries
):
    lead = make_lead(program)
    make_eligible(world.partner_a, program)
    deal = services.lead_take(lead=lead, organisation=world.partner_a, by=world.user("a:owner"))
    services.deal_event_add(
        deal=deal, kind="call", happened_at=deal.taken_at, text="Обсудили пилот", by=None
    )
    services.deal_close_lost(deal=deal, reason="price", by=world.user("a:owner"))
    client = login_as("vendor:support")

    with django_assert_max_num_queries(10):
        page = client.get(f"{LEADS}deals/{deal.pk}/").content.decode()

    assert "ООО «Альфа»" in page
    assert "Сделка проиграна</span>: Не устроила цена" in page
    assert "Обсудили пилот" in page.split('id="events"')[1]
    assert "Взятие заявки" in page.split('id="reveals"')[1]
    assert f'href="{LEADS}deals/{deal.pk}/"' in client.get(f"{LEADS}{lead.pk}/").content.decode()


def test_another_vendors_staff_do_not_find_the_deal(world, program, login_as):
    other_program = lead_program()  # a program of another vendor
    make_eligible(world.partner_a, other_program)
    deal = services.lead_take(lead=make_lead(other_program), organisation=world.partner_a)

    assert login_as("vendor:support").get(f"{LEADS}deals/{deal.pk}/").status_code == 404


def test_withdrawal_needs_a_reason(world, program, login_as):
    lead = make_lead(program)

    response = login_as("vendor:program_manager").post(
        f"{LEADS}{lead.pk}/withdraw/", {"reason": ""}
    )

    assert response.status_code == 400
    lead.refresh_from_db()
    assert lead.state == LeadState.OPEN


def test_program_manager_withdraws_a_lead_with_a_reason(world, program, login_as):
    lead = make_lead(program)

    response = login_as("vendor:program_manager").post(
        f"{LEADS}{lead.pk}/withdraw/", {"reason": "Клиент отозвал заявку"}
    )

    assert response.status_code == 302
    lead.refresh_from_db()
    assert (lead.state, lead.state_reason) == (LeadState.WITHDRAWN, "Клиент отозвал заявку")


def test_accountant_cannot_withdraw(world, program, login_as):
    lead = make_lead(program)

    response = login_as("vendor:accountant").post(f"{LEADS}{lead.pk}/withdraw/", {"reason": "x"})

    assert response.status_code == 403
    lead.refresh_from_db()
    assert lead.state == LeadState.OPEN


def pending_access(world, program, organisation):
    return services.marketplace_page_submit(
        organisation=organisation,
        program=program,
        url="https://alfa.example/vnedrenie",
        by=world.user("a:owner"),
    )


def test_accesses_page_shows_pending_pages_first_with_conditions(world, program, login_as):
    eligible_partner(program, short_name="ООО «Гамма»")
    pending_access(world, program, world.partner_a)

    page = login_as("vendor:support").get(f"{LEADS}access/").content.decode()

    pending_table = page.split('id="pending-accesses"')[1].split("</table>")[0]
    assert "ООО «Альфа»" in pending_table and "ООО «Гамма»" not in pending_table
    assert "https://alfa.example/vnedrenie" in pending_table
    assert 'data-condition="contract" class="unmet"' in pending_table
    assert "ООО «Гамма»" in page.split('id="accesses"')[1]


def test_accesses_page_needs_the_same_queries_for_many_partners(
    world, program, login_as, django_assert_max_num_queries
):
    for n in range(12):
        eligible_partner(program, short_name=f"ООО «Партнёр {n}»")
    client = login_as("vendor:support")
    client.get(f"{LEADS}access/")  # the session and the settings row exist from here on

    with django_assert_max_num_queries(12):
        page = client.get(f"{LEADS}access/").content.decode()

    assert page.count('data-condition="contract" class="met"') == 12


def test_program_manager_accepts_a_page(world, program, login_as):
    access = pending_access(world, program, world.partner_a)

    response = login_as("vendor:program_manager").post(
        f"{LEADS}access/{access.pk}/review/", {"decision": "accept"}
    )

    assert response.status_code == 302
    access.refresh_from_db()
    assert access.page_state == PageState.ACCEPTED


def test_rejecting_a_page_needs_a_reason(world, program, login_as):
    access = pending_access(world, program, world.partner_a)
    client = login_as("vendor:administrator")

    client.post(f"{LEADS}access/{access.pk}/review/", {"decision": "reject", "reason": ""})
    access.refresh_from_db()
    assert access.page_state == PageState.PENDING

    client.post(
        f"{LEADS}access/{access.pk}/review/",
        {"decision": "reject", "reason": "На странице нет пакетов внедрения"},
    )
    access.refresh_from_db()
    assert (access.page_state, access.page_reason) == (
        PageState.REJECTED,
        "На странице нет пакетов внедрения",
    )


def settings_data(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "open_deal_cap": 5,
        "partners_per_lead_cap": 2,
        "lead_lifetime_days": 20,
        "expiry_warning_days": 3,
        "stale_deal_days": 10,
        "agreement_version": "2.0",
        "agreement_text": "Соглашение, редакция 2.0",
        "site_form_enabled": "on",
    }
    data.update(overrides)
    return data


def test_program_manager_updates_the_settings_and_it_is_audited(world, program, login_as):
    response = login_as("vendor:program_manager").post(f"{LEADS}settings/", settings_data())

    assert response.status_code == 302
    current = LeadProgramSettings.objects.get(program=program)
    assert (current.open_deal_cap, current.partners_per_lead_cap) == (5, 2)
    assert (current.lead_lifetime_days, current.agreement_version) == (20, "2.0")
    event = AuditEvent.objects.get(action="leads.settings.updated")
    assert event.before["open_deal_cap"] == 3
    assert event.after["open_deal_cap"] == 5


def test_a_new_agreement_version_makes_partners_accept_it_again(world, program, login_as):
    make_eligible(world.partner_a, program)

    login_as("vendor:program_manager").post(f"{LEADS}settings/", settings_data())

    assert not selectors.eligibility_of(organisation=world.partner_a, program=program).eligible


def test_warning_days_must_be_shorter_than_the_lifetime(world, program, login_as):
    response = login_as("vendor:administrator").post(
        f"{LEADS}settings/", settings_data(lead_lifetime_days=5, expiry_warning_days=5)
    )

    assert response.status_code == 400
    assert 'data-field="expiry_warning_days"' in response.content.decode()
    assert LeadProgramSettings.objects.get(program=program).lead_lifetime_days == 30


def test_support_reads_the_settings_but_cannot_change_them(world, program, login_as):
    client = login_as("vendor:support")

    assert client.get(f"{LEADS}settings/").status_code == 200
    assert client.post(f"{LEADS}settings/", settings_data()).status_code == 403
    assert LeadProgramSettings.objects.get(program=program).open_deal_cap == 3
