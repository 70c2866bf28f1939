"""Back office pages of payouts: lists by deadline and state, accept / reject, payment registers
with their CSV and 1CClientBankExchange exports and "paid".

Issue 6, parts 4, 6, 7. Every member of the vendor's staff reads the payouts; the vendor's
accountant accepts, rejects, builds registers, exports them and marks them paid (money and
bank files are the accountant's). Thin views: reads through ``payouts.selectors``, writes
through ``payouts.services``; the bank formats are the pure ``payouts.bank_formats``.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from partnerhub.accounts.principal import organisation_of
from partnerhub.core.access import access, allowed, vendor
from partnerhub.core.clock import today
from partnerhub.core.errors import ApplicationError
from partnerhub.core.forms import add_service_errors
from partnerhub.core.money import format_rub
from partnerhub.core.pagination import paginate
from partnerhub.pages.documents import STAFF_DOCUMENT_READERS
from partnerhub.payouts import exports, selectors, services
from partnerhub.payouts.forms import RegisterForm, RejectForm
from partnerhub.payouts.models import PayoutState, RegisterState

READERS = vendor()
ACCOUNTANTS = vendor("accountant")
PER_PAGE = 50


@require_GET
@access(READERS)
def payouts(request: HttpRequest) -> HttpResponse:
    """Payouts: all, due today or overdue, by state."""
    org = organisation_of(request.user)
    due = request.GET.get("due", "")
    due = due if due in selectors.STAFF_FILTERS else ""
    state = request.GET.get("state", "")
    state = state if state in PayoutState.values else ""
    page = paginate(
        request, selectors.payouts_for_staff(vendor=org, state=state, due=due), PER_PAGE
    )
    return render(
        request,
        "backoffice/payouts/list.html",
        {
            "page": page,
            "payouts": page.object_list,
            "due": due,
            "state": state,
            "states": PayoutState.choices,
            "counts": selectors.due_counts(vendor=org),
            "today": today(),
        },
    )


@require_GET
@access(READERS)
def payout_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A payout with its documents and, for the accountant, accept / reject."""
    org = organisation_of(request.user)
    payout = selectors.payout_get_for_staff(vendor=org, pk=pk)
    can_decide = allowed(ACCOUNTANTS, request.user)
    return render(
        request,
        "backoffice/payouts/detail.html",
        {
            "payout": payout,
            "documents": selectors.documents_of(payout=payout),
            "can_accept": can_decide and payout.state == PayoutState.SENT,
            "can_reject": can_decide and payout.state in (PayoutState.GENERATED, PayoutState.SENT),
            "reject_form": RejectForm(),
            "can_retry_documents": allowed(STAFF_DOCUMENT_READERS, request.user),
        },
    )


@require_POST
@access(ACCOUNTANTS)
def payout_accept(request: HttpRequest, pk: int) -> HttpResponse:
    """Sign the act: the money is due in 10 business days."""
    payout = selectors.payout_get_for_staff(vendor=organisation_of(request.user), pk=pk)
    try:
        services.payout_accept(payout=payout, by=request.user)
    except ApplicationError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(request, _("Акт подписан."))
    return redirect("backoffice:payout_detail", pk=payout.pk)


@require_POST
@access(ACCOUNTANTS)
def payout_reject(request: HttpRequest, pk: int) -> HttpResponse:
    """Reject the documents with a reason: the bonuses return to the partner's balance."""
    payout = selectors.payout_get_for_staff(vendor=organisation_of(request.user), pk=pk)
    form = RejectForm(request.POST)
    if form.is_valid():
        try:
            services.payout_reject(
                payout=payout, reason=form.cleaned_data["reason"], by=request.user
            )
        except ApplicationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Выплата отклонена, бонусы возвращены партнёру."))
            return redirect("backoffice:payout_detail", pk=payout.pk)
    return render(
        request,
        "backoffice/payouts/detail.html",
        {
            "payout": payout,
            "documents": selectors.documents_of(payout=payout),
            "can_accept": payout.state == PayoutState.SENT,
            "can_reject": payout.state in (PayoutState.GENERATED, PayoutState.SENT),
            "reject_form": form,
            "can_retry_documents": allowed(STAFF_DOCUMENT_READERS, request.user),
        },
        status=400,
    )


