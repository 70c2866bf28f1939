"""Back-office pages of partner statuses and counterparty documents (issue 6; spec
partners-and-contracts, "Statuses" and "Contract" step 1).

Statuses: the history of a partner with the grant form, ending a grant early, the kinds of
status. Documents: the queue of uploads under review across partners, the review, the download,
the kinds the vendor asks for. The partner page embeds both blocks (``partner_blocks`` tags).
"""

from __future__ import annotations

from django.contrib import messages
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from partnerhub.accounts.principal import organisation_of, person_of
from partnerhub.core import clock
from partnerhub.core.access import access, allowed, vendor
from partnerhub.core.errors import ApplicationError
from partnerhub.core.forms import add_service_errors
from partnerhub.core.pagination import paginate
from partnerhub.partners import selectors, services
from partnerhub.partners.access_rules import (
    DOCUMENT_REVIEWERS,
    DOCUMENT_VIEWERS,
    STATUS_EDITORS,
)
from partnerhub.partners.downloads import counterparty_document_response
from partnerhub.partners.forms import (
    CounterpartyDocumentKindForm,
    CounterpartyDocumentReviewForm,
    StatusEndForm,
    StatusGrantForm,
    StatusKindForm,
)
from partnerhub.partners.models import Organisation

ANY_STAFF = vendor()


# --- statuses ---------------------------------------------------------------------------------


def _statuses_page(
    request: HttpRequest,
    org: Organisation,
    form: StatusGrantForm | None = None,
    end_form: StatusEndForm | None = None,
    end_grant_pk: int | None = None,
    status: int = 200,
) -> HttpResponse:
    context = {
        "org": org,
        "overview": selectors.status_overview(
            organisation=org, on=clock.today(), vendor=organisation_of(request.user)
        ),
        "form": form or StatusGrantForm(vendor=organisation_of(request.user)),
        "end_form": end_form or StatusEndForm(),
        "end_grant_pk": end_grant_pk,
        "can_edit": allowed(STATUS_EDITORS, request.user),
    }
    return render(request, "backoffice/partners/statuses.html", context, status=status)


@access(ANY_STAFF)
@require_GET
def partner_statuses(request: HttpRequest, pk: int) -> HttpResponse:
    """A partner's statuses: in force, coming and past, with who granted and ended them."""
    return _statuses_page(
        request, selectors.partner_of_vendor(vendor=organisation_of(request.user), pk=pk)
    )


@access(STATUS_EDITORS)
@require_POST
def partner_status_grant(request: HttpRequest, pk: int) -> HttpResponse:
    """Grant a status for a period; overlaps and an end before the start are refused."""
    vendor_org = organisation_of(request.user)
    org = selectors.partner_of_vendor(vendor=vendor_org, pk=pk)
    form = StatusGrantForm(request.POST, vendor=vendor_org)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.status_grant(
                organisation=org,
                status=data["status"],
                valid_from=data["valid_from"],
                valid_until=data["valid_until"],
                note=data["note"],
                by=person_of(request.user),
                vendor=vendor_org,
            )
        except ApplicationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Статус присвоен."))
            return redirect("backoffice:partner_statuses", pk=org.pk)
    return _statuses_page(request, org, form=form, status=400)


@access(STATUS_EDITORS)
@require_POST
def partner_status_end(request: HttpRequest, pk: int) -> HttpResponse:
    """End a grant early: its last day becomes the given date."""
    grant = selectors.status_grant_get(vendor=organisation_of(request.user), pk=pk)
    form = StatusEndForm(request.POST)
    if form.is_valid():
        try:
            services.status_end(
                grant=grant,
                on=form.cleaned_data["on"],
                reason=form.cleaned_data["reason"],
                by=person_of(request.user),
            )
        except ApplicationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Статус прекращён."))
            return redirect("backoffice:partner_statuses", pk=grant.organisation_id)
    return _statuses_page(
        request, grant.organisation, end_form=form, end_grant_pk=grant.pk, status=400
    )


def _status_kinds_page(
    request: HttpRequest, form: StatusKindForm | None = None, status: int = 200
) -> HttpResponse:
    context = {
        "kinds": selectors.status_kinds(vendor=organisation_of(request.user)),
        "form": form or StatusKindForm(),
        "can_edit": allowed(STATUS_EDITORS, request.user),
    }
    return render(request, "backoffice/partners/status_kinds.html", context, status=status)


