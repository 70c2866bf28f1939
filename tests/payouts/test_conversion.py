"""Conversion of bonuses (spec referrals.md "Conversion and payout"; seed "ПОРЯДОК ВЫПЛАТ"):
from 5,000 up to the balance, with a signed contract, not blocked; the balance is debited at once
and a payout with its closing documents is created, in one transaction."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from partnerhub.contracts.models import ContractState
from partnerhub.core import ledger
from partnerhub.core.errors import Conflict
from partnerhub.core.models.audit import AuditEvent
from partnerhub.core.models.ledger import LedgerTransaction
from partnerhub.core.models.outbox import OutboxEvent
from partnerhub.documents.models import ClosingDocument
from partnerhub.payouts import selectors, services
from partnerhub.payouts.errors import ConversionRefused
from partnerhub.payouts.models import Payout, PayoutState
from tests.payouts.factories import convert, partner_ready, refund_bonuses

pytestmark = pytest.mark.django_db


def balance_of(setup) -> Decimal:
    return selectors.bonus_balance(organisation=setup.organisation)


def nothing_written(setup, *, balance: str) -> None:
    assert balance_of(setup) == Decimal(balance)
    assert not Payout.objects.exists()
    assert not ClosingDocument.objects.exists()
    assert not LedgerTransaction.objects.filter(kind="payout_conversion").exists()


def test_converting_6000_of_12000_debits_the_balance_and_creates_a_payout(world):
    setup = partner_ready(world, balance=Decimal("12000.00"))

    payout = convert(setup, "6000.00", by=world.user("a:owner"))

    assert payout.state == PayoutState.GENERATED
    assert payout.amount == Decimal("6000.00")
    assert balance_of(setup) == Decimal("6000.00")
    payable = services.payable_account(setup.organisation.pk)
    assert ledger.balance(payable) == Decimal("-6000.00")  # credit-normal: owed 6,000 to A
    assert ledger.check_invariants() == []


def test_conversion_issues_the_act_under_the_payout_source(world):
    setup = partner_ready(world, balance=Decimal("12000.00"), vat_payer=False)

    payout = convert(setup, "6000.00")

    documents = selectors.documents_of(payout=payout)
    assert [d.kind for d in documents] == ["act"]
    assert documents[0].amount == Decimal("6000.00")
    assert documents[0].source == f"payout:{payout.pk}"


def test_conversion_for_a_vat_payer_issues_an_act_and_an_invoice(world):
    setup = partner_ready(world, balance=Decimal("12000.00"), vat_payer=True)

    payout = convert(setup, "6000.00")

    assert [d.kind for d in selectors.documents_of(payout=payout)] == ["act", "invoice"]


def test_conversion_is_audited_and_announced(world):
    setup = partner_ready(world)

    payout = convert(setup, "6000.00", by=world.user("a:accountant"))

    assert AuditEvent.objects.filter(action="payouts.payout.created", object_id=str(payout.pk))
    assert OutboxEvent.objects.filter(
        event_type="payouts.payout.generated", organisation_id=setup.organisation.pk
    ).exists()


def test_exactly_5000_is_converted(world):
    setup = partner_ready(world, balance=Decimal("5000.00"))

    convert(setup, "5000.00")

    assert balance_of(setup) == Decimal("0.00")


def test_the_whole_balance_with_kopecks_is_converted(world):
    setup = partner_ready(world, balance=Decimal("7345.67"))

    convert(setup, "7345.67")

    assert balance_of(setup) == Decimal("0.00")


def test_4999_99_is_refused_as_below_the_minimum(world):
    setup = partner_ready(world, balance=Decimal("12000.00"))

    with pytest.raises(ConversionRefused) as refused:
        convert(setup, "4999.99")

    assert refused.value.code == "below_minimum"
    assert "amount" in refused.value.fields
    nothing_written(setup, balance="12000.00")


def test_an_amount_above_the_balance_is_refused(world):
    setup = partner_ready(world, balance=Decimal("12000.00"))

    with pytest.raises(ConversionRefused) as refused:
        convert(setup, "12000.01")

    assert refused.value.code == "above_balance"
    nothing_written(setup, balance="12000.00")


def test_a_balance_of_4999_cannot_be_converted(world):
    setup = partner_ready(world, balance=Decimal("4999.00"))

    with pytest.raises(ConversionRefused):
        convert(setup, "4999.00")

    nothing_written(setup, balance="4999.00")


def test_more_than_two_decimals_is_refused(world):
    setup = partner_ready(world)

    with pytest.raises(ConversionRefused) as refused:
        convert(setup, "6000.005")

    assert "amount" in refused.value.fields
    nothing_written(setup, balance="12000.00")


def test_not_a_decimal_is_refused(world):
    setup = partner_ready(world)

    with pytest.raises(ConversionRefused):
        services.payout_convert(
            organisation=setup.organisation, amount="шесть тысяч", idempotency_key="k1"
        )

    nothing_written(setup, balance="12000.00")


@pytest.mark.parametrize(
    "state", [None, ContractState.DRAFT, ContractState.UNDER_REVIEW, ContractState.TERMINATED]
)
def test_without_a_signed_contract_conversion_is_refused(world, state):
    setup = partner_ready(world, contract_state=state)

    with pytest.raises(ConversionRefused) as refused:
        convert(setup, "6000.00")

    assert refused.value.code == "contract_not_signed"
    nothing_written(setup, balance="12000.00")


def test_a_blocked_partner_cannot_convert(world):
    setup = partner_ready(world, blocked=True)

    with pytest.raises(ConversionRefused) as refused:
        convert(setup, "6000.00")

    assert refused.value.code == "partner_blocked"
    nothing_written(setup, balance="12000.00")


def test_a_negative_balance_after_a_refund_cannot_be_converted(world):
    setup = partner_ready(world, balance=Decimal("6000.00"))
    convert(setup, "6000.00")
    refund_bonuses(setup.organisation, Decimal("1000.00"))

    eligibility = selectors.conversion_eligibility(organisation=setup.organisation)

    assert eligibility.balance == Decimal("-1000.00")
    assert not eligibility.allowed
    with pytest.raises(ConversionRefused):
        convert(setup, "5000.00")


def test_the_same_key_returns_the_first_payout_and_converts_once(world):
    setup = partner_ready(world, balance=Decimal("12000.00"))
    key = uuid.uuid4().hex

    first = services.payout_convert(
        organisation=setup.organisation, amount=Decimal("6000.00"), idempotency_key=key
    )
    second = services.payout_convert(
        organisation=setup.organisation, amount=Decimal("6000.00"), idempotency_key=key
    )

    assert second.pk == first.pk
    assert Payout.objects.count() == 1
    assert balance_of(setup) == Decimal("6000.00")


def test_eligibility_names_every_obstacle(world):
    setup = partner_ready(world, balance=Decimal("100.00"), contract_state=None, blocked=True)

    eligibility = selectors.conversion_eligibility(organisation=setup.organisation)

    assert len(eligibility.reasons) == 3
    assert eligibility.minimum == Decimal("5000.00")


def test_the_same_key_with_another_amount_is_refused(world):
    setup = partner_ready(world, balance=Decimal("12000.00"))
    key = uuid.uuid4().hex
    services.payout_convert(
        organisation=setup.organisation, amount=Decimal("6000.00"), idempotency_key=key
    )

    with pytest.raises(Conflict) as refused:
        services.payout_convert(
            organisation=setup.organisation, amount=Decimal("5000.00"), idempotency_key=key
        )

    assert refused.value.code == "idempotency_key_reused"
    assert Payout.objects.count() == 1
    assert balance_of(setup) == Decimal("6000.00")
