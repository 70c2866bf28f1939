"""Back office pages of the lead marketplace (issue 7, parts 1 and 2; spec leads.md and
"Lead-marketplace conditions" in partners-and-contracts.md).

- the leads of the vendor's marketplaces, with filters (state, source, region, dates), the take
  count and the client's contacts (the vendor's own data: staff see them);
- a lead by staff entry, a CSV/XLSX import with its report, a lead's detail with the partners'
  deals on it, and its withdrawal (with a reason);
- the partners' marketplace accesses with each condition, the pages waiting for review first,
  and the review (accept, or reject with a reason);
- the marketplace's settings (caps, lifetime, agreement, site form).

Every member of the vendor's staff reads; the program manager and the administrator change.
Thin views: reads through ``leads.selectors``, writes through ``leads.services``. A vendor with
several marketplaces switches between them with ``?program=<code>``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from partnerhub.accounts.principal import organisation_of
from partnerhub.core.access import ByMethod, access, allowed, vendor
from partnerhub.core.errors import ApplicationError
from partnerhub.core.forms import add_service_errors
from partnerhub.core.pagination import paginate
from partnerhub.leads import selectors, services
from partnerhub.leads.models import Lead, LeadSource, LeadState, PageState
from partnerhub.leads.services.imports import ImportReport, leads_import
from partnerhub.leads.services.settings import EDITABLE_FIELDS, lead_settings_update
from partnerhub.partners import selectors as partner_selectors
from partnerhub.partners.models import Organisation, Program, ProgramKind

from .lead_forms import (
    AccessReviewForm,
    LeadFilterForm,
    LeadForm,
    LeadImportForm,
    LeadSettingsForm,
    WithdrawForm,
)

READERS = vendor()
WRITERS = vendor("program_manager", "administrator")
PER_PAGE = 50
ACCESSES_PER_PAGE = 25


# --- the marketplace the page is about -------------------------------------------------------


def _programs(org: Organisation) -> list[Program]:
    return list(partner_selectors.programs_of_vendor(vendor=org, kind=ProgramKind.LEADS))


def _program(request: HttpRequest) -> tuple[Program, list[Program]]:
    """The marketplace ``?program=<code>`` names, else the vendor's first; 404 without one."""
    programs = _programs(organisation_of(request.user))
    if not programs:
        raise Http404(_("У вендора нет программы биржи заявок."))
    code = request.GET.get("program") or request.POST.get("program") or ""
    for program in programs:
        if program.code == code:
            return program, programs
    return programs[0], programs


def _lead_of_vendor(request: HttpRequest, pk: int) -> Lead:
    lead = selectors.lead_get_for_staff(pk=pk)
    if lead.program.vendor_id != organisation_of(request.user).pk:
        raise Http404
    return lead


def _base(request: HttpRequest, program: Program, programs: list[Program]) -> dict[str, Any]:
    return {
        "program": program,
        "programs": programs,
        "can_write": allowed(WRITERS, request.user),
    }


# --- leads ------------------------------------------------------------------------------------


@require_GET
@access(READERS)
def leads(request: HttpRequest) -> HttpResponse:
    """Leads of the marketplace, newest first, filtered."""
    program, programs = _program(request)
    form = LeadFilterForm(request.GET or None)
    form.is_valid()  # a bad filter is dropped, the good ones apply
    filters: dict[str, Any] = getattr(form, "cleaned_data", {})
    region = filters.get("region")
    qs = selectors.leads_for_staff(
        program=program,
        state=filters.get("state") or None,
        source=filters.get("source") or None,
        region=region.code if region else None,
        search=filters.get("search") or "",
        published_from=filters.get("published_from"),
        published_to=filters.get("published_to"),
    )
    page = paginate(request, qs, PER_PAGE)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "backoffice/leads/list.html",
        {
            **_base(request, program, programs),
            "form": form,
            "page": page,
            "leads": page.object_list,
            "query": query.urlencode(),
        },
    )


@require_http_methods(["GET", "POST"])
@access(WRITERS)
def lead_create(request: HttpRequest) -> HttpResponse:
    """A lead entered by staff: published on the marketplace at once."""
    program, programs = _program(request)
    form = LeadForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            lead = services.lead_create(
                program=program,
                source=LeadSource.STAFF,
                created_by=request.user,
                **form.cleaned_data,
            )
        except ApplicationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Заявка № %(n)s опубликована.") % {"n": lead.pk})
            return redirect("backoffice:lead", pk=lead.pk)
    return render(
        request,
        "backoffice/leads/form.html",
        {**_base(request, program, programs), "form": form},
        status=400 if request.method == "POST" else 200,
    )


@require_http_methods(["GET", "POST"])
@access(WRITERS)
def lead_import(request: HttpRequest) -> HttpResponse:
    """Upload a CSV or XLSX file of leads; the report lists what was stored and each bad row."""
    program, programs = _program(request)
    form = LeadImportForm(request.POST or None, request.FILES or None)
    report: ImportReport | None = None
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                report = leads_import(
                    program=program,
                    filename=upload.name or "",
                    content=_read_upload(upload),
                    by=request.user,
                )
            except ApplicationError as error:
                add_service_errors(form, error)
            else:
                status = 200
                form = LeadImportForm()
    return render(
        request,
        "backoffice/leads/import.html",
        {**_base(request, program, programs), "form": form, "report": report},
        status=status,
    )


