"""Closing-document page helpers: the list filters and the PDF download (cabinet and back
office).

A document whose PDF the worker has not stored yet (or failed to render) is not rendered in the
request: its download URL answers 409 with a page saying so (the list shows the same state and
refreshes itself while a document is pending), so that a page never waits on WeasyPrint.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from partnerhub.core.access import vendor
from partnerhub.documents.errors import DocumentNotReady
from partnerhub.documents.models import ClosingDocument, DocumentKind, PdfStatus
from partnerhub.documents.services import closing_document_pdf

#: The vendor's staff who read closing documents and render again a failed one (support does not:
#: these are accounting documents).
STAFF_DOCUMENT_READERS = vendor("accountant", "program_manager", "administrator")


def year_filter(request: HttpRequest) -> int | None:
    """The ``?year=`` filter, or None when absent or not a year."""
    raw = request.GET.get("year", "").strip()
    # four ASCII digits: int() of 5,000 digits or of "²" (isdigit) raises
    if len(raw) != 4 or not (raw.isascii() and raw.isdigit()):
        return None
    return int(raw) if 2000 <= int(raw) <= 2100 else None


def kind_filter(request: HttpRequest) -> str:
    """The ``?kind=`` filter ("act", "invoice"), or "" for both."""
    raw = request.GET.get("kind", "").strip()
    return raw if raw in DocumentKind.values else ""


def pdf_response(document_pdf: bytes, filename: str) -> HttpResponse:
    """A PDF as a download (the file name is the document's number, no personal data)."""
    response = HttpResponse(document_pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


def pdf_filename(number: str, kind: str) -> str:
    """ "act-A-2026-00001.pdf": ASCII, so that every browser keeps it."""
    ascii_number = number.replace("А", "A").replace("СФ", "SF")
    return f"{kind}-{ascii_number}.pdf"


def pdf_download(request: HttpRequest, document: ClosingDocument, *, list_url: str) -> HttpResponse:
    """The document's PDF as a download, or (not ready yet, or its render failed) a page saying
    so with status 409 and a link back to ``list_url`` (a URL name)."""
    try:
        content = closing_document_pdf(document)
    except DocumentNotReady as error:
        context = {"document": document, "message": error.message, "list_url": reverse(list_url)}
        return render(request, "includes/document_not_ready.html", context, status=409)
    return pdf_response(content, pdf_filename(document.number, document.kind))


def back_to(request: HttpRequest, *, default: str) -> str:
    """The ``next`` page posted by a form when it is on this site, else ``default`` (a URL
    name)."""
    next_url = request.POST.get("next", "")
    if next_url and url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return next_url
    return reverse(default)


def any_pending(documents: Iterable[ClosingDocument]) -> bool:
    """True when a document shown is still being prepared: the list then refreshes itself."""
    return any(document.pdf_status == PdfStatus.PENDING for document in documents)
