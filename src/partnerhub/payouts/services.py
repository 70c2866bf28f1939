"""Writes of payouts: conversion of bonuses, the document states, registers, the digest.

Issue 6, parts 4, 6 and 7; spec referrals.md ("Conversion and payout"); seed "ПОРЯДОК ВЫПЛАТ".

Ledger design (``core.ledger``, all in roubles, 1 bonus = 1 rouble):

- conversion: debit the partner's ``bonus_rub`` (its bonus balance goes down), credit the
  partner's ``payout_payable`` (what the vendor owes the partner for this payout);
- rejection: the conversion transaction is reversed (``ledger.reverse``): the bonuses return;
- payment (a register marked paid): debit ``payout_payable``, credit the vendor's
  ``payout_bank`` account (money left the vendor's bank account).

Concurrency: the conversion locks the partner's bonus account row (``select_for_update`` on
PostgreSQL; SQLite runs writers one at a time in IMMEDIATE transactions) and only then reads
the balance and the idempotency key, so two clicks or two tabs never convert the same bonuses
twice; the unique (organisation, key) constraint returns the first payout for a repeated key.
State moves go through ``core.transitions`` (conditional update, audit row, outbox event
``payouts.payout.<state>``); deadlines are stored when a state is entered.
"""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils.translation import gettext_lazy as _

from partnerhub.contracts import selectors as contract_selectors
from partnerhub.core import audit, ledger, outbox
from partnerhub.core.calendar import add_business_days, current_calendar
from partnerhub.core.clock import local_date
from partnerhub.core.clock import now as clock_now
from partnerhub.core.error_codes import CoreErrorCode
from partnerhub.core.errors import Conflict, ValidationFailed
from partnerhub.core.input import decimal_in_range
from partnerhub.core.models.ledger import LedgerAccount, LedgerTransaction, Side
from partnerhub.core.transitions import transition
from partnerhub.documents.services import closing_documents_issue
from partnerhub.partners.models import Organisation
from partnerhub.payouts import selectors
from partnerhub.payouts.error_codes import PayoutsErrorCode
from partnerhub.payouts.errors import ConversionRefused, PayoutRefused
from partnerhub.payouts.models import (
    DigestSent,
    PaymentRegister,
    Payout,
    PayoutState,
    RegisterItem,
    RegisterState,
)
from partnerhub.referrals.error_codes import ReferralsErrorCode

logger = logging.getLogger(__name__)

BONUS_PURPOSE = selectors.BONUS_PURPOSE
PAYABLE_PURPOSE = "payout_payable"
BANK_PURPOSE = "payout_bank"
#: Staff accept or reject the act within 1 business day of receiving it (seed, "ПОРЯДОК ВЫПЛАТ").
ACCEPT_BUSINESS_DAYS = 1
#: The money is paid within 10 business days of the act's signing.
PAY_BUSINESS_DAYS = 10
KEY_MAX = 64
CENT = Decimal("0.01")


# --- accounts -------------------------------------------------------------------------------------


def bonus_account(organisation_id: int) -> LedgerAccount:
    return ledger.account_get_or_create(
        organisation_id=organisation_id, purpose=BONUS_PURPOSE, normal_side=Side.CREDIT
    )


def payable_account(organisation_id: int) -> LedgerAccount:
    return ledger.account_get_or_create(
        organisation_id=organisation_id,
        purpose=PAYABLE_PURPOSE,
        normal_side=Side.CREDIT,
        name="Выплаты к перечислению",
    )


def bank_account() -> LedgerAccount:
    return ledger.account_get_or_create(
        organisation_id=None,
        purpose=BANK_PURPOSE,
        normal_side=Side.DEBIT,
        name="Расчётный счёт (выплаты партнёрам)",
    )


# --- conversion -----------------------------------------------------------------------------------


def _amount_checked(amount: Any) -> Decimal:
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise ConversionRefused(
            _("Сумма указана неверно."), fields={"amount": [_("Введите сумму числом.")]}
        )
    too_large = decimal_in_range(amount)  # before quantizing: Decimal("1e30") cannot be
    if too_large is not None:
        raise ConversionRefused(_("Сумма указана неверно."), fields={"amount": [too_large]})
    if amount != amount.quantize(CENT):
        raise ConversionRefused(
            _("Сумма указана неверно."),
            fields={"amount": [_("Не больше двух знаков после запятой.")]},
        )
    return amount.quantize(CENT)


