"""Cabinet pages of the lead marketplace: the list of open leads, the conditions of taking part,
taking a lead, the partner's deals and a deal's page (issue 7, parts 1, 3-5; spec leads.md and
"Lead-marketplace conditions" in partners-and-contracts.md).

Thin views over ``leads.selectors`` and ``leads.services``. Every partner role reads; the owner
and the managers take leads, change the conditions and work the deals; vendor staff are refused
(they have the back office). Another partner's deal is a 404. Contacts of a lead reach a page
only through the partner's own deal, and each page that shows them writes a ``ContactReveal``
(``services.deal_contacts_reveal``, channel "page"). Before a take the list carries the masked
forms the selector makes; the raw values are never in the context.

A partner in several lead programs works in the first one of
``selectors.marketplace_programs_of`` unless ``?program=<code>`` picks another.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.db.models import QuerySet
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from partnerhub.accounts.principal import organisation_of, person_of
from partnerhub.cabinet.lead_forms import (
    AppInstallForm,
    CrmForm,
    DealEditForm,
    DealEventForm,
    DealLoseForm,
    DealStageForm,
    DealWinForm,
    DigestForm,
    LeadFilterForm,
    PageForm,
)
from partnerhub.core import clock
from partnerhub.core.access import ByMethod, access, allowed, partner
from partnerhub.core.audit import client_ip
from partnerhub.core.errors import ApplicationError
from partnerhub.core.forms import add_service_errors
from partnerhub.core.pagination import paginate
from partnerhub.leads import selectors, services
from partnerhub.leads.models import (
    CLOSED_STAGES,
    OPEN_STAGES,
    Deal,
    DealStage,
    LostReason,
    RevealChannel,
)
from partnerhub.leads.reporting import deal_is_stale
from partnerhub.partners.models import Organisation, Program

READERS = partner()
WORKERS = partner("owner", "manager")
PER_PAGE = 25

#: The forms of the conditions page, by the value of their hidden ``form`` field.
CONDITION_FORMS: dict[str, type[Form]] = {
    "page": PageForm,
    "crm": CrmForm,
    "app": AppInstallForm,
    "digest": DigestForm,
}


# --- which program --------------------------------------------------------------------------


def _programs(request: HttpRequest, org: Organisation) -> tuple[Program | None, list[Program]]:
    """The program the page is about and all the partner's lead programs.

    ``?program=<code>`` (or the ``program`` field of a POST) picks one; a code of a program the
    partner does not take part in is a 404.
    """
    programs = list(selectors.marketplace_programs_of(org))
    code = request.POST.get("program") or request.GET.get("program")
    if code:
        chosen = next((p for p in programs if p.code == code), None)
        if chosen is None:
            raise Http404
        return chosen, programs
    return (programs[0] if programs else None), programs


def _not_taking_part(request: HttpRequest, status: int = 200) -> HttpResponse:
    return render(request, "cabinet/leads/none.html", status=status)


def _with_program(url: str, program: Program, programs: list[Program]) -> str:
    """``url`` keeping the chosen program when the partner has more than one."""
    if len(programs) > 1:
        return f"{url}?{urlencode({'program': program.code})}"
    return url


# --- the marketplace ------------------------------------------------------------------------


@require_GET
@access(READERS)
def leads(request: HttpRequest) -> HttpResponse:
    """Open leads with masked contacts and the take button, or what is missing to see them."""
    org = organisation_of(request.user)
    program, programs = _programs(request, org)
    if program is None:
        return _not_taking_part(request)
    eligibility = selectors.eligibility_of(organisation=org, program=program)
    lead_settings = selectors.lead_settings_for(program)
    standing = selectors.marketplace_access_of(organisation=org, program=program)
    form = LeadFilterForm(request.GET or None)
    page = None
    if eligibility.eligible:
        rows = selectors.marketplace_leads(organisation=org, program=program, **form.filters())
        page = paginate(request, rows, PER_PAGE)
    context = {
        "program": program,
        "programs": programs if len(programs) > 1 else [],
        "eligibility": eligibility,
        "lead_settings": lead_settings,
        "open_deals": standing.open_deals,
        "at_cap": standing.open_deals >= lead_settings.open_deal_cap,
        "form": form,
        "page": page,
        "rows": page.object_list if page is not None else [],
        "can_take": allowed(WORKERS, request.user),
    }
    if request.headers.get("HX-Request") and page is not None:
        return render(request, "cabinet/leads/_lead_list.html", context)
    return render(request, "cabinet/leads/marketplace.html", context)


@require_POST
@access(WORKERS)
def lead_take(request: HttpRequest, pk: int) -> HttpResponse:
    """Take a lead: to the new deal, or back to the list with the reason of the refusal."""
    org = organisation_of(request.user)
    lead = selectors.lead_get_for_partner(organisation=org, pk=pk)
    try:
        deal = services.lead_take(
            lead=lead, organisation=org, by=person_of(request.user), ip=client_ip(request)
        )
    except ApplicationError as error:
        messages.error(request, str(error.message))
        programs = list(selectors.marketplace_programs_of(org))
        return redirect(_with_program(reverse("cabinet:leads"), lead.program, programs))
    messages.success(
        request,
        _("Заявка взята в работу: сделка № %(id)s. Контакты клиента открыты.") % {"id": deal.pk},
    )
    return redirect("cabinet:deal", pk=deal.pk)


# --- the conditions -------------------------------------------------------------------------


def _condition_forms(program: Program, standing: Any, agreement_version: str) -> dict[str, Form]:
    """The conditions' forms filled with what the partner declared."""
    return {
        "page": PageForm(initial={"page_url": standing.page_url}, prefix="page"),
        "crm": CrmForm(
            initial={"tariff": standing.crm_tariff, "portal": standing.crm_portal}, prefix="crm"
        ),
        "app": AppInstallForm(initial={"version": agreement_version}, prefix="app"),
        "digest": DigestForm(
            initial={"opt_in": standing.digest_opt_in, "regions": list(standing.regions.all())},
            prefix="digest",
        ),
    }


