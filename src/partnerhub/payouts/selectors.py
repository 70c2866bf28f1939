"""Reads of payouts and registers, scoped to who asks (house rule 2).

A partner reads its own payouts only (another's: 404); the vendor's staff read the payouts of
their vendor. ``conversion_eligibility`` says whether a partner may convert bonuses now and, if
not, why: the page shows it and the service asks the same questions again under the lock.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum
from django.http import Http404
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from partnerhub.contracts import selectors as contract_selectors
from partnerhub.core.clock import today
from partnerhub.core.money import format_rub
from partnerhub.documents.models import ClosingDocument
from partnerhub.documents.selectors import closing_documents_of
from partnerhub.partners.models import Organisation, Program
from partnerhub.payouts.models import PaymentRegister, Payout, PayoutState
from partnerhub.referrals.models import ReferralPartner
from partnerhub.referrals.selectors.links import program_config, referral_partner_of
from partnerhub.referrals.selectors.standing import organisation_bonus_balance
from partnerhub.referrals.services.live import BONUS_PURPOSE as BONUS_RUB

BONUS_PURPOSE = BONUS_RUB
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Eligibility:
    """Whether the organisation may convert bonuses now, and why not."""

    organisation: Organisation
    partner: ReferralPartner | None
    program: Program | None
    balance: Decimal
    minimum: Decimal
    reasons: list[str | Promise] = field(default_factory=list)

    @property
    def allowed(self) -> bool:
        return not self.reasons


def bonus_balance(*, organisation: Organisation) -> Decimal:
    """The partner's bonus balance in roubles (the referral program's rule, from the ledger)."""
    return organisation_bonus_balance(organisation_id=organisation.pk)


def conversion_eligibility(*, organisation: Organisation) -> Eligibility:
    """The balance, the threshold of the partner's referral program and what stands in the
    way of a conversion (empty when nothing does)."""
    partner = referral_partner_of(organisation)
    balance = bonus_balance(organisation=organisation)
    if partner is None:
        return Eligibility(
            organisation=organisation,
            partner=None,
            program=None,
            balance=balance,
            minimum=Decimal("5000.00"),
            reasons=[_("Организация не участвует в реферальной программе.")],
        )
    program = partner.program
    minimum = program_config(program).conversion_minimum
    reasons: list[str | Promise] = []
    if partner.blocked:
        reasons.append(_("Участие в программе приостановлено: конвертация недоступна."))
    if not contract_selectors.contract_signed(organisation=organisation, program=program):
        reasons.append(_("Договор не подписан: конвертация возможна после подписания договора."))
    if balance < minimum:
        reasons.append(
            _("На балансе меньше минимальной суммы для конвертации.")
            if balance >= 0
            else _("Баланс бонусов отрицательный: конвертация недоступна.")
        )
    return Eligibility(
        organisation=organisation,
        partner=partner,
        program=program,
        balance=balance,
        minimum=minimum,
        reasons=reasons,
    )


def amount_problem(*, eligibility: Eligibility, amount: Decimal) -> str | None:
    """What is wrong with converting ``amount`` (below the minimum, above the balance), or
    None."""
    if amount < eligibility.minimum:
        return _("Минимальная сумма конвертации — %(minimum)s.") % {
            "minimum": format_rub(eligibility.minimum)
        }
    if amount > eligibility.balance:
        return _("Сумма больше баланса бонусов (%(balance)s).") % {
            "balance": format_rub(eligibility.balance)
        }
    return None


# --- a partner's payouts --------------------------------------------------------------------------


def payouts_of_partner(*, organisation: Organisation) -> QuerySet[Payout]:
    """The organisation's payouts, newest first."""
    return Payout.objects.filter(organisation=organisation).select_related("program")


def payout_get_for_partner(*, organisation: Organisation, pk: int) -> Payout:
    """One of the organisation's payouts; 404 for another's."""
    payout = payouts_of_partner(organisation=organisation).filter(pk=pk).first()
    if payout is None:
        raise Http404
    return payout


def documents_of(*, payout: Payout) -> list[ClosingDocument]:
    """The closing documents of a payout (act first, then the invoice)."""
    return sorted(closing_documents_of(source=payout.source), key=lambda d: d.kind != "act")


def act_of(*, payout: Payout) -> ClosingDocument | None:
    """The act of a payout."""
    return next((d for d in documents_of(payout=payout) if d.kind == "act"), None)


