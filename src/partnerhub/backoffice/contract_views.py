"""Back office pages of contracts: the queue by state, one contract with the application as it
was sent, and the staff's decisions (take under review, sign, reject, terminate).

Spec: partners-and-contracts, "Contract (referral program)". Every member of staff reads;
program managers and administrators decide.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from partnerhub.accounts.principal import organisation_of, person_of
from partnerhub.contracts import selectors, services
from partnerhub.contracts.forms import ReasonForm, SignForm, TerminateForm
from partnerhub.contracts.models import ContractState
from partnerhub.core import clock
from partnerhub.core.access import access, allowed, vendor
from partnerhub.core.errors import ApplicationError
from partnerhub.core.pagination import paginate

ANY_STAFF = vendor()
CONTRACT_DECIDERS = vendor("program_manager", "administrator")
#: The filter of the list: "queue" (sent and under review) or one state.
QUEUE = "queue"


@access(ANY_STAFF)
@require_GET
def contracts(request: HttpRequest) -> HttpResponse:
    """Contracts by state; by default the queue of applications waiting for staff."""
    state = request.GET.get("state", QUEUE)
    if state == QUEUE:
        states: tuple[str, ...] = selectors.QUEUE_STATES
    elif state in ContractState.values:
        states = (state,)
    else:
        state, states = QUEUE, selectors.QUEUE_STATES
    context = {
        "page": paginate(
            request,
            selectors.contracts_for_staff(vendor=organisation_of(request.user), states=states),
        ),
        "state": state,
        "counts": selectors.contract_state_counts(vendor=organisation_of(request.user)),
        "states": ContractState.choices,
    }
    return render(request, "backoffice/contracts/list.html", context)


@access(ANY_STAFF)
@require_GET
def contract(request: HttpRequest, pk: int) -> HttpResponse:
    """One contract: the partner, the state, the application as sent, the decisions."""
    found = selectors.contract_get(vendor=organisation_of(request.user), pk=pk)
    context = {
        "contract": found,
        "snapshot": found.application_snapshot,
        "can_decide": allowed(CONTRACT_DECIDERS, request.user),
        "sign_form": SignForm(initial={"signed_on": clock.today()}),
        "reject_form": ReasonForm(),
        "terminate_form": TerminateForm(),
    }
    return render(request, "backoffice/contracts/detail.html", context)


def _done(request: HttpRequest, pk: int, message: str) -> HttpResponse:
    messages.success(request, message)
    return redirect("backoffice:contract", pk=pk)


def _refused(request: HttpRequest, pk: int, exc: ApplicationError) -> HttpResponse:
    field_messages = [str(m) for ms in exc.fields.values() for m in ms]
    messages.error(request, " ".join([str(exc.message), *field_messages]))
    return redirect("backoffice:contract", pk=pk)


def _form_refused(request: HttpRequest, pk: int, form) -> HttpResponse:
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        for error in errors:
            messages.error(request, f"{label}: {error}" if label else str(error))
    return redirect("backoffice:contract", pk=pk)


@access(CONTRACT_DECIDERS)
@require_POST
def contract_review(request: HttpRequest, pk: int) -> HttpResponse:
    """Take a sent application under review."""
    found = selectors.contract_get(vendor=organisation_of(request.user), pk=pk)
    try:
        services.contract_review_start(contract=found, by=person_of(request.user))
    except ApplicationError as exc:
        return _refused(request, pk, exc)
    return _done(request, pk, _("Заявление взято на проверку."))


@access(CONTRACT_DECIDERS)
@require_POST
def contract_sign(request: HttpRequest, pk: int) -> HttpResponse:
    """Sign the contract on a date."""
    found = selectors.contract_get(vendor=organisation_of(request.user), pk=pk)
    form = SignForm(request.POST)
    if not form.is_valid():
        return _form_refused(request, pk, form)
    try:
        services.contract_sign(
            contract=found, signed_on=form.cleaned_data["signed_on"], by=person_of(request.user)
        )
    except ApplicationError as exc:
        return _refused(request, pk, exc)
    return _done(request, pk, _("Договор подписан."))


@access(CONTRACT_DECIDERS)
@require_POST
def contract_reject(request: HttpRequest, pk: int) -> HttpResponse:
    """Reject the application with a reason."""
    found = selectors.contract_get(vendor=organisation_of(request.user), pk=pk)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        return _form_refused(request, pk, form)
    try:
        services.contract_reject(
            contract=found, reason=form.cleaned_data["reason"], by=person_of(request.user)
        )
    except ApplicationError as exc:
        return _refused(request, pk, exc)
    return _done(request, pk, _("Заявление отклонено."))


@access(CONTRACT_DECIDERS)
@require_POST
def contract_terminate(request: HttpRequest, pk: int) -> HttpResponse:
    """Terminate a signed contract with a reason."""
    found = selectors.contract_get(vendor=organisation_of(request.user), pk=pk)
    form = TerminateForm(request.POST)
    if not form.is_valid():
        return _form_refused(request, pk, form)
    try:
        services.contract_terminate(
            contract=found,
            reason=form.cleaned_data["reason"],
            terminated_on=form.cleaned_data.get("terminated_on"),
            by=person_of(request.user),
        )
    except ApplicationError as exc:
        return _refused(request, pk, exc)
    return _done(request, pk, _("Договор расторгнут."))


@access(ANY_STAFF)
@require_GET
def contract_application(request: HttpRequest, pk: int) -> HttpResponse:
    """The application as the partner sent it (404 before the first sending)."""
    found = selectors.contract_get(vendor=organisation_of(request.user), pk=pk)
    if not found.application_pdf:
        raise Http404
    with found.application_pdf.open("rb") as file:
        response = HttpResponse(file.read(), content_type="application/pdf")
    name = f"application-{found.application_number}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
