"""Browser flow of issue 6 ("Done when"): a partner with 10 000 bonuses fills its card, uploads
the counterparty documents and sends the application to join by EDO (Diadoc); the program
manager takes it under review and signs the contract; the partner converts 6 000, downloads the
act and marks the documents sent; the accountant accepts the act, puts the payout into a
payment register, exports it for the client-bank (1CClientBankExchange) and marks it paid.

Everything the people do goes through the pages in Chromium (each person in a browser context
of their own). Set-up data only where no page exists: the vendor's card, the referral program
and the partner's registration in it, the bonuses (the staff adjustment service, which posts them
to the ledger like any referral event). Then the balances (ledger and page), the ledger's
invariants, the contract, the payout and the text of the act and of the bank file are asserted.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from partnerhub.contracts.models import Contract, ContractState
from partnerhub.core import clock, ledger
from partnerhub.documents.models import ClosingDocument
from partnerhub.partners.models import Organisation
from partnerhub.payouts.models import (
    PaymentRegister,
    Payout,
    PayoutState,
    RegisterItem,
    RegisterState,
)
from partnerhub.referrals.services.adjustments import adjustment_record
from tests.e2e.payout_support import (
    DIADOC_ID,
    PARTNER_INN,
    PARTNER_KPP,
    VALID_CARD,
    in_browser,
    log_in,
    pdf_file,
)
from tests.factories import OrganisationFactory, UserFactory, VendorFactory
from tests.partners.issue6_factories import EXTRACT, REGISTRATION, document_kind
from tests.payouts.factories import VENDOR_CARD, vendor_card
from tests.referrals.pages_support import join, referral_program

pytestmark = pytest.mark.e2e

OWNER = "owner@vasilek.example"
MANAGER = "manager@vendor.example"
ACCOUNTANT = "accountant@vendor.example"
NBSP_OR_SPACE = r"[\s\u00a0\u202f]"


@pytest.fixture
def committed(ledger_committed):
    """Payouts point at ledger transactions: delete them (and their registers) before
    ``ledger_committed`` empties the ledger (fixtures are torn down in reverse order)."""
    yield
    RegisterItem.objects.all().delete()
    PaymentRegister.objects.all().delete()
    Payout.objects.all().delete()


def amount_re(text: str) -> re.Pattern[str]:
    """``"4 000,00"`` as a pattern that accepts any kind of thousands space."""
    return re.compile(text.replace(" ", NBSP_OR_SPACE))


def bonus_balance(organisation: Organisation) -> Decimal:
    return ledger.balances(organisation.pk)[("bonus_rub", "RUB")].normal


def test_partner_signs_converts_and_gets_paid(
    page, browser, live_server, transactional_db, committed, settings, tmp_path
):
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is needed to read the act")
    settings.MEDIA_ROOT = str(tmp_path / "media")

    url = live_server.url

    # given the vendor (its card filled: it is the customer on the act and the payer in the
    # bank file) with a program manager and an accountant
    vendor = vendor_card(VendorFactory())
    manager = UserFactory(organisation=vendor, role="program_manager", email=MANAGER)
    UserFactory(organisation=vendor, role="accountant", email=ACCOUNTANT)
    # and a partner in its referral program whose card is incomplete (name and INN only)
    organisation = OrganisationFactory(short_name="ООО «Василёк»", inn=PARTNER_INN)
    UserFactory(organisation=organisation, role="owner", email=OWNER)
    program = referral_program(vendor)
    partner = join(program, organisation, when=timezone.now())
    for code in (REGISTRATION, EXTRACT):  # the seeded kinds (a flush may have removed them)
        document_kind(code)
    # and 10 000 bonuses, credited by staff through the adjustment service
    adjustment_record(
        program=program,
        code=partner.code,
        reason="Бонусы за привлечённых клиентов (перенос)",
        actor=manager,
        amount=Decimal("10000.00"),
    )
    assert bonus_balance(organisation) == Decimal("10000.00")

    # when the owner logs in and fills the card
    log_in(page, url, OWNER, "/cabinet/card/edit/")
    page.check("input[name=legal_form][value=ul]")
    for name, value in VALID_CARD.items():
        page.fill(f"#id_{name}", value)
    page.click("#card-form button[type=submit]")
    expect(page).to_have_url(f"{url}/cabinet/card/")
    expect(page.locator(".completeness")).to_contain_text("Карточка заполнена полностью.")

    # and uploads the counterparty documents the vendor asks for
    page.goto(f"{url}/cabinet/counterparty-documents/")
    for code, name in ((REGISTRATION, "svidetelstvo.pdf"), (EXTRACT, "vypiska.pdf")):
        page.select_option("#id_kind", str(document_kind(code).pk))
        page.set_input_files("#id_file", str(pdf_file(tmp_path, name)))
        page.click("form[enctype='multipart/form-data'] button[type=submit]")
        expect(page.locator("ul.messages")).to_contain_text("Файл загружен")
        expect(page.locator(f"#kind-{code}")).to_contain_text(name)
    expect(page.locator("p.state")).to_contain_text("Все обязательные документы загружены")

    # and starts the contract, chooses EDO through Diadoc and sends the application
    page.goto(f"{url}/cabinet/contracts/")
    page.click("#contracts button:has-text('Оформить договор')")
    expect(page.locator("#contract-state")).to_contain_text("Черновик")
    page.check("input[name=application_channel][value=edo]")
    page.check("input[name=closing_channel][value=edo]")
    page.select_option("#id_edo_operator", "diadoc")
    page.fill("#id_edo_participant_id", DIADOC_ID)
    page.click("#prepare-form button[type=submit]")
    expect(page.locator("ul.messages")).to_contain_text("Способ обмена документами сохранён.")
    expect(page.locator("#send-refusals")).to_have_count(0)
    page.click("#send button:has-text('Отправить заявление')")
    expect(page.locator("ul.messages")).to_contain_text("Заявление отправлено на проверку.")
    contract = Contract.objects.get(organisation=organisation, program=program)
    assert contract.state == ContractState.SENT
    assert (contract.closing_channel, contract.edo_operator) == ("edo", "diadoc")
    assert contract.edo_participant_id == DIADOC_ID

    # and the conversion is refused before the contract is signed
    page.goto(f"{url}/cabinet/payouts/convert/")
    expect(page.locator("#not-eligible")).to_contain_text("Договор не подписан")

    # when the program manager takes the application under review and signs the contract
    with in_browser(browser) as staff:
        log_in(staff, url, MANAGER, "/backoffice/contracts/")
        staff.click(f"#contracts a:has-text('{organisation.short_name}')")
        expect(staff.locator("#snapshot")).to_contain_text(PARTNER_INN)
        staff.click("#decisions button:has-text('Взять на проверку')")
        expect(staff.locator("ul.messages")).to_contain_text("Заявление взято на проверку.")
        # the date of signing is today by default: an <input type=date> holds only an ISO date
        # (a localised "25.11.2026" leaves it empty and the required field blocks the form)
        expect(staff.locator("#id_signed_on")).to_have_value(clock.today().isoformat())
        staff.click("#sign-form button:has-text('Подписать договор')")
        expect(staff.locator("ul.messages")).to_contain_text("Договор подписан.")
        expect(staff.locator("#contract-state .state")).to_have_text("Подписан")
    contract.refresh_from_db()
    assert contract.state == ContractState.SIGNED
    assert contract.signed_on is not None

    # when the partner converts 6 000 of its 10 000
    page.goto(f"{url}/cabinet/payouts/convert/")
    expect(page.locator("#bonus-balance")).to_have_text(amount_re("10 000,00 ₽"))
    expect(page.locator("#not-eligible")).to_have_count(0)
    page.fill("#id_amount", "6000")
    page.click("form button.primary:has-text('Далее')")
    expect(page.locator("#confirmation")).to_contain_text(amount_re("6 000,00"))
    expect(page.locator("#confirmation")).to_contain_text(amount_re("останется 4 000,00"))
    page.click("#confirm-button")
    expect(page.locator("ul.messages")).to_contain_text("Бонусы конвертированы")
    payout = Payout.objects.get(organisation=organisation)
    expect(page).to_have_url(f"{url}/cabinet/payouts/{payout.pk}/")
    assert payout.amount == Decimal("6000.00")
    assert bonus_balance(organisation) == Decimal("4000.00")

    # and downloads the act
    act = ClosingDocument.objects.get(partner=organisation, kind="act")
    link = page.locator(f"#documents a:has-text('{act.number}')")
    with page.expect_download() as download_info:
        link.click()
    act_path = tmp_path / "act.pdf"
    download_info.value.save_as(act_path)
    assert act_path.read_bytes().startswith(b"%PDF")
    layout = subprocess.run(
        ["pdftotext", "-layout", str(act_path), "-"], capture_output=True, check=True, text=True
    ).stdout
    act_text = " ".join(layout.split())  # lines wrap where the layout needs
    # then the act names its number, both sides by INN, the basis, the amount in figures and
    # in words
    assert f"Акт № {act.number} от" in act_text
    assert f"ИНН {PARTNER_INN}, КПП {PARTNER_KPP}" in act_text
    assert f"ИНН {VENDOR_CARD['inn']}, КПП {VENDOR_CARD['kpp']}" in act_text
    assert f"заявление № {contract.application_number}" in act_text
    assert re.search(amount_re("на сумму 6 000,00 руб."), act_text), act_text
    assert "Шесть тысяч рублей 00 копеек, без НДС (НДС не облагается)" in act_text

    # when it marks the documents sent
    page.click("#mark-sent")
    expect(page.locator("ul.messages")).to_contain_text("Отмечено: документы отправлены.")
    expect(page.locator("#payout-state")).to_have_text("Документы отправлены")
    payout.refresh_from_db()
    assert payout.state == PayoutState.SENT

    # when the accountant accepts the act, builds a register, exports it and marks it paid
    with in_browser(browser) as accountant:
        log_in(accountant, url, ACCOUNTANT, "/backoffice/payouts/")
        accountant.click(f"#payouts a:text-is('{payout.pk}')")
        accountant.click("#accept-button")
        expect(accountant.locator("ul.messages")).to_contain_text("Акт подписан.")
        expect(accountant.locator("#payout-state")).to_have_text("Акт подписан")

        accountant.goto(f"{url}/backoffice/payouts/registers/")
        accountant.check(f"input[name=payouts][value='{payout.pk}']")
        accountant.click("#create-register")
        expect(accountant.locator("ul.messages")).to_contain_text("Реестр № 1 создан.")
        expect(accountant.locator("#register-total")).to_have_text(amount_re("6 000,00 ₽"))

        with accountant.expect_download() as download_info:
            accountant.click("#export-1c")
        bank_path = tmp_path / "1c_to_kl.txt"
        download_info.value.save_as(bank_path)
        raw = bank_path.read_bytes()

        accountant.click("#mark-paid")
        expect(accountant.locator("ul.messages")).to_contain_text("Реестр оплачен")
        expect(accountant.locator("#register-state")).to_have_text("Оплачен")

    # then the bank file is windows-1251 with CRLF line ends and one order for the act
    text = raw.decode("cp1251")
    assert raw.count(b"\r\n") == raw.count(b"\n") > 0
    lines = text.split("\r\n")
    assert lines[0] == "1CClientBankExchange"
    assert "Сумма=6000.00" in lines
    assert f"ПолучательИНН={PARTNER_INN}" in lines
    assert f"ПлательщикИНН={VENDOR_CARD['inn']}" in lines
    purpose = next(line for line in lines if line.startswith("НазначениеПлатежа="))
    assert f"по акту № {act.number}" in purpose
    assert "НДС не облагается" in purpose

    # and the partner keeps 4 000 bonuses, on the ledger and on its page
    assert bonus_balance(organisation) == Decimal("4000.00")
    page.goto(f"{url}/cabinet/payouts/")
    expect(page.locator("#bonus-balance")).to_have_text(amount_re("4 000,00 ₽"))
    expect(page.locator("#payouts tbody tr")).to_have_count(1)
    expect(page.locator("#payouts tbody tr")).to_contain_text("Выплачено")
    # and the payout is paid, the register too, the contract signed, the ledger consistent
    payout.refresh_from_db()
    assert payout.state == PayoutState.PAID
    assert PaymentRegister.objects.get(vendor=vendor).state == RegisterState.PAID
    contract.refresh_from_db()
    assert contract.state == ContractState.SIGNED
    assert ledger.balances(organisation.pk)[("payout_payable", "RUB")].normal == 0
    assert ledger.check_invariants() == []
