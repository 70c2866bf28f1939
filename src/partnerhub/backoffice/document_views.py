"""Closing documents of every partner for the vendor's staff: the list and the PDF.

Issue 6, item 5. The accountant, the program manager and the administrator read them (support
does not: these are accounting documents). Filters: year, kind, partner. The same staff render
again a document whose PDF failed (``documents.services.closing_document_render_retry``).
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from partnerhub.accounts.principal import organisation_of
from partnerhub.core.access import access
from partnerhub.core.errors import ApplicationError
from partnerhub.core.pagination import paginate
from partnerhub.documents import selectors
from partnerhub.documents.models import DocumentKind
from partnerhub.documents.services import closing_document_render_retry
from partnerhub.pages.documents import (
    STAFF_DOCUMENT_READERS,
    any_pending,
    back_to,
    kind_filter,
    pdf_download,
    year_filter,
)

READERS = STAFF_DOCUMENT_READERS
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
    page = paginate(request, documents, PER_PAGE)
    context = {
        "page": page,
        "years": selectors.closing_document_years(vendor=organisation_of(request.user)),
        "kinds": DocumentKind.choices,
        "year": year,
        "kind": kind,
        "partner_id": partner_id,
        "can_retry": True,
        "polling": any_pending(page),
    }
    return render(request, "backoffice/documents/list.html", context)


@access(READERS)
@require_GET
def closing_document_download(request: HttpRequest, pk: int) -> HttpResponse:
    """The PDF of a document of the vendor (another vendor's is 404; 409 while it is being
    prepared)."""
    document = selectors.closing_document_for_staff(vendor=organisation_of(request.user), pk=pk)
    return pdf_download(request, document, list_url="backoffice:closing_documents")


@access(READERS)
@require_POST
def closing_document_render_retry_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Render again a document whose PDF failed; back to the page the button was on."""
    document = selectors.closing_document_for_staff(vendor=organisation_of(request.user), pk=pk)
    try:
        closing_document_render_retry(document=document, actor=request.user)
    except ApplicationError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(
            request, _("Документ %(number)s формируется заново.") % {"number": document.number}
        )
    return redirect(back_to(request, default="backoffice:closing_documents"))