def _conditions_page(
    request: HttpRequest,
    org: Organisation,
    program: Program,
    programs: list[Program],
    bound: tuple[str, Form] | None = None,
    status: int = 200,
) -> HttpResponse:
    lead_settings = selectors.lead_settings_for(program)
    standing = selectors.marketplace_access_of(organisation=org, program=program)
    forms = _condition_forms(program, standing, lead_settings.agreement_version)
    if bound is not None:
        forms[bound[0]] = bound[1]
    context = {
        "program": program,
        "programs": programs if len(programs) > 1 else [],
        "eligibility": selectors.eligibility_of(organisation=org, program=program),
        "lead_settings": lead_settings,
        "standing": standing,
        "agreement_current": bool(standing.agreement_accepted_at)
        and standing.agreement_version == lead_settings.agreement_version,
        "forms": forms,
        "can_edit": allowed(WORKERS, request.user),
    }
    return render(request, "cabinet/leads/conditions.html", context, status=status)


def _apply_condition(kind: str, form: Form, *, org: Organisation, program: Program, by: Any) -> str:
    """Call the service of one condition's form; the success message."""
    data = form.cleaned_data
    if kind == "page":
        services.marketplace_page_submit(
            organisation=org, program=program, url=data["page_url"], by=by
        )
        return _("Страница отправлена на проверку.")
    if kind == "crm":
        services.marketplace_crm_declare(
            organisation=org, program=program, tariff=data["tariff"], portal=data["portal"], by=by
        )
        return _("Сведения о CRM сохранены.")
    if kind == "app":
        services.marketplace_app_install(
            organisation=org, program=program, agreement_version=data["version"], by=by
        )
        return _("Приложение установлено, соглашение принято.")
    services.marketplace_digest_set(
        organisation=org,
        program=program,
        opt_in=data["opt_in"],
        regions=list(data["regions"]),
        by=by,
    )
    return _("Подписка на новые заявки сохранена.")


