"""Reads of the lead marketplace, scoped to who asks (issue 7; spec leads.md).

Partners see leads only through ``marketplace_leads``, which returns masked contacts and never
anything about other partners (no take counts, no names): a lead that has reached its cap of
partners simply leaves the list of those who have not taken it. A partner's deals (with the
client's contacts) come from ``deals_of`` and ``deal_get_for_partner`` only; another partner's
deal is a 404. Staff read through the ``*_for_staff`` functions.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from partnerhub.contracts import selectors as contract_selectors
from partnerhub.core.clock import PROGRAM_TZ
from partnerhub.core.clock import now as clock_now
from partnerhub.leads import rules
from partnerhub.leads.models import (
    ContactReveal,
    Deal,
    Lead,
    LeadProgramSettings,
    LeadState,
    MarketplaceAccess,
    PageState,
    Region,
)
from partnerhub.partners.models import (
    Enrolment,
    EnrolmentState,
    Organisation,
    Program,
    ProgramKind,
)

__all__ = [
    "MarketplaceLead",
    "TakeFacts",
    "accesses_for_staff",
    "active_regions",
    "cap_refusal",
    "deal_get_for_partner",
    "deals_of",
    "eligibilities_of",
    "eligibility_of",
    "lead_get_for_staff",
    "lead_settings_for",
    "leads_for_staff",
    "marketplace_access_of",
    "marketplace_leads",
    "marketplace_programs_of",
    "reveals_of_deal",
    "take_facts",
]

#: Enrolment states in which a partner "takes part" in a marketplace (sees its page, even when
#: a condition is unmet).
_TAKING_PART = (EnrolmentState.APPLIED, EnrolmentState.ACTIVE, EnrolmentState.SUSPENDED)


def lead_settings_for(program: Program) -> LeadProgramSettings:
    """The rules of the marketplace ``program``, created with the defaults on first use."""
    found = LeadProgramSettings.objects.filter(program=program).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return LeadProgramSettings.objects.create(program=program)
    except IntegrityError:
        return LeadProgramSettings.objects.get(program=program)


def active_regions() -> QuerySet[Region]:
    """Regions a lead may be filed under, by name."""
    return Region.objects.filter(is_active=True).order_by("name")


def marketplace_programs_of(organisation: Organisation) -> list[Program]:
    """The lead marketplaces (programs of kind "leads") the partner takes part in: applied,
    active or suspended (so that the cabinet shows what is missing)."""
    program_ids = Enrolment.objects.filter(
        organisation=organisation, state__in=_TAKING_PART
    ).values("program_id")
    return list(
        Program.objects.filter(kind=ProgramKind.LEADS, pk__in=program_ids)
        .select_related("vendor")
        .order_by("name")
    )


def marketplace_access_of(*, organisation: Organisation, program: Program) -> MarketplaceAccess:
    """The partner's standing in the marketplace ``program`` (created empty on first use)."""
    found = MarketplaceAccess.objects.filter(organisation=organisation, program=program).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return MarketplaceAccess.objects.create(organisation=organisation, program=program)
    except IntegrityError:
        return MarketplaceAccess.objects.get(organisation=organisation, program=program)


def _facts(
    *, organisation: Organisation, program: Program, access: MarketplaceAccess, version: str
) -> rules.EligibilityFacts:
    enrolment_state = (
        Enrolment.objects.filter(organisation=organisation, program=program)
        .values_list("state", flat=True)
        .first()
    )
    return _facts_of(
        access=access,
        version=version,
        contract_signed=contract_selectors.contract_signed(
            organisation=organisation, program=program
        ),
        enrolment_state=enrolment_state,
    )


def _facts_of(
    *,
    access: MarketplaceAccess,
    version: str,
    contract_signed: bool,
    enrolment_state: str | None,
) -> rules.EligibilityFacts:
    return rules.EligibilityFacts(
        contract_signed=contract_signed,
        enrolment_state=enrolment_state,
        page_state=access.page_state,
        crm_tariff=access.crm_tariff,
        app_installed=access.app_installed_at is not None,
        agreement_version=access.agreement_version,
        current_agreement_version=version,
    )


