"""Payment registers (issue 6, part 7): staff put accepted payouts into a register (one open
register per payout), export it, and marking it paid marks its payouts paid with ledger
entries, in one transaction."""

from __future__ import annotations

from decimal import Decimal

import pytest

from partnerhub.core import ledger
from partnerhub.core.errors import Conflict, ValidationFailed
from partnerhub.payouts import exports, services
from partnerhub.payouts.errors import PayoutRefused
from partnerhub.payouts.models import PayoutState, RegisterState
from tests.payouts.factories import convert, partner_ready

pytestmark = pytest.mark.django_db


def accepted(setup, amount="6000.00"):
    payout = services.payout_mark_sent(payout=convert(setup, amount))
    return services.payout_accept(payout=payout)


def test_a_register_takes_accepted_payouts(world):
    setup = partner_ready(world, balance=Decimal("20000.00"))
    first, second = accepted(setup), accepted(setup, "7000.00")

    register = services.register_create(
        vendor=world.vendor, payout_ids=[first.pk, second.pk], by=world.user("vendor:accountant")
    )

    assert register.number == 1
    assert register.state == RegisterState.OPEN
    assert sorted(register.items.values_list("payout_id", flat=True)) == [first.pk, second.pk]


def test_a_payout_not_accepted_is_refused_and_no_register_is_made(world):
    setup = partner_ready(world, balance=Decimal("20000.00"))
    ok = accepted(setup)
    generated = convert(setup, "5000.00")

    with pytest.raises(ValidationFailed) as refused:
        services.register_create(vendor=world.vendor, payout_ids=[ok.pk, generated.pk])

    assert "payouts" in refused.value.fields
    assert not world.vendor.registers.exists()


def test_a_payout_can_be_in_one_open_register_only(world):
    payout = accepted(partner_ready(world))
    services.register_create(vendor=world.vendor, payout_ids=[payout.pk])

    with pytest.raises(PayoutRefused):
        services.register_create(vendor=world.vendor, payout_ids=[payout.pk])

    assert world.vendor.registers.count() == 1


def test_after_cancelling_a_register_its_payout_goes_into_another(world):
    payout = accepted(partner_ready(world))
    first = services.register_create(vendor=world.vendor, payout_ids=[payout.pk])
    services.register_cancel(register=first)

    second = services.register_create(vendor=world.vendor, payout_ids=[payout.pk])

    assert second.number == 2


def test_another_vendors_payout_is_not_found(world):
    from tests.factories import VendorFactory

    payout = accepted(partner_ready(world))

    with pytest.raises(ValidationFailed):
        services.register_create(vendor=VendorFactory(short_name="Другой"), payout_ids=[payout.pk])


def test_marking_the_register_paid_pays_its_payouts_in_the_ledger(world):
    setup = partner_ready(world, balance=Decimal("20000.00"))
    first, second = accepted(setup), accepted(setup, "7000.00")
    register = services.register_create(vendor=world.vendor, payout_ids=[first.pk, second.pk])

    register = services.register_mark_paid(register=register, by=world.user("vendor:accountant"))

    assert register.state == RegisterState.PAID
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.state == second.state == PayoutState.PAID
    assert first.due_on is None
    assert ledger.balance(services.payable_account(setup.organisation.pk)) == Decimal("0.00")
    assert ledger.balance(services.bank_account()) == Decimal("-13000.00")
    assert ledger.check_invariants() == []


def test_rejecting_or_accepting_a_paid_payout_is_refused(world):
    payout = accepted(partner_ready(world))
    register = services.register_create(vendor=world.vendor, payout_ids=[payout.pk])
    services.register_mark_paid(register=register)
    payout.refresh_from_db()

    with pytest.raises(PayoutRefused):
        services.payout_reject(payout=payout, reason="Поздно")
    with pytest.raises(PayoutRefused):
        services.payout_accept(payout=payout)

    payout.refresh_from_db()
    assert payout.state == PayoutState.PAID


def test_a_paid_register_cannot_be_paid_again(world):
    payout = accepted(partner_ready(world))
    register = services.register_create(vendor=world.vendor, payout_ids=[payout.pk])
    services.register_mark_paid(register=register)

    with pytest.raises(Conflict):
        services.register_mark_paid(register=register)


def test_the_1c_export_names_the_act_and_its_vat(world):
    setup = partner_ready(world, vat_payer=True)
    payout = accepted(setup, "6000.00")
    register = services.register_create(vendor=world.vendor, payout_ids=[payout.pk])

    text = exports.register_1c_bytes(register=register).decode("cp1251")

    assert "Сумма=6000.00\r\n" in text
    assert "ПолучательИНН=7707083893\r\n" in text
    assert "РасчСчет=40702810555000000077\r\n" in text
    assert "В т.ч. НДС 22% - 1081.97 руб." in text
    assert "по акту № А-" in text


def test_the_1c_export_of_a_partner_without_vat_says_so(world):
    payout = accepted(partner_ready(world, vat_payer=False))
    register = services.register_create(vendor=world.vendor, payout_ids=[payout.pk])

    text = exports.register_1c_bytes(register=register).decode("cp1251")

    assert "НДС не облагается" in text
