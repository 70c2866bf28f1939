"""Helpers of the lead-marketplace tests (issue 7): a leads program with its settings, a partner
made eligible, a lead, and the objects every tests/url_tables/leads_*.py points at."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from partnerhub.contracts.models import Contract, ContractState
from partnerhub.core import clock
from partnerhub.leads import selectors, services
from partnerhub.leads.models import (
    CrmTariff,
    Lead,
    LeadProgramSettings,
    LeadSource,
    MarketplaceAccess,
    PageState,
    Region,
)
from partnerhub.leads.regions import REGIONS
from partnerhub.partners.models import (
    Enrolment,
    EnrolmentState,
    Organisation,
    Program,
    ProgramKind,
)
from tests.factories import OrganisationFactory, ProgramFactory, VendorFactory

#: The client's contacts of ``make_lead`` (tests look for them in responses).
CONTACT_NAME = "Анастасия Воронцова"
CONTACT_PHONE = "+79161234567"
CONTACT_EMAIL = "a.vorontsova@stroymontazh.example"
_sequence = itertools.count(1)


def lead_program(vendor: Organisation | None = None, **settings: Any) -> Program:
    """A program of kind "leads" of ``vendor`` (a new vendor when None) with its
    ``LeadProgramSettings``; ``settings`` override the defaults (``open_deal_cap=3``...)."""
    program = ProgramFactory(
        vendor=vendor or VendorFactory(),
        kind=ProgramKind.LEADS,
        name=f"Заявки на внедрение Битрикс24 {next(_sequence)}",
    )
    LeadProgramSettings.objects.create(program=program, **settings)
    return program


def make_eligible(organisation: Organisation, program: Program) -> MarketplaceAccess:
    """Make ``organisation`` meet every marketplace condition in ``program``: an active
    enrolment, a signed contract, an accepted page, the tariff "Company" with its portal and the
    app installed with the current agreement."""
    Enrolment.objects.update_or_create(
        organisation=organisation, program=program, defaults={"state": EnrolmentState.ACTIVE}
    )
    Contract.objects.update_or_create(
        organisation=organisation,
        program=program,
        defaults={"state": ContractState.SIGNED, "signed_on": clock.today()},
    )
    access = selectors.marketplace_access_of(organisation=organisation, program=program)
    slug = f"partner{organisation.pk}"
    MarketplaceAccess.objects.filter(pk=access.pk).update(
        page_url=f"https://{slug}.example/vnedrenie",
        page_state=PageState.ACCEPTED,
        page_checked_at=clock.now(),
        crm_tariff=CrmTariff.COMPANY,
        crm_portal=f"{slug}.bitrix24.ru",
        app_installed_at=clock.now(),
        agreement_version=selectors.lead_settings_for(program).agreement_version,
        agreement_accepted_at=clock.now(),
    )
    access.refresh_from_db()
    return access


def unique_inn() -> str:
    """A valid 10-digit INN no other test organisation has (9 digits and the check digit)."""
    head = f"99{next(_sequence):07d}"
    weights = (2, 4, 10, 3, 5, 9, 4, 6, 8)
    check = sum(int(d) * w for d, w in zip(head, weights, strict=True)) % 11 % 10
    return f"{head}{check}"


def eligible_partner(program: Program, **fields: Any) -> Organisation:
    """A new partner organisation (its own INN), eligible in ``program``."""
    fields.setdefault("inn", unique_inn())
    organisation = OrganisationFactory(**fields)
    make_eligible(organisation, program)
    return organisation


def ensure_regions() -> None:
    """Put the seeded regions back when a transactional test's flush removed them."""
    if not Region.objects.exists():
        Region.objects.bulk_create(
            [Region(code=code, name=name) for code, name in REGIONS], ignore_conflicts=True
        )


def make_lead(program: Program, **fields: Any) -> Lead:
    """A lead published now through ``services.lead_create`` (source staff, Moscow, a small
    company wanting CRM, the contacts above); ``fields`` override any argument."""
    ensure_regions()
    values: dict[str, Any] = {
        "program": program,
        "company_name": "ООО «Строймонтаж»",
        "region": Region.objects.get(code="77"),
        "company_size": "small",
        "need": "crm",
        "description": "Нужно внедрить CRM для отдела продаж из 12 человек.",
        "contact_name": CONTACT_NAME,
        "contact_phone": CONTACT_PHONE,
        "contact_email": CONTACT_EMAIL,
        "source": LeadSource.STAFF,
    }
    values.update(fields)
    return services.lead_create(**values)


def make_lead_at(program: Program, published_at: dt.datetime, **fields: Any) -> Lead:
    """A lead published at ``published_at`` (its expiry counted from then)."""
    return make_lead(program, now=published_at, **fields)


def leads_url_objects(world: Any) -> dict[str, Any]:
    """The objects of the lead URL tables, made once per ``world``: a leads program of the
    world's vendor, partner A eligible with an open deal ``lead_deal`` on ``lead``, an untaken
    ``lead_untaken``, partner B eligible too."""
    cached = getattr(world, "_leads_url_objects", None)
    if cached is not None:
        return cached
    program = lead_program(world.vendor)
    make_eligible(world.partner_a, program)
    make_eligible(world.partner_b, program)
    lead = make_lead(program, company_name="ООО «Взятая»")
    untaken = make_lead(
        program,
        company_name="ООО «Свободная»",
        contact_name="Пётр Сидоров",
        contact_phone="+79031112233",
        contact_email="p.sidorov@untaken.example",
    )
    deal = services.lead_take(lead=lead, organisation=world.partner_a, by=world.user("a:owner"))
    objects = {
        "lead_program": program,
        "lead": lead,
        "lead_untaken": untaken,
        "lead_deal": deal,
    }
    world._leads_url_objects = objects
    return objects
