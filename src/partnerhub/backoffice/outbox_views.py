"""Back office: outbox deliveries and dead letters (core issue, "a dead-letter state visible in
the back office"; "Done when ... the back office shows ... outbox/dead letters and webhook
deliveries").

Who: the list is for the administrator, the program manager and support (they answer partners
asking "why did our system not get the event?"); requeueing a dead delivery is an action on
another organisation's integration, so only the administrator may do it. The list covers every
organisation: the vendor's staff see all partners.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from partnerhub.accounts.principal import organisation_of
from partnerhub.core import delivery
from partnerhub.core.access import access, allowed, vendor
from partnerhub.core.errors import ApplicationError
from partnerhub.core.models.outbox import DeliveryState, OutboxDelivery
from partnerhub.core.pagination import paginate
from partnerhub.partners import selectors as partner_selectors
from partnerhub.webhooks import selectors as webhook_selectors
from partnerhub.webhooks.services import HANDLER_NAME as WEBHOOK_HANDLER

OUTBOX_READERS = vendor("administrator", "program_manager", "support")
OUTBOX_RETRIERS = vendor("administrator")


@access(OUTBOX_READERS)
@require_GET
def outbox(request: HttpRequest) -> HttpResponse:
    """Deliveries, dead and failing first, filterable by state, event type and handler."""
    state = request.GET.get("state", "")
    filters = {
        "state": state if state in DeliveryState.values else "",
        "event_type": request.GET.get("event_type", "").strip(),
        "handler": request.GET.get("handler", "").strip(),
    }
    vendor_org = organisation_of(request.user)
    scope = partner_selectors.organisation_ids_of_vendor(vendor=vendor_org)
    page = paginate(
        request,
        delivery.deliveries_list(organisation_ids=scope, vendor_id=vendor_org.pk, **filters),
    )
    deliveries = list(page.object_list)
    endpoints = webhook_selectors.endpoints_by_id(ids=[_endpoint_id(d) for d in deliveries])
    context = {
        "page": page,
        # Each delivery with its webhook endpoint (organisation, URL) when it is one.
        "rows": [(d, endpoints.get(_endpoint_id(d))) for d in deliveries],
        "filters": filters,
        "query": urlencode({key: value for key, value in filters.items() if value}),
        "states": DeliveryState.choices,
        "handlers": delivery.handler_names(),
        "counts": delivery.delivery_counts(organisation_ids=scope, vendor_id=vendor_org.pk),
        "can_retry": allowed(OUTBOX_RETRIERS, request.user),
    }
    return render(request, "backoffice/outbox.html", context)


def _endpoint_id(delivery_row: OutboxDelivery) -> int:
    """The webhook endpoint a delivery goes to (0 for other handlers)."""
    target = delivery_row.target
    return int(target) if delivery_row.handler == WEBHOOK_HANDLER and target.isdigit() else 0


@access(OUTBOX_RETRIERS)
@require_POST
def outbox_retry(request: HttpRequest, pk: int) -> HttpResponse:
    """Give a dead delivery one more attempt now."""
    vendor_org = organisation_of(request.user)
    try:
        delivery.retry_dead(
            delivery_id=pk,
            organisation_ids=partner_selectors.organisation_ids_of_vendor(vendor=vendor_org),
            vendor_id=vendor_org.pk,
        )
    except ApplicationError as exc:
        if exc.http_status == 404:
            raise Http404 from exc
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("Доставка поставлена в очередь повторно."))
    # Back to the list as it was (filters, page), and never to another address.
    back, list_path = request.POST.get("next", ""), reverse("backoffice:outbox")
    return redirect(back if back.startswith(list_path) else list_path)