def eligibility_of(
    *,
    organisation: Organisation,
    program: Program,
    now: dt.datetime | None = None,
    access: MarketplaceAccess | None = None,
    lead_settings: LeadProgramSettings | None = None,
) -> rules.Eligibility:
    """Which marketplace conditions the partner meets in ``program`` and what is missing.
    A caller that already holds the partner's access row or the program's settings passes
    them (the take does), saving their queries."""
    if access is None:
        access = marketplace_access_of(organisation=organisation, program=program)
    version = (lead_settings or lead_settings_for(program)).agreement_version
    return rules.evaluate_eligibility(
        _facts(organisation=organisation, program=program, access=access, version=version)
    )


@dataclass(frozen=True)
class TakeFacts:
    """What a take decides on before it writes: the partner's access row, the program's caps,
    the eligibility facts and whether the partner already has a deal on the lead."""

    access_id: int
    open_deal_cap: int
    partners_per_lead_cap: int | None
    facts: rules.EligibilityFacts
    already_taken: bool


@functools.cache
def _take_facts_sql() -> str:
    """The one statement of ``take_facts``, from the models' table and column names. Written
    out rather than built by the ORM on every take: building and compiling the equivalent
    queryset (three subqueries, two joins) cost about 4 of its 5 ms (issue 17). Standard SQL,
    the same on SQLite and PostgreSQL; parameters: organisation and program (enrolment), lead
    and organisation (deal), organisation, program and the signed state (contract), organisation
    and program (access row)."""
    access = MarketplaceAccess._meta.db_table
    rules_table = LeadProgramSettings._meta.db_table
    enrolment = Enrolment._meta.db_table
    contract = contract_selectors.contract_table()
    deal = Deal._meta.db_table
    return (
        f"SELECT a.id, a.page_state, a.crm_tariff, a.app_installed_at IS NOT NULL, "  # noqa: S608 - names from the models, values are parameters
        f"a.agreement_version, s.open_deal_cap, s.partners_per_lead_cap, s.agreement_version, "
        f"(SELECT e.state FROM {enrolment} e WHERE e.organisation_id = %s AND e.program_id = %s "
        f"ORDER BY e.applied_at DESC LIMIT 1), "
        f"EXISTS (SELECT 1 FROM {deal} d WHERE d.lead_id = %s AND d.organisation_id = %s), "
        f"EXISTS (SELECT 1 FROM {contract} c WHERE c.organisation_id = %s "
        f"AND c.program_id = %s AND c.state = %s) "
        f"FROM {access} a JOIN {rules_table} s ON s.program_id = a.program_id "
        f"WHERE a.organisation_id = %s AND a.program_id = %s"
    )


def take_facts(*, organisation: Organisation, lead: Lead) -> TakeFacts:
    """``TakeFacts`` of ``organisation`` for ``lead``, in one statement (issue 17: a take's
    reads): the access row joined to the program's rules, with the enrolment state, an existing
    deal and the signed contract as subqueries. The first take in a marketplace creates the
    missing access row or rules first (a few more queries, once)."""
    org_id, program_id = int(organisation.pk), int(lead.program_id)
    params: list[int | str] = [
        *(org_id, program_id),  # enrolment
        *(lead.pk, org_id),  # deal
        *(org_id, program_id, contract_selectors.SIGNED_STATE),  # contract
        *(org_id, program_id),  # access
    ]
    with connection.cursor() as cursor:
        cursor.execute(_take_facts_sql(), params)
        row = cursor.fetchone()
    if row is None:
        lead_settings_for(lead.program)
        marketplace_access_of(organisation=organisation, program=lead.program)
        return take_facts(organisation=organisation, lead=lead)
    (
        access_id,
        page_state,
        crm_tariff,
        app_installed,
        accepted_version,
        open_deal_cap,
        partners_per_lead_cap,
        current_version,
        enrolment_state,
        already_taken,
        contract_signed,
    ) = row
    return TakeFacts(
        access_id=access_id,
        open_deal_cap=open_deal_cap,
        partners_per_lead_cap=partners_per_lead_cap,
        facts=rules.EligibilityFacts(
            contract_signed=bool(contract_signed),
            enrolment_state=enrolment_state,
            page_state=page_state,
            crm_tariff=crm_tariff,
            app_installed=bool(app_installed),
            agreement_version=accepted_version,
            current_agreement_version=current_version,
        ),
        already_taken=bool(already_taken),
    )


