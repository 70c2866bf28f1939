"""The PDF of a closing document, rendered from the stored row alone (``core.pdf.render_pdf``).

Templates: ``documents/act.html`` (акт об оказании услуг) and ``documents/invoice.html``
(счёт-фактура in the form of Government Decree No. 1137 as amended, in force). The context is
built from the document's own fields and its snapshots of both sides, never from the cards, so
re-rendering an issued document gives the same text.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.utils import translation

from partnerhub.core.money import NBSP, amount_in_words, format_rub
from partnerhub.core.pdf import render_pdf
from partnerhub.documents import rules

if TYPE_CHECKING:
    from partnerhub.documents.models import ClosingDocument

__all__ = ["TEMPLATES", "document_context", "format_amount", "long_date", "render_closing_document"]

TEMPLATES = {rules.ACT: "documents/act.html", rules.INVOICE: "documents/invoice.html"}

_MONTHS_GENITIVE = (
    "января",
    "февраля",
    "марта",
    "апреля",
    "мая",
    "июня",
    "июля",
    "августа",
    "сентября",
    "октября",
    "ноября",
    "декабря",
)


def long_date(day: dt.date) -> str:
    """ "25 ноября 2026 г." as documents write dates."""
    return f"{day.day}{NBSP}{_MONTHS_GENITIVE[day.month - 1]} {day.year}{NBSP}г."


def format_amount(amount: Decimal) -> str:
    """An amount for a document table: "6 000,00" (the rouble sign is in the column heading)."""
    return format_rub(amount).removesuffix(f"{NBSP}₽")


def _side(snapshot: dict[str, Any]) -> dict[str, Any]:
    """One side as the templates print it."""
    is_ip = snapshot.get("legal_form") == "ip"
    inn = snapshot.get("inn") or ""
    kpp = "" if is_ip else (snapshot.get("kpp") or "")
    return {
        **snapshot,
        "is_ip": is_ip,
        "inn_kpp": f"{inn}/{kpp}" if kpp else inn,
        "address": snapshot.get("legal_address") or snapshot.get("postal_address") or "",
    }


def document_context(document: ClosingDocument) -> dict[str, Any]:
    """Everything the templates need, from the row."""
    return {
        "document": document,
        "kind": document.kind,
        "number": document.number,
        "date_long": long_date(document.issued_on),
        "date_short": document.issued_on.strftime("%d.%m.%Y"),
        "seller": _side(document.seller),
        "buyer": _side(document.buyer),
        "service": document.service,
        "basis": document.basis,
        "has_vat": document.vat_rate is not None,
        "vat_rate": document.vat_rate_display,
        "amount": format_amount(document.amount),
        "vat_amount": format_amount(document.vat_amount),
        "without_vat": format_amount(document.amount_without_vat),
        "amount_in_words": amount_in_words(document.amount),
        "vat_in_words": amount_in_words(document.vat_amount),
        "related_number": document.related_number,
    }


def render_closing_document(document: ClosingDocument) -> bytes:
    """The PDF bytes of an act or an invoice, in Russian whatever the request's language (a
    Russian legal document)."""
    with translation.override("ru"):
        return render_pdf(TEMPLATES[document.kind], document_context(document))
