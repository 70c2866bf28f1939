"""Cabinet page of the partner's own CRM (issue 7, part 6; spec leads.md "The partner's own
CRM"): connect the portal by its incoming webhook or switch the push off, the address of our
inbound webhook to paste into the portal, and the last calls of the delivery log.

Every partner role reads the page of its own organisation; the owner and the managers connect
and disconnect (and see our inbound webhook's address, which carries its secret). The webhook
URL is shown with its token masked.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from partnerhub.accounts.principal import organisation_of, person_of
from partnerhub.cabinet.crm_forms import CrmConnectForm
from partnerhub.core.access import ByMethod, access, allowed, partner
from partnerhub.core.errors import ApplicationError
from partnerhub.core.forms import add_service_errors
from partnerhub.leads.crm import selectors, services
from partnerhub.leads.models import PIPELINE_NAME

READERS = partner()
WRITERS = partner("owner", "manager")


def _page(request: HttpRequest, form: CrmConnectForm, status: int = 200) -> HttpResponse:
    org = organisation_of(request.user)
    connection = selectors.connection_of(organisation=org)
    can_edit = allowed(WRITERS, request.user)
    inbound_url = ""
    if connection is not None and can_edit:
        inbound_url = request.build_absolute_uri(
            reverse("crm_inbound", kwargs={"secret": connection.inbound_secret})
        )
    context = {
        "connection": connection,
        "masked_url": selectors.mask_webhook_url(connection.webhook_url) if connection else "",
        "linked_deals": selectors.linked_deals_count(organisation=org) if connection else 0,
        "calls": selectors.calls_of(organisation=org),
        "log_size": selectors.LOG_SIZE,
        "inbound_url": inbound_url,
        "pipeline_name": PIPELINE_NAME,
        "form": form,
        "can_edit": can_edit,
        "current": "crm",
    }
    return render(request, "cabinet/leads/crm.html", context, status=status)


@access(ByMethod({"GET": READERS, "POST": WRITERS}))  # type: ignore[arg-type]
@require_http_methods(["GET", "POST"])
def lead_crm(request: HttpRequest) -> HttpResponse:
    """The CRM connection and its log; POST connects (or reconnects) the portal."""
    if request.method != "POST":
        return _page(request, CrmConnectForm())
    form = CrmConnectForm(request.POST)
    if form.is_valid():
        try:
            services.crm_connect(
                organisation=organisation_of(request.user),
                webhook_url=form.cleaned_data["webhook_url"],
                by=person_of(request.user),
            )
        except ApplicationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request, _("CRM подключена: новые сделки будут создаваться в вашем портале.")
            )
            return redirect("cabinet:lead_crm")
    return _page(request, form, status=400)


@access(WRITERS)
@require_POST
def lead_crm_disconnect(request: HttpRequest) -> HttpResponse:
    """Switch the push to the partner's CRM off."""
    connection = services.crm_disconnect(
        organisation=organisation_of(request.user), by=person_of(request.user)
    )
    if connection is not None:
        messages.success(request, _("Передача сделок в CRM выключена."))
    return redirect("cabinet:lead_crm")


@access(WRITERS)
@require_POST
def lead_crm_secret_rotate(request: HttpRequest) -> HttpResponse:
    """A new address for the CRM's outgoing webhook; the old one stops answering."""
    connection = services.crm_secret_rotate(
        organisation=organisation_of(request.user), by=person_of(request.user)
    )
    if connection is not None:
        messages.success(
            request,
            _("Адрес для исходящего вебхука заменён: укажите новый адрес в своём портале."),
        )
    return redirect("cabinet:lead_crm")
