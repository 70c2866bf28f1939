"""Import of leads from CSV and XLSX files (issue 7, part 2: "a CSV/XLSX import in the back
office (openpyxl; row errors listed, good rows stored)"); ``leads.services.imports``."""

from __future__ import annotations

import io

import openpyxl
import pytest

from partnerhub.core.models.audit import AuditEvent
from partnerhub.leads.models import Lead, LeadSource
from partnerhub.leads.services.imports import ImportRefused, leads_import
from tests.leads.factories import lead_program

HEADER_RU = (
    "Компания;Регион;Размер;Потребность;Описание;Контактное лицо;Телефон;Email;Внешний номер"
)


@pytest.fixture
def program(world):
    return lead_program(world.vendor)


@pytest.fixture
def staff(world):
    return world.user("vendor:program_manager")


def csv_bytes(*lines: str, encoding: str = "utf-8") -> bytes:
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def test_semicolon_csv_creates_a_lead_with_a_normalised_phone(program, staff):
    content = csv_bytes(
        HEADER_RU,
        "ООО «Ромашка»;Москва;до 15 сотрудников;CRM и продажи;Нужна CRM;Иван Петров;"
        "8 (916) 123-45-67;ivan@romashka.example;R-1",
    )

    report = leads_import(program=program, filename="leads.csv", content=content, by=staff)

    assert (report.created, report.duplicates, report.errors) == (1, 0, [])
    lead = Lead.objects.get()
    assert lead.company_name == "ООО «Ромашка»"
    assert lead.region.code == "77"
    assert (lead.company_size, lead.need) == ("micro", "crm")
    assert lead.contact_phone == "+79161234567"
    assert (lead.source, lead.external_id, lead.created_by) == (LeadSource.IMPORT, "R-1", staff)


def test_comma_csv_with_bom_and_english_headers_and_codes(program, staff):
    content = b"\xef\xbb\xbf" + csv_bytes(
        "company_name,region,company_size,need,contact_name,contact_email",
        '"Acme, LLC",78,medium,integration,John Smith,john@acme.example',
    )

    report = leads_import(program=program, filename="leads.csv", content=content, by=staff)

    assert report.created == 1
    lead = Lead.objects.get()
    assert lead.company_name == "Acme, LLC"
    assert (lead.region.name, lead.company_size, lead.need) == (
        "Санкт-Петербург",
        "medium",
        "integration",
    )
    assert lead.contact_email == "john@acme.example"


def test_the_english_column_names_of_the_form_help_are_accepted(program, staff):
    content = csv_bytes(
        "Company;Region;Size;Need;Description;Contact person;Phone;Email;External ID",
        "Acme;77;small;crm;CRM for sales;John Smith;+7 916 123-45-67;john@acme.example;E-7",
    )

    report = leads_import(program=program, filename="leads.csv", content=content, by=staff)

    assert (report.created, report.errors) == (1, [])
    lead = Lead.objects.get()
    assert (lead.contact_name, lead.external_id) == ("John Smith", "E-7")


def test_windows_1251_csv_is_read(program, staff):
    content = csv_bytes(
        HEADER_RU,
        "ООО «Ёлка»;Республика Татарстан;16–100 сотрудников;Задачи и проекты;;Пётр Ёжиков;"
        "+7 843 200-00-00;;",
        encoding="cp1251",
    )

    report = leads_import(program=program, filename="leads.csv", content=content, by=staff)

    assert report.created == 1
    lead = Lead.objects.get()
    assert (lead.company_name, lead.contact_name) == ("ООО «Ёлка»", "Пётр Ёжиков")
    assert (lead.region.code, lead.company_size, lead.need) == ("16", "small", "tasks")


def xlsx_bytes(rows: list[list[object]]) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_xlsx_first_sheet_is_imported_with_numbers_typed_as_numbers(program, staff):
    content = xlsx_bytes(
        [
            ["Компания", "Регион", "Размер", "Потребность", "Контактное лицо", "Телефон", "Номер"],
            ["ООО «Кедр»", 54, "более 250 сотрудников", "Другое", "Анна Кедрова", 79137654321],
        ]
    )

    report = leads_import(program=program, filename="Заявки.xlsx", content=content, by=staff)

    assert report.created == 1
    assert report.ignored_columns == ["Номер"]
    lead = Lead.objects.get()
    assert (lead.region.code, lead.company_size, lead.need) == ("54", "large", "other")
    assert lead.contact_phone == "+79137654321"


