"""The partner cabinet: dashboard, the card and its history, employees, programs.

Thin views: every read goes through a selector scoped to the user's organisation, every write
through a service.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views import i18n
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from partnerhub.accounts import selectors as account_selectors
from partnerhub.accounts import services as account_services
from partnerhub.accounts.forms import InviteForm
from partnerhub.accounts.principal import organisation_of, person_of
from partnerhub.core.access import PARTNER, PUBLIC, VENDOR, access, allowed, partner
from partnerhub.core.errors import ApplicationError
from partnerhub.core.forms import add_service_errors
from partnerhub.core.pagination import paginate
from partnerhub.partners import selectors, services
from partnerhub.partners.forms import CardForm
from partnerhub.partners.models import Organisation

ANY_PARTNER = partner()
CARD_EDITORS = partner("owner", "accountant")
OWNERS = partner("owner")
PROGRAM_APPLICANTS = partner("owner", "manager")


def _org(request: HttpRequest) -> Organisation:
    return organisation_of(request.user)


@access(PUBLIC)
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """Send each visitor where they work: partners to the cabinet, staff to the back office."""
    kind = getattr(request.user, "organisation_kind", None)
    if kind == PARTNER:
        return redirect("cabinet:dashboard")
    if kind == VENDOR:
        return redirect("backoffice:dashboard")
    if request.user.is_authenticated and request.user.is_staff:
        return redirect("admin:index")
    return redirect("accounts:login")


@access(PUBLIC)
@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Switch the interface language (Django's view, declared public)."""
    return i18n.set_language(request)


@access(ANY_PARTNER)
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    """The partner's start page: card completeness, programs, employees."""
    org = _org(request)
    context = {
        "org": org,
        "completeness": selectors.card_completeness(organisation=org),
        "enrolments": selectors.enrolments_of(organisation=org),
        "employee_count": account_selectors.employees_of(organisation=org).count(),
        "statuses": selectors.statuses_of(organisation=org),
    }
    return render(request, "cabinet/dashboard.html", context)


@access(ANY_PARTNER)
@require_GET
def card(request: HttpRequest) -> HttpResponse:
    """The card of requisites, read only, with what is missing for completeness."""
    org = _org(request)
    context = {
        "org": org,
        "form": CardForm(instance=org),
        "completeness": selectors.card_completeness(organisation=org),
        "can_edit": allowed(CARD_EDITORS, request.user),
    }
    return render(request, "cabinet/card.html", context)


@access(CARD_EDITORS)
@require_http_methods(["GET", "POST"])
def card_edit(request: HttpRequest) -> HttpResponse:
    """Edit the card; every number is checked by its checksum and nothing is saved on error."""
    org = _org(request)
    form = CardForm(request.POST or None, instance=Organisation.objects.get(pk=org.pk))
    if request.method == "POST" and form.is_valid():
        try:
            changes = services.card_update(
                organisation=org,
                changes={name: form.cleaned_data.get(name) for name in form.fields},
                changed_by=person_of(request.user),
                source="cabinet",
            )
        except ApplicationError as exc:
            add_service_errors(form, exc)
        else:
            if changes:
                messages.success(request, _("Карточка сохранена."))
            else:
                messages.info(request, _("Изменений нет."))
            return redirect("cabinet:card")
    context = {
        "org": org,
        "form": form,
        "completeness": selectors.card_completeness(organisation=org),
    }
    return render(request, "cabinet/card_edit.html", context, status=400 if form.errors else 200)


@access(ANY_PARTNER)
@require_GET
def card_history(request: HttpRequest) -> HttpResponse:
    """Who changed which field of the card, when, from what, to what."""
    org = _org(request)
    page = paginate(request, selectors.card_history(organisation=org))
    return render(request, "cabinet/card_history.html", {"org": org, "page": page})


def _employees_page(request: HttpRequest, form: InviteForm, status: int = 200) -> HttpResponse:
    org = _org(request)
    context = {
        "org": org,
        "page": paginate(request, account_selectors.employees_of(organisation=org)),
        "invitations": account_selectors.invitations_pending(organisation=org),
        "form": form,
        "is_owner": allowed(OWNERS, request.user),
    }
    return render(request, "cabinet/employees.html", context, status=status)


@access(ANY_PARTNER)
@require_GET
def employees(request: HttpRequest) -> HttpResponse:
    """Employees and pending invitations; the owner also sees the invitation form."""
    return _employees_page(request, InviteForm())


@access(OWNERS)
@require_POST
def employee_invite(request: HttpRequest) -> HttpResponse:
    """The owner invites an employee by email with a role."""
    form = InviteForm(request.POST)
    if form.is_valid():
        try:
            account_services.invitation_create(
                organisation=_org(request),
                invited_by=person_of(request.user),
                **form.cleaned_data,
            )
        except ApplicationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request,
                _("Приглашение отправлено на %(email)s.") % {"email": form.cleaned_data["email"]},
            )
            return redirect("cabinet:employees")
    return _employees_page(request, form, status=400)


@access(OWNERS)
@require_POST
def invitation_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    """The owner revokes a pending invitation."""
    try:
        account_services.invitation_revoke(organisation=_org(request), invitation_id=pk)
    except ApplicationError as exc:
        if exc.http_status == 404:
            raise Http404 from exc
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("Приглашение отозвано."))
    return redirect("cabinet:employees")


@access(ANY_PARTNER)
@require_GET
def programs(request: HttpRequest) -> HttpResponse:
    """The vendor's programs and this partner's enrolment in each."""
    org = _org(request)
    context = {
        "org": org,
        "rows": selectors.programs_with_enrolment(organisation=org),
        "can_apply": allowed(PROGRAM_APPLICANTS, request.user),
    }
    return render(request, "cabinet/programs.html", context)


@access(PROGRAM_APPLICANTS)
@require_POST
def program_apply(request: HttpRequest, pk: int) -> HttpResponse:
    """Apply to a program."""
    program = selectors.program_get_open(pk=pk)
    try:
        enrolment = services.enrolment_apply(organisation=_org(request), program=program)
    except ApplicationError as exc:
        messages.error(request, str(exc.message))
    else:
        if enrolment.state == "active":
            messages.success(
                request, _("Вы подключены к программе «%(name)s».") % {"name": program.name}
            )
        else:
            messages.success(
                request, _("Заявка на участие в «%(name)s» подана.") % {"name": program.name}
            )
    return redirect("cabinet:programs")
