"""Helpers of the payout tests: a partner in the referral program with a signed contract and a
bonus balance, complete cards on both sides, payouts moved along their states."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from partnerhub.contracts.models import Contract, ContractState
from partnerhub.core import clock, ledger
from partnerhub.core.models.ledger import Side
from partnerhub.partners.models import Organisation, Program, ProgramKind
from partnerhub.payouts import services
from partnerhub.payouts.models import Payout
from partnerhub.referrals.models import ReferralPartner
from tests.factories import COMPLETE_UL_CARD, ProgramFactory

VENDOR_CARD = {
    "full_name": "Общество с ограниченной ответственностью «1С-Битрикс»",
    "short_name": "ООО «1С-Битрикс»",
    "inn": "7717586110",
    "kpp": "771701001",
    "ogrn": "5077746476209",
    "legal_address": "236001, г. Калининград, Московский пр-кт, д. 261",
    "bik": "044030653",
    "settlement_account": "40702810555000000077",
    "correspondent_account": "30101810500000000653",
    "bank_name": "ПАО Сбербанк (Северо-Западный банк)",
    "director_name": "Рыжиков Сергей Борисович",
    "director_position": "Генеральный директор",
}


@dataclass
class Setup:
    organisation: Organisation
    program: Program
    partner: ReferralPartner
    contract: Contract | None


def fill_card(organisation: Organisation, *, vat_payer: bool) -> Organisation:
    """A complete legal-entity card with bank requisites (name and INN kept)."""
    card = {k: v for k, v in COMPLETE_UL_CARD.items() if k not in {"short_name", "full_name"}}
    card.update(
        full_name=f"Общество с ограниченной ответственностью {organisation.short_name[4:]}",
        vat_payer=vat_payer,
    )
    Organisation.objects.filter(pk=organisation.pk).update(**card)
    organisation.refresh_from_db()
    return organisation


def vendor_card(vendor: Organisation) -> Organisation:
    Organisation.objects.filter(pk=vendor.pk).update(**VENDOR_CARD)
    vendor.refresh_from_db()
    return vendor


def credit_bonuses(organisation: Organisation, amount: Decimal) -> None:
    """Bonuses accrued the way the referral engine posts them (vendor expense → bonus_rub)."""
    expense = ledger.account_get_or_create(
        organisation_id=None, purpose="bonus_expense", normal_side=Side.DEBIT
    )
    bonus = services.bonus_account(organisation.pk)
    ledger.post(
        kind="referral_reward",
        lines=[ledger.Line(expense, debit=amount), ledger.Line(bonus, credit=amount)],
        idempotency_ref=f"test:{uuid.uuid4().hex}",
    )


def refund_bonuses(organisation: Organisation, amount: Decimal) -> None:
    """A refund taking bonuses back (it may leave the balance negative)."""
    expense = ledger.account_get_or_create(
        organisation_id=None, purpose="bonus_expense", normal_side=Side.DEBIT
    )
    bonus = services.bonus_account(organisation.pk)
    ledger.post(
        kind="referral_refund",
        lines=[ledger.Line(bonus, debit=amount), ledger.Line(expense, credit=amount)],
        idempotency_ref=f"test:{uuid.uuid4().hex}",
    )


def partner_ready(
    world: Any,
    *,
    organisation: Organisation | None = None,
    balance: Decimal = Decimal("12000.00"),
    vat_payer: bool = False,
    channel: str = "edo",
    contract_state: str | None = ContractState.SIGNED,
    blocked: bool = False,
    program: Program | None = None,
) -> Setup:
    """Partner A (or ``organisation``) in the vendor's referral program with ``balance`` bonuses
    and a contract in ``contract_state`` (None: no contract)."""
    org = fill_card(organisation or world.partner_a, vat_payer=vat_payer)
    vendor_card(world.vendor)
    program = program or ProgramFactory(
        vendor=world.vendor, name="Партнёрская программа Битрикс24", kind=ProgramKind.REFERRALS
    )
    partner = ReferralPartner.objects.create(
        program=program,
        organisation=org,
        code=f"P{org.pk:05d}",
        registered_at=clock.now() - dt.timedelta(days=30),
        blocked=blocked,
    )
    contract = None
    if contract_state is not None:
        contract = Contract.objects.create(
            organisation=org,
            program=program,
            state=contract_state,
            application_channel=channel,
            closing_channel=channel,
            application_number="З-2026-00001",
            signed_on=clock.today() if contract_state == ContractState.SIGNED else None,
        )
    if balance:
        credit_bonuses(org, balance)
    return Setup(organisation=org, program=program, partner=partner, contract=contract)


def convert(
    setup: Setup, amount: str = "6000.00", *, by: Any = None, now: dt.datetime | None = None
) -> Payout:
    return services.payout_convert(
        organisation=setup.organisation,
        amount=Decimal(amount),
        idempotency_key=uuid.uuid4().hex,
        by=by,
        now=now,
    )