def eligibilities_of(
    *, program: Program, accesses: Sequence[MarketplaceAccess]
) -> dict[int, rules.Eligibility]:
    """The eligibility of each of ``accesses`` (rows of ``program``) by access id, in three
    queries whatever their number (the back office's list of partners)."""
    org_ids = [access.organisation_id for access in accesses]
    version = lead_settings_for(program).agreement_version
    signed = contract_selectors.signed_organisation_ids(program=program, organisation_ids=org_ids)
    enrolment_states = dict(
        Enrolment.objects.filter(program=program, organisation_id__in=org_ids).values_list(
            "organisation_id", "state"
        )
    )
    return {
        access.pk: rules.evaluate_eligibility(
            _facts_of(
                access=access,
                version=version,
                contract_signed=access.organisation_id in signed,
                enrolment_state=enrolment_states.get(access.organisation_id),
            )
        )
        for access in accesses
    }


def pages_to_review_count(*, vendor: Organisation) -> int:
    """How many partners' implementation pages wait for the vendor's check (its dashboard)."""
    return MarketplaceAccess.objects.filter(
        program__vendor=vendor, page_state=PageState.PENDING
    ).count()


def cap_refusal(*, open_deals: int, cap: int) -> str:
    """Why a partner at the cap cannot take a lead (the list shows it)."""
    return _("В работе %(open)s из %(cap)s заявок: закройте одну из сделок") % {
        "open": open_deals,
        "cap": cap,
    }


def not_eligible_refusal(eligibility: rules.Eligibility) -> str:
    """Why an ineligible partner cannot take a lead: the unmet conditions."""
    labels = "; ".join(c.label for c in eligibility.missing)
    return _("Не выполнены условия участия: %(labels)s.") % {"labels": labels}


@dataclass(frozen=True)
class MarketplaceLead:
    """One lead as a partner sees it on the marketplace: contacts masked on the server."""

    id: int
    company_name: str
    region: str
    region_code: str
    company_size: str
    company_size_label: str
    need: str
    need_label: str
    description: str
    published_at: dt.datetime
    expires_at: dt.datetime
    contact_name_masked: str
    contact_phone_masked: str
    contact_email_masked: str
    taken_by_me: bool
    my_deal_id: int | None
    can_take: bool
    refusal: str


def _published_between(
    qs: QuerySet[Lead],
    published_from: dt.date | dt.datetime | None,
    published_to: dt.date | dt.datetime | None,
) -> QuerySet[Lead]:
    """Leads published in the window: a date is a whole day of the program's time zone, both
    ends included; a moment is taken as it is."""
    if published_from is not None:
        if not isinstance(published_from, dt.datetime):
            published_from = dt.datetime.combine(published_from, dt.time.min, tzinfo=PROGRAM_TZ)
        qs = qs.filter(published_at__gte=published_from)
    if published_to is not None:
        if isinstance(published_to, dt.datetime):
            return qs.filter(published_at__lte=published_to)
        after = dt.datetime.combine(
            published_to + dt.timedelta(days=1), dt.time.min, tzinfo=PROGRAM_TZ
        )
        qs = qs.filter(published_at__lt=after)
    return qs