def _key_checked(key: str) -> str:
    key = (key or "").strip()
    if not key or len(key) > KEY_MAX:
        raise ValidationFailed(
            _("Обновите страницу и повторите."),
            fields={"idempotency_key": [_("Нет ключа запроса.")]},
        )
    return key


def payout_convert(
    *,
    organisation: Organisation,
    amount: Any,
    idempotency_key: str,
    by: Any = None,
    now: dt.datetime | None = None,
) -> Payout:
    """Convert ``amount`` bonuses into roubles: debit the bonus balance, create the payout and
    issue its closing documents, in one transaction.

    Refused (``ConversionRefused`` naming the field, nothing written) when the partner is not in
    the referral program or blocked, the contract is not signed, the amount is below the
    program's minimum (5,000.00) or above the balance, or not an amount of kopecks. The same
    ``idempotency_key`` again returns the first payout.
    """
    key = _key_checked(idempotency_key)
    moment = now or clock_now()
    value = _amount_checked(amount)
    existing = Payout.objects.filter(organisation=organisation, idempotency_key=key).first()
    if existing is not None:
        return _same_request(existing, value)
    with transaction.atomic():
        account = bonus_account(organisation.pk)
        # The lock serialises conversions of one partner; reads below see the winner's rows.
        LedgerAccount.objects.select_for_update().filter(pk=account.pk).first()
        existing = Payout.objects.filter(organisation=organisation, idempotency_key=key).first()
        if existing is not None:
            return _same_request(existing, value)
        eligibility = selectors.conversion_eligibility(organisation=organisation)
        if eligibility.partner is None or eligibility.program is None:
            raise ConversionRefused(eligibility.reasons[0])
        if eligibility.partner.blocked:
            raise ConversionRefused(
                _("Участие в программе приостановлено: конвертация недоступна."),
                code=ReferralsErrorCode.PARTNER_BLOCKED,
            )
        program = eligibility.program
        if not contract_selectors.contract_signed(organisation=organisation, program=program):
            raise ConversionRefused(
                _("Договор не подписан: конвертация возможна после подписания договора."),
                code=PayoutsErrorCode.CONTRACT_NOT_SIGNED,
            )
        minimum, available = eligibility.minimum, eligibility.balance
        problem = selectors.amount_problem(eligibility=eligibility, amount=value)
        if problem is not None:
            code = (
                PayoutsErrorCode.BELOW_MINIMUM
                if value < minimum
                else PayoutsErrorCode.ABOVE_BALANCE
            )
            raise ConversionRefused(problem, fields={"amount": [problem]}, code=code)
        payout = Payout.objects.create(
            organisation=organisation,
            vendor=program.vendor,
            program=program,
            amount=value,
            idempotency_key=key,
            created_by=by if getattr(by, "pk", None) else None,
            created_at=moment,
        )
        conversion = ledger.post(
            kind="payout_conversion",
            lines=[
                ledger.Line(account, debit=value),
                ledger.Line(payable_account(organisation.pk), credit=value),
            ],
            idempotency_ref=f"payouts:{payout.pk}:conversion",
            cause=("payouts.payout", payout.pk),
            snapshot={"amount": str(value), "minimum": str(minimum), "balance": str(available)},
            memo=f"Конвертация бонусов, выплата {payout.pk}",
        )
        Payout.objects.filter(pk=payout.pk).update(conversion=conversion)
        payout.conversion = conversion
        _documents_issue(payout=payout, on=local_date(moment))
        audit.record(
            action="payouts.payout.created",
            obj=payout,
            after={"amount": str(value), "state": payout.state},
            actor=by,
        )
        outbox.emit(
            "payouts.payout.generated",
            {"id": payout.pk, "amount": str(value)},
            organisation_id=organisation.pk,
            vendor_id=audit.vendor_of(payout),
        )
    return payout


def _same_request(existing: Payout, amount: Decimal) -> Payout:
    """The first payout of a repeated key; the same key for another amount is refused."""
    if existing.amount != amount:
        raise Conflict(
            _("Эта форма уже отправлена с другой суммой. Начните конвертацию заново."),
            code=CoreErrorCode.IDEMPOTENCY_KEY_REUSED,
        )
    return existing


def _documents_issue(*, payout: Payout, on: dt.date) -> None:
    closing_documents_issue(
        vendor=payout.vendor,
        partner=payout.organisation,
        amount=payout.amount,
        issued_on=on,
        basis=_basis(payout),
        source=payout.source,
    )


