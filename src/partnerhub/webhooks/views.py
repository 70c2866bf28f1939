"""Cabinet pages of webhooks: the organisation's endpoints, a new endpoint (its secret shown
once), switching one off or on, deleting it, and its delivery log.

Who: the partner's owner and developer (``partner("owner", "developer")``). Thin views: reads
go through selectors scoped to the user's organisation (another organisation's endpoint is a
404), writes through services.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from partnerhub.accounts.principal import organisation_of, person_of
from partnerhub.core.access import access, partner
from partnerhub.core.errors import ApplicationError, NotFound
from partnerhub.core.forms import add_service_errors
from partnerhub.core.pagination import paginate
from partnerhub.partners.models import Organisation
from partnerhub.webhooks import selectors, services
from partnerhub.webhooks.forms import EndpointForm
from partnerhub.webhooks.models import WebhookEndpoint

WEBHOOK_USERS = partner("owner", "developer")
#: Where the new secret waits for the one page view that shows it.
NEW_SECRET_KEY = "webhooks.new_secret"


def _org(request: HttpRequest) -> Organisation:
    return organisation_of(request.user)


def _endpoint(request: HttpRequest, pk: int) -> WebhookEndpoint:
    try:
        return selectors.endpoint_get(organisation=_org(request), endpoint_id=pk)
    except NotFound as exc:
        raise Http404 from exc


def _endpoints_page(request: HttpRequest, form: EndpointForm, status: int = 200) -> HttpResponse:
    org = _org(request)
    context = {"org": org, "endpoints": selectors.endpoints_of(organisation=org), "form": form}
    return render(request, "webhooks/endpoints.html", context, status=status)


@access(WEBHOOK_USERS)
@require_GET
def endpoints(request: HttpRequest) -> HttpResponse:
    """The organisation's endpoints and the form to add one."""
    return _endpoints_page(request, EndpointForm())


@access(WEBHOOK_USERS)
@require_POST
def endpoint_create(request: HttpRequest) -> HttpResponse:
    """Add an endpoint; its page then shows the signing secret, once."""
    form = EndpointForm(request.POST)
    if form.is_valid():
        try:
            endpoint = services.webhook_endpoint_create(
                organisation=_org(request),
                url=form.cleaned_data["url"],
                event_types=form.cleaned_data["event_types"],
                created_by=person_of(request.user),
            )
        except ApplicationError as exc:
            add_service_errors(form, exc)
        else:
            request.session[NEW_SECRET_KEY] = {"endpoint": endpoint.pk, "secret": endpoint.secret}
            messages.success(request, _("Адрес добавлен."))
            return redirect("webhooks:endpoint_detail", pk=endpoint.pk)
    return _endpoints_page(request, form, status=400)


@access(WEBHOOK_USERS)
@require_GET
def endpoint_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One endpoint and its delivery log (every attempt: result, answer code, error)."""
    endpoint = _endpoint(request, pk)
    shown = request.session.get(NEW_SECRET_KEY)
    new_secret = None
    if isinstance(shown, dict) and shown.get("endpoint") == endpoint.pk:
        new_secret = shown.get("secret")
        del request.session[NEW_SECRET_KEY]
    context = {
        "org": endpoint.organisation,
        "endpoint": endpoint,
        "new_secret": new_secret,
        "page": paginate(request, selectors.attempts_of(endpoint=endpoint)),
    }
    return render(request, "webhooks/endpoint_detail.html", context)


def _set_active(request: HttpRequest, pk: int, *, is_active: bool) -> HttpResponse:
    try:
        services.webhook_endpoint_set_active(
            organisation=_org(request), endpoint_id=pk, is_active=is_active
        )
    except NotFound as exc:
        raise Http404 from exc
    if is_active:
        messages.success(request, _("Адрес включён: новые события будут отправляться на него."))
    else:
        messages.success(request, _("Адрес выключен: события на него больше не отправляются."))
    return redirect("webhooks:endpoint_detail", pk=pk)


@access(WEBHOOK_USERS)
@require_POST
def endpoint_deactivate(request: HttpRequest, pk: int) -> HttpResponse:
    """Stop sending events to an endpoint (queued deliveries to it end without a request)."""
    return _set_active(request, pk, is_active=False)


@access(WEBHOOK_USERS)
@require_POST
def endpoint_activate(request: HttpRequest, pk: int) -> HttpResponse:
    """Send new events to a switched-off endpoint again."""
    return _set_active(request, pk, is_active=True)


@access(WEBHOOK_USERS)
@require_POST
def endpoint_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Delete an endpoint and its delivery log."""
    try:
        services.webhook_endpoint_delete(organisation=_org(request), endpoint_id=pk)
    except NotFound as exc:
        raise Http404 from exc
    messages.success(request, _("Адрес удалён."))
    return redirect("webhooks:endpoints")
