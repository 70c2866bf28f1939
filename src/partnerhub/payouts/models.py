"""Payouts: bonuses converted to roubles, their deadlines and the payment registers.

Issue 6, parts 4, 6 and 7; spec referrals.md ("Conversion and payout"), seed "КОНВЕРТАЦИЯ
БОНУСОВ", "ПОРЯДОК ВЫПЛАТ". A ``Payout`` is born when the partner converts bonuses (the bonus
balance is debited at once); its closing documents (act, invoice) live in the documents app under
the source ``payout:<pk>``. Staff pay accepted payouts through a ``PaymentRegister``.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from partnerhub.core.models.ledger import LedgerTransaction
from partnerhub.core.money import MoneyField
from partnerhub.core.transitions import StateMachine
from partnerhub.partners.models import Organisation, Program


class PayoutState(models.TextChoices):
    """Life of a payout (the states of its closing documents)."""

    GENERATED = "generated", _("Документы сформированы")
    SENT = "sent", _("Документы отправлены")
    ACCEPTED = "accepted", _("Акт подписан")
    REJECTED = "rejected", _("Отклонено")
    PAID = "paid", _("Выплачено")


class Channel(models.TextChoices):
    """How the partner sent its closing documents."""

    PAPER = "paper", _("На бумаге, почтой")
    EDO = "edo", _("Через ЭДО")


#: Allowed moves of a payout (events ``payouts.payout.<state>``); a rejection needs a reason.
#: Staff may reject documents already on arrival (generated) as well as after they are sent.
PAYOUT_MACHINE = StateMachine(
    field="state",
    transitions={
        PayoutState.GENERATED: frozenset({PayoutState.SENT, PayoutState.REJECTED}),
        PayoutState.SENT: frozenset({PayoutState.ACCEPTED, PayoutState.REJECTED}),
        PayoutState.ACCEPTED: frozenset({PayoutState.PAID}),
        PayoutState.REJECTED: frozenset(),
        PayoutState.PAID: frozenset(),
    },
    reason_required=frozenset({PayoutState.REJECTED}),
    event_prefix="payouts.payout",
)


class Payout(models.Model):
    """A conversion of bonuses into roubles owed to the partner (выплата вознаграждения)."""

    state_machine: ClassVar[StateMachine] = PAYOUT_MACHINE

    organisation = models.ForeignKey(
        Organisation, verbose_name=_("партнёр"), on_delete=models.PROTECT, related_name="payouts"
    )
    vendor = models.ForeignKey(
        Organisation,
        verbose_name=_("вендор"),
        on_delete=models.PROTECT,
        related_name="vendor_payouts",
    )
    program = models.ForeignKey(
        Program, verbose_name=_("программа"), on_delete=models.PROTECT, related_name="payouts"
    )
    amount = MoneyField(_("сумма"))
    currency = models.CharField(_("валюта"), max_length=3, default="RUB")
    state = models.CharField(
        _("состояние"), max_length=16, choices=PayoutState.choices, default=PayoutState.GENERATED
    )
    idempotency_key = models.CharField(_("ключ запроса"), max_length=64)
    channel = models.CharField(
        _("способ отправки"), max_length=8, choices=Channel.choices, blank=True
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("кто запросил"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("создана"))
    sent_at = models.DateTimeField(_("документы отправлены"), null=True, blank=True)
    accept_due_on = models.DateField(_("принять до"), null=True, blank=True)
    accepted_at = models.DateTimeField(_("акт подписан"), null=True, blank=True)
    pay_due_on = models.DateField(_("оплатить до"), null=True, blank=True)
    #: The deadline of the current state (accept or pay); empty when nothing is awaited.
    due_on = models.DateField(_("срок"), null=True, blank=True, db_index=True)
    rejected_at = models.DateTimeField(_("отклонена"), null=True, blank=True)
    reject_reason = models.CharField(_("причина отклонения"), max_length=500, blank=True)
    paid_at = models.DateTimeField(_("выплачена"), null=True, blank=True)
    conversion = models.OneToOneField(
        LedgerTransaction,
        verbose_name=_("проводка конвертации"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("выплата")
        verbose_name_plural = _("выплаты")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "idempotency_key"], name="payout_idempotency_key_once"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payout_amount_positive"),
        ]
        indexes = [models.Index(fields=["state", "due_on"], name="payout_state_due")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.organisation} {self.amount}"

    @property
    def source(self) -> str:
        """The source of its closing documents in the documents app."""
        return f"payout:{self.pk}"


class RegisterState(models.TextChoices):
    """Life of a payment register."""

    OPEN = "open", _("Сформирован")
    PAID = "paid", _("Оплачен")
    CANCELLED = "cancelled", _("Отменён")


REGISTER_MACHINE = StateMachine(
    field="state",
    transitions={
        RegisterState.OPEN: frozenset({RegisterState.PAID, RegisterState.CANCELLED}),
        RegisterState.PAID: frozenset(),
        RegisterState.CANCELLED: frozenset(),
    },
    event_prefix="payouts.register",
)


class PaymentRegister(models.Model):
    """A payment register (реестр платежей) of accepted payouts, exported for the bank."""

    state_machine: ClassVar[StateMachine] = REGISTER_MACHINE

    vendor = models.ForeignKey(
        Organisation, verbose_name=_("вендор"), on_delete=models.PROTECT, related_name="registers"
    )
    number = models.PositiveIntegerField(_("номер"))
    state = models.CharField(
        _("состояние"), max_length=16, choices=RegisterState.choices, default=RegisterState.OPEN
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("кто создал"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("создан"))
    paid_at = models.DateTimeField(_("оплачен"), null=True, blank=True)

    class Meta:
        verbose_name = _("реестр платежей")
        verbose_name_plural = _("реестры платежей")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["vendor", "number"], name="register_number_per_vendor")
        ]

    def __str__(self) -> str:
        return f"№ {self.number}"


class RegisterItem(models.Model):
    """A payout in a register; ``active`` while the register is not cancelled, and a payout is
    active in one register at most (the constraint decides, also between parallel requests)."""

    register = models.ForeignKey(PaymentRegister, on_delete=models.CASCADE, related_name="items")
    payout = models.ForeignKey(Payout, on_delete=models.PROTECT, related_name="register_items")
    active = models.BooleanField(default=True)

    class Meta:
        verbose_name = _("строка реестра")
        verbose_name_plural = _("строки реестра")
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["payout"], condition=Q(active=True), name="payout_in_one_open_register"
            )
        ]

    def __str__(self) -> str:
        return f"{self.register_id}: {self.payout_id}"


class DigestSent(models.Model):
    """The daily digest to a vendor's accountants was sent on ``on`` (once a day)."""

    vendor = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    on = models.DateField()
    sent_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["vendor", "on"], name="digest_once_a_day")]

    def __str__(self) -> str:
        return f"{self.vendor_id}: {self.on}"