def _basis(payout: Payout) -> str:
    """The act's basis: the partner's accession to the program's contract (заявление о
    присоединении), with its number and signing date when known."""
    contract = contract_selectors.contract_of(
        organisation=payout.organisation, program=payout.program
    )
    basis = f"Договор присоединения, партнёрская программа «{payout.program.name}»"
    if contract is not None and contract.application_number:
        basis += f", заявление № {contract.application_number}"
        if contract.signed_on is not None:
            basis += f" от {contract.signed_on:%d.%m.%Y}"
    return basis[:500]


# --- document states ------------------------------------------------------------------------------


def payout_mark_sent(*, payout: Payout, by: Any = None, now: dt.datetime | None = None) -> Payout:
    """The partner says it sent the closing documents, by the channel of its contract (a VAT
    payer only by EDO). Staff must accept or reject within 1 business day of that day."""
    moment = now or clock_now()
    channel = contract_selectors.closing_documents_channel(
        organisation=payout.organisation, program=payout.program
    )
    if channel is None:
        raise PayoutRefused(_("Нет заключённого договора: способ обмена документами не выбран."))
    if payout.organisation.vat_payer and channel != "edo":
        raise PayoutRefused(
            _("Плательщик НДС отправляет закрывающие документы только через ЭДО."),
            code=PayoutsErrorCode.VAT_PAYER_EDO_ONLY,
        )
    due = add_business_days(local_date(moment), ACCEPT_BUSINESS_DAYS)
    return transition(
        payout,
        to=PayoutState.SENT,
        by=by,
        extra={"channel": channel, "sent_at": moment, "accept_due_on": due, "due_on": due},
    )


def payout_accept(*, payout: Payout, by: Any = None, now: dt.datetime | None = None) -> Payout:
    """Staff sign the act; the money is due within 10 business days of that day."""
    moment = now or clock_now()
    _refuse_if_final(payout)
    due = add_business_days(local_date(moment), PAY_BUSINESS_DAYS)
    return transition(
        payout,
        to=PayoutState.ACCEPTED,
        by=by,
        extra={"accepted_at": moment, "pay_due_on": due, "due_on": due},
    )


def payout_reject(
    *, payout: Payout, reason: str, by: Any = None, now: dt.datetime | None = None
) -> Payout:
    """Staff reject the documents with a reason; the bonuses return to the balance by a
    reversing ledger transaction, in the same database transaction."""
    moment = now or clock_now()
    _refuse_if_final(payout)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(
            _("Укажите причину отклонения."), fields={"reason": [_("Обязательное поле.")]}
        )
    with transaction.atomic():
        payout = transition(
            payout,
            to=PayoutState.REJECTED,
            by=by,
            reason=reason,
            extra={"rejected_at": moment, "reject_reason": reason[:500], "due_on": None},
        )
        if payout.conversion_id is not None:
            original = LedgerTransaction.objects.get(pk=payout.conversion_id)
            ledger.reverse(
                original=original,
                idempotency_ref=f"payouts:{payout.pk}:rejection",
                memo=f"Отклонение выплаты {payout.pk}: {reason[:200]}",
            )
    return payout


def _refuse_if_final(payout: Payout) -> None:
    if payout.state == PayoutState.PAID:
        raise PayoutRefused(
            _("Выплата уже проведена: её нельзя ни принять, ни отклонить."),
            code=PayoutsErrorCode.ALREADY_PAID,
        )
    if payout.state == PayoutState.REJECTED:
        raise PayoutRefused(_("Выплата уже отклонена."), code=PayoutsErrorCode.ALREADY_REJECTED)


# --- registers ------------------------------------------------------------------------------------


