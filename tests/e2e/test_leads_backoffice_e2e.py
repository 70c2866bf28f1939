"""Browser flows of the lead marketplace's intake (issue 7, part 2): the vendor's program manager
imports an XLSX file in the back office and reads the report (good rows stored, the bad row
listed with its number and column); a client sends the public site form and gets the thank-you
page, the lead stored with its phone normalised."""

from __future__ import annotations

import openpyxl
import pytest
from playwright.sync_api import expect

from partnerhub.leads.models import Lead, LeadSource, Region
from partnerhub.leads.regions import REGIONS
from tests.e2e.payout_support import log_in
from tests.factories import UserFactory, VendorFactory
from tests.leads.factories import lead_program

pytestmark = pytest.mark.e2e

MANAGER = "manager@vendor.example"


def seeded_regions() -> None:
    """The regions the data migration loads (a flush after a browser test may remove them)."""
    for code, name in REGIONS:
        Region.objects.get_or_create(code=code, defaults={"name": name})


def test_staff_imports_an_xlsx_and_reads_the_report(page, live_server, transactional_db, tmp_path):
    seeded_regions()
    vendor = VendorFactory()
    UserFactory(organisation=vendor, role="program_manager", email=MANAGER)
    program = lead_program(vendor)
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in (
        ["Компания", "Регион", "Размер", "Потребность", "Контактное лицо", "Телефон", "Email"],
        [
            "ООО «Кедр»",
            "Новосибирская область",
            "16–100 сотрудников",
            "CRM и продажи",
            "Анна",
            79137654321,
            "",
        ],
        ["ООО «Сосна»", "Москва", "до 15 сотрудников", "Другое", "Олег", "", "oleg@sosna.example"],
        ["ООО «Ель»", "Москва", "small", "crm", "Нина", "12345", ""],
    ):
        sheet.append(row)
    path = tmp_path / "Заявки.xlsx"
    workbook.save(path)

    log_in(page, live_server.url, MANAGER, "/backoffice/leads/import/")
    page.set_input_files("#id_file", str(path))
    page.click("#import-form button[type=submit]")

    expect(page.locator("#report-created")).to_have_text("2")
    expect(page.locator("#report-error-rows")).to_have_text("1")
    bad_row = page.locator('#import-errors tr[data-row="4"]')
    expect(bad_row).to_contain_text("Телефон")
    assert sorted(Lead.objects.filter(program=program).values_list("company_name", flat=True)) == [
        "ООО «Кедр»",
        "ООО «Сосна»",
    ]

    page.click("text=Загруженные заявки")
    expect(page.locator("#leads")).to_contain_text("ООО «Кедр»")
    expect(page.locator("#leads")).to_contain_text("+79137654321")


def test_a_visitor_sends_the_site_form(page, live_server, transactional_db):
    seeded_regions()
    program = lead_program(VendorFactory())

    page.goto(f"{live_server.url}/leads/request/")
    expect(page.locator("#id_website")).not_to_be_in_viewport()
    page.fill("#id_company_name", "ООО «Берёза»")
    page.select_option("#id_region", label="Республика Татарстан")
    page.select_option("#id_company_size", "medium")
    page.select_option("#id_need", "integration")
    page.fill("#id_description", "Интеграция с 1С:Бухгалтерией")
    page.fill("#id_contact_name", "Ильдар Галиев")
    page.fill("#id_contact_phone", "8 (843) 200-00-00")
    page.check("#id_consent")
    page.click("#lead-request-form button[type=submit]")

    expect(page).to_have_url(f"{live_server.url}/leads/request/thanks/")
    expect(page.locator("h1")).to_contain_text("Спасибо")
    lead = Lead.objects.get()
    assert (lead.program, lead.source) == (program, LeadSource.SITE)
    assert (lead.region.code, lead.contact_phone) == ("16", "+78432000000")
