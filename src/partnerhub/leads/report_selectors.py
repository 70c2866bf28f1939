"""Queries feeding the vendor's lead-marketplace report (issue 7, item 7; spec leads.md,
"Vendor reporting").

Reads only: the vendor's lead programs, and for a period the plain facts ``reporting`` folds
(deals, reveals, partner names), plus the list of stuck deals. The number of queries does not
grow with the number of partners or deals: one for the programs, one for their settings, one
for the deals, two for the reveals, one for the names and one for the stuck deals. Scoped to
the asking vendor's programs (house rule 2).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Count, F, Q
from django.db.models.functions import Coalesce, Greatest

from partnerhub.core import clock
from partnerhub.leads.models import ContactReveal, Deal, DealStage, LeadProgramSettings
from partnerhub.leads.reporting import DealFacts, Period, Report, RevealFacts, report_build
from partnerhub.partners.models import Organisation, Program, ProgramKind

#: The period the report shows when none is asked for.
DEFAULT_PERIOD_DAYS = 90
#: The default of ``LeadProgramSettings.stale_deal_days`` for a program without settings yet.
DEFAULT_STALE_DAYS = 7


def report_programs(*, vendor: Organisation) -> list[Program]:
    """The vendor's lead marketplaces (programs of kind "leads"), by name."""
    return list(Program.objects.filter(vendor=vendor, kind=ProgramKind.LEADS).order_by("name"))


def default_period(*, now: dt.datetime | None = None) -> tuple[dt.date, dt.date]:
    """The last ``DEFAULT_PERIOD_DAYS`` days up to today (Moscow), both ends included."""
    today = clock.local_date(now or clock.now())
    return today - dt.timedelta(days=DEFAULT_PERIOD_DAYS - 1), today


def period_of(*, date_from: dt.date, date_to: dt.date) -> Period:
    """The days ``date_from`` to ``date_to`` (Moscow, both included) as a half-open period."""
    start = dt.datetime.combine(date_from, dt.time.min, tzinfo=clock.PROGRAM_TZ)
    end = dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time.min, tzinfo=clock.PROGRAM_TZ)
    return Period(start=start, end=end)


def stale_days_of(programs: list[Program]) -> dict[int, int]:
    """{program id: stale_deal_days} (the default for a program without settings)."""
    stored = dict(
        LeadProgramSettings.objects.filter(program__in=programs).values_list(
            "program_id", "stale_deal_days"
        )
    )
    return {p.pk: stored.get(p.pk, DEFAULT_STALE_DAYS) for p in programs}


def deal_facts(
    *, programs: list[Program], period: Period, stale_days: dict[int, int]
) -> list[DealFacts]:
    """The deals the report looks at: taken or closed in the period, or open now."""
    rows = (
        Deal.objects.filter(program__in=programs)
        .filter(
            Q(taken_at__gte=period.start, taken_at__lt=period.end)
            | Q(closed_at__gte=period.start, closed_at__lt=period.end)
            | Q(is_open=True)
        )
        .values_list(
            "pk",
            "organisation_id",
            "lead_id",
            "lead__published_at",
            "lead__first_taken_at",
            "taken_at",
            "first_event_at",
            "last_event_at",
            "is_open",
            "stage",
            "closed_at",
            "program_id",
        )
        .order_by("taken_at", "pk")
    )
    return [
        DealFacts(
            deal_id=pk,
            organisation_id=org_id,
            lead_id=lead_id,
            published_at=published_at,
            lead_first_taken_at=first_taken_at,
            taken_at=taken_at,
            first_event_at=first_event_at,
            last_event_at=last_event_at,
            is_open=is_open,
            won=stage == DealStage.WON,
            closed_at=closed_at,
            stale_days=stale_days.get(program_id, DEFAULT_STALE_DAYS),
        )
        for (
            pk,
            org_id,
            lead_id,
            published_at,
            first_taken_at,
            taken_at,
            first_event_at,
            last_event_at,
            is_open,
            stage,
            closed_at,
            program_id,
        ) in rows
    ]


