"""Cabinet pages of payouts, rendered: the balance and why a conversion is not possible, the
two-step conversion, the payouts list and a payout with its documents and "documents sent";
partner B never sees partner A's payout."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from partnerhub.payouts import selectors
from partnerhub.payouts.models import Payout, PayoutState
from tests.documents.factories import ready_without_rendering
from tests.payouts.factories import convert, partner_ready

pytestmark = pytest.mark.django_db


def test_the_list_shows_the_balance_and_the_convert_button(world, login_as):
    partner_ready(world, balance=Decimal("12000.00"))

    response = login_as("a:owner").get(reverse("cabinet:payouts"))

    assert response.status_code == 200
    page = response.content.decode()
    assert "12\xa0000,00" in page
    assert reverse("cabinet:payout_convert") in page


def test_the_list_says_why_a_conversion_is_not_possible(world, login_as):
    partner_ready(world, balance=Decimal("4000.00"), contract_state=None)

    response = login_as("a:accountant").get(reverse("cabinet:payouts"))

    page = response.content.decode()
    assert 'id="not-eligible"' in page
    assert "Договор не подписан" in page
    assert "меньше минимальной суммы" in page
    assert 'id="convert-link"' not in page


def test_the_list_of_many_payouts_takes_few_queries(world, login_as, django_assert_max_num_queries):
    setup = partner_ready(world, balance=Decimal("60000.00"))
    for _ in range(10):
        convert(setup, "5000.00")
    client = login_as("a:manager")

    with django_assert_max_num_queries(14):
        response = client.get(reverse("cabinet:payouts"))

    assert response.content.decode().count("/cabinet/payouts/") >= 10


def test_the_form_proposes_the_whole_balance(world, login_as):
    partner_ready(world, balance=Decimal("7345.67"))

    response = login_as("a:owner").get(reverse("cabinet:payout_convert"))

    assert response.status_code == 200
    assert 'value="7345,67"' in response.content.decode()


def test_the_confirmation_says_what_happens_and_converts_nothing_yet(world, login_as):
    setup = partner_ready(world, balance=Decimal("12000.00"))

    response = login_as("a:owner").post(
        reverse("cabinet:payout_convert"), {"step": "confirm", "amount": "6 000,00"}
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="confirmation"' in page
    assert "6\xa0000,00" in page
    assert 'name="idempotency_key"' in page
    assert not Payout.objects.exists()
    assert selectors.bonus_balance(organisation=setup.organisation) == Decimal("12000.00")


def test_confirming_converts_and_opens_the_payout(world, login_as):
    setup = partner_ready(world, balance=Decimal("12000.00"))
    client = login_as("a:owner")

    response = client.post(
        reverse("cabinet:payout_convert"),
        {"step": "execute", "amount": "6000.00", "idempotency_key": "k-1"},
    )

    payout = Payout.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("cabinet:payout_detail", args=[payout.pk])
    assert selectors.bonus_balance(organisation=setup.organisation) == Decimal("6000.00")


def test_confirming_twice_with_the_same_key_converts_once(world, login_as):
    setup = partner_ready(world, balance=Decimal("12000.00"))
    client = login_as("a:owner")
    body = {"step": "execute", "amount": "6000.00", "idempotency_key": "k-1"}

    client.post(reverse("cabinet:payout_convert"), body)
    client.post(reverse("cabinet:payout_convert"), body)

    assert Payout.objects.count() == 1
    assert selectors.bonus_balance(organisation=setup.organisation) == Decimal("6000.00")


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("4999,99", "Минимальная сумма конвертации"),
        ("12000,01", "Сумма больше баланса бонусов"),
        ("шесть тысяч", "Введите сумму числом"),
        ("6000,005", "знак"),
    ],
)
def test_a_bad_amount_is_refused_with_the_field_named(world, login_as, amount, message):
    setup = partner_ready(world, balance=Decimal("12000.00"))

    response = login_as("a:owner").post(
        reverse("cabinet:payout_convert"), {"step": "confirm", "amount": amount}
    )

    assert response.status_code == 400
    page = response.content.decode()
    assert 'data-field="amount"' in page
    assert message in page
    assert selectors.bonus_balance(organisation=setup.organisation) == Decimal("12000.00")


def test_without_a_signed_contract_the_confirmation_is_refused(world, login_as):
    partner_ready(world, contract_state=None)

    response = login_as("a:owner").post(
        reverse("cabinet:payout_convert"),
        {"step": "execute", "amount": "6000.00", "idempotency_key": "k-1"},
    )

    assert response.status_code == 400
    assert "Договор не подписан" in response.content.decode()
    assert not Payout.objects.exists()


def test_the_payout_shows_its_state_and_a_link_to_the_act(world, login_as):
    payout = convert(partner_ready(world))
    (act,) = ready_without_rendering(selectors.documents_of(payout=payout))

    response = login_as("a:developer").get(reverse("cabinet:payout_detail", args=[payout.pk]))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Документы сформированы" in page
    assert reverse("cabinet:closing_document_download", kwargs={"pk": act.pk}) in page
    assert act.number in page
    assert 'id="mark-sent"' not in page  # the developer does not send documents


def test_the_accountant_marks_the_documents_sent(world, login_as):
    payout = convert(partner_ready(world))
    client = login_as("a:accountant")
    assert (
        'id="mark-sent"'
        in client.get(reverse("cabinet:payout_detail", args=[payout.pk])).content.decode()
    )

    response = client.post(reverse("cabinet:payout_mark_sent", args=[payout.pk]), follow=True)

    payout.refresh_from_db()
    assert payout.state == PayoutState.SENT
    assert "Рассмотрим до" in response.content.decode()


def test_partner_b_gets_404_for_partner_as_payout(world, login_as):
    payout = convert(partner_ready(world))
    client = login_as("b:owner")

    assert client.get(reverse("cabinet:payout_detail", args=[payout.pk])).status_code == 404
    assert client.post(reverse("cabinet:payout_mark_sent", args=[payout.pk])).status_code == 404
    payout.refresh_from_db()
    assert payout.state == PayoutState.GENERATED


def test_partner_bs_list_does_not_show_partner_as_payouts(world, login_as):
    payout = convert(partner_ready(world))

    page = login_as("b:owner").get(reverse("cabinet:payouts")).content.decode()

    assert reverse("cabinet:payout_detail", args=[payout.pk]) not in page


def test_when_the_act_cannot_be_issued_nothing_is_converted(world, login_as):
    # Given a card that lost its INN after the contract was signed
    setup = partner_ready(world, balance=Decimal("12000.00"))
    type(setup.organisation).objects.filter(pk=setup.organisation.pk).update(inn="")

    response = login_as("a:owner").post(
        reverse("cabinet:payout_convert"),
        {"step": "execute", "amount": "6000.00", "idempotency_key": "k-1"},
    )

    assert response.status_code == 400
    assert "ИНН" in response.content.decode()
    assert not Payout.objects.exists()
    assert selectors.bonus_balance(organisation=setup.organisation) == Decimal("12000.00")


def test_the_bonus_history_shows_a_conversion_and_its_return_after_a_rejection(world, login_as):
    # given partner A registered in the referral program, with a payout of 6,000 that staff
    # rejected
    from partnerhub.payouts import services
    from partnerhub.referrals.services import intake

    setup = partner_ready(world)
    intake.events_ingest(
        program=setup.program,
        objs=[
            {
                "id": "reg-1",
                "type": "partner.registered",
                "at": setup.partner.registered_at.isoformat(),
                "partner": setup.partner.code,
            }
        ],
    )
    payout = convert(setup)
    services.payout_reject(payout=payout, reason="Нет подписи")

    # when the partner opens its bonus history
    response = login_as("a:owner").get(reverse("cabinet:referral_bonuses"))

    # then the conversion took 6,000 and the rejection gave it back, newest first
    rows = [(row["kind"], row["entry"].amount) for row in response.context["page"].object_list]
    assert rows == [
        ("Возврат бонусов: выплата отклонена", Decimal("6000.00")),
        ("Вывод бонусов", Decimal("-6000.00")),
    ]
    assert "Возврат бонусов: выплата отклонена" in response.content.decode()
