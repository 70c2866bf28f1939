"""The contract pages, rendered: the partner prepares and sends the application in the cabinet,
staff work the queue in the back office; another partner's contract is a 404."""

from __future__ import annotations

from django.urls import reverse

from partnerhub.contracts import services
from partnerhub.contracts.models import Contract, ContractState
from partnerhub.core import clock
from tests.contracts.factories import (
    DIADOC_ID,
    POSTAL_ADDRESS,
    complete_card,
    contract_started,
    prepare_edo,
    referral_program,
)

EDO_FORM = {
    "application_channel": "edo",
    "closing_channel": "edo",
    "edo_operator": "diadoc",
    "edo_participant_id": DIADOC_ID,
}


def page(response) -> str:
    return response.content.decode()


# --- cabinet ---------------------------------------------------------------------------------


def test_the_list_offers_to_start_a_contract_in_the_program(world, program, login_as):
    response = login_as("a:accountant").get(reverse("cabinet:contracts"))

    assert response.status_code == 200
    body = page(response)
    assert "Партнёрская программа Битрикс24" in body
    assert "Договор не оформлен" in body
    assert reverse("cabinet:contract_start", kwargs={"program_pk": program.pk}) in body


def test_a_manager_sees_the_list_but_cannot_start(world, program, login_as):
    body = page(login_as("a:manager").get(reverse("cabinet:contracts")))

    assert "Оформляет владелец или бухгалтер" in body
    assert reverse("cabinet:contract_start", kwargs={"program_pk": program.pk}) not in body


def test_starting_opens_the_draft_with_what_is_missing(world, program, login_as):
    client = login_as("a:owner")

    response = client.post(reverse("cabinet:contract_start", kwargs={"program_pk": program.pk}))

    contract = Contract.objects.get(organisation=world.partner_a)
    assert response.status_code == 302
    assert response["Location"] == reverse("cabinet:contract", kwargs={"pk": contract.pk})
    body = page(client.get(response["Location"]))
    assert "Черновик" in body
    assert "Карточка организации заполнена не полностью" in body
    assert "Загружены не все документы" in body
    assert POSTAL_ADDRESS in body
    assert 'id="prepare-form"' in body


def test_a_vat_payer_choosing_paper_for_closing_documents_sees_the_error(world, program, login_as):
    complete_card(world.partner_a, vat_payer=True)
    contract = contract_started(world, program)

    response = login_as("a:owner").post(
        reverse("cabinet:contract", kwargs={"pk": contract.pk}),
        {"application_channel": "paper", "closing_channel": "paper"},
    )

    assert response.status_code == 400
    assert "Плательщики НДС обмениваются закрывающими документами только через ЭДО" in page(
        response
    )
    contract.refresh_from_db()
    assert contract.closing_channel == "edo"


def test_a_bad_edo_id_is_shown_under_its_field(world, ready, login_as):
    response = login_as("a:owner").post(
        reverse("cabinet:contract", kwargs={"pk": ready.pk}),
        {**EDO_FORM, "edo_operator": "taxcom"},
    )

    assert response.status_code == 400
    assert 'data-field="edo_participant_id"' in page(response)
    assert "начинается с «2AL-»" in page(response)


def test_the_partner_prepares_and_sends_the_application_from_the_page(world, ready, login_as):
    client = login_as("a:owner")
    url = reverse("cabinet:contract", kwargs={"pk": ready.pk})

    assert client.post(url, EDO_FORM).status_code == 302
    response = client.post(reverse("cabinet:contract_send", kwargs={"pk": ready.pk}), follow=True)

    ready.refresh_from_db()
    assert ready.state == ContractState.SENT
    body = page(response)
    assert "Заявление отправлено на проверку." in body
    assert f"Отправленное заявление № {ready.application_number}" in body
    assert DIADOC_ID in body
    assert 'id="prepare-form"' not in body


def test_sending_with_missing_documents_shows_the_reason_and_keeps_the_draft(
    world, program, login_as
):
    complete_card(world.partner_a)
    contract = contract_started(world, program)

    response = login_as("a:accountant").post(
        reverse("cabinet:contract_send", kwargs={"pk": contract.pk}), follow=True
    )

    assert "Загружены не все документы" in page(response)
    contract.refresh_from_db()
    assert contract.state == ContractState.DRAFT


def test_the_draft_preview_and_the_sent_application_download_as_pdf(world, ready, login_as):
    client = login_as("a:developer")
    preview = client.get(reverse("cabinet:contract_application_preview", kwargs={"pk": ready.pk}))
    assert preview.status_code == 200
    assert preview["Content-Type"] == "application/pdf"
    assert preview.content.startswith(b"%PDF")
    sent_url = reverse("cabinet:contract_application", kwargs={"pk": ready.pk})
    assert client.get(sent_url).status_code == 404  # nothing sent yet

    contract = services.contract_send(contract=prepare_edo(ready))
    response = client.get(sent_url)

    assert response.status_code == 200
    assert response.content == contract.application_pdf.open("rb").read()
    assert f"application-{contract.application_number}.pdf" in response["Content-Disposition"]


def test_partner_b_gets_404_for_partner_a_contract(world, ready, login_as):
    client = login_as("b:owner")

    for name in ("cabinet:contract", "cabinet:contract_application_preview"):
        assert client.get(reverse(name, kwargs={"pk": ready.pk})).status_code == 404
    response = client.post(reverse("cabinet:contract_send", kwargs={"pk": ready.pk}))
    assert response.status_code == 404
    ready.refresh_from_db()
    assert ready.state == ContractState.DRAFT
    assert "ООО «Альфа»" not in page(client.get(reverse("cabinet:contracts")))


