"""Cabinet pages of the contract: the programs to conclude a contract in, the contract with the
application to join, its PDF (a draft preview and the one sent).

Spec: partners-and-contracts, "Contract (referral program)". Any partner user reads; the owner
and the accountant prepare and send the application. Another partner's contract is a 404.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from partnerhub.accounts.principal import organisation_of, person_of
from partnerhub.contracts import selectors, services
from partnerhub.contracts.forms import PrepareForm
from partnerhub.contracts.models import Contract
from partnerhub.core.access import ByMethod, access, allowed, partner
from partnerhub.core.errors import ApplicationError
from partnerhub.core.forms import add_service_errors
from partnerhub.partners.models import Program

ANY_PARTNER = partner()
CONTRACT_EDITORS = partner("owner", "accountant")


def _contract(request: HttpRequest, pk: int) -> Contract:
    return selectors.contract_get_for_partner(organisation=organisation_of(request.user), pk=pk)


def _pdf(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@access(ANY_PARTNER)
@require_GET
def contracts(request: HttpRequest) -> HttpResponse:
    """The programs the partner takes part in, with the state of each contract."""
    org = organisation_of(request.user)
    context = {
        "org": org,
        "rows": selectors.programs_for_contract(organisation=org),
        "can_edit": allowed(CONTRACT_EDITORS, request.user),
    }
    return render(request, "cabinet/contracts/list.html", context)


@access(CONTRACT_EDITORS)
@require_POST
def contract_start(request: HttpRequest, program_pk: int) -> HttpResponse:
    """Start the contract in a program (a draft application)."""
    org = organisation_of(request.user)
    program = Program.objects.filter(pk=program_pk).first()
    if program is None:
        raise Http404
    try:
        contract = services.contract_start(
            organisation=org, program=program, by=person_of(request.user)
        )
    except ApplicationError as exc:
        messages.error(request, str(exc.message))
        return redirect("cabinet:contracts")
    return redirect("cabinet:contract", pk=contract.pk)


def _contract_page(
    request: HttpRequest, contract: Contract, form: PrepareForm | None, status: int = 200
) -> HttpResponse:
    can_edit = allowed(CONTRACT_EDITORS, request.user) and contract.is_editable
    if form is None and can_edit:
        form = PrepareForm(
            initial={
                "application_channel": contract.application_channel,
                "closing_channel": contract.closing_channel,
                "edo_operator": contract.edo_operator,
                "edo_participant_id": contract.edo_participant_id,
            }
        )
    context = {
        "org": contract.organisation,
        "contract": contract,
        "form": form if can_edit else None,
        "can_edit": can_edit,
        "refusals": services.send_refusals(contract) if contract.is_editable else {},
        "postal_address": settings.CONTRACT_POSTAL_ADDRESS,
    }
    return render(request, "cabinet/contracts/detail.html", context, status=status)


@access(ByMethod({"GET": ANY_PARTNER, "POST": CONTRACT_EDITORS}))  # type: ignore[arg-type]
@require_http_methods(["GET", "POST"])
def contract(request: HttpRequest, pk: int) -> HttpResponse:
    """The contract: its state, the channels (editable before sending), what is missing."""
    found = _contract(request, pk)
    if request.method == "GET":
        return _contract_page(request, found, None)
    form = PrepareForm(request.POST)
    if form.is_valid():
        try:
            services.contract_prepare(
                contract=found, by=person_of(request.user), **form.cleaned_data
            )
        except ApplicationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Способ обмена документами сохранён."))
            return redirect("cabinet:contract", pk=found.pk)
    return _contract_page(request, found, form, status=400)


@access(CONTRACT_EDITORS)
@require_POST
def contract_send(request: HttpRequest, pk: int) -> HttpResponse:
    """Send the application to join."""
    found = _contract(request, pk)
    try:
        services.contract_send(contract=found, by=person_of(request.user))
    except ApplicationError as exc:
        for subject_messages in exc.fields.values():
            for message in subject_messages:
                messages.error(request, str(message))
        if not exc.fields:
            messages.error(request, str(exc.message))
    else:
        messages.success(request, _("Заявление отправлено на проверку."))
    return redirect("cabinet:contract", pk=found.pk)


@access(ANY_PARTNER)
@require_GET
def contract_application_preview(request: HttpRequest, pk: int) -> HttpResponse:
    """The application as it would be sent now, from today's card (marked as a draft)."""
    found = _contract(request, pk)
    pdf = services.application_preview_pdf(contract=found)
    return _pdf(pdf, f"application-{found.pk:06d}-draft.pdf")


@access(ANY_PARTNER)
@require_GET
def contract_application(request: HttpRequest, pk: int) -> HttpResponse:
    """The application as it was sent (404 before the first sending)."""
    found = _contract(request, pk)
    if not found.application_pdf:
        raise Http404
    with found.application_pdf.open("rb") as file:
        return _pdf(file.read(), f"application-{found.application_number}.pdf")
