"""Writes of closing documents: issuing the act (and the invoice) of a payout.

Spec: ``partners-and-contracts.md`` "Closing documents", ``referrals.md`` "Conversion and
payout", seed "ПОРЯДОК ВЫПЛАТ". ``closing_documents_issue`` runs inside the caller's transaction
(the payout's): the numbers come from a counter row updated by one upsert statement in that
transaction, so concurrent issues get distinct consecutive numbers (the row lock orders them on
PostgreSQL, the write lock on SQLite) and a rollback gives the number back (no gaps). The unique
constraint (vendor, kind, year, sequence) backs it.

Decisions: acts and invoices have separate series per vendor per calendar year of the document
date (``А-2026-00001``, ``СФ-2026-00001``); the invoice's "document on shipment" (line 5a) is
the act. The PDF is not rendered in the issuing transaction (issue 16: on SQLite that held the
database-wide write lock for the whole WeasyPrint render): the row is written pending and, once
the transaction commits, the worker renders and stores it (``documents.tasks``,
``documents.pdf_render``). ``closing_document_pdf`` gives the stored file of a ready document and
refuses one that is not ready (``DocumentNotReady``); a ready document whose file has gone from
storage is rendered again from its row (a function of the row only; no transaction is open in a
download). Staff retry a failed render with ``closing_document_render_retry``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext as _

from partnerhub.core import audit, outbox
from partnerhub.core.errors import Conflict, ValidationFailed
from partnerhub.core.money import has_cents_only, quantize
from partnerhub.documents import rules
from partnerhub.documents.error_codes import DocumentsErrorCode
from partnerhub.documents.errors import DocumentNotReady, RenderRetryRefused
from partnerhub.documents.models import ClosingDocument, DocumentCounter, DocumentKind, PdfStatus
from partnerhub.documents.rendering import render_closing_document
from partnerhub.documents.tasks import closing_document_render
from partnerhub.partners import selectors as partner_selectors
from partnerhub.partners.models import LegalForm, Organisation, OrgKind

__all__ = [
    "closing_document_pdf",
    "closing_document_render_retry",
    "closing_documents_issue",
    "requisites_snapshot",
    "service_wording",
]


def requisites_snapshot(organisation: Organisation) -> dict[str, Any]:
    """The card of one side as it is now, for a document to keep."""
    data = partner_selectors.requisites_of(organisation=organisation)
    data["id"] = organisation.pk
    data["name"] = organisation.full_name or organisation.short_name
    return data


def service_wording(vendor: Organisation) -> str:
    """What the act says the partner did (the seed: the reward for bringing clients), in Russian
    whatever the language of the request that issues it: it is printed in a legal document."""
    with translation.override("ru"):
        return _("Вознаграждение по партнёрской программе %(vendor)s за привлечение клиентов") % {
            "vendor": vendor.short_name
        }


def _next_sequence(*, vendor: Organisation, kind: str, year: int) -> int:
    """The next number of a series, taken by one upsert in the current transaction.

    The row stays locked until the transaction ends (PostgreSQL row lock; SQLite's one writer),
    so a concurrent issue waits and takes the next number; a rollback undoes the increment.
    """
    table = DocumentCounter._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (vendor_id, kind, year, last_sequence) VALUES (%s, %s, %s, 1) "  # noqa: S608
            f"ON CONFLICT (vendor_id, kind, year) DO UPDATE "
            f"SET last_sequence = {table}.last_sequence + 1 RETURNING last_sequence",
            [vendor.pk, kind, year],
        )
        row = cursor.fetchone()
    assert row is not None
    return int(row[0])


def _validate(
    *, vendor: Organisation, partner: Organisation, amount: Decimal, basis: str, source: str
) -> None:
    fields: dict[str, list[str | Promise]] = {}
    if vendor.kind != OrgKind.VENDOR:
        fields.setdefault("vendor", []).append(_("Заказчиком может быть только вендор."))
    if partner.kind != OrgKind.PARTNER:
        fields.setdefault("partner", []).append(_("Исполнителем может быть только партнёр."))
    if not partner.inn:
        fields.setdefault("partner", []).append(
            _("В карточке партнёра не указан ИНН: документ нельзя оформить.")
        )
    if partner.legal_form == LegalForm.UL and partner.vat_payer and not partner.kpp:
        fields.setdefault("partner", []).append(
            _("В карточке партнёра не указан КПП: счёт-фактуру нельзя оформить.")
        )
    if isinstance(amount, float) or not isinstance(amount, Decimal | int):
        fields.setdefault("amount", []).append(_("Сумма должна быть десятичным числом."))
    elif amount <= 0:
        fields.setdefault("amount", []).append(_("Сумма документа должна быть больше нуля."))
    elif not has_cents_only(amount):
        fields.setdefault("amount", []).append(
            _("Сумма может содержать не больше двух знаков после запятой.")
        )
    if not source.strip():
        fields.setdefault("source", []).append(_("Не указано, к чему относится документ."))
    if len(basis) > 500:
        fields.setdefault("basis", []).append(_("Основание не длиннее 500 символов."))
    if fields:
        raise ValidationFailed(_("Закрывающие документы не оформлены."), fields=fields)


def _issue_one(
    *,
    kind: str,
    vendor: Organisation,
    partner: Organisation,
    split: rules.VatSplit,
    issued_on: dt.date,
    basis: str,
    source: str,
    service: str,
    seller: dict[str, Any],
    buyer: dict[str, Any],
    related_number: str = "",
) -> ClosingDocument:
    year = issued_on.year
    sequence = _next_sequence(vendor=vendor, kind=kind, year=year)
    document = ClosingDocument(
        vendor=vendor,
        partner=partner,
        kind=kind,
        year=year,
        sequence=sequence,
        number=rules.document_number(kind, year, sequence),
        issued_on=issued_on,
        amount=split.amount,
        vat_rate=split.rate,
        vat_amount=split.vat,
        amount_without_vat=split.without_vat,
        service=service,
        basis=basis.strip(),
        source=source.strip(),
        seller=seller,
        buyer=buyer,
        related_number=related_number,
    )
    document.save()
    document_id = document.pk
    transaction.on_commit(lambda: closing_document_render(document_id))
    audit.record(
        action="documents.closing_document.issued",
        obj=document,
        organisation_id=partner.pk,
        after=document.snapshot(),
    )
    outbox.emit(
        "documents.closing_document.issued",
        {
            "document_id": document.pk,
            "kind": kind,
            "number": document.number,
            "source": document.source,
            "amount": str(document.amount),
        },
        organisation_id=partner.pk,
        vendor_id=document.vendor_id,
    )
    return document


def closing_documents_issue(
    *,
    vendor: Organisation,
    partner: Organisation,
    amount: Decimal,
    issued_on: dt.date,
    basis: str,
    source: str,
    service: str = "",
) -> list[ClosingDocument]:
    """Issue the act of a payout and, when the partner pays VAT, its invoice.

    ``amount`` is the partner's reward, VAT included for a VAT payer (the rate of ``issued_on``).
    ``basis`` is printed as the act's basis (the contract), ``source`` ties the documents to what
    they close (``payout:17``). Runs in the caller's transaction; raises ``ValidationFailed``
    naming the field, or ``Conflict`` when ``source`` already has its documents.
    """
    _validate(vendor=vendor, partner=partner, amount=amount, basis=basis, source=source)
    split = rules.vat_split(quantize(amount), vat_payer=partner.vat_payer, on=issued_on)
    seller = requisites_snapshot(partner)
    buyer = requisites_snapshot(vendor)
    wording = service.strip() or service_wording(vendor)
    common: dict[str, Any] = {
        "vendor": vendor,
        "partner": partner,
        "split": split,
        "issued_on": issued_on,
        "basis": basis,
        "source": source,
        "service": wording,
        "seller": seller,
        "buyer": buyer,
    }
    with transaction.atomic():
        if ClosingDocument.objects.filter(source=source.strip()).exists():
            raise Conflict(
                _("Закрывающие документы для «%(source)s» уже оформлены.") % {"source": source}
            )
        act = _issue_one(kind=DocumentKind.ACT, **common)
        documents = [act]
        if partner.vat_payer:
            documents.append(
                _issue_one(kind=DocumentKind.INVOICE, related_number=act.number, **common)
            )
    return documents


def closing_document_pdf(document: ClosingDocument) -> bytes:
    """The PDF of an issued document: the stored file of a ready one (or, when the file has gone
    from storage, the same document rendered again from its row). Raises ``DocumentNotReady``
    while the worker has not stored it yet, or when its render failed."""
    if document.pdf_status == PdfStatus.PENDING:
        raise DocumentNotReady(_("Документ готовится. Обновите страницу через минуту."))
    if document.pdf_status == PdfStatus.FAILED:
        raise DocumentNotReady(
            _(
                "Не удалось сформировать документ. Мы повторим попытку; если документ так и не "
                "появится, обратитесь к вендору."
            ),
            code=DocumentsErrorCode.DOCUMENT_RENDER_FAILED,
        )
    if document.pdf:
        try:
            with document.pdf.open("rb") as stored:
                return bytes(stored.read())
        except FileNotFoundError:
            pass
    return render_closing_document(document)


def closing_document_render_retry(*, document: ClosingDocument, actor: Any) -> ClosingDocument:
    """Staff render a failed document again: the row goes back to pending (a conditional update,
    audited) and the render is enqueued after commit. Refused for a document not failed."""
    with transaction.atomic():
        moved = ClosingDocument.objects.filter(pk=document.pk, pdf_status=PdfStatus.FAILED).update(
            pdf_status=PdfStatus.PENDING
        )
        if not moved:
            raise RenderRetryRefused(
                _("Документ %(number)s не нужно формировать заново: он готов или готовится.")
                % {"number": document.number}
            )
        audit.record(
            action="documents.closing_document.render_retried",
            obj=document,
            organisation_id=document.partner_id,
            before={"pdf_status": PdfStatus.FAILED, "pdf_error": document.pdf_error},
            after={"pdf_status": PdfStatus.PENDING},
            actor=actor,
        )
        document_id = document.pk
        transaction.on_commit(lambda: closing_document_render(document_id))
    document.pdf_status = PdfStatus.PENDING
    return document