@access(ANY_STAFF)
@require_GET
def status_kinds(request: HttpRequest) -> HttpResponse:
    """Kinds of status the vendor grants (its own catalogue)."""
    return _status_kinds_page(request)


@access(STATUS_EDITORS)
@require_POST
def status_kind_add(request: HttpRequest) -> HttpResponse:
    """Add a kind of status to the vendor's catalogue."""
    form = StatusKindForm(request.POST)
    if form.is_valid():
        try:
            services.status_kind_create(
                **form.cleaned_data,
                vendor=organisation_of(request.user),
                by=person_of(request.user),
            )
        except ApplicationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Вид статуса добавлен."))
            return redirect("backoffice:status_kinds")
    return _status_kinds_page(request, form=form, status=400)


# --- counterparty documents -------------------------------------------------------------------


@access(DOCUMENT_VIEWERS)
@require_GET
def counterparty_documents(request: HttpRequest) -> HttpResponse:
    """The queue: uploads of the vendor's partners under review, oldest first."""
    context = {
        "page": paginate(
            request,
            selectors.counterparty_documents_under_review(vendor=organisation_of(request.user)),
        ),
        "can_review": allowed(DOCUMENT_REVIEWERS, request.user),
        "review_form": CounterpartyDocumentReviewForm(),
    }
    return render(request, "backoffice/partners/counterparty_documents.html", context)


@access(DOCUMENT_VIEWERS)
@require_GET
def counterparty_document_download(request: HttpRequest, pk: int) -> FileResponse:
    """Download an upload of one of the vendor's partners."""
    return counterparty_document_response(
        selectors.counterparty_document_get(vendor=organisation_of(request.user), pk=pk)
    )


@access(DOCUMENT_REVIEWERS)
@require_POST
def counterparty_document_review(request: HttpRequest, pk: int) -> HttpResponse:
    """Accept an upload, or ask for it again with a reason the partner receives."""
    document = selectors.counterparty_document_get(vendor=organisation_of(request.user), pk=pk)
    form = CounterpartyDocumentReviewForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Выберите решение."))
    else:
        try:
            services.counterparty_document_review(
                document=document,
                accept=form.cleaned_data["decision"] == "accept",
                reason=form.cleaned_data["reason"],
                by=person_of(request.user),
            )
        except ApplicationError as exc:
            problems = [str(m) for msgs in exc.fields.values() for m in msgs]
            messages.error(request, " ".join([str(exc.message), *problems]))
        else:
            messages.success(request, _("Решение по документу сохранено."))
    back = request.POST.get("next", "")
    if back == "queue":
        return redirect("backoffice:counterparty_documents")
    return redirect("backoffice:partner_detail", pk=document.organisation_id)


def _document_kinds_page(
    request: HttpRequest, form: CounterpartyDocumentKindForm | None = None, status: int = 200
) -> HttpResponse:
    context = {
        "kinds": selectors.counterparty_document_kinds(vendor=organisation_of(request.user)),
        "form": form or CounterpartyDocumentKindForm(),
        "can_edit": allowed(DOCUMENT_REVIEWERS, request.user),
    }
    return render(
        request, "backoffice/partners/counterparty_document_kinds.html", context, status=status
    )


@access(DOCUMENT_VIEWERS)
@require_GET
def counterparty_document_kinds(request: HttpRequest) -> HttpResponse:
    """The documents the vendor asks of partners (its own catalogue)."""
    return _document_kinds_page(request)


@access(DOCUMENT_REVIEWERS)
@require_POST
def counterparty_document_kind_add(request: HttpRequest) -> HttpResponse:
    """Add a kind of counterparty document to the vendor's catalogue."""
    form = CounterpartyDocumentKindForm(request.POST)
    if form.is_valid():
        try:
            services.counterparty_document_kind_create(
                **form.cleaned_data,
                vendor=organisation_of(request.user),
                by=person_of(request.user),
            )
        except ApplicationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Вид документа добавлен."))
            return redirect("backoffice:counterparty_document_kinds")
    return _document_kinds_page(request, form=form, status=400)
