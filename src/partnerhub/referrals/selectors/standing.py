"""Reads of the live referral standing for the cabinet, the back office and the API.

A partner's standing as of a time comes from the live state (``services.live.standing_at``);
``bonus_balance`` comes from the ledger for partners with an organisation (accrued minus
converted), and equals what was accrued for partners known only from event files
(``bonus_balances``: the same for many partners in one query). The dashboard's selectors take
the ``PartnerResult`` the page computed once (``history_of``) instead of computing it again.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from decimal import Decimal

from django.db.models import OuterRef, Q, QuerySet, Subquery

from partnerhub.core import ledger
from partnerhub.core.clock import now
from partnerhub.core.models.ledger import LedgerAccount
from partnerhub.core.money import quantize
from partnerhub.partners.models import Organisation, Program, ProgramKind
from partnerhub.referrals.engine import PartnerResult, Standing
from partnerhub.referrals.models.events import (
    EventRejection,
    PartnerState,
    ReferralClient,
    StoredEvent,
)
from partnerhub.referrals.models.partner import ReferralPartner
from partnerhub.referrals.selectors.config import current_config
from partnerhub.referrals.services import live

ZERO = Decimal("0.00")

__all__ = [
    "bonus_balance",
    "bonus_balances",
    "clients_of",
    "history_of",
    "level_kept_today",
    "organisation_bonus_balance",
    "partner_of",
    "partner_states",
    "points_series",
    "program_for_vendor",
    "program_of_code",
    "program_of_own_code",
    "program_sole",
    "progress",
    "rejections",
    "standing_of",
    "stored_events",
    "unattributed_clients",
]


def program_for_vendor(*, vendor: Organisation, code: str | None = None) -> Program | None:
    """The vendor's referral program: the one with ``code``, else its first of kind
    ``referrals``. Always one vendor's: another vendor's program is never the answer."""
    programs = Program.objects.filter(kind=ProgramKind.REFERRALS, vendor=vendor)
    if code:
        programs = programs.filter(code=code)
    return programs.order_by("pk").first()


def program_sole() -> Program | None:
    """For the command line, which acts for no one vendor: the one referral program in the
    database; None when there is none or when several vendors' programs make it ambiguous."""
    programs = list(Program.objects.filter(kind=ProgramKind.REFERRALS).order_by("pk")[:2])
    return programs[0] if len(programs) == 1 else None


def program_of_code(*, vendor: Organisation, code: str) -> Program | None:
    """The program of ``vendor`` a partner code belongs to (portal partners, then partners
    from events); None for a code of another vendor's program."""
    partner = (
        ReferralPartner.objects.filter(code=code, program__vendor=vendor)
        .select_related("program")
        .first()
    )
    if partner is not None:
        return partner.program
    state = (
        PartnerState.objects.filter(partner=code, registered=True, program__vendor=vendor)
        .select_related("program")
        .order_by("pk")
        .first()
    )
    return state.program if state is not None else None


def program_of_own_code(*, organisation: Organisation, code: str) -> Program | None:
    """The program in which ``code`` is the partner code of ``organisation`` itself (a partner
    asking about its own standing); None for anyone else's code."""
    partner = (
        ReferralPartner.objects.filter(code=code, organisation=organisation)
        .select_related("program")
        .first()
    )
    return partner.program if partner is not None else None


def partner_of(*, program: Program, organisation: Organisation) -> ReferralPartner | None:
    """The organisation's referral partner record in ``program``, if it has one."""
    return ReferralPartner.objects.filter(program=program, organisation=organisation).first()


def bonus_balance(
    *, program: Program, code: str, accrued: Decimal, at: dt.datetime | None = None
) -> Decimal:
    """Bonuses accrued minus converted: the ledger's ``bonus_rub`` account of the partner's
    organisation (credit-normal), else what was accrued."""
    organisation_id = (
        ReferralPartner.objects.filter(program=program, code=code)
        .values_list("organisation_id", flat=True)
        .first()
    )
    if organisation_id is None:
        return accrued
    return organisation_bonus_balance(organisation_id=organisation_id, at=at)


def organisation_bonus_balance(*, organisation_id: int, at: dt.datetime | None = None) -> Decimal:
    """An organisation's bonus balance (accrued minus converted, negative after a refund that
    followed a conversion): its ``bonus_rub`` ledger account, credit-normal; 0.00 without one."""
    account = LedgerAccount.objects.filter(
        organisation_id=organisation_id, purpose=live.BONUS_PURPOSE, currency="RUB"
    ).first()
    if account is None:
        return Decimal("0.00")
    return -ledger.balance(account, at=at)


def bonus_balances(*, program: Program, codes: Iterable[str]) -> dict[str, Decimal]:
    """The bonus balance of each of ``codes`` that has a live state, in one query: the rule of
    ``bonus_balance`` in bulk, from the cached balance of each organisation's ``bonus_rub``
    ledger account (credit-normal: accrued minus converted; ``ledger check`` keeps the cache
    equal to the entries), or what was accrued for a partner known only from event files.
    Codes without a live state are absent."""
    codes = list(codes)
    if not codes:
        return {}
    organisation = ReferralPartner.objects.filter(program=program, code=OuterRef("partner")).values(
        "organisation_id"
    )[:1]
    account = LedgerAccount.objects.filter(
        organisation_id=OuterRef("org_id"),
        purpose=live.BONUS_PURPOSE,
        currency="RUB",
    ).values("balance")[:1]
    rows = (
        PartnerState.objects.filter(program=program, partner__in=codes)
        .annotate(org_id=Subquery(organisation))
        .annotate(cached=Subquery(account))
        .values_list("partner", "bonus_accrued", "org_id", "cached")
    )
    balances: dict[str, Decimal] = {}
    for code, accrued, organisation_id, cached in rows:
        if organisation_id is None:
            balances[code] = quantize(accrued)
        else:
            balances[code] = -quantize(cached) if cached is not None else ZERO
    return balances


