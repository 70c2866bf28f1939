"""Browser flow of issue 7 ("Done when": eligibility, list, take, deal, win): a partner fulfils
the marketplace conditions in the cabinet (page, CRM tariff, the app with the personal-data
agreement), staff accept its page, the partner sees the lead with masked contacts, takes it, sees
the contacts in the deal, adds a call, moves the stage and closes the deal as won with the
client's portal; a second take at the cap of open deals shows the reason.

Set-up data only where the marketplace has no page of its own: the vendor's leads program (cap 1
open deal), the partner's active participation and signed contract, two leads, and the staff's
acceptance of the page (``services.marketplace_page_review``, the back office's service).
"""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect

from partnerhub.contracts.models import Contract, ContractState
from partnerhub.core import clock
from partnerhub.leads import services
from partnerhub.leads.models import ContactReveal, Deal, DealStage, MarketplaceAccess, Region
from partnerhub.partners.models import Enrolment, EnrolmentState
from tests.e2e.payout_support import log_in
from tests.factories import OrganisationFactory, UserFactory, VendorFactory
from tests.leads.factories import lead_program, make_lead

pytestmark = pytest.mark.e2e

OWNER = "owner@vnedrenie.example"
MANAGER = "manager@vendor.example"
FIRST = {
    "company_name": "ООО «Строймонтаж»",
    "contact_name": "Анастасия Воронцова",
    "contact_phone": "+79161234567",
    "contact_email": "a.vorontsova@stroymontazh.example",
}
SECOND = {
    "company_name": "ООО «Второй клиент»",
    "contact_name": "Пётр Сидоров",
    "contact_phone": "+79031112233",
    "contact_email": "p.sidorov@second.example",
}