# --- staff ----------------------------------------------------------------------------------------

STAFF_FILTERS = ("due_today", "overdue")


def payouts_for_staff(
    *, vendor: Organisation, state: str = "", due: str = "", on: dt.date | None = None
) -> QuerySet[Payout]:
    """The vendor's payouts; ``due`` "due_today" or "overdue" (by the deadline of the state each
    is in, on ``on``, Moscow today by default), ``state`` one of ``PayoutState``."""
    day = on or today()
    payouts = Payout.objects.filter(vendor=vendor).select_related("organisation", "program")
    if state in PayoutState.values:
        payouts = payouts.filter(state=state)
    awaited = Q(state__in=[PayoutState.SENT, PayoutState.ACCEPTED], due_on__isnull=False)
    if due == "due_today":
        payouts = payouts.filter(awaited, due_on=day)
    elif due == "overdue":
        payouts = payouts.filter(awaited, due_on__lt=day)
    return payouts.order_by("due_on", "created_at", "pk") if due else payouts


def payout_get_for_staff(*, vendor: Organisation, pk: int) -> Payout:
    """One of the vendor's payouts; 404 otherwise."""
    payout = (
        Payout.objects.filter(vendor=vendor, pk=pk)
        .select_related("organisation", "program", "vendor")
        .first()
    )
    if payout is None:
        raise Http404
    return payout


def due_counts(*, vendor: Organisation, on: dt.date | None = None) -> dict[str, int]:
    """How many payouts are due on ``on`` and overdue (one query)."""
    day = on or today()
    awaited = Q(state__in=[PayoutState.SENT, PayoutState.ACCEPTED], due_on__isnull=False)
    counts = Payout.objects.filter(awaited, vendor=vendor).aggregate(
        due_today=Count("pk", filter=Q(due_on=day)), overdue=Count("pk", filter=Q(due_on__lt=day))
    )
    return {"due_today": counts["due_today"], "overdue": counts["overdue"]}


def payouts_for_register(*, vendor: Organisation) -> QuerySet[Payout]:
    """Accepted payouts not yet in an open register: what a new register may take."""
    return (
        Payout.objects.filter(vendor=vendor, state=PayoutState.ACCEPTED)
        .exclude(register_items__active=True)
        .select_related("organisation")
        .order_by("pay_due_on", "pk")
    )


def registers_of(*, vendor: Organisation) -> QuerySet[PaymentRegister]:
    """The vendor's registers with their payout count and total, newest first."""
    return (
        PaymentRegister.objects.filter(vendor=vendor)
        .annotate(payout_count=Count("items"), total=Sum("items__payout__amount"))
        .order_by("-created_at", "-pk")
    )


def register_get(*, vendor: Organisation, pk: int) -> PaymentRegister:
    """One of the vendor's registers; 404 otherwise."""
    register = PaymentRegister.objects.filter(vendor=vendor, pk=pk).first()
    if register is None:
        raise Http404
    return register


def register_payouts(*, register: PaymentRegister) -> list[Payout]:
    """The payouts of a register, in the order they were added."""
    return [
        item.payout
        for item in register.items.select_related("payout", "payout__organisation").order_by("pk")
    ]


@dataclass(frozen=True)
class BonusMovement:
    """A conversion of bonuses (negative) or its return after a rejection (positive), in the
    shape of the referral bonus history's rows (no client, payment or rate)."""

    at: dt.datetime
    kind: str  # "conversion" / "conversion_returned"
    amount: Decimal
    ref: str
    client: None = None
    base: None = None
    rate: None = None


def bonus_movements_of(*, organisation: Organisation) -> list[BonusMovement]:
    """What conversions took from the organisation's bonus balance and rejections gave back,
    for the bonus history beside the bonuses the program accrued."""
    movements: list[BonusMovement] = []
    rows = Payout.objects.filter(organisation=organisation).values_list(
        "pk", "created_at", "amount", "rejected_at"
    )
    for pk, created_at, amount, rejected_at in rows:
        movements.append(BonusMovement(created_at, "conversion", -amount, f"payout:{pk}"))
        if rejected_at is not None:
            movements.append(
                BonusMovement(rejected_at, "conversion_returned", amount, f"payout:{pk}:return")
            )
    return movements
