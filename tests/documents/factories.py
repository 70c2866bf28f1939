"""Organisations with complete cards for the closing-document tests, and the PDF states of issued
documents.

``issue`` goes through the real service: the rows are numbered and written, and their render is
enqueued on commit, which a ``django_db`` test never reaches, so the documents stay pending and
nothing is rendered (WeasyPrint takes about a second a document). A test that reads the PDF
calls ``rendered`` (the worker's own service, run here); a test that only needs a ready document
(a download link, a status code) calls ``ready_without_rendering``, which stores a stub file.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.files.base import ContentFile

from partnerhub.core import clock
from partnerhub.documents import pdf_render
from partnerhub.documents.models import ClosingDocument, PdfStatus
from partnerhub.documents.services import closing_documents_issue
from partnerhub.partners.models import Organisation
from tests.factories import COMPLETE_UL_CARD, OrganisationFactory, VendorFactory

VENDOR_INN = "7717586110"
VENDOR_KPP = "771701001"
PARTNER_INN = "7707083893"
PARTNER_KPP = "773601001"
IP_INN = "500100732259"
IP_OGRNIP = "304500116000157"


def vendor_with_card(**overrides: Any) -> Organisation:
    """The vendor as customer / buyer: ООО «1С-Битрикс» with INN, KPP and address."""
    fields = {
        "full_name": "Общество с ограниченной ответственностью «1С-Битрикс»",
        "short_name": "ООО «1С-Битрикс»",
        "inn": VENDOR_INN,
        "kpp": VENDOR_KPP,
        "ogrn": "5077746476209",
        "legal_address": "236001, г. Калининград, Московский пр-кт, д. 261",
        "director_name": "Рыжиков Сергей Борисович",
        "director_position": "Генеральный директор",
        **overrides,
    }
    return VendorFactory(**fields)


def partner_with_card(*, vat_payer: bool = True, **overrides: Any) -> Organisation:
    """A partner legal entity with a complete card (a VAT payer unless told otherwise)."""
    fields = {
        **COMPLETE_UL_CARD,
        "full_name": "Общество с ограниченной ответственностью «Альфа»",
        "short_name": "ООО «Альфа»",
        "inn": PARTNER_INN,
        "kpp": PARTNER_KPP,
        "vat_payer": vat_payer,
        **overrides,
    }
    return OrganisationFactory(**fields)


def ip_partner(*, vat_payer: bool = True) -> Organisation:
    """An individual entrepreneur partner (no KPP, OGRNIP)."""
    return OrganisationFactory(
        legal_form="ip",
        full_name="Индивидуальный предприниматель Петров Пётр Петрович",
        short_name="ИП Петров П. П.",
        inn=IP_INN,
        kpp="",
        ogrn=IP_OGRNIP,
        legal_address="141700, Московская обл., г. Долгопрудный, ул. Первомайская, д. 5",
        vat_payer=vat_payer,
        director_name="Петров Пётр Петрович",
    )


def issue(
    *,
    vendor: Organisation,
    partner: Organisation,
    amount: str = "6000.00",
    on: dt.date = dt.date(2026, 3, 2),
    source: str = "payout:1",
    basis: str = "Договор № П-17 от 10.02.2026",
) -> list[ClosingDocument]:
    return closing_documents_issue(
        vendor=vendor,
        partner=partner,
        amount=Decimal(amount),
        issued_on=on,
        basis=basis,
        source=source,
    )


#: What ``ready_without_rendering`` stores: a file that starts like a PDF, for tests that never
#: open it as one.
STUB_PDF = b"%PDF-1.4\n% stub of a test that does not read the document\n%%EOF\n"


def rendered(documents: list[ClosingDocument]) -> list[ClosingDocument]:
    """The documents after the worker's render (``pdf_render.closing_document_render``),
    reloaded."""
    for document in documents:
        pdf_render.closing_document_render(document_id=document.pk)
    return [ClosingDocument.objects.get(pk=document.pk) for document in documents]


def ready_without_rendering(documents: list[ClosingDocument]) -> list[ClosingDocument]:
    """The documents made ready with ``STUB_PDF`` as their file, without rendering, reloaded."""
    for document in documents:
        field = document.pdf.field
        name = field.storage.save(
            field.generate_filename(document, "document.pdf"), ContentFile(STUB_PDF)
        )
        ClosingDocument.objects.filter(pk=document.pk).update(
            pdf=name, pdf_status=PdfStatus.READY, pdf_rendered_at=clock.now()
        )
    return [ClosingDocument.objects.get(pk=document.pk) for document in documents]


def failed(documents: list[ClosingDocument], *, error: str = "OSError: disk full") -> None:
    """The documents as a render that failed for good leaves them."""
    ClosingDocument.objects.filter(pk__in=[d.pk for d in documents]).update(
        pdf_status=PdfStatus.FAILED, pdf_attempts=4, pdf_error=error
    )