def _service_errors(form: Form, error: ApplicationError) -> None:
    """The service's errors under the form's visible fields; when none of them names one (a
    hidden field, a rule of the whole form), its message on top of the form."""
    visible = {field.name for field in form.visible_fields()}
    if error.fields and not visible & set(error.fields):
        form.add_error(None, str(error.message))
        return
    add_service_errors(form, error)


@require_http_methods(["GET", "POST"])
@access(ByMethod({"GET": READERS, "POST": WORKERS}))  # type: ignore[arg-type]
def lead_conditions(request: HttpRequest) -> HttpResponse:
    """Each condition with its state; the forms that fulfil them (POST ``form=<kind>``)."""
    org = organisation_of(request.user)
    program, programs = _programs(request, org)
    if program is None:
        return _not_taking_part(request, status=200 if request.method == "GET" else 400)
    if request.method == "GET":
        return _conditions_page(request, org, program, programs)
    kind = request.POST.get("form", "")
    form_class = CONDITION_FORMS.get(kind)
    if form_class is None:
        messages.error(request, _("Неизвестная форма. Обновите страницу и повторите."))
        return _conditions_page(request, org, program, programs, status=400)
    form = form_class(request.POST, prefix=kind)
    if form.is_valid():
        try:
            done = _apply_condition(
                kind, form, org=org, program=program, by=person_of(request.user)
            )
        except ApplicationError as error:
            _service_errors(form, error)
        else:
            messages.success(request, done)
            return redirect(
                _with_program(reverse("cabinet:lead_conditions"), program, programs)
                + f"#condition-{kind}"
            )
    return _conditions_page(request, org, program, programs, bound=(kind, form), status=400)


# --- the deals ------------------------------------------------------------------------------


def _stuck_since(deal: Deal, stale_days: dict[int, int], now: dt.datetime) -> bool:
    """An open deal with no activity for the program's stale days (``deal_is_stale``: the same
    rule as the report and the hourly warnings)."""
    return deal_is_stale(
        is_open=deal.is_open,
        taken_at=deal.taken_at,
        last_event_at=deal.last_event_at,
        now=now,
        stale_days=stale_days[deal.program_id],
    )


@require_GET
@access(READERS)
def deals(request: HttpRequest) -> HttpResponse:
    """The partner's deals from the marketplace: open or closed, by stage."""
    org = organisation_of(request.user)
    show = request.GET.get("show", "all")
    stage = request.GET.get("stage", "")
    found: QuerySet[Deal] = selectors.deals_of(organisation=org, open_only=show == "open")
    if show == "closed":
        found = found.filter(is_open=False)
    if stage in DealStage.values:
        found = found.filter(stage=stage)
    page = paginate(request, found.select_related("lead__region", "program"), PER_PAGE)
    rows = list(page.object_list)
    stale_days = {
        program_id: selectors.lead_settings_for(program).stale_deal_days
        for program_id, program in {deal.program_id: deal.program for deal in rows}.items()
    }
    now = clock.now()
    context = {
        "page": page,
        "rows": [(deal, _stuck_since(deal, stale_days, now)) for deal in rows],
        "show": show,
        "stage": stage,
        "stages": DealStage.choices,
    }
    return render(request, "cabinet/leads/deals.html", context)


def _deal(request: HttpRequest, pk: int) -> Deal:
    return selectors.deal_get_for_partner(organisation=organisation_of(request.user), pk=pk)


