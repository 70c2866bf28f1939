"""The act and the invoice as PDF: every page renders to PNG (pdftoppm) and the text layer
(pdftotext) carries the Cyrillic text, the numbers, both sides' INN, the amount in words, VAT."""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

import pytest

from partnerhub.documents.services import closing_document_pdf
from tests.documents.factories import (
    IP_INN,
    IP_OGRNIP,
    PARTNER_INN,
    PARTNER_KPP,
    VENDOR_INN,
    VENDOR_KPP,
    ip_partner,
    issue,
    partner_with_card,
    rendered,
    vendor_with_card,
)

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.needs_tools("pdftoppm", "pdftotext"),
]


def pages_as_png(pdf: bytes, folder: Path) -> list[Path]:
    source = folder / "document.pdf"
    source.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-png", "-r", "50", str(source), str(folder / "page")], check=True)
    return sorted(folder.glob("page*.png"))


def text_of(pdf: bytes, folder: Path) -> str:
    source = folder / "text.pdf"
    source.write_bytes(pdf)
    result = subprocess.run(
        ["pdftotext", str(source), "-"], check=True, capture_output=True, text=True
    )
    return " ".join(result.stdout.replace("\u00a0", " ").split())


def assert_every_page_renders(pdf: bytes, folder: Path) -> None:
    pages = pages_as_png(pdf, folder)
    assert pages, "pdftoppm produced no page"
    for page in pages:
        assert page.stat().st_size > 1000, f"{page.name} is empty"


@pytest.fixture
def vendor():
    return vendor_with_card()


def test_the_act_of_a_vat_payer_renders_with_its_text(vendor, tmp_path):
    act, _invoice = rendered(
        issue(vendor=vendor, partner=partner_with_card(), on=dt.date(2026, 3, 2))
    )
    pdf = closing_document_pdf(act)
    assert_every_page_renders(pdf, tmp_path)
    text = text_of(pdf, tmp_path)
    assert "Акт № А-2026-00001 от 2 марта 2026 г." in text
    assert f"ИНН {PARTNER_INN}" in text
    assert f"ИНН {VENDOR_INN}" in text
    assert "Исполнитель:" in text and "Заказчик:" in text
    assert "Основание: Договор № П-17 от 10.02.2026" in text
    assert "Вознаграждение по партнёрской программе" in text
    assert "6 000,00" in text
    assert "Шесть тысяч рублей 00 копеек" in text
    assert "В том числе НДС (22 %)" in text
    assert "1 081,97" in text


def test_the_act_of_a_partner_without_vat_says_so(vendor, tmp_path):
    (act,) = rendered(
        issue(vendor=vendor, partner=partner_with_card(vat_payer=False), amount="5000")
    )
    pdf = closing_document_pdf(act)
    assert_every_page_renders(pdf, tmp_path)
    text = text_of(pdf, tmp_path)
    assert "Без НДС (НДС не облагается)" in text
    assert "Пять тысяч рублей 00 копеек" in text
    assert "В том числе НДС" not in text


def test_the_invoice_has_the_lines_and_columns_of_the_form(vendor, tmp_path):
    _act, invoice = rendered(
        issue(vendor=vendor, partner=partner_with_card(), on=dt.date(2026, 3, 2))
    )
    pdf = closing_document_pdf(invoice)
    assert_every_page_renders(pdf, tmp_path)
    text = text_of(pdf, tmp_path)
    assert "Счёт-фактура № СФ-2026-00001 от 2 марта 2026 г." in text
    assert "постановлению Правительства Российской Федерации от 26 декабря 2011 г. № 1137" in text
    # pdftotext joins a line that ends in "-" with the next one: the check stops short of it
    assert "Исправление № -- от -" in text
    assert f"{PARTNER_INN}/{PARTNER_KPP}" in text
    assert f"{VENDOR_INN}/{VENDOR_KPP}" in text
    assert "1 № А-2026-00001 от 02.03.2026" in text  # line 5a: the act
    assert "Российский рубль, 643" in text
    words = set(text.split())
    assert {"1а", "1б", "2а", "10а", "11", "12а", "13", "14"} <= words  # the form's columns
    assert "Всего к оплате (9)" in text
    assert "22 %" in text
    assert "4 918,03" in text and "1 081,97" in text and "6 000,00" in text
    assert "Всего к оплате" in text
    assert "Шесть тысяч рублей 00 копеек" in text
    assert "НДС" in text
    assert "Главный бухгалтер или иное уполномоченное лицо" in text


def test_the_invoice_of_an_individual_entrepreneur_is_signed_with_the_ogrnip(vendor, tmp_path):
    _act, invoice = rendered(issue(vendor=vendor, partner=ip_partner()))
    pdf = closing_document_pdf(invoice)
    assert_every_page_renders(pdf, tmp_path)
    text = text_of(pdf, tmp_path)
    assert "Индивидуальный предприниматель или иное уполномоченное лицо" in text
    assert f"ОГРНИП {IP_OGRNIP}" in text
    assert f"ИНН/КПП продавца: {IP_INN}" in text  # no KPP for an entrepreneur
    assert "Главный бухгалтер" not in text


def test_a_lost_file_is_rendered_again_from_the_document(vendor, tmp_path):
    (act,) = rendered(issue(vendor=vendor, partner=partner_with_card(vat_payer=False)))
    act.pdf.storage.delete(act.pdf.name)
    partner = act.partner
    partner.full_name = "Другое имя"
    partner.save()
    text = text_of(closing_document_pdf(act), tmp_path)
    assert "Акт № А-2026-00001" in text
    assert "Общество с ограниченной ответственностью «Альфа»" in text
    assert "Другое имя" not in text
