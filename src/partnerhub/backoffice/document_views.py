"""Closing documents of every partner for the vendor's staff: the list and the PDF.

Issue 6, item 5. The accountant, the program manager and the administrator read them (support
does not: these are accounting documents). Filters: year, kind, partner.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from partnerhub.accounts.principal import organisation_of
from partnerhub.core.access import access, vendor
from partnerhub.core.pagination import paginate
from partnerhub.documents import selectors
from partnerhub.documents.models import DocumentKind
from partnerhub.documents.services import closing_document_pdf
from partnerhub.pages.documents import kind_filter, pdf_filename, pdf_response, year_filter

READERS = vendor("accountant", "program_manager", "administrator")
PER_PAGE = 50


def partner_filter(request: HttpRequest) -> int | None:
    raw = request.GET.get("partner", "").strip()
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 18 else None


@access(READERS)
@require_GET
def closing_documents(request: HttpRequest) -> HttpResponse:
    """The vendor's partners' acts and invoices, newest first, filtered by year, kind
    and partner."""
    year, kind, partner_id = year_filter(request), kind_filter(request), partner_filter(request)
    documents = selectors.closing_documents_for_staff(
        vendor=organisation_of(request.user), year=year, kind=kind, partner_id=partner_id
    )
    context = {
        "page": paginate(request, documents, PER_PAGE),
        "years": selectors.closing_document_years(vendor=organisation_of(request.user)),
        "kinds": DocumentKind.choices,
        "year": year,
        "kind": kind,
        "partner_id": partner_id,
    }
    return render(request, "backoffice/documents/list.html", context)


@access(READERS)
@require_GET
def closing_document_download(request: HttpRequest, pk: int) -> HttpResponse:
    """The PDF of a document of the vendor (another vendor's is 404)."""
    document = selectors.closing_document_for_staff(vendor=organisation_of(request.user), pk=pk)
    return pdf_response(
        closing_document_pdf(document), pdf_filename(document.number, document.kind)
    )
