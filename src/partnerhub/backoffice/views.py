"""The vendor back office: dashboard, partners and their cards, enrolment decisions."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from partnerhub.accounts import selectors as account_selectors
from partnerhub.accounts.principal import organisation_of
from partnerhub.contracts import selectors as contract_selectors
from partnerhub.core.access import access, allowed, vendor
from partnerhub.core.errors import ApplicationError
from partnerhub.core.pagination import paginate
from partnerhub.leads import selectors as lead_selectors
from partnerhub.partners import selectors, services
from partnerhub.partners.forms import CardForm
from partnerhub.partners.models import EnrolmentState
from partnerhub.payouts import selectors as payout_selectors

ANY_STAFF = vendor()
ENROLMENT_DECIDERS = vendor("program_manager", "administrator")


class EnrolmentDecisionForm(forms.Form):
    """Move an enrolment to another state, with a reason where the state needs one."""

    to = forms.ChoiceField(choices=EnrolmentState.choices)
    reason = forms.CharField(label=gettext_lazy("Причина"), max_length=500, required=False)


@access(ANY_STAFF)
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    """The staff's start page: applications waiting for a decision, partner count, and what
    waits for staff in contracts, counterparty documents, payouts and the lead marketplace's
    partner pages (each a link to its list)."""
    vendor_org = organisation_of(request.user)
    contract_counts = contract_selectors.contract_state_counts(vendor=vendor_org)
    context = {
        "pending": selectors.enrolments_pending(vendor=vendor_org)[:20],
        "partner_count": selectors.partners_of_vendor(vendor=vendor_org).count(),
        "contracts_waiting": sum(contract_counts[s] for s in contract_selectors.QUEUE_STATES),
        "documents_waiting": selectors.counterparty_documents_under_review(
            vendor=vendor_org
        ).count(),
        "payouts_due": payout_selectors.due_counts(vendor=vendor_org),
        "pages_waiting": lead_selectors.pages_to_review_count(vendor=vendor_org),
    }
    return render(request, "backoffice/dashboard.html", context)


@access(ANY_STAFF)
@require_GET
def partners(request: HttpRequest) -> HttpResponse:
    """The vendor's partners with search by name, INN or email."""
    search = request.GET.get("q", "")
    partners = selectors.partners_of_vendor(vendor=organisation_of(request.user), search=search)
    page = paginate(request, partners)
    return render(request, "backoffice/partners.html", {"page": page, "q": search})


@access(ANY_STAFF)
@require_GET
def partner_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One of the vendor's partners: card, completeness, its enrolments in the vendor's
    programs, employees, card history."""
    vendor_org = organisation_of(request.user)
    org = selectors.partner_of_vendor(vendor=vendor_org, pk=pk)
    context = {
        "org": org,
        "form": CardForm(instance=org),
        "completeness": selectors.card_completeness(organisation=org),
        "enrolments": selectors.enrolments_of(organisation=org, vendor=vendor_org),
        "employees": account_selectors.employees_of(organisation=org),
        "history": selectors.card_history(organisation=org)[:50],
        "statuses": selectors.statuses_of(organisation=org, vendor=vendor_org),
        "can_decide": allowed(ENROLMENT_DECIDERS, request.user),
        "decision_states": EnrolmentState.choices,
    }
    return render(request, "backoffice/partner_detail.html", context)


@access(ENROLMENT_DECIDERS)
@require_POST
def enrolment_decide(request: HttpRequest, pk: int) -> HttpResponse:
    """Activate, reject, suspend or terminate a partner's enrolment."""
    enrolment = selectors.enrolment_get(vendor=organisation_of(request.user), pk=pk)
    form = EnrolmentDecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Выберите новое состояние."))
    else:
        try:
            services.enrolment_transition(
                enrolment=enrolment, to=form.cleaned_data["to"], reason=form.cleaned_data["reason"]
            )
        except ApplicationError as exc:
            messages.error(request, str(exc.message))
        else:
            messages.success(request, _("Состояние участия изменено."))
    return redirect("backoffice:partner_detail", pk=enrolment.organisation_id)
