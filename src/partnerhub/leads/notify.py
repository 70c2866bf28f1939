"""Periodic jobs of the lead marketplace that find what to tell partners and emit outbox events
(issue 7, item 8 "Notifications"; spec leads.md). ``leads.notification_rules`` turns the events
into in-app notifications and emails.

- ``digest_send``: the daily digest ("leads.digest") of leads published since the last digest,
  one event per partner that opted in (``MarketplaceAccess.digest_opt_in``) and subscribed to a
  region of one of them. Each lead goes into one digest run (``Lead.digested_at``), whether or
  not someone subscribed to its region at the time.
- ``stale_deals_notify``: an open deal with no activity (event, or the take itself) for the
  program's ``stale_deal_days`` ("leads.deal.stale"); once per stale period
  (``Deal.stale_warned_at``: warned again only after another full period without activity).
- ``expiring_leads_notify``: leads expiring within ``expiry_warning_days``
  ("leads.lead.expiring"), one event per subscribed partner listing its leads; once per lead
  (``Lead.expiry_warned_at``).

Decisions where the brief was silent: both lead notices go only to partners that meet the
marketplace conditions right now (others cannot take the lead), never list a lead the partner
has already taken, and skip leads that reached their per-lead cap. A lead is claimed with a
conditional UPDATE (or ``SKIP LOCKED`` on PostgreSQL) in the transaction that emits the events,
so a job run twice, or two workers, never notify a lead twice. The Huey periodic tasks at the
end of the module call the jobs (Huey's crontab is in UTC; Moscow has no daylight saving).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping

from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.db.models.functions import Coalesce, Greatest
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from partnerhub.core import clock, outbox
from partnerhub.core.audit import system_actor
from partnerhub.leads import selectors
from partnerhub.leads.models import (
    Deal,
    Lead,
    LeadProgramSettings,
    LeadState,
    MarketplaceAccess,
)
from partnerhub.leads.reporting import stale_before
from partnerhub.partners.models import Organisation, Program, ProgramKind

DIGEST_EVENT = "leads.digest"
STALE_EVENT = "leads.deal.stale"
EXPIRING_EVENT = "leads.lead.expiring"

#: 05:00 UTC is 08:00 in Moscow.
DAILY_AT_8_MOSCOW = crontab(hour="5", minute="0")
HOURLY_STALE = crontab(minute="20")
HOURLY_EXPIRING = crontab(minute="40")

LeadRegions = Mapping[int, int]  # lead id -> region id
Subscriptions = Mapping[int, frozenset[int]]  # organisation id -> region ids


# --- pure planning ----------------------------------------------------------------------------


def leads_per_partner(
    *,
    leads: LeadRegions,
    subscriptions: Subscriptions,
    taken: Iterable[tuple[int, int]],
) -> dict[int, list[int]]:
    """{organisation id: lead ids, ascending} of the leads in each partner's regions that it has
    not taken; partners with none are left out. ``taken`` holds (lead id, organisation id)."""
    taken_pairs = set(taken)
    plan: dict[int, list[int]] = defaultdict(list)
    for lead_id, region_id in sorted(leads.items()):
        for org_id, regions in subscriptions.items():
            if region_id in regions and (lead_id, org_id) not in taken_pairs:
                plan[org_id].append(lead_id)
    return {org_id: ids for org_id, ids in sorted(plan.items())}


# --- queries ----------------------------------------------------------------------------------


def lead_programs() -> list[tuple[Program, LeadProgramSettings]]:
    """Every lead marketplace with its settings (created with defaults when missing)."""
    programs = list(Program.objects.filter(kind=ProgramKind.LEADS).order_by("pk"))
    stored = {s.program_id: s for s in LeadProgramSettings.objects.filter(program__in=programs)}
    result = []
    for program in programs:
        settings = stored.get(program.pk)
        if settings is None:
            settings, _created = LeadProgramSettings.objects.get_or_create(program=program)
        result.append((program, settings))
    return result


def digest_subscriptions(*, program: Program) -> dict[int, frozenset[int]]:
    """{organisation id: region ids} of the partners subscribed to the program's digest."""
    through = MarketplaceAccess.regions.through
    pairs = through.objects.filter(
        marketplaceaccess__program=program, marketplaceaccess__digest_opt_in=True
    ).values_list("marketplaceaccess__organisation_id", "region_id")
    regions: dict[int, set[int]] = defaultdict(set)
    for org_id, region_id in pairs:
        regions[org_id].add(region_id)
    return {org_id: frozenset(ids) for org_id, ids in regions.items()}


def taken_pairs(lead_ids: Iterable[int]) -> list[tuple[int, int]]:
    """(lead id, organisation id) of every deal on the leads."""
    return list(
        Deal.objects.filter(lead_id__in=list(lead_ids)).values_list("lead_id", "organisation_id")
    )


def eligible_only(
    plan: dict[int, list[int]], *, program: Program, now: dt.datetime
) -> dict[int, list[int]]:
    """The part of ``plan`` whose partners meet the marketplace conditions now."""
    organisations = Organisation.objects.in_bulk(list(plan))
    return {
        org_id: ids
        for org_id, ids in plan.items()
        if org_id in organisations
        and selectors.eligibility_of(
            organisation=organisations[org_id], program=program, now=now
        ).eligible
    }


def _claimable(leads: QuerySet[Lead]) -> QuerySet[Lead]:
    """Lock the rows on PostgreSQL, skipping those another run holds (no-op on SQLite, where
    the IMMEDIATE transaction serialises writers)."""
    return leads.select_for_update(skip_locked=True, of=("self",))


