"""Ledger tables (issue "Ledger", house rule 6): accounts, transactions and their entries.

Double entry, append-only: a ``LedgerTransaction`` and its ``LedgerEntry`` rows are written once
by ``core.ledger.post()`` and never changed or deleted; a correction is a reversing transaction
that points to the original (``reverses``). The ORM refuses updates and deletes of these rows
(``save()``, ``delete()`` and the querysets' ``update()``/``delete()``); database triggers from
``core.ledger.immutability_sql()`` refuse them below the ORM as well.

``LedgerAccount.balance`` is a cached signed balance (debits minus credits), moved by ``post()``
in the same transaction and checked against the entries by ``partnerhub ledger check``.
Organisations are referenced by a plain ``organisation_id``: core knows no domain model.
"""

from __future__ import annotations

from typing import Any, NoReturn, TypeVar

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from partnerhub.core.clock import now

AMOUNT_DIGITS = 18
AMOUNT_PLACES = 2


class AppendOnlyViolation(Exception):
    """An update or delete of a ledger transaction or entry was attempted (a programming error:
    corrections are reversing transactions)."""


class Side(models.TextChoices):
    """Side of an entry, and the normal side of an account."""

    DEBIT = "debit", _("Дебет")
    CREDIT = "credit", _("Кредит")


def _amount_field(verbose_name: Any, **kwargs: Any) -> models.DecimalField[Any, Any]:
    return models.DecimalField(
        verbose_name, max_digits=AMOUNT_DIGITS, decimal_places=AMOUNT_PLACES, **kwargs
    )


class LedgerAccount(models.Model):
    """An account of one organisation (or of the vendor, ``organisation_id`` empty) for one
    purpose and currency: bonus points, credit line, client advances...

    ``balance`` is signed: debits minus credits. ``min_balance``/``max_balance`` bound that signed
    balance (so a credit-normal account that must not go below zero in its own terms has
    ``max_balance = 0``); ``post()`` enforces them with conditional updates.
    """

    organisation_id = models.BigIntegerField(_("организация"), null=True, blank=True)
    purpose = models.SlugField(_("назначение"), max_length=50)
    currency = models.CharField(_("валюта"), max_length=3, default="RUB")
    name = models.CharField(_("название"), max_length=200, blank=True)
    normal_side = models.CharField(_("нормальная сторона"), max_length=6, choices=Side.choices)
    balance = _amount_field(_("остаток (дебет − кредит)"), default=0)
    min_balance = _amount_field(_("минимальный остаток"), null=True, blank=True)
    max_balance = _amount_field(_("максимальный остаток"), null=True, blank=True)
    created_at = models.DateTimeField(_("создан"), default=now)

    class Meta:
        verbose_name = _("счёт учёта")
        verbose_name_plural = _("счета учёта")
        ordering = ["organisation_id", "purpose", "currency"]
        constraints = [
            # NULLs are distinct in a unique index on both databases, so the vendor's accounts
            # (no organisation) get their own partial index.
            models.UniqueConstraint(
                fields=["organisation_id", "purpose", "currency"],
                condition=Q(organisation_id__isnull=False),
                name="ledger_account_unique",
            ),
            models.UniqueConstraint(
                fields=["purpose", "currency"],
                condition=Q(organisation_id__isnull=True),
                name="ledger_account_unique_vendor",
            ),
            models.CheckConstraint(
                condition=Q(normal_side__in=[Side.DEBIT, Side.CREDIT]),
                name="ledger_account_normal_side",
            ),
        ]
        indexes = [models.Index(fields=["organisation_id"], name="ledger_account_org")]

    def __str__(self) -> str:
        owner = self.organisation_id if self.organisation_id is not None else "vendor"
        return f"{owner}:{self.purpose}:{self.currency}"


_T = TypeVar("_T", bound=models.Model)


class AppendOnlyQuerySet(models.QuerySet[_T]):
    """Querysets of append-only tables: no ``update()`` and no ``delete()``."""

    def update(self, **kwargs: Any) -> NoReturn:
        raise AppendOnlyViolation(f"{self.model.__name__} rows are never updated")

    def delete(self) -> NoReturn:
        raise AppendOnlyViolation(f"{self.model.__name__} rows are never deleted")


class AppendOnlyModel(models.Model):
    """A model whose rows are inserted once and never changed or deleted through the ORM."""

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyViolation(f"{type(self).__name__} rows are never updated")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnlyViolation(f"{type(self).__name__} rows are never deleted")


class LedgerTransaction(AppendOnlyModel):
    """A balanced set of entries posted at once (проводка).

    ``idempotency_ref`` makes posting safe to repeat; ``cause_type``/``cause_id`` name the
    business object that caused it (e.g. ``referrals.payout``/``42``); ``snapshot`` keeps the
    rule or terms that produced it. ``occurred_at`` is business time (balances at a moment use
    it), ``posted_at`` when it was written. ``reverses`` points to the transaction this one
    cancels; a transaction is reversed at most once (one-to-one).
    """

    idempotency_ref = models.CharField(_("ключ идемпотентности"), max_length=200, unique=True)
    kind = models.SlugField(_("вид"), max_length=50)
    cause_type = models.CharField(_("тип основания"), max_length=100, blank=True)
    cause_id = models.CharField(_("основание"), max_length=100, blank=True)
    snapshot = models.JSONField(_("условия"), default=dict, blank=True, encoder=DjangoJSONEncoder)
    occurred_at = models.DateTimeField(_("дата операции"), default=now)
    posted_at = models.DateTimeField(_("проведено"), default=now)
    reverses = models.OneToOneField(
        "self",
        verbose_name=_("сторнирует"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reversed_by",
    )
    memo = models.CharField(_("комментарий"), max_length=500, blank=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = _("проводка")
        verbose_name_plural = _("проводки")
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["occurred_at"], name="ledger_tx_occurred"),
            models.Index(fields=["cause_type", "cause_id"], name="ledger_tx_cause"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.idempotency_ref}"


class LedgerEntry(AppendOnlyModel):
    """One line of a transaction: ``amount`` (positive) on the ``side`` of ``account``."""

    transaction = models.ForeignKey(
        LedgerTransaction,
        verbose_name=_("проводка"),
        on_delete=models.PROTECT,
        related_name="entries",
    )
    account = models.ForeignKey(
        LedgerAccount, verbose_name=_("счёт"), on_delete=models.PROTECT, related_name="entries"
    )
    amount = _amount_field(_("сумма"))
    side = models.CharField(_("сторона"), max_length=6, choices=Side.choices)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = _("запись проводки")
        verbose_name_plural = _("записи проводок")
        ordering = ["transaction_id", "id"]
        indexes = [models.Index(fields=["account", "transaction"], name="ledger_entry_account_tx")]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="ledger_entry_amount_positive"),
            models.CheckConstraint(
                condition=Q(side__in=[Side.DEBIT, Side.CREDIT]), name="ledger_entry_side"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.side} {self.amount} {self.account_id}"