def history_of(
    *, program: Program, code: str, as_of: dt.datetime | None = None
) -> PartnerResult | None:
    """The partner's standing (balance from the ledger) and its full history, as of a time."""
    moment = as_of or now()
    result = live.standing_at(program=program, code=code, as_of=moment)
    if result is None:
        return None
    balance = bonus_balance(
        program=program,
        code=code,
        accrued=result.standing.bonus_accrued,
        at=as_of,
    )
    result.standing = dataclasses.replace(result.standing, bonus_balance=balance)
    return result


def standing_of(
    *, program: Program, code: str, as_of: dt.datetime | None = None
) -> Standing | None:
    """The partner's standing as of ``as_of`` (now by default); None if it did not exist."""
    result = history_of(program=program, code=code, as_of=as_of)
    return result.standing if result is not None else None


def points_series(
    *,
    program: Program,
    code: str,
    start: dt.date,
    end: dt.date,
    result: PartnerResult | None = None,
) -> list[tuple[dt.date, int]]:
    """Active points at the start of each day from ``start`` to ``end`` (Moscow days), from
    the grants known now (future days assume no new points). ``result``: the partner's history
    as of now when the caller has it already (``history_of``), so it is not computed again."""
    if result is None:
        result = live.standing_at(program=program, code=code, as_of=now())
    if result is None:
        return []
    tz = dt.timezone(dt.timedelta(hours=3))
    series: list[tuple[dt.date, int]] = []
    day = start
    while day <= end:
        moment = dt.datetime.combine(day, dt.time(12, 0), tzinfo=tz)
        points = 0
        for grant in result.grants:
            ended = grant.expires_at
            if grant.revoked_at is not None and grant.revoked_at < ended:
                ended = grant.revoked_at
            if grant.at <= moment < ended:
                points += grant.points
        series.append((day, points))
        day += dt.timedelta(days=1)
    return series


def _standing_now(program: Program, code: str, result: PartnerResult | None) -> Standing | None:
    """The standing of ``result`` when given (the caller computed it as of now), else now's."""
    if result is not None:
        return result.standing
    return standing_of(program=program, code=code)


def level_kept_today(
    *, program: Program, code: str, result: PartnerResult | None = None
) -> tuple[dt.datetime, int] | None:
    """(next review, the level the partner would keep if the review were now). ``result``: the
    partner's history as of now when the caller has it already (``history_of``)."""
    standing = _standing_now(program, code, result)
    if standing is None:
        return None
    config = current_config(program)
    return standing.next_review, min(standing.level, config.level_for(standing.active_points))


def progress(
    *, program: Program, code: str, result: PartnerResult | None = None
) -> tuple[int, int, int | None, int] | None:
    """(level, active points, next level or None at the top, points still needed for it).
    ``result``: the partner's history as of now when the caller has it already."""
    standing = _standing_now(program, code, result)
    if standing is None:
        return None
    config = current_config(program)
    higher = [lv for lv in config.levels if lv.number > standing.level]
    if not higher:
        return standing.level, standing.active_points, None, 0
    target = higher[0]
    return (
        standing.level,
        standing.active_points,
        target.number,
        max(target.min_points - standing.active_points, 0),
    )


def clients_of(*, program: Program, code: str, search: str = "") -> QuerySet[ReferralClient]:
    """The clients attributed to the partner, newest first, optionally filtered by portal id."""
    clients = ReferralClient.objects.filter(program=program, partner=code)
    if search:
        clients = clients.filter(client__icontains=search.strip())
    return clients.order_by("-registered_at", "client")


def partner_states(*, program: Program, level: int | None = None) -> QuerySet[PartnerState]:
    """Standing columns of every registered partner (optionally of one level)."""
    states = PartnerState.objects.filter(program=program, registered=True)
    if level is not None:
        states = states.filter(level=level)
    return states.defer("state").order_by("-level", "-active_points", "partner")


def unattributed_clients(*, program: Program, reason: str = "") -> QuerySet[ReferralClient]:
    """Clients attributed to nobody, with the reason (staff only)."""
    clients = ReferralClient.objects.filter(program=program, partner="")
    if reason:
        clients = clients.filter(reason=reason)
    return clients.order_by("-registered_at", "client")


def stored_events(*, program: Program, type: str = "", search: str = "") -> QuerySet[StoredEvent]:
    """The event log, newest received first; ``search`` matches the id or the subject."""
    events = StoredEvent.objects.filter(program=program)
    if type:
        events = events.filter(type=type)
    if search:
        term = search.strip()
        events = events.filter(Q(event_id__icontains=term) | Q(subject__icontains=term))
    return events.order_by("-received_at", "-pk")


def rejections(*, program: Program, stage: str = "") -> QuerySet[EventRejection]:
    """Events refused at intake or not applied by the engine, newest first."""
    rows = EventRejection.objects.filter(program=program)
    if stage:
        rows = rows.filter(stage=stage)
    return rows.order_by("-received_at", "-pk")