def _open_leads(program: Program, now: dt.datetime) -> QuerySet[Lead]:
    return Lead.objects.filter(program=program, state=LeadState.OPEN, expires_at__gt=now)


def marketplace_leads(
    *,
    organisation: Organisation,
    program: Program,
    region: Region | str | None = None,
    company_size: str | None = None,
    need: str | None = None,
    published_from: dt.date | dt.datetime | None = None,
    published_to: dt.date | dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> list[MarketplaceLead]:
    """Open, unexpired leads of ``program``, newest first, as ``organisation`` sees them.

    Filters: region (instance or code), company size, need, publication dates (a date is a whole
    Moscow day, both ends included). The partner's own taken leads are marked ``taken_by_me``;
    a lead that has reached its cap of partners is left out for everybody else. ``can_take`` and
    ``refusal`` say whether "Взять заявку" works and, if not, why.
    """
    moment = now or clock_now()
    access = marketplace_access_of(organisation=organisation, program=program)
    lead_settings = lead_settings_for(program)
    eligibility = rules.evaluate_eligibility(
        _facts(
            organisation=organisation,
            program=program,
            access=access,
            version=lead_settings.agreement_version,
        )
    )
    my_deals = dict(
        Deal.objects.filter(organisation=organisation, program=program).values_list("lead_id", "pk")
    )
    qs = _open_leads(program, moment).select_related("region")
    if lead_settings.partners_per_lead_cap is not None:
        qs = qs.filter(
            Q(take_count__lt=lead_settings.partners_per_lead_cap) | Q(pk__in=list(my_deals))
        )
    if region:
        qs = qs.filter(region__code=region.code if isinstance(region, Region) else region)
    if company_size:
        qs = qs.filter(company_size=company_size)
    if need:
        qs = qs.filter(need=need)
    qs = _published_between(qs, published_from, published_to)
    if not eligibility.eligible:
        general_refusal = not_eligible_refusal(eligibility)
    elif access.open_deals >= lead_settings.open_deal_cap:
        general_refusal = cap_refusal(open_deals=access.open_deals, cap=lead_settings.open_deal_cap)
    else:
        general_refusal = ""
    rows = []
    for lead in qs.order_by("-published_at", "-pk"):
        mine = my_deals.get(lead.pk)
        refusal = _("Заявка уже у вас в работе.") if mine is not None else general_refusal
        rows.append(
            MarketplaceLead(
                id=lead.pk,
                company_name=lead.company_name,
                region=lead.region.name,
                region_code=lead.region.code,
                company_size=lead.company_size,
                company_size_label=lead.get_company_size_display(),
                need=lead.need,
                need_label=lead.get_need_display(),
                description=lead.description,
                published_at=lead.published_at,
                expires_at=lead.expires_at,
                contact_name_masked=rules.mask_name(lead.contact_name),
                contact_phone_masked=rules.mask_phone(lead.contact_phone),
                contact_email_masked=rules.mask_email(lead.contact_email),
                taken_by_me=mine is not None,
                my_deal_id=mine,
                can_take=not refusal,
                refusal=refusal,
            )
        )
    return rows


def deals_of(
    *, organisation: Organisation, open_only: bool = False, program: Program | None = None
) -> QuerySet[Deal]:
    """The partner's own deals, newest first (lead, region and program joined)."""
    qs = Deal.objects.filter(organisation=organisation).select_related(
        "lead", "lead__region", "program"
    )
    if open_only:
        qs = qs.filter(is_open=True)
    if program is not None:
        qs = qs.filter(program=program)
    return qs.order_by("-taken_at", "-pk")


def lead_get_for_partner(*, organisation: Organisation, pk: Any) -> Lead:
    """A lead of one of the marketplaces the partner takes part in, to take it (404 otherwise,
    in one query). Whether it may be taken is ``services.lead_take``'s to decide; the lead's
    contacts are for the service, never for the caller's answer."""
    try:
        key = int(pk)
    except (TypeError, ValueError):
        raise Http404 from None
    taking_part = Enrolment.objects.filter(
        organisation=organisation, state__in=_TAKING_PART
    ).values("program_id")
    lead = (
        Lead.objects.select_related("program", "region")
        .filter(pk=key, program__kind=ProgramKind.LEADS, program_id__in=taking_part)
        .first()
    )
    if lead is None:
        raise Http404
    return lead


def deal_get_for_partner(*, organisation: Organisation, pk: Any) -> Deal:
    """One of the partner's own deals; another partner's (or none) is a 404."""
    try:
        key = int(pk)
    except (TypeError, ValueError):
        raise Http404 from None
    deal = deals_of(organisation=organisation).filter(pk=key).first()
    if deal is None:
        raise Http404
    return deal


def deal_get_for_staff(*, vendor: Organisation, pk: Any) -> Deal:
    """A deal of one of ``vendor``'s marketplaces for its staff (404 otherwise), with its lead,
    partner and program."""
    try:
        key = int(pk)
    except (TypeError, ValueError):
        raise Http404 from None
    deal = (
        Deal.objects.select_related("lead", "lead__region", "organisation", "program", "taken_by")
        .filter(pk=key, program__vendor=vendor)
        .first()
    )
    if deal is None:
        raise Http404
    return deal


def reveals_of_lead(*, lead: Lead) -> QuerySet[ContactReveal]:
    """The audit of the lead's contacts shown to partners (who, which fields, when, through
    what), newest first: the staff's view of where the client's personal data went."""
    return ContactReveal.objects.filter(lead=lead).select_related("organisation", "user")


def reveals_of_deal(*, deal: Deal) -> QuerySet[ContactReveal]:
    """The audit of the deal's contacts shown, newest first."""
    return ContactReveal.objects.filter(deal=deal).select_related("user")


def leads_for_staff(
    *,
    program: Program | None = None,
    state: str | None = None,
    source: str | None = None,
    region: Region | str | None = None,
    search: str = "",
    vendor: Organisation | None = None,
    published_from: dt.date | None = None,
    published_to: dt.date | None = None,
) -> QuerySet[Lead]:
    """Leads for the vendor's staff, newest first, filtered; the publication dates are whole
    days of the program's time zone, both included."""
    qs = Lead.objects.select_related("program", "region")
    if vendor is not None:
        qs = qs.filter(program__vendor=vendor)
    if program is not None:
        qs = qs.filter(program=program)
    if state:
        qs = qs.filter(state=state)
    if source:
        qs = qs.filter(source=source)
    if region:
        qs = qs.filter(region__code=region.code if isinstance(region, Region) else region)
    if search.strip():
        text = search.strip()
        qs = qs.filter(Q(company_name__icontains=text) | Q(external_id=text))
    return _published_between(qs, published_from, published_to).order_by("-published_at", "-pk")


def lead_get_for_staff(*, pk: Any) -> Lead:
    """A lead by id for the vendor's staff (404 when there is none)."""
    try:
        key = int(pk)
    except (TypeError, ValueError):
        raise Http404 from None
    lead = Lead.objects.select_related("program", "region", "created_by").filter(pk=key).first()
    if lead is None:
        raise Http404
    return lead


def accesses_for_staff(
    *,
    program: Program | None = None,
    page_state: str | None = None,
    vendor: Organisation | None = None,
) -> QuerySet[MarketplaceAccess]:
    """Partners' marketplace accesses for the vendor's staff (the page-review queue when
    ``page_state="pending"``), the longest waiting first."""
    qs = MarketplaceAccess.objects.select_related("organisation", "program")
    if vendor is not None:
        qs = qs.filter(program__vendor=vendor)
    if program is not None:
        qs = qs.filter(program=program)
    if page_state:
        qs = qs.filter(page_state=page_state)
    return qs.order_by("updated_at", "pk")