# --- registers ------------------------------------------------------------------------------------


def _register_form(request: HttpRequest, vendor_org, data=None) -> RegisterForm:
    candidates = list(selectors.payouts_for_register(vendor=vendor_org))
    choices = [
        (p.pk, f"№ {p.pk} — {p.organisation.short_name}, {format_rub(p.amount)}")
        for p in candidates
    ]
    return RegisterForm(data, choices=choices)


@require_GET
@access(READERS)
def registers(request: HttpRequest) -> HttpResponse:
    """Registers, and the accepted payouts a new register may take."""
    org = organisation_of(request.user)
    page = paginate(request, selectors.registers_of(vendor=org), PER_PAGE)
    return render(
        request,
        "backoffice/payouts/registers.html",
        {
            "page": page,
            "registers": page.object_list,
            "form": _register_form(request, org),
            "can_write": allowed(ACCOUNTANTS, request.user),
        },
    )


@require_POST
@access(ACCOUNTANTS)
def register_create(request: HttpRequest) -> HttpResponse:
    """A register of the selected accepted payouts."""
    org = organisation_of(request.user)
    form = _register_form(request, org, request.POST)
    if form.is_valid():
        try:
            register = services.register_create(
                vendor=org, payout_ids=form.cleaned_data["payouts"], by=request.user
            )
        except ApplicationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Реестр № %(n)s создан.") % {"n": register.number})
            return redirect("backoffice:payout_register", pk=register.pk)
    page = paginate(request, selectors.registers_of(vendor=org), PER_PAGE)
    return render(
        request,
        "backoffice/payouts/registers.html",
        {"page": page, "registers": page.object_list, "form": form, "can_write": True},
        status=400,
    )


@require_GET
@access(READERS)
def register_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A register: its payouts, the exports and "paid"."""
    register = selectors.register_get(vendor=organisation_of(request.user), pk=pk)
    payouts = selectors.register_payouts(register=register)
    return render(
        request,
        "backoffice/payouts/register.html",
        {
            "register": register,
            "payouts": payouts,
            "total": sum((p.amount for p in payouts), start=0),
            "can_write": allowed(ACCOUNTANTS, request.user)
            and register.state == RegisterState.OPEN,
            "can_export": allowed(ACCOUNTANTS, request.user),
        },
    )


@require_GET
@access(ACCOUNTANTS)
def register_csv(request: HttpRequest, pk: int) -> HttpResponse:
    """The register as CSV (UTF-8 with BOM, semicolons)."""
    register = selectors.register_get(vendor=organisation_of(request.user), pk=pk)
    response = HttpResponse(
        exports.register_csv_bytes(register=register), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="register-{register.number}.csv"'
    return response


@require_GET
@access(ACCOUNTANTS)
def register_1c(request: HttpRequest, pk: int) -> HttpResponse:
    """The register as a 1CClientBankExchange file for the client-bank (windows-1251)."""
    register = selectors.register_get(vendor=organisation_of(request.user), pk=pk)
    response = HttpResponse(
        exports.register_1c_bytes(register=register),
        content_type="text/plain; charset=windows-1251",
    )
    response["Content-Disposition"] = f'attachment; filename="1c_to_kl_{register.number}.txt"'
    return response


@require_POST
@access(ACCOUNTANTS)
def register_mark_paid(request: HttpRequest, pk: int) -> HttpResponse:
    """The bank paid the register: its payouts become paid."""
    register = selectors.register_get(vendor=organisation_of(request.user), pk=pk)
    try:
        services.register_mark_paid(register=register, by=request.user)
    except ApplicationError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(request, _("Реестр оплачен, выплаты отмечены перечисленными."))
    return redirect("backoffice:payout_register", pk=register.pk)


@require_POST
@access(ACCOUNTANTS)
def register_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    """Cancel an open register: its payouts may go into another one."""
    register = selectors.register_get(vendor=organisation_of(request.user), pk=pk)
    try:
        services.register_cancel(register=register, by=request.user)
    except ApplicationError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(request, _("Реестр отменён."))
    return redirect("backoffice:payout_register", pk=register.pk)