def _deal_page(
    request: HttpRequest,
    deal: Deal,
    bound: tuple[str, Form] | None = None,
    status: int = 200,
) -> HttpResponse:
    """The deal with its contacts (the reveal is audited), timeline and the forms."""
    contacts = services.deal_contacts_reveal(
        deal=deal, by=person_of(request.user), channel=RevealChannel.PAGE, ip=client_ip(request)
    )
    can_edit = allowed(WORKERS, request.user) and deal.is_open
    forms: dict[str, Form] = {}
    if can_edit:
        forms = {
            "edit": DealEditForm(
                initial={name: getattr(deal, name) for name in services.DEAL_EDITABLE_FIELDS}
            ),
            "event": DealEventForm(
                initial={"happened_at": clock.now().astimezone(clock.PROGRAM_TZ)}
            ),
            "stage": DealStageForm(initial={"stage": deal.stage}),
            "win": DealWinForm(),
            "lose": DealLoseForm(),
        }
        if bound is not None:
            forms[bound[0]] = bound[1]
    context = {
        "deal": deal,
        "lead": deal.lead,
        "contacts": contacts,
        "events": deal.events.select_related("author").all(),
        "forms": forms,
        "can_edit": can_edit,
        "open_stages": [s for s in DealStage if s in OPEN_STAGES],
        "closed_stages": CLOSED_STAGES,
        "lost_other": LostReason.OTHER,
    }
    return render(request, "cabinet/leads/deal.html", context, status=status)


@require_GET
@access(READERS)
def deal(request: HttpRequest, pk: int) -> HttpResponse:
    """A deal: the client's contacts, company data, timeline, stage and closing."""
    return _deal_page(request, _deal(request, pk))


def _deal_write(request: HttpRequest, pk: int, name: str, form_class: type[Form], act: Any) -> Any:
    """The common shape of a deal's write: find it (404 for another's), refuse a closed one,
    validate the form, call the service; the form comes back (400) naming the field."""
    found = _deal(request, pk)
    form = form_class(request.POST)
    if not found.is_open:
        messages.error(request, _("Сделка закрыта: её нельзя изменить."))
        return _deal_page(request, found, status=400)
    if form.is_valid():
        try:
            done = act(found, form.cleaned_data, person_of(request.user))
        except ApplicationError as error:
            _service_errors(form, error)
        else:
            messages.success(request, done)
            return redirect("cabinet:deal", pk=found.pk)
    found.refresh_from_db()
    return _deal_page(request, found, bound=(name, form), status=400)


@require_POST
@access(WORKERS)
def deal_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Company data, the main contact, services and amount."""

    def act(found: Deal, data: dict[str, Any], by: Any) -> str:
        services.deal_update(deal=found, by=by, **data)
        return _("Данные сделки сохранены.")

    return _deal_write(request, pk, "edit", DealEditForm, act)


@require_POST
@access(WORKERS)
def deal_event_add(request: HttpRequest, pk: int) -> HttpResponse:
    """Add a call, meeting or note."""

    def act(found: Deal, data: dict[str, Any], by: Any) -> str:
        services.deal_event_add(deal=found, by=by, **data)
        return _("Событие добавлено.")

    return _deal_write(request, pk, "event", DealEventForm, act)


@require_POST
@access(WORKERS)
def deal_stage(request: HttpRequest, pk: int) -> HttpResponse:
    """Move the deal to another open stage."""

    def act(found: Deal, data: dict[str, Any], by: Any) -> str:
        changed = services.deal_stage_change(deal=found, stage=data["stage"], by=by)
        return _("Стадия сделки: %(stage)s.") % {"stage": changed.get_stage_display()}

    return _deal_write(request, pk, "stage", DealStageForm, act)


@require_POST
@access(WORKERS)
def deal_win(request: HttpRequest, pk: int) -> HttpResponse:
    """Close as won with the client's portal address or licence key."""

    def act(found: Deal, data: dict[str, Any], by: Any) -> str:
        services.deal_close_won(
            deal=found, won_kind=data["won_kind"], won_reference=data["won_reference"], by=by
        )
        return _("Сделка выиграна и закрыта. Место под новую заявку освободилось.")

    return _deal_write(request, pk, "win", DealWinForm, act)


@require_POST
@access(WORKERS)
def deal_lose(request: HttpRequest, pk: int) -> HttpResponse:
    """Close as lost with a reason."""

    def act(found: Deal, data: dict[str, Any], by: Any) -> str:
        services.deal_close_lost(
            deal=found, reason=data["reason"], comment=data.get("comment", ""), by=by
        )
        return _("Сделка закрыта как проигранная. Место под новую заявку освободилось.")

    return _deal_write(request, pk, "lose", DealLoseForm, act)