def _read_upload(upload: Any) -> bytes:
    """The uploaded bytes, reading at most one byte over the limit (the service refuses it)."""
    return bytes(upload.read(settings.LEAD_IMPORT_MAX_BYTES + 1))


#: The newest reveals of a lead's contacts its page lists.
REVEALS_SHOWN = 100


def _detail(
    request: HttpRequest, lead: Lead, withdraw_form: WithdrawForm, *, status: int = 200
) -> HttpResponse:
    deals = lead.deals.select_related("organisation").order_by("taken_at", "pk")
    can_write = allowed(WRITERS, request.user)
    return render(
        request,
        "backoffice/leads/detail.html",
        {
            "lead": lead,
            "deals": deals,
            "reveals": selectors.reveals_of_lead(lead=lead)[:REVEALS_SHOWN],
            "can_withdraw": can_write and lead.state == LeadState.OPEN,
            "withdraw_form": withdraw_form,
        },
        status=status,
    )


@require_GET
@access(READERS)
def lead_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A lead with its contacts and the partners' deals on it."""
    return _detail(request, _lead_of_vendor(request, pk), WithdrawForm())


@require_POST
@access(WRITERS)
def lead_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    """Take an open lead off the marketplace (the reason is required)."""
    lead = _lead_of_vendor(request, pk)
    form = WithdrawForm(request.POST)
    if form.is_valid():
        try:
            services.lead_withdraw(lead=lead, reason=form.cleaned_data["reason"], by=request.user)
        except ApplicationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Заявка снята с биржи."))
            return redirect("backoffice:lead", pk=lead.pk)
    return _detail(request, lead, form, status=400)


@require_GET
@access(READERS)
def lead_deal(request: HttpRequest, pk: int) -> HttpResponse:
    """A partner's deal as staff read it: stage, the partner's data, events, closing, and whom
    the contacts were shown (read-only: the deal is the partner's to work)."""
    deal = selectors.deal_get_for_staff(vendor=organisation_of(request.user), pk=pk)
    return render(
        request,
        "backoffice/leads/deal.html",
        {
            "deal": deal,
            "events": deal.events.select_related("author"),
            "reveals": selectors.reveals_of_deal(deal=deal)[:REVEALS_SHOWN],
        },
    )


# --- partners' accesses -----------------------------------------------------------------------


@require_GET
@access(READERS)
def lead_accesses(request: HttpRequest) -> HttpResponse:
    """Partners' standing in the marketplace with each condition; pages to check come first."""
    program, programs = _program(request)
    pending = list(
        selectors.accesses_for_staff(
            program=program, page_state=PageState.PENDING, vendor=program.vendor
        )
    )
    others = selectors.accesses_for_staff(program=program, vendor=program.vendor).exclude(
        page_state=PageState.PENDING
    )
    page = paginate(request, others.order_by("organisation__short_name", "pk"), ACCESSES_PER_PAGE)
    accesses = [*pending, *page.object_list]
    eligibility = selectors.eligibilities_of(program=program, accesses=accesses)
    rows = [{"access": a, "eligibility": eligibility[a.pk]} for a in accesses]
    return render(
        request,
        "backoffice/leads/accesses.html",
        {
            **_base(request, program, programs),
            "pending": rows[: len(pending)],
            "rows": rows[len(pending) :],
            "page": page,
            "review_form": AccessReviewForm(),
        },
    )


@require_POST
@access(WRITERS)
def lead_access_review(request: HttpRequest, pk: int) -> HttpResponse:
    """Accept a partner's page, or reject it with a reason the partner reads."""
    org = organisation_of(request.user)
    access_ = (
        selectors.accesses_for_staff(vendor=org).filter(pk=pk).select_related("program").first()
    )
    if access_ is None:
        raise Http404
    form = AccessReviewForm(request.POST)
    back = f"{reverse('backoffice:lead_accesses')}?program={access_.program.code}"
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
        return redirect(back)
    accept = form.cleaned_data["decision"] == "accept"
    try:
        services.marketplace_page_review(
            access=access_, accept=accept, reason=form.cleaned_data["reason"], by=request.user
        )
    except ApplicationError as error:
        messages.error(request, str(error.message))
    else:
        name = access_.organisation.short_name
        messages.success(
            request,
            (
                _("Страница партнёра %(name)s принята.")
                if accept
                else _("Страница партнёра %(name)s отклонена.")
            )
            % {"name": name},
        )
    return redirect(back)


# --- settings ---------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@access(ByMethod({"GET": READERS, "POST": WRITERS}))  # type: ignore[arg-type]
def lead_settings(request: HttpRequest) -> HttpResponse:
    """The marketplace's rules: all staff read, the program manager and administrator change."""
    program, programs = _program(request)
    current = selectors.lead_settings_for(program)
    can_write = allowed(WRITERS, request.user)
    form = LeadSettingsForm(request.POST or None, instance=current)
    if request.method == "POST" and form.is_valid():
        try:
            lead_settings_update(
                program=program,
                by=request.user,
                **{name: form.cleaned_data[name] for name in EDITABLE_FIELDS},
            )
        except ApplicationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Настройки биржи заявок сохранены."))
            return redirect(f"{reverse('backoffice:lead_settings')}?program={program.code}")
    if not can_write:
        for field in form.fields.values():
            field.disabled = True
    return render(
        request,
        "backoffice/leads/settings.html",
        {**_base(request, program, programs), "form": form},
        status=400 if request.method == "POST" else 200,
    )
