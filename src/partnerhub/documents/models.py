"""Closing documents of payouts: acts (акт) and invoices (счёт-фактура), with their numbering.

Spec: ``partners-and-contracts.md`` "Closing documents" and ``referrals.md`` "Conversion and
payout". The partner renders the service and is the executor / seller; the vendor is the
customer / buyer. Both sides' requisites are snapshotted into the document (``seller``,
``buyer``), so a later change of a card never changes an issued document; the PDF is rendered
from the row alone, after the issuing transaction has committed (``pdf_status``: pending until
the worker has stored the file, failed when the render failed). The life of a document (sent,
accepted, rejected, paid) is the payout's (``payouts``): a closing document, once issued, does
not change (its PDF state aside).
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from partnerhub.core.money import Currency, CurrencyField, MoneyField
from partnerhub.documents import rules
from partnerhub.partners.models import Organisation


class DocumentKind(models.TextChoices):
    """An act for every payout; an invoice besides it when the partner pays VAT."""

    ACT = rules.ACT, _("Акт")
    INVOICE = rules.INVOICE, _("Счёт-фактура")


class PdfStatus(models.TextChoices):
    """Where the PDF of an issued document stands: the row is committed first, the file follows
    from the worker (``documents.pdf_render``)."""

    PENDING = "pending", _("Готовится")
    READY = "ready", _("Готов")
    FAILED = "failed", _("Не удалось сформировать")


def pdf_path(instance: ClosingDocument, filename: str) -> str:
    """Where a document's PDF is stored: no names, no INN, just the vendor id, year and a uuid."""
    return f"closing-documents/{instance.vendor_id}/{instance.year}/{uuid.uuid4().hex}.pdf"


class DocumentCounter(models.Model):
    """The last number given in one series (vendor, kind, year); updated in the issuing
    transaction, so a rollback gives the number back and the series has no gaps."""

    vendor = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("вид"), max_length=16, choices=DocumentKind.choices)
    year = models.PositiveIntegerField(_("год"))
    last_sequence = models.PositiveIntegerField(_("последний номер"), default=0)

    class Meta:
        verbose_name = _("счётчик номеров документов")
        verbose_name_plural = _("счётчики номеров документов")
        constraints = [
            models.UniqueConstraint(
                fields=["vendor", "kind", "year"], name="documents_counter_series_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.vendor_id}/{self.kind}/{self.year}: {self.last_sequence}"


class ClosingDocument(models.Model):
    """An issued act or invoice of a payout (``source``, e.g. ``payout:17``)."""

    vendor = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="closing_documents_received",
        verbose_name=_("заказчик (вендор)"),
    )
    partner = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="closing_documents",
        verbose_name=_("исполнитель (партнёр)"),
    )
    kind = models.CharField(_("вид"), max_length=16, choices=DocumentKind.choices)
    year = models.PositiveIntegerField(_("год"))
    sequence = models.PositiveIntegerField(_("порядковый номер"))
    number = models.CharField(_("номер"), max_length=32)
    issued_on = models.DateField(_("дата"))
    amount = MoneyField(_("сумма"))
    currency = CurrencyField(_("валюта"), default=Currency.RUB)
    vat_rate = models.DecimalField(
        _("ставка НДС, %"), max_digits=5, decimal_places=2, null=True, blank=True
    )
    vat_amount = MoneyField(_("сумма НДС"))
    amount_without_vat = MoneyField(_("сумма без НДС"))
    service = models.CharField(_("услуга"), max_length=500)
    basis = models.CharField(_("основание"), max_length=500, blank=True)
    source = models.CharField(_("источник"), max_length=64, db_index=True)
    seller = models.JSONField(_("реквизиты исполнителя"))
    buyer = models.JSONField(_("реквизиты заказчика"))
    related_number = models.CharField(
        _("номер связанного документа"),
        max_length=32,
        blank=True,
        help_text=_("Для счёта-фактуры: номер акта (документ об отгрузке)."),
    )
    pdf = models.FileField(_("PDF"), upload_to=pdf_path, blank=True, max_length=200)
    pdf_status = models.CharField(
        _("состояние PDF"), max_length=16, choices=PdfStatus.choices, default=PdfStatus.PENDING
    )
    pdf_attempts = models.PositiveSmallIntegerField(_("попыток сформировать PDF"), default=0)
    pdf_error = models.CharField(_("ошибка формирования PDF"), max_length=500, blank=True)
    pdf_rendered_at = models.DateTimeField(_("PDF сформирован"), null=True, blank=True)
    created_at = models.DateTimeField(_("создан"), default=timezone.now)

    class Meta:
        verbose_name = _("закрывающий документ")
        verbose_name_plural = _("закрывающие документы")
        ordering = ["-issued_on", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["vendor", "kind", "year", "sequence"],
                name="documents_closing_number_unique",
            ),
            models.UniqueConstraint(
                fields=["source", "kind"], name="documents_closing_one_kind_per_source"
            ),
        ]
        indexes = [
            models.Index(fields=["partner", "-issued_on"]),
            models.Index(fields=["pdf_status", "created_at"], name="documents_pdf_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} № {self.number}"

    @property
    def pdf_ready(self) -> bool:
        return self.pdf_status == PdfStatus.READY

    @property
    def pdf_failed(self) -> bool:
        return self.pdf_status == PdfStatus.FAILED

    @property
    def has_vat(self) -> bool:
        return self.vat_rate is not None

    @property
    def vat_rate_display(self) -> str:
        """ "22 %" or "без НДС"; the rate is stored with two places, shown without them."""
        if self.vat_rate is None:
            return str(_("без НДС"))
        return f"{self.vat_rate.normalize():f}\u00a0%"

    def snapshot(self) -> dict[str, Any]:
        """What an audit row keeps of an issued document."""
        return {
            "kind": self.kind,
            "number": self.number,
            "issued_on": self.issued_on.isoformat(),
            "amount": str(self.amount),
            "vat_rate": None if self.vat_rate is None else str(self.vat_rate),
            "vat_amount": str(self.vat_amount),
            "source": self.source,
        }
