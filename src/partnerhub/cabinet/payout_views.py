"""Cabinet pages of payouts: the bonus balance and conversion, the payouts and their documents.

Issue 6, parts 4-6; spec referrals.md ("Conversion and payout"). Every partner role reads its
own organisation's payouts (another's: 404); the owner and the accountant convert bonuses and
mark documents sent. The conversion has two steps: the amount (default: the whole balance),
then a confirmation page that says what will happen and carries a fresh idempotency key, so a
double click or a resubmitted form returns the first payout instead of converting again.
"""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from partnerhub.accounts.principal import organisation_of
from partnerhub.core.access import access, allowed, partner
from partnerhub.core.errors import ApplicationError
from partnerhub.core.forms import add_service_errors
from partnerhub.core.pagination import paginate
from partnerhub.payouts import selectors, services
from partnerhub.payouts.forms import ConversionForm
from partnerhub.payouts.models import PayoutState

READERS = partner()
WRITERS = partner("owner", "accountant")
PER_PAGE = 25


@require_GET
@access(READERS)
def payouts(request: HttpRequest) -> HttpResponse:
    """The bonus balance, whether a conversion is possible (and why not) and the payouts."""
    org = organisation_of(request.user)
    eligibility = selectors.conversion_eligibility(organisation=org)
    page = paginate(request, selectors.payouts_of_partner(organisation=org), PER_PAGE)
    return render(
        request,
        "cabinet/payouts/list.html",
        {
            "eligibility": eligibility,
            "page": page,
            "payouts": page.object_list,
            "can_convert": allowed(WRITERS, request.user),
        },
    )


@require_http_methods(["GET", "POST"])
@access(WRITERS)
def payout_convert(request: HttpRequest) -> HttpResponse:
    """Step 1 (GET, or POST without a key): the amount. Step 2 (POST ``step=confirm``): what
    will happen, with the key. Step 3 (POST ``step=execute``): the conversion."""
    org = organisation_of(request.user)
    eligibility = selectors.conversion_eligibility(organisation=org)
    context = {"eligibility": eligibility}
    if request.method == "GET":
        form = ConversionForm(
            initial={"amount": eligibility.balance if eligibility.balance > 0 else None}
        )
        return render(request, "cabinet/payouts/convert.html", {**context, "form": form})
    form = ConversionForm(request.POST)
    step = request.POST.get("step", "confirm")
    if not form.is_valid():
        return render(
            request, "cabinet/payouts/convert.html", {**context, "form": form}, status=400
        )
    amount = form.cleaned_data["amount"]
    if step != "execute":
        if not eligibility.allowed:
            form.add_error(None, str(eligibility.reasons[0]))
            return render(
                request, "cabinet/payouts/convert.html", {**context, "form": form}, status=400
            )
        problem = selectors.amount_problem(eligibility=eligibility, amount=amount)
        if problem is not None:
            form.add_error("amount", problem)
            return render(
                request, "cabinet/payouts/convert.html", {**context, "form": form}, status=400
            )
        return render(
            request,
            "cabinet/payouts/confirm.html",
            {
                **context,
                "amount": amount,
                "remaining": eligibility.balance - amount,
                "key": uuid.uuid4().hex,
                "vat_payer": org.vat_payer,
            },
        )
    try:
        payout = services.payout_convert(
            organisation=org,
            amount=amount,
            idempotency_key=form.cleaned_data["idempotency_key"],
            by=request.user,
        )
    except ApplicationError as error:
        add_service_errors(form, error)
        return render(
            request, "cabinet/payouts/convert.html", {**context, "form": form}, status=400
        )
    messages.success(
        request, _("Бонусы конвертированы: выплата № %(id)s создана.") % {"id": payout.pk}
    )
    return redirect("cabinet:payout_detail", pk=payout.pk)


@require_GET
@access(READERS)
def payout_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A payout: its state, deadlines, documents and the "documents sent" action."""
    org = organisation_of(request.user)
    payout = selectors.payout_get_for_partner(organisation=org, pk=pk)
    return render(
        request,
        "cabinet/payouts/detail.html",
        {
            "payout": payout,
            "documents": selectors.documents_of(payout=payout),
            "can_mark_sent": allowed(WRITERS, request.user)
            and payout.state == PayoutState.GENERATED,
        },
    )


@require_POST
@access(WRITERS)
def payout_mark_sent(request: HttpRequest, pk: int) -> HttpResponse:
    """The partner has sent the signed documents (by its contract's channel)."""
    org = organisation_of(request.user)
    payout = selectors.payout_get_for_partner(organisation=org, pk=pk)
    try:
        services.payout_mark_sent(payout=payout, by=request.user)
    except ApplicationError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(request, _("Отмечено: документы отправлены."))
    return redirect("cabinet:payout_detail", pk=payout.pk)