# --- back office -----------------------------------------------------------------------------


def sent_contracts(world, count: int) -> list[Contract]:
    """``count`` partners (A and new ones) with a sent application each."""
    from tests.factories import OrganisationFactory

    program = referral_program(world)
    organisations = [world.partner_a] + [
        OrganisationFactory(short_name=f"ООО «Партнёр-{n}»", inn="") for n in range(count - 1)
    ]
    contracts = []
    for n, org in enumerate(organisations):
        if n:
            from partnerhub.partners.models import Enrolment

            Enrolment.objects.create(organisation=org, program=program, state="active")
        contract = services.contract_start(organisation=org, program=program)
        Contract.objects.filter(pk=contract.pk).update(
            state=ContractState.SENT, application_number=f"{contract.pk:06d}-1"
        )
        contracts.append(contract)
    return contracts


def test_the_queue_lists_sent_applications_in_few_queries(
    world, login_as, django_assert_max_num_queries
):
    sent_contracts(world, 6)
    client = login_as("vendor:support")

    with django_assert_max_num_queries(12):
        response = client.get(reverse("backoffice:contracts"))

    assert response.status_code == 200
    body = page(response)
    assert "ООО «Альфа»" in body
    assert body.count('href="/backoffice/contracts/') >= 6
    assert "Заявление отправлено (6)" in body


def test_the_list_filters_by_state(world, login_as):
    first, *_rest = sent_contracts(world, 2)
    Contract.objects.filter(pk=first.pk).update(state=ContractState.SIGNED)
    client = login_as("vendor:program_manager")

    signed_page = page(client.get(reverse("backoffice:contracts"), {"state": "signed"}))
    queue_page = page(client.get(reverse("backoffice:contracts")))

    assert "ООО «Альфа»" in signed_page and "ООО «Партнёр-0»" not in signed_page
    assert "ООО «Альфа»" not in queue_page and "ООО «Партнёр-0»" in queue_page


def test_staff_see_the_requisites_as_sent_and_sign_from_the_page(world, ready, login_as):
    contract = services.contract_send(contract=prepare_edo(ready))
    client = login_as("vendor:program_manager")
    url = reverse("backoffice:contract", kwargs={"pk": contract.pk})
    body = page(client.get(url))
    assert "Реквизиты из отправленного заявления" in body
    assert "ПАО Сбербанк" in body
    assert "Взять на проверку" in body

    client.post(reverse("backoffice:contract_review", kwargs={"pk": contract.pk}))
    response = client.post(
        reverse("backoffice:contract_sign", kwargs={"pk": contract.pk}),
        {"signed_on": clock.today().isoformat()},
        follow=True,
    )

    contract.refresh_from_db()
    assert contract.state == ContractState.SIGNED
    assert contract.signed_on == clock.today()
    assert "Договор подписан." in page(response)
    assert "Расторгнуть договор" in page(response)


def test_the_signing_date_is_offered_as_today_in_the_browser_s_date_format(world, ready, login_as):
    # a date input takes only ISO dates: "25.11.2026" would show an empty required field
    contract = services.contract_send(contract=prepare_edo(ready))
    client = login_as("vendor:program_manager")
    client.post(reverse("backoffice:contract_review", kwargs={"pk": contract.pk}))
    body = page(client.get(reverse("backoffice:contract", kwargs={"pk": contract.pk})))
    assert f'name="signed_on" value="{clock.today().isoformat()}"' in body


def test_rejecting_without_a_reason_from_the_page_changes_nothing(world, ready, login_as):
    contract = services.contract_send(contract=prepare_edo(ready))

    response = login_as("vendor:administrator").post(
        reverse("backoffice:contract_reject", kwargs={"pk": contract.pk}),
        {"reason": ""},
        follow=True,
    )

    assert "Причина: Обязательное поле." in page(response)
    contract.refresh_from_db()
    assert contract.state == ContractState.SENT


def test_signing_a_sent_application_before_review_shows_the_refusal(world, ready, login_as):
    contract = services.contract_send(contract=prepare_edo(ready))

    response = login_as("vendor:administrator").post(
        reverse("backoffice:contract_sign", kwargs={"pk": contract.pk}),
        {"signed_on": clock.today().isoformat()},
        follow=True,
    )

    assert "нельзя перейти" in page(response)
    contract.refresh_from_db()
    assert contract.state == ContractState.SENT


def test_a_support_member_reads_but_sees_no_decisions(world, ready, login_as):
    contract = services.contract_send(contract=prepare_edo(ready))

    body = page(
        login_as("vendor:support").get(reverse("backoffice:contract", kwargs={"pk": contract.pk}))
    )

    assert "ООО «Альфа»" in body
    assert 'id="decisions"' not in body


def test_staff_download_the_application_as_sent(world, ready, login_as):
    contract = services.contract_send(contract=prepare_edo(ready))

    response = login_as("vendor:accountant").get(
        reverse("backoffice:contract_application", kwargs={"pk": contract.pk})
    )

    assert response.status_code == 200
    assert response.content == contract.application_pdf.open("rb").read()


def test_after_a_rejection_the_partner_sees_the_reason_and_may_send_again(world, ready, login_as):
    contract = services.contract_send(contract=prepare_edo(ready))
    services.contract_reject(contract=contract, reason="Подпись не совпадает с образцом")

    body = page(login_as("a:accountant").get(reverse("cabinet:contract", kwargs={"pk": ready.pk})))

    assert "Отклонён" in body
    assert "Подпись не совпадает с образцом" in body
    assert 'id="prepare-form"' in body
    assert reverse("cabinet:contract_send", kwargs={"pk": ready.pk}) in body
