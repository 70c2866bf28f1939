"""The partner's closing documents (acts and invoices of its payouts): the list and the PDF.

Issue 6, item 5. The owner and the accountant read them (the documents are the accounting's);
another partner's document is 404. Reads go through ``documents.selectors`` scoped to the user's
organisation; the PDF through ``documents.services.closing_document_pdf`` (a document whose PDF
is still being prepared answers 409 with a page saying so: ``pages.documents.pdf_download``).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from partnerhub.accounts.principal import organisation_of
from partnerhub.core.access import access, partner
from partnerhub.core.pagination import paginate
from partnerhub.documents import selectors
from partnerhub.documents.models import DocumentKind
from partnerhub.pages.documents import any_pending, kind_filter, pdf_download, year_filter

READERS = partner("owner", "accountant")
PER_PAGE = 25


@access(READERS)
@require_GET
def closing_documents(request: HttpRequest) -> HttpResponse:
    """The partner's acts and invoices, newest first, filtered by year and kind."""
    org = organisation_of(request.user)
    year, kind = year_filter(request), kind_filter(request)
    documents = selectors.closing_documents_of_partner(partner=org, year=year, kind=kind)
    page = paginate(request, documents, PER_PAGE)
    context = {
        "org": org,
        "page": page,
        "years": selectors.closing_document_years(partner=org),
        "kinds": DocumentKind.choices,
        "year": year,
        "kind": kind,
        "polling": any_pending(page),
    }
    return render(request, "cabinet/documents/list.html", context)


@access(READERS)
@require_GET
def closing_document_download(request: HttpRequest, pk: int) -> HttpResponse:
    """The PDF of one of the partner's own documents; 404 for anyone else's, 409 while it is
    being prepared."""
    org = organisation_of(request.user)
    document = selectors.closing_document_for_partner(partner=org, pk=pk)
    return pdf_download(request, document, list_url="cabinet:closing_documents")
