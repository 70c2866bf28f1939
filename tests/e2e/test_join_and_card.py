"""Browser flow of a new partner: join through the public form, land in the cabinet, fill the
card (a bad INN is refused with a message under the field, a valid card is saved and complete).
Plus the language switch in the header."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from partnerhub.accounts.models import User
from partnerhub.partners.models import CardChange, Organisation

pytestmark = pytest.mark.e2e

ORG_NAME = "ООО «Ромашка»"
OWNER_EMAIL = "owner@romashka.example"
JOIN_INN = "7707083893"
BAD_INN = "7707083894"  # one digit off: the checksum does not match
NEW_INN = "7728123459"

VALID_CARD = {
    "full_name": "Общество с ограниченной ответственностью «Ромашка»",
    "kpp": "773601001",
    "ogrn": "1027700132195",
    "legal_address": "117997, г. Москва, ул. Вавилова, д. 19",
    "postal_address": "117997, г. Москва, ул. Вавилова, д. 19",
    "bik": "044525225",
    "settlement_account": "40702810938000000001",
    "correspondent_account": "30101810400000000225",
    "bank_name": "ПАО Сбербанк",
    "director_name": "Иванов Иван Иванович",
    "director_position": "Генеральный директор",
    "website": "https://romashka.example",
    "inn": NEW_INN,
}


def test_new_partner_joins_and_fills_the_card(page, live_server, transactional_db):
    page.goto(f"{live_server.url}/join/")
    page.check("input[name=legal_form][value=ul]")
    page.fill("#id_name", ORG_NAME)
    page.fill("#id_inn", JOIN_INN)
    page.fill("#id_contact_name", "Петров Пётр Петрович")
    page.fill("#id_email", OWNER_EMAIL)
    page.fill("#id_phone", "+7 495 123-45-67")
    page.fill("#id_password", "Strong-pass-2026!")
    page.click("#join-form button[type=submit]")

    # The cabinet opens at once, on the card form, with the new organisation's name.
    expect(page).to_have_url(f"{live_server.url}/cabinet/card/edit/")
    expect(page.locator("ul.messages")).to_contain_text("Заявка принята, кабинет открыт.")
    expect(page.locator("header .who")).to_contain_text(ORG_NAME)
    org = Organisation.objects.get(inn=JOIN_INN)
    owner = User.objects.get(email=OWNER_EMAIL)
    assert owner.organisation_id == org.pk
    assert owner.role == "owner"
    assert org.short_name == ORG_NAME

    # A bad INN: the form comes back with the error under the INN field, nothing is stored.
    page.fill("#id_inn", BAD_INN)
    page.click("#card-form button[type=submit]")
    error = page.locator("#field-inn [data-field=inn]")
    expect(error).to_be_visible()
    expect(error).to_contain_text("ИНН")
    expect(page).to_have_url(f"{live_server.url}/cabinet/card/edit/")
    org.refresh_from_db()
    assert org.inn == JOIN_INN
    assert not CardChange.objects.filter(organisation=org).exists()

    # A complete valid card with another (valid) INN is saved and shown read-only.
    for name, value in VALID_CARD.items():
        page.fill(f"#id_{name}", value)
    page.click("#card-form button[type=submit]")
    expect(page).to_have_url(f"{live_server.url}/cabinet/card/")
    expect(page.locator("ul.messages")).to_contain_text("Карточка сохранена.")
    expect(page.locator(".completeness")).to_contain_text("Карточка заполнена полностью.")
    expect(page.locator("#value-inn")).to_have_text(NEW_INN)

    org.refresh_from_db()
    assert org.inn == NEW_INN
    assert org.kpp == VALID_CARD["kpp"]
    assert org.settlement_account == VALID_CARD["settlement_account"]
    change = CardChange.objects.get(organisation=org, field="inn")
    assert (change.old_value, change.new_value) == (JOIN_INN, NEW_INN)
    assert change.changed_by_id == owner.pk
    assert change.source == "cabinet"


def test_language_switch_in_the_header(page, live_server, transactional_db):
    page.goto(f"{live_server.url}/accounts/login/")
    html = page.locator("html")
    expect(html).to_have_attribute("lang", "ru")

    page.select_option("header select[name=language]", "en")  # submits the form on change

    expect(html).to_have_attribute("lang", "en")
    expect(page).to_have_url(f"{live_server.url}/accounts/login/")
    page.reload()  # the choice is remembered (language cookie)
    expect(html).to_have_attribute("lang", "en")
