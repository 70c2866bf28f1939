"""The files of a payment register: its payouts as the plain data of ``bank_formats``."""

from __future__ import annotations

from partnerhub.core.clock import PROGRAM_TZ, local_date
from partnerhub.partners.models import Organisation
from partnerhub.payouts import bank_formats, selectors
from partnerhub.payouts.models import PaymentRegister


def party_of(organisation: Organisation) -> bank_formats.Party:
    """The bank requisites of an organisation's card."""
    return bank_formats.Party(
        name=organisation.full_name or organisation.short_name,
        inn=organisation.inn,
        kpp=organisation.kpp,
        account=organisation.settlement_account,
        bank_name=organisation.bank_name,
        bik=organisation.bik,
        correspondent_account=organisation.correspondent_account,
    )


def register_data(*, register: PaymentRegister) -> bank_formats.Register:
    """One payment order per payout: the vendor pays the partner the payout's amount, the
    purpose naming the act and its VAT. Orders are numbered by the payout's number and dated
    the register's day."""
    payer = party_of(register.vendor)
    day = local_date(register.created_at)
    orders = []
    for payout in selectors.register_payouts(register=register):
        act = selectors.act_of(payout=payout)
        purpose = (
            bank_formats.purpose_text(
                act_number=act.number,
                act_date=act.issued_on,
                vat_rate=act.vat_rate,
                vat_amount=act.vat_amount,
            )
            if act is not None
            else f"Выплата вознаграждения, выплата № {payout.pk}. НДС не облагается"
        )
        orders.append(
            bank_formats.PaymentOrder(
                number=str(payout.pk),
                date=day,
                amount=payout.amount,
                payer=payer,
                recipient=party_of(payout.organisation),
                purpose=purpose,
            )
        )
    return bank_formats.Register(
        payer=payer,
        created_at=register.created_at.astimezone(PROGRAM_TZ),
        start=day,
        end=day,
        orders=orders,
    )


def register_csv_bytes(*, register: PaymentRegister) -> bytes:
    return bank_formats.register_csv(register_data(register=register))


def register_1c_bytes(*, register: PaymentRegister) -> bytes:
    return bank_formats.client_bank_exchange(register_data(register=register))