def _not_at_cap(leads: QuerySet[Lead], settings: LeadProgramSettings) -> QuerySet[Lead]:
    cap = settings.partners_per_lead_cap
    return leads if cap is None else leads.filter(take_count__lt=cap)


def _emit_lead_lists(
    *, event_type: str, program: Program, leads: LeadRegions, now: dt.datetime
) -> int:
    plan = leads_per_partner(
        leads=leads,
        subscriptions=digest_subscriptions(program=program),
        taken=taken_pairs(leads),
    )
    plan = eligible_only(plan, program=program, now=now) if plan else {}
    for org_id, lead_ids in plan.items():
        outbox.emit(
            event_type,
            {"program_id": program.pk, "lead_ids": lead_ids, "at": now.isoformat()},
            organisation_id=org_id,
            vendor_id=program.vendor_id,
        )
    return len(plan)


# --- the jobs ---------------------------------------------------------------------------------


def digest_send(*, now: dt.datetime | None = None) -> int:
    """Emit the digest of the leads published since the last one; returns how many partners get
    one. Every open lead not digested yet is marked digested, matched or not."""
    now = now or clock.now()
    emitted = 0
    for program, settings in lead_programs():
        with transaction.atomic():
            candidates = _not_at_cap(
                Lead.objects.filter(
                    program=program,
                    state=LeadState.OPEN,
                    digested_at__isnull=True,
                    published_at__lte=now,
                    expires_at__gt=now,
                ),
                settings,
            )
            leads = dict(_claimable(candidates).values_list("pk", "region_id"))
            if not leads:
                continue
            claimed = Lead.objects.filter(pk__in=list(leads), digested_at__isnull=True).update(
                digested_at=now
            )
            if claimed != len(leads):  # another run got there first: leave it to that run
                transaction.set_rollback(True)
                continue
            emitted += _emit_lead_lists(
                event_type=DIGEST_EVENT, program=program, leads=leads, now=now
            )
    return emitted


def expiring_leads_notify(*, now: dt.datetime | None = None) -> int:
    """Emit "lead about to expire" to the subscribed partners that have not taken it; returns
    how many partners were told. Each lead is warned about once."""
    now = now or clock.now()
    emitted = 0
    for program, settings in lead_programs():
        horizon = now + dt.timedelta(days=settings.expiry_warning_days)
        with transaction.atomic():
            candidates = _not_at_cap(
                Lead.objects.filter(
                    program=program,
                    state=LeadState.OPEN,
                    expiry_warned_at__isnull=True,
                    expires_at__gt=now,
                    expires_at__lte=horizon,
                ),
                settings,
            )
            leads = dict(_claimable(candidates).values_list("pk", "region_id"))
            if not leads:
                continue
            claimed = Lead.objects.filter(pk__in=list(leads), expiry_warned_at__isnull=True).update(
                expiry_warned_at=now
            )
            if claimed != len(leads):
                transaction.set_rollback(True)
                continue
            emitted += _emit_lead_lists(
                event_type=EXPIRING_EVENT, program=program, leads=leads, now=now
            )
    return emitted


def stale_deals(*, program: Program, stale_days: int, now: dt.datetime) -> QuerySet[Deal]:
    """Open deals of the program idle for ``stale_days`` and not warned in that time (the
    boundary: ``reporting.stale_before``)."""
    threshold = stale_before(now=now, stale_days=stale_days)
    return (
        Deal.objects.filter(program=program, is_open=True)
        .annotate(activity=Greatest(F("taken_at"), Coalesce(F("last_event_at"), F("taken_at"))))
        .filter(activity__lte=threshold)
        .filter(Q(stale_warned_at__isnull=True) | Q(stale_warned_at__lte=threshold))
    )


def stale_deals_notify(*, now: dt.datetime | None = None) -> int:
    """Emit "deal without events" for each stale deal once per stale period; returns how many.
    Each deal is claimed by a conditional UPDATE in the transaction of its event."""
    now = now or clock.now()
    emitted = 0
    for program, settings in lead_programs():
        days = settings.stale_deal_days
        stale = stale_deals(program=program, stale_days=days, now=now)
        candidates = list(
            stale.values_list("pk", "organisation_id", "activity")  # type: ignore[misc]
        )
        for deal_id, org_id, activity in candidates:
            with transaction.atomic():
                claimed = (
                    stale_deals(program=program, stale_days=days, now=now)
                    .filter(pk=deal_id)
                    .update(stale_warned_at=now)
                )
                if claimed != 1:
                    continue
                outbox.emit(
                    STALE_EVENT,
                    {
                        "deal_id": deal_id,
                        "stale_days": days,
                        "idle_days": (now - activity).days,
                        "at": now.isoformat(),
                    },
                    organisation_id=org_id,
                    vendor_id=program.vendor_id,
                )
                emitted += 1
    return emitted


# --- Huey periodic tasks ----------------------------------------------------------------------


@db_periodic_task(DAILY_AT_8_MOSCOW, name="leads.digest")
@lock_task("leads-digest")
def leads_digest() -> int:
    """At 08:00 Moscow time: the digest of new leads in the subscribers' regions."""
    with system_actor("leads.digest"):
        return digest_send(now=clock.now())


@db_periodic_task(HOURLY_STALE, name="leads.stale_deals")
@lock_task("leads-stale-deals")
def leads_stale_deals() -> int:
    """Every hour: deals without events for the program's number of days."""
    with system_actor("leads.stale_deals"):
        return stale_deals_notify(now=clock.now())


@db_periodic_task(HOURLY_EXPIRING, name="leads.expiring")
@lock_task("leads-expiring")
def leads_expiring() -> int:
    """Every hour: leads about to expire, to the subscribed partners that have not taken them."""
    with system_actor("leads.expiring"):
        return expiring_leads_notify(now=clock.now())
