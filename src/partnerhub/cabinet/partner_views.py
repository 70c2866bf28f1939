"""Cabinet pages of counterparty documents (issue 6; spec partners-and-contracts, "Contract"
step 1): the kinds the vendor asks for with the state of each, the upload, the download.

Statuses are shown on the card page through the ``partner_blocks`` template tags.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from partnerhub.accounts.principal import organisation_of, person_of
from partnerhub.core.access import access, allowed, partner
from partnerhub.core.errors import ApplicationError
from partnerhub.core.forms import add_service_errors
from partnerhub.partners import selectors, services
from partnerhub.partners.access_rules import DOCUMENT_UPLOADERS
from partnerhub.partners.downloads import counterparty_document_response
from partnerhub.partners.forms import CounterpartyDocumentUploadForm
from partnerhub.partners.models import Organisation

ANY_PARTNER = partner()


def _documents_page(
    request: HttpRequest, org: Organisation, form: CounterpartyDocumentUploadForm, status: int = 200
) -> HttpResponse:
    rows = selectors.counterparty_documents_of(organisation=org)
    context = {
        "org": org,
        "rows": rows,
        # several vendors ask their own documents: the page shows them vendor by vendor
        "by_vendor": len({row.kind.vendor_id for row in rows}) > 1,
        "uploaded": selectors.counterparty_documents_uploaded(organisation=org),
        "accepted": selectors.counterparty_documents_accepted(organisation=org),
        "form": form,
        "can_upload": allowed(DOCUMENT_UPLOADERS, request.user),
        "max_size": filesizeformat(settings.COUNTERPARTY_DOCUMENT_MAX_BYTES),
    }
    return render(request, "cabinet/partners/counterparty_documents.html", context, status=status)


@access(ANY_PARTNER)
@require_GET
def counterparty_documents(request: HttpRequest) -> HttpResponse:
    """The documents the vendor asks for the counterparty check, with the state of each."""
    org = organisation_of(request.user)
    return _documents_page(request, org, CounterpartyDocumentUploadForm(organisation=org))


@access(DOCUMENT_UPLOADERS)
@require_POST
def counterparty_document_upload(request: HttpRequest) -> HttpResponse:
    """Upload a file for one kind; it replaces the current file of the kind (history kept)."""
    org = organisation_of(request.user)
    form = CounterpartyDocumentUploadForm(request.POST, request.FILES, organisation=org)
    if form.is_valid():
        upload = form.cleaned_data.get("file")
        try:
            services.counterparty_document_upload(
                organisation=org,
                kind=form.cleaned_data["kind"],
                upload=upload,
                name=getattr(upload, "name", "") or "",
                by=person_of(request.user),
            )
        except ApplicationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Файл загружен и передан на проверку."))
            return redirect("cabinet:counterparty_documents")
    return _documents_page(request, org, form, status=400)


@access(ANY_PARTNER)
@require_GET
def counterparty_document_download(request: HttpRequest, pk: int) -> FileResponse:
    """Download one of the organisation's own uploads (another partner's: 404)."""
    document = selectors.counterparty_document_of_partner(
        organisation=organisation_of(request.user), pk=pk
    )
    return counterparty_document_response(document)