def test_bad_rows_are_listed_with_row_and_field_while_good_rows_are_stored(program, staff):
    content = csv_bytes(
        HEADER_RU,
        "ООО «Один»;Москва;small;crm;;Иван;+79160000001;;",
        "ООО «Два»;Москва;small;crm;;Мария;12345;;",  # row 3: a phone that is no phone
        "ООО «Три»;Москва;small;crm;;Олег;;oleg@three.example;",
        ";Неизвестный край;small;crm;;Нина;+79160000004;;",  # row 5: no company, no region
        "ООО «Пять»;Москва;small;crm;;Пётр;+79160000005;;",
    )

    report = leads_import(program=program, filename="leads.csv", content=content, by=staff)

    assert report.created == 3
    assert report.error_rows == 2
    assert {(e.row, e.field) for e in report.errors} == {
        (3, "contact_phone"),
        (5, "company_name"),
        (5, "region"),
    }
    assert {e.column for e in report.errors if e.row == 3} == {"Телефон"}
    assert sorted(Lead.objects.values_list("company_name", flat=True)) == [
        "ООО «Один»",
        "ООО «Пять»",
        "ООО «Три»",
    ]


def test_a_second_import_of_the_same_external_ids_counts_duplicates(program, staff):
    content = csv_bytes(
        HEADER_RU,
        "ООО «Один»;Москва;small;crm;;Иван;+79160000001;;EXT-1",
        "ООО «Два»;Москва;small;crm;;Мария;+79160000002;;EXT-2",
    )
    leads_import(program=program, filename="leads.csv", content=content, by=staff)

    again = leads_import(program=program, filename="leads.csv", content=content, by=staff)

    assert (again.created, again.duplicates) == (0, 2)
    assert Lead.objects.count() == 2


def test_over_the_row_limit_nothing_is_stored(program, staff, settings):
    settings.LEAD_IMPORT_MAX_ROWS = 2
    rows = [f"ООО «{n}»;Москва;small;crm;;Иван;+7916000000{n};;" for n in range(1, 4)]

    with pytest.raises(ImportRefused) as refused:
        leads_import(
            program=program, filename="leads.csv", content=csv_bytes(HEADER_RU, *rows), by=staff
        )

    assert "не больше 2" in str(refused.value.fields["file"][0])
    assert Lead.objects.count() == 0


def test_over_the_size_limit_nothing_is_stored(program, staff, settings):
    content = csv_bytes(HEADER_RU, "ООО «Один»;Москва;small;crm;;Иван;+79160000001;;")
    settings.LEAD_IMPORT_MAX_BYTES = len(content) - 1

    with pytest.raises(ImportRefused) as refused:
        leads_import(program=program, filename="leads.csv", content=content, by=staff)

    assert refused.value.code == "import_refused"
    assert Lead.objects.count() == 0


def test_a_pdf_renamed_to_csv_is_refused(program, staff):
    content = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"

    with pytest.raises(ImportRefused) as refused:
        leads_import(program=program, filename="leads.csv", content=content, by=staff)

    assert "не CSV и не XLSX" in str(refused.value.fields["file"][0])
    assert Lead.objects.count() == 0


def test_a_text_file_named_xlsx_is_refused(program, staff):
    content = csv_bytes(HEADER_RU, "ООО «Один»;Москва;small;crm;;Иван;+79160000001;;")

    with pytest.raises(ImportRefused):
        leads_import(program=program, filename="leads.xlsx", content=content, by=staff)

    assert Lead.objects.count() == 0


def test_a_file_without_a_required_column_is_refused_naming_it(program, staff):
    content = csv_bytes("Компания;Регион;Размер;Контактное лицо;Телефон", "ООО;Москва;small;Иван;1")

    with pytest.raises(ImportRefused) as refused:
        leads_import(program=program, filename="leads.csv", content=content, by=staff)

    assert "«Потребность»" in str(refused.value.fields["file"][0])


def test_the_import_is_audited_with_its_counts(program, staff):
    content = csv_bytes(
        HEADER_RU,
        "ООО «Один»;Москва;small;crm;;Иван;+79160000001;;",
        "ООО «Два»;Москва;small;crm;;Мария;;;",
    )

    leads_import(program=program, filename="leads.csv", content=content, by=staff)

    event = AuditEvent.objects.get(action="leads.import.completed")
    assert event.after["created"] == 1
    assert event.after["error_rows"] == 1
    assert event.actor_user_id == staff.pk
