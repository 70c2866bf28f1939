"""The application to join as PDF (WeasyPrint, bundled DejaVu fonts): every page renders to PNG
(pdftoppm) and the Cyrillic requisites, the postal address or the EDO id are in the text layer
(pdftotext)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from partnerhub.contracts import services
from tests.contracts.factories import DIADOC_ID, POSTAL_ADDRESS, complete_card, prepare_edo

pytestmark = pytest.mark.needs_tools("pdftoppm", "pdftotext")


def pages_and_text(pdf: bytes, folder: Path) -> tuple[list[Path], str]:
    """Write ``pdf``, render each page to PNG and extract its text."""
    path = folder / "application.pdf"
    path.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-png", "-r", "50", str(path), str(folder / "page")], check=True)
    pages = sorted(folder.glob("page*.png"))
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    return pages, " ".join(text.split())


def test_the_sent_paper_application_shows_the_requisites_and_the_postal_address(
    world, ready, tmp_path
):
    services.contract_prepare(contract=ready, application_channel="paper", closing_channel="paper")
    contract = services.contract_send(contract=ready, by=world.user("a:owner"))

    with contract.application_pdf.open("rb") as file:
        pages, text = pages_and_text(file.read(), tmp_path)

    assert pages, "no page rendered"
    assert all(page.stat().st_size > 0 for page in pages)
    assert "ЗАЯВЛЕНИЕ о присоединении к договору" in text
    assert f"№ {contract.application_number}" in text
    assert "Партнёрская программа Битрикс24" in text
    assert "Общество с ограниченной ответственностью «Альфа»" in text
    for requisite in (
        "7707083893",  # INN
        "773601001",  # KPP
        "1027700132195",  # OGRN
        "117997, г. Москва, ул. Вавилова, д. 19",
        "ПАО Сбербанк",
        "044525225",
        "40702810938000000001",
        "30101810400000000225",
        "Иванов Иван Иванович",
        "Генеральный директор",
    ):
        assert requisite in text, requisite
    assert POSTAL_ADDRESS in text
    assert "На бумаге, почтой" in text
    assert "ЧЕРНОВИК" not in text
    assert "М. П." in text and "подпись" in text


def test_the_edo_application_shows_the_operator_and_the_participant_id(world, ready, tmp_path):
    contract = services.contract_send(contract=prepare_edo(ready), by=world.user("a:owner"))

    with contract.application_pdf.open("rb") as file:
        pages, text = pages_and_text(file.read(), tmp_path)

    assert pages and all(page.stat().st_size > 0 for page in pages)
    assert "Диадок (Контур)" in text
    assert DIADOC_ID in text
    assert "Через ЭДО" in text
    assert POSTAL_ADDRESS not in text


def test_the_draft_preview_is_marked_and_follows_todays_card(world, ready, tmp_path):
    complete_card(world.partner_a, bank_name="ПАО Сбербанк (Московский банк)")
    ready.refresh_from_db()

    pages, text = pages_and_text(services.application_preview_pdf(contract=ready), tmp_path)

    assert pages and all(page.stat().st_size > 0 for page in pages)
    assert "ЧЕРНОВИК" in text
    assert "ПАО Сбербанк (Московский банк)" in text
    assert f"№ {ready.pk:06d}-1" in text


def test_an_individual_entrepreneur_has_ogrnip_and_no_kpp(world, program, tmp_path):
    from partnerhub.partners import services as partner_services
    from tests.contracts.factories import contract_started

    partner_services.card_update(
        organisation=world.partner_a,
        changes={"legal_form": "ip", "kpp": "", "ogrn": "304500116000157", "inn": "500100732259"},
        changed_by=None,
        source="test",
    )
    contract = contract_started(world, program)

    _pages, text = pages_and_text(services.application_preview_pdf(contract=contract), tmp_path)

    assert "ОГРНИП 304500116000157" in text
    assert "КПП" not in text


def test_the_application_is_in_russian_whatever_the_page_language(world, ready, tmp_path):
    # a legal document addressed to the vendor: an English page still sends it in Russian
    from django.utils import translation

    services.contract_prepare(contract=ready, application_channel="paper", closing_channel="paper")
    with translation.override("en"):
        contract = services.contract_send(contract=ready, by=world.user("a:owner"))

    with contract.application_pdf.open("rb") as file:
        _pages, text = pages_and_text(file.read(), tmp_path)

    assert "ЗАЯВЛЕНИЕ о присоединении к договору" in text
    assert "On paper" not in text and "На бумаге, почтой" in text