def reveal_facts(*, programs: list[Program], period: Period) -> list[RevealFacts]:
    """Per partner, the personal-data reveals of the period by channel and distinct leads."""
    scope = ContactReveal.objects.filter(
        lead__program__in=programs, at__gte=period.start, at__lt=period.end
    )
    by_channel: dict[int, dict[str, int]] = defaultdict(dict)
    for org_id, channel, count in (
        scope.values_list("organisation_id", "channel")
        .annotate(n=Count("pk"))
        .values_list("organisation_id", "channel", "n")
        .order_by()
    ):
        by_channel[org_id][channel] = count
    distinct = dict(
        scope.values_list("organisation_id")
        .annotate(n=Count("lead_id", distinct=True))
        .values_list("organisation_id", "n")
        .order_by()
    )
    return [
        RevealFacts(organisation_id=org_id, by_channel=channels, distinct_leads=distinct[org_id])
        for org_id, channels in by_channel.items()
    ]


#: How many stuck deals the report lists (the oldest activity first); the counts cover all.
STALE_LISTED = 100


@dataclass(frozen=True)
class StaleDeal:
    """An open deal without activity for the program's (or the asked) number of days."""

    deal_id: int
    lead_id: int
    organisation_id: int
    partner: str
    company_name: str
    stage: str
    taken_at: dt.datetime
    last_activity: dt.datetime
    idle_days: int


def stale_deal_list(
    *,
    programs: list[Program],
    stale_days: dict[int, int],
    override: int | None,
    now: dt.datetime,
    limit: int = STALE_LISTED,
) -> list[StaleDeal]:
    """The stuck deals of ``programs`` now, idle longest first (one query)."""
    if not programs:
        return []
    idle_since = Q()
    for program in programs:
        days = override or stale_days.get(program.pk, DEFAULT_STALE_DAYS)
        idle_since |= Q(program=program, activity__lte=now - dt.timedelta(days=days))
    rows = (
        Deal.objects.filter(is_open=True)
        .annotate(activity=Greatest(F("taken_at"), Coalesce(F("last_event_at"), F("taken_at"))))
        .filter(idle_since)
        .select_related("organisation", "lead")
        .order_by("activity", "pk")[:limit]
    )
    return [
        StaleDeal(
            deal_id=deal.pk,
            lead_id=deal.lead_id,
            organisation_id=deal.organisation_id,
            partner=deal.organisation.short_name,
            company_name=deal.company_name or deal.lead.company_name,
            stage=str(deal.get_stage_display()),
            taken_at=deal.taken_at,
            last_activity=deal.activity,
            idle_days=(now - deal.activity).days,
        )
        for deal in rows
    ]


def partner_names(organisation_ids: set[int]) -> dict[int, tuple[str, str]]:
    """{organisation id: (short name, INN)} of the partners in the report."""
    if not organisation_ids:
        return {}
    return {
        pk: (name, inn)
        for pk, name, inn in Organisation.objects.filter(pk__in=organisation_ids).values_list(
            "pk", "short_name", "inn"
        )
    }


@dataclass(frozen=True)
class LeadReport:
    """What the page and the export show: the figures, the partners' INNs, the stuck deals."""

    report: Report
    inns: dict[int, str]
    stale_deals: list[StaleDeal]


def lead_report(
    *,
    vendor: Organisation,
    program: Program | None = None,
    date_from: dt.date,
    date_to: dt.date,
    stale_days: int | None = None,
    now: dt.datetime | None = None,
) -> LeadReport:
    """The report of ``program`` (or of all the vendor's lead programs) over the days
    ``date_from``..``date_to``, with {organisation id: INN} for the export and the stuck deals.
    ``stale_days`` overrides each program's ``stale_deal_days``."""
    now = now or clock.now()
    programs = [program] if program is not None else report_programs(vendor=vendor)
    programs = [p for p in programs if p.vendor_id == vendor.pk and p.kind == ProgramKind.LEADS]
    period = period_of(date_from=date_from, date_to=date_to)
    if not programs:
        empty = report_build(deals=[], reveals=[], names={}, period=period, now=now)
        return LeadReport(report=empty, inns={}, stale_deals=[])
    days_of = stale_days_of(programs)
    deals = deal_facts(programs=programs, period=period, stale_days=days_of)
    reveals = reveal_facts(programs=programs, period=period)
    ids = {d.organisation_id for d in deals} | {r.organisation_id for r in reveals}
    names = partner_names(ids)
    report = report_build(
        deals=deals,
        reveals=reveals,
        names={pk: name for pk, (name, _inn) in names.items()},
        period=period,
        now=now,
        stale_days_override=stale_days,
    )
    return LeadReport(
        report=report,
        inns={pk: inn for pk, (_name, inn) in names.items()},
        stale_deals=stale_deal_list(
            programs=programs, stale_days=days_of, override=stale_days, now=now
        ),
    )
