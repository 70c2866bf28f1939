"""Reads of closing documents, scoped to who asks (house rule 2)."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from partnerhub.documents.models import ClosingDocument, DocumentKind
from partnerhub.partners.models import Organisation

__all__ = [
    "closing_document_for_partner",
    "closing_document_for_staff",
    "closing_document_years",
    "closing_documents_for_staff",
    "closing_documents_of",
    "closing_documents_of_partner",
]


def closing_documents_of(*, source: str) -> list[ClosingDocument]:
    """The documents issued for ``source`` (``payout:17``): the act first, then the invoice."""
    documents = ClosingDocument.objects.filter(source=source).select_related("partner", "vendor")
    order: dict[str, int] = {DocumentKind.ACT: 0, DocumentKind.INVOICE: 1}
    return sorted(documents, key=lambda document: (order.get(document.kind, 9), document.pk))


def _filtered(
    qs: QuerySet[ClosingDocument], *, year: int | None, kind: str
) -> QuerySet[ClosingDocument]:
    if year is not None:
        qs = qs.filter(year=year)
    if kind in DocumentKind.values:
        qs = qs.filter(kind=kind)
    return qs.order_by("-issued_on", "-id")


def closing_documents_of_partner(
    *, partner: Organisation, year: int | None = None, kind: str = ""
) -> QuerySet[ClosingDocument]:
    """A partner's own documents, newest first."""
    qs = ClosingDocument.objects.filter(partner=partner).select_related("vendor")
    return _filtered(qs, year=year, kind=kind)


def closing_documents_for_staff(
    *, vendor: Organisation, year: int | None = None, kind: str = "", partner_id: int | None = None
) -> QuerySet[ClosingDocument]:
    """The documents of ``vendor`` (its partners' acts and invoices to it) for its staff,
    newest first."""
    qs = ClosingDocument.objects.filter(vendor=vendor).select_related("partner", "vendor")
    if partner_id is not None:
        qs = qs.filter(partner_id=partner_id)
    return _filtered(qs, year=year, kind=kind)


def closing_document_years(
    *, partner: Organisation | None = None, vendor: Organisation | None = None
) -> list[int]:
    """The years that have documents of ``partner`` (a partner asking) or of ``vendor`` (its
    staff asking), newest first."""
    if partner is None and vendor is None:
        raise ValueError("closing_document_years needs the partner or the vendor asking")
    qs = ClosingDocument.objects.all()
    if partner is not None:
        qs = qs.filter(partner=partner)
    if vendor is not None:
        qs = qs.filter(vendor=vendor)
    return list(qs.order_by("-year").values_list("year", flat=True).distinct())


def closing_document_for_partner(*, partner: Organisation, pk: int) -> ClosingDocument:
    """One of the partner's own documents; 404 for another partner's or a missing one."""
    document = ClosingDocument.objects.filter(partner=partner, pk=pk).first()
    if document is None:
        raise Http404
    return document


def closing_document_for_staff(*, vendor: Organisation, pk: int) -> ClosingDocument:
    """A document of ``vendor``, for its staff; 404 for another vendor's or a missing one."""
    document = ClosingDocument.objects.filter(vendor=vendor, pk=pk).first()
    if document is None:
        raise Http404
    return document