def test_partner_meets_the_conditions_takes_a_lead_and_wins_the_deal(
    page, live_server, transactional_db
):
    url = live_server.url
    # the regions come from a data migration, which a flush of an earlier live test removed
    Region.objects.get_or_create(code="77", defaults={"name": "Москва"})

    # given the vendor's marketplace with a cap of one open deal and two open leads
    vendor = VendorFactory()
    manager = UserFactory(organisation=vendor, role="program_manager", email=MANAGER)
    program = lead_program(vendor, open_deal_cap=1, agreement_version="1.2")
    program.lead_settings.agreement_text = "Партнёр не передаёт персональные данные клиентов."
    program.lead_settings.save()
    first = make_lead(program, **FIRST)
    second = make_lead(program, **SECOND)
    # and a partner taking part in it with a signed contract
    organisation = OrganisationFactory(short_name="ООО «Внедрение»", inn="7707083893")
    UserFactory(organisation=organisation, role="owner", email=OWNER)
    Enrolment.objects.create(
        organisation=organisation, program=program, state=EnrolmentState.ACTIVE
    )
    Contract.objects.create(
        organisation=organisation,
        program=program,
        state=ContractState.SIGNED,
        signed_on=clock.today(),
    )

    # when the owner opens the marketplace, it says what is missing and shows no lead
    log_in(page, url, OWNER, "/cabinet/leads/")
    expect(page.locator("#cond-contract")).to_have_attribute("data-met", "1")
    expect(page.locator("#cond-page")).to_have_attribute("data-met", "0")
    expect(page.locator("#cond-app")).to_have_attribute("data-met", "0")
    expect(page.locator("#leads")).to_have_count(0)

    # and fulfils the conditions: the page, the CRM tariff, the app with the agreement
    page.click("text=Перейти к условиям участия")
    expect(page).to_have_url(f"{url}/cabinet/leads/conditions/")
    page.fill("#id_page-page_url", "https://vnedrenie.example/pakety")
    page.click("#page-form button[type=submit]")
    expect(page.locator("ul.messages")).to_contain_text("Страница отправлена на проверку.")
    expect(page.locator("#page-state")).to_have_text("На проверке")
    page.select_option("#id_crm-tariff", "company")
    page.fill("#id_crm-portal", "vnedrenie.bitrix24.ru")
    page.click("#crm-form button[type=submit]")
    expect(page.locator("#crm-portal")).to_have_text("vnedrenie.bitrix24.ru")
    expect(page.locator("#agreement")).to_contain_text("не передаёт персональные данные")
    page.check("#id_app-accept")
    page.click("#app-form button[type=submit]")
    expect(page.locator("#app-state")).to_contain_text("соглашение версии 1.2 принято")
    access = MarketplaceAccess.objects.get(organisation=organisation, program=program)
    assert access.agreement_version == "1.2" and access.agreement_accepted_at is not None
    expect(page.locator("#cond-page")).to_have_attribute("data-met", "0")

    # and the vendor's staff accept the page
    services.marketplace_page_review(access=access, accept=True, by=manager)

    # then the marketplace lists both leads with masked contacts only
    page.goto(f"{url}/cabinet/leads/")
    expect(page.locator("#deal-count")).to_contain_text("В работе 0 из 1 заявок.")
    row = page.locator(f"#lead-{first.pk}")
    expect(row).to_contain_text("ООО «Строймонтаж»")
    expect(row.locator(".masked")).to_contain_text("+7 *** ***-**-67")
    expect(row.locator(".masked")).to_contain_text("a***@s***.example")
    html = page.content()
    for lead in (FIRST, SECOND):
        assert lead["contact_email"] not in html
        assert lead["contact_phone"][2:] not in html
        assert lead["contact_name"].split()[1] not in html

    # and a second tab keeps the list open with both buttons
    other_tab = page.context.new_page()
    other_tab.goto(f"{url}/cabinet/leads/")
    expect(other_tab.locator(f"#lead-{second.pk} button.take")).to_be_visible()

    # when the owner takes the first lead
    row.locator("button.take").click()
    deal = Deal.objects.get(lead=first, organisation=organisation)
    expect(page).to_have_url(f"{url}/cabinet/deals/{deal.pk}/")
    expect(page.locator("ul.messages")).to_contain_text("Заявка взята в работу")
    # then the deal shows the client's contacts, and the reveal is audited
    expect(page.locator("#contact-name")).to_have_text(FIRST["contact_name"])
    expect(page.locator("#contact-phone")).to_have_text(FIRST["contact_phone"])
    expect(page.locator("#contact-email")).to_have_text(FIRST["contact_email"])
    assert set(ContactReveal.objects.filter(deal=deal).values_list("channel", flat=True)) == {
        "take",
        "page",
    }

    # when a take of the second lead is tried from the other tab, at the cap
    other_tab.locator(f"#lead-{second.pk} button.take").click()
    expect(other_tab).to_have_url(f"{url}/cabinet/leads/")
    expect(other_tab.locator("ul.messages")).to_contain_text(
        "В работе 1 из 1 заявок: закройте одну из сделок"
    )
    expect(other_tab.locator(f"#lead-{second.pk} .refusal")).to_contain_text("В работе 1 из 1")
    expect(other_tab.locator(f"#lead-{second.pk} button.take")).to_have_count(0)
    assert not Deal.objects.filter(lead=second).exists()
    other_tab.close()

    # when the owner records a call
    page.select_option("#id_kind", "call")
    tomorrow = clock.local_date(clock.now()) + dt.timedelta(days=1)
    page.fill("#id_happened_at", f"{tomorrow:%Y-%m-%d}T11:30")
    page.fill("#id_text", "Обсудили пилот на 12 мест")
    page.click("#event-form button[type=submit]")
    expect(page.locator("ul.messages")).to_contain_text("Событие добавлено.")
    expect(page.locator("#events")).to_contain_text("Обсудили пилот на 12 мест")
    expect(page.locator("#events")).to_contain_text(f"{tomorrow:%d.%m.%Y} 11:30")

    # and moves the stage
    page.select_option("#id_stage", "contacted")
    page.click("#stage-form button[type=submit]")
    expect(page.locator("#deal-stage")).to_have_text("Установлен контакт")

    # and tries to close as won without a valid portal, then with it
    page.fill("#id_won_reference", "stroymontazh.ru")
    page.click("#win-form button[type=submit]")
    expect(page.locator("#field-won_reference .error")).to_contain_text("name.bitrix24.ru")
    page.check("input[name=won_kind][value=portal]")
    page.fill("#id_won_reference", "stroymontazh.bitrix24.ru")
    page.click("#win-form button[type=submit]")

    # then the deal is won, read-only, and the slot is free again
    expect(page.locator("#deal-closed")).to_contain_text("stroymontazh.bitrix24.ru")
    expect(page.locator("#deal-stage")).to_have_text("Сделка выиграна")
    expect(page.locator("#win-form")).to_have_count(0)
    deal.refresh_from_db()
    assert (deal.stage, deal.is_open, deal.won_reference) == (
        DealStage.WON,
        False,
        "stroymontazh.bitrix24.ru",
    )
    page.goto(f"{url}/cabinet/leads/")
    expect(page.locator("#deal-count")).to_contain_text("В работе 0 из 1 заявок.")
    expect(page.locator(f"#lead-{second.pk} button.take")).to_be_visible()