def register_create(
    *, vendor: Organisation, payout_ids: list[int], by: Any = None, now: dt.datetime | None = None
) -> PaymentRegister:
    """A register of the selected accepted payouts of ``vendor``. Refused when nothing is
    selected, or a payout is not accepted or already in an open register (the partial unique
    constraint decides between parallel requests)."""
    moment = now or clock_now()
    ids = sorted({int(pk) for pk in payout_ids})
    if not ids:
        raise ValidationFailed(
            _("Выберите выплаты для реестра."), fields={"payouts": [_("Ничего не выбрано.")]}
        )
    with transaction.atomic():
        # One register at a time per vendor: its number is the next one, without gaps.
        Organisation.objects.select_for_update().filter(pk=vendor.pk).first()
        payouts = list(
            Payout.objects.select_for_update().filter(vendor=vendor, pk__in=ids).order_by("pk")
        )
        if len(payouts) != len(ids):
            raise ValidationFailed(
                _("Некоторые выплаты не найдены."), fields={"payouts": [_("Неверный выбор.")]}
            )
        not_accepted = [p.pk for p in payouts if p.state != PayoutState.ACCEPTED]
        if not_accepted:
            message = _("В реестр попадают только принятые выплаты; не приняты: %(ids)s.") % {
                "ids": ", ".join(f"№ {pk}" for pk in not_accepted)
            }
            raise ValidationFailed(message, fields={"payouts": [message]})
        number = (
            PaymentRegister.objects.filter(vendor=vendor).aggregate(n=Max("number"))["n"] or 0
        ) + 1
        try:
            with transaction.atomic():
                register = PaymentRegister.objects.create(
                    vendor=vendor,
                    number=number,
                    created_by=by if getattr(by, "pk", None) else None,
                    created_at=moment,
                )
                RegisterItem.objects.bulk_create(
                    RegisterItem(register=register, payout=p) for p in payouts
                )
        except IntegrityError:
            raise PayoutRefused(
                _("Некоторые выплаты уже включены в открытый реестр."),
                code=PayoutsErrorCode.ALREADY_IN_REGISTER,
                fields={"payouts": [_("Уже в открытом реестре.")]},
            ) from None
        audit.record(
            action="payouts.register.created",
            obj=register,
            after={"number": number, "payouts": ids},
            organisation_id=vendor.pk,
            actor=by,
        )
    return register


def register_mark_paid(
    *, register: PaymentRegister, by: Any = None, now: dt.datetime | None = None
) -> PaymentRegister:
    """The bank paid the register: every payout in it becomes paid and its payable is settled
    against the vendor's bank account, all in one transaction."""
    moment = now or clock_now()
    with transaction.atomic():
        payouts = selectors.register_payouts(register=register)
        register = transition(register, to=RegisterState.PAID, by=by, extra={"paid_at": moment})
        bank = bank_account()
        for payout in payouts:
            if payout.state != PayoutState.ACCEPTED:
                raise PayoutRefused(
                    _("Выплата № %(id)s не в состоянии «Акт подписан».") % {"id": payout.pk}
                )
            ledger.post(
                kind="payout_payment",
                lines=[
                    ledger.Line(payable_account(payout.organisation_id), debit=payout.amount),
                    ledger.Line(bank, credit=payout.amount),
                ],
                idempotency_ref=f"payouts:{payout.pk}:payment",
                cause=("payouts.payout", payout.pk),
                snapshot={"register": register.pk, "number": register.number},
                memo=f"Выплата {payout.pk} по реестру № {register.number}",
            )
            transition(
                payout, to=PayoutState.PAID, by=by, extra={"paid_at": moment, "due_on": None}
            )
    return register


def register_cancel(*, register: PaymentRegister, by: Any = None) -> PaymentRegister:
    """Cancel an open register: its payouts may go into another one."""
    with transaction.atomic():
        register = transition(register, to=RegisterState.CANCELLED, by=by)
        RegisterItem.objects.filter(register=register).update(active=False)
    return register


# --- the daily digest -----------------------------------------------------------------------------


def digest_send(*, vendor: Organisation, on: dt.date) -> bool:
    """Tell the vendor's accountants what is due on ``on`` and what is overdue, once a day and
    only on business days; nothing due, no email. True when a digest was queued now."""
    if not current_calendar().is_business_day(on):
        return False
    due_today = list(selectors.payouts_for_staff(vendor=vendor, due="due_today", on=on))
    overdue = list(selectors.payouts_for_staff(vendor=vendor, due="overdue", on=on))
    if not due_today and not overdue:
        return False
    try:
        with transaction.atomic():
            DigestSent.objects.create(vendor=vendor, on=on, sent_at=clock_now())
            outbox.emit(
                "payouts.digest",
                {
                    "vendor": vendor.pk,
                    "on": on.isoformat(),
                    "due_today": [p.pk for p in due_today],
                    "overdue": [p.pk for p in overdue],
                },
                organisation_id=vendor.pk,
                vendor_id=vendor.pk,
            )
    except IntegrityError:
        return False  # sent earlier today
    return True
