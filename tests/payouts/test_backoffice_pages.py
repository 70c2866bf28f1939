"""Back office pages of payouts, rendered: the lists (due today, overdue, by state) with a bounded
number of queries, accept / reject by the accountant, registers with their exports and "paid"."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from partnerhub.core.clock import PROGRAM_TZ
from partnerhub.payouts import selectors, services
from partnerhub.payouts.models import PaymentRegister, PayoutState, RegisterState
from tests.documents.factories import ready_without_rendering
from tests.payouts.factories import convert, partner_ready

pytestmark = pytest.mark.django_db


def moscow(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=PROGRAM_TZ)


def sent(setup, at=None):
    return services.payout_mark_sent(payout=convert(setup), now=at)


def test_the_lists_due_today_and_overdue_at_12_may_2026(
    world, login_as, django_assert_max_num_queries
):
    setup = partner_ready(world, balance=Decimal("100000.00"))
    due_today = [sent(setup, moscow(2026, 5, 8, 10)) for _ in range(3)]
    overdue = [sent(setup, moscow(2026, 5, 7, 10)) for _ in range(3)]
    client = login_as("vendor:support")

    with time_machine.travel(moscow(2026, 5, 12, 9), tick=False):
        with django_assert_max_num_queries(12):
            today_page = client.get(reverse("backoffice:payouts"), {"due": "due_today"})
        with django_assert_max_num_queries(12):
            overdue_page = client.get(reverse("backoffice:payouts"), {"due": "overdue"})

    today_html, overdue_html = today_page.content.decode(), overdue_page.content.decode()
    for payout in due_today:
        assert reverse("backoffice:payout_detail", args=[payout.pk]) in today_html
        assert reverse("backoffice:payout_detail", args=[payout.pk]) not in overdue_html
    for payout in overdue:
        assert reverse("backoffice:payout_detail", args=[payout.pk]) in overdue_html
    assert "Срок сегодня: 3" in today_html
    assert "Просрочено: 3" in today_html


def test_the_list_filters_by_state(world, login_as):
    setup = partner_ready(world, balance=Decimal("20000.00"))
    generated = convert(setup)
    was_sent = sent(setup)

    page = login_as("vendor:accountant").get(reverse("backoffice:payouts"), {"state": "sent"})

    html = page.content.decode()
    assert reverse("backoffice:payout_detail", args=[was_sent.pk]) in html
    assert reverse("backoffice:payout_detail", args=[generated.pk]) not in html


def test_the_accountant_accepts_a_sent_payout(world, login_as):
    payout = sent(partner_ready(world))
    ready_without_rendering(selectors.documents_of(payout=payout))
    client = login_as("vendor:accountant")
    detail = client.get(reverse("backoffice:payout_detail", args=[payout.pk])).content.decode()
    assert 'id="accept-button"' in detail
    assert (
        reverse(
            "backoffice:closing_document_download",
            kwargs={"pk": selectors.act_of(payout=payout).pk},
        )
        in detail
    )

    client.post(reverse("backoffice:payout_accept", args=[payout.pk]))

    payout.refresh_from_db()
    assert payout.state == PayoutState.ACCEPTED
    assert payout.pay_due_on is not None


def test_support_sees_the_payout_without_the_decisions(world, login_as):
    payout = sent(partner_ready(world))

    page = login_as("vendor:support").get(reverse("backoffice:payout_detail", args=[payout.pk]))

    assert page.status_code == 200
    assert 'id="accept-button"' not in page.content.decode()


def test_rejecting_without_a_reason_names_the_field(world, login_as):
    payout = sent(partner_ready(world))

    response = login_as("vendor:accountant").post(
        reverse("backoffice:payout_reject", args=[payout.pk]), {"reason": ""}
    )

    assert response.status_code == 400
    assert 'data-field="reason"' in response.content.decode()
    payout.refresh_from_db()
    assert payout.state == PayoutState.SENT


def test_rejecting_with_a_reason_returns_the_bonuses(world, login_as):
    setup = partner_ready(world, balance=Decimal("12000.00"))
    payout = sent(setup)

    login_as("vendor:accountant").post(
        reverse("backoffice:payout_reject", args=[payout.pk]), {"reason": "Нет подписи"}
    )

    payout.refresh_from_db()
    assert payout.state == PayoutState.REJECTED
    assert selectors.bonus_balance(organisation=setup.organisation) == Decimal("12000.00")


def test_a_register_is_created_exported_and_paid(world, login_as):
    setup = partner_ready(world, balance=Decimal("20000.00"), vat_payer=True)
    payout = services.payout_accept(payout=sent(setup))
    client = login_as("vendor:accountant")
    offered = client.get(reverse("backoffice:payout_registers")).content.decode()
    assert f'value="{payout.pk}"' in offered
    assert "6\xa0000,00\xa0₽" in offered  # the amount as the accountant reads it

    response = client.post(reverse("backoffice:payout_register_create"), {"payouts": [payout.pk]})

    register = PaymentRegister.objects.get()
    assert response["Location"] == reverse("backoffice:payout_register", args=[register.pk])
    csv_response = client.get(reverse("backoffice:payout_register_csv", args=[register.pk]))
    assert csv_response.status_code == 200
    assert "Общество с ограниченной ответственностью «Альфа»" in csv_response.content.decode(
        "utf-8-sig"
    )
    onec = client.get(reverse("backoffice:payout_register_1c", args=[register.pk]))
    assert onec["Content-Type"] == "text/plain; charset=windows-1251"
    assert onec.content.decode("cp1251").startswith("1CClientBankExchange\r\n")
    client.post(reverse("backoffice:payout_register_paid", args=[register.pk]))
    register.refresh_from_db()
    payout.refresh_from_db()
    assert register.state == RegisterState.PAID
    assert payout.state == PayoutState.PAID


def test_an_empty_selection_names_the_field(world, login_as):
    response = login_as("vendor:accountant").post(reverse("backoffice:payout_register_create"), {})

    assert response.status_code == 400
    assert not PaymentRegister.objects.exists()


def test_the_registers_list_takes_few_queries(world, login_as, django_assert_max_num_queries):
    setup = partner_ready(world, balance=Decimal("60000.00"))
    for _ in range(5):
        payout = services.payout_accept(payout=sent(setup))
        services.register_create(vendor=world.vendor, payout_ids=[payout.pk])
    client = login_as("vendor:program_manager")

    with django_assert_max_num_queries(12):
        response = client.get(reverse("backoffice:payout_registers"))

    assert response.content.decode().count("/backoffice/payouts/registers/") >= 5
