"""Cabinet pages of the referral program: the partner's standing, bonus history and clients.

Issue 5, item 7; spec referrals.md ("Standing: what a partner sees"). Any partner role reads.
The referral partner is always the one of the asking user's own organisation, found by the
same rule as the link and promo code pages (``selectors.links.referral_partner_of``: its
earliest registration in a referral program), and the pages show that partner's own program; so
a partner never reaches another partner's data, and one registered in a referral program other
than the vendor's first still sees its own. An organisation that has not joined the referral
program sees a short explanation with a link to the programs page. Thin views: every read goes
through ``referrals.selectors``; the dashboard computes the standing once (``history_of``) and
hands it to the other selectors.

Decisions: the chart spans the three calendar months before today and the three after (Moscow
dates); the days ahead show the points that stay active if nothing new happens (grants only
expire), drawn dashed. The table of active grants with their expiry dates is the accessible
fallback of the chart and always shown; the chart's own numbers are in a ``<details>`` table as
well (only the days on which the value changes).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from partnerhub.accounts.principal import organisation_of
from partnerhub.core import clock
from partnerhub.core.access import access, partner
from partnerhub.core.pagination import paginate
from partnerhub.pages.referrals import BONUS_KINDS, GRANT_CAUSES
from partnerhub.partners.models import Organisation, Program
from partnerhub.payouts.selectors import BonusMovement, bonus_movements_of
from partnerhub.referrals.engine.months import add_months_to_date
from partnerhub.referrals.engine.results import BonusEntry, Grant
from partnerhub.referrals.models import ReferralPartner
from partnerhub.referrals.selectors import standing as st
from partnerhub.referrals.selectors.links import referral_partner_of

ANY_PARTNER = partner()
CHART_MONTHS_BACK = 3
CHART_MONTHS_AHEAD = 3
CLIENTS_PER_PAGE = 25
BONUSES_PER_PAGE = 25
SEARCH_MAX = 200


@dataclass(frozen=True)
class Membership:
    """The asking organisation and, when it has joined, its referral program and partner."""

    organisation: Organisation
    program: Program | None
    partner: ReferralPartner | None


def membership_of(request: HttpRequest) -> Membership:
    """The user's organisation, its referral partner and that partner's program (both None when
    it has not joined)."""
    org = organisation_of(request.user)
    referral_partner = referral_partner_of(org)
    program = referral_partner.program if referral_partner is not None else None
    return Membership(organisation=org, program=program, partner=referral_partner)


def _not_joined(request: HttpRequest, template: str, membership: Membership) -> HttpResponse:
    return render(
        request, template, {"org": membership.organisation, "partner": None, "program": None}
    )


def _pending(request: HttpRequest, template: str, membership: Membership) -> HttpResponse:
    """The partner has joined but its live standing is not computed yet (a moment after
    joining): say so instead of showing zeros."""
    return render(
        request,
        template,
        {"org": membership.organisation, "partner": membership.partner, "pending": True},
    )


def active_grants(grants: Iterable[Grant], moment: dt.datetime) -> list[Grant]:
    """Grants active at ``moment`` (not expired, not taken back by a refund), soonest expiry
    first."""
    active = [
        g
        for g in grants
        if g.at <= moment < g.expires_at and (g.revoked_at is None or g.revoked_at > moment)
    ]
    return sorted(active, key=lambda g: (g.expires_at, g.at, g.event_id))


def expiry_schedule(grants: Iterable[Grant]) -> list[dict[str, Any]]:
    """How many points expire when: ``[{"at": datetime, "points": n}]`` in time order."""
    totals: dict[dt.datetime, int] = {}
    for grant in grants:
        totals[grant.expires_at] = totals.get(grant.expires_at, 0) + grant.points
    return [{"at": at, "points": points} for at, points in sorted(totals.items())]


def chart_data(series: list[tuple[dt.date, int]], today: dt.date) -> dict[str, Any]:
    """The chart's JSON: ISO dates, active points a day, and today's date (past/future split)."""
    return {
        "dates": [day.isoformat() for day, _points in series],
        "points": [points for _day, points in series],
        "today": today.isoformat(),
        "labels": {
            "date": str(_("Дата")),
            "points": str(_("Активные баллы")),
            "forecast": str(_("Прогноз без новых событий")),
            "today": str(_("Сегодня")),
        },
    }


def series_changes(series: list[tuple[dt.date, int]]) -> list[tuple[dt.date, int]]:
    """The days on which the value changes (and the first day): the chart's text equivalent."""
    changes: list[tuple[dt.date, int]] = []
    for day, points in series:
        if not changes or changes[-1][1] != points:
            changes.append((day, points))
    return changes


def progress_view(
    level: int, active_points: int, next_level: int | None, needed: int
) -> dict[str, Any]:
    """Progress to the next level for the bar: the threshold and the percent reached."""
    if next_level is None:
        return {"level": level, "active_points": active_points, "next_level": None}
    threshold = active_points + max(needed, 0)
    percent = 100 if threshold <= 0 else min(100, active_points * 100 // threshold)
    return {
        "level": level,
        "active_points": active_points,
        "next_level": next_level,
        "needed": max(needed, 0),
        "threshold": threshold,
        "percent": percent,
    }


@access(ANY_PARTNER)
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    """Level and progress, active points and their expiry (chart and table), the next review and
    the level kept today, bonus balance and accrued."""
    membership = membership_of(request)
    referral_partner, program = membership.partner, membership.program
    if referral_partner is None or program is None:
        return _not_joined(request, "cabinet/referrals/dashboard.html", membership)
    code = referral_partner.code
    history = st.history_of(program=program, code=code)
    if history is None:  # the live state is not there yet (registration being applied)
        return _pending(request, "cabinet/referrals/dashboard.html", membership)
    now = clock.now()
    today = clock.local_date(now)
    standing = history.standing  # computed once; the selectors below reuse ``history``
    next_review, kept_level = st.level_kept_today(program=program, code=code, result=history) or (
        standing.next_review,
        standing.level,
    )
    progress = st.progress(program=program, code=code, result=history) or (
        standing.level,
        0,
        None,
        0,
    )
    series = st.points_series(
        program=program,
        code=code,
        start=add_months_to_date(today, -CHART_MONTHS_BACK),
        end=add_months_to_date(today, CHART_MONTHS_AHEAD),
        result=history,
    )
    grants = active_grants(history.grants, now)
    context = {
        "org": membership.organisation,
        "partner": referral_partner,
        "program": program,
        "standing": standing,
        "progress": progress_view(*progress),
        "next_review": next_review,
        "kept_level": kept_level,
        "grants": [{"grant": g, "cause": GRANT_CAUSES.get(g.cause, g.cause)} for g in grants],
        "expiry": expiry_schedule(grants),
        "chart": chart_data(series, today),
        "series_changes": series_changes(series),
    }
    return render(request, "cabinet/referrals/dashboard.html", context)


def bonus_rows(bonuses: Iterable[BonusEntry | BonusMovement]) -> list[dict[str, Any]]:
    """Bonus entries (and conversions) newest first, with their kinds named."""
    ordered = sorted(bonuses, key=lambda b: (b.at, b.ref), reverse=True)
    return [{"entry": b, "kind": BONUS_KINDS.get(b.kind, b.kind)} for b in ordered]


@access(ANY_PARTNER)
@require_GET
def bonuses(request: HttpRequest) -> HttpResponse:
    """Every bonus accrued or taken back, and every conversion (and its return after a rejected
    act): date, kind, client, payment amount, rate, amount."""
    membership = membership_of(request)
    referral_partner, program = membership.partner, membership.program
    if referral_partner is None or program is None:
        return _not_joined(request, "cabinet/referrals/bonuses.html", membership)
    history = st.history_of(program=program, code=referral_partner.code)
    if history is None:
        return _pending(request, "cabinet/referrals/bonuses.html", membership)
    context = {
        "org": membership.organisation,
        "partner": referral_partner,
        "standing": history.standing,
        "page": paginate(
            request,
            bonus_rows(
                [
                    *history.bonuses,
                    *bonus_movements_of(organisation=membership.organisation),
                ]
            ),
            BONUSES_PER_PAGE,
        ),
    }
    return render(request, "cabinet/referrals/bonuses.html", context)


@access(ANY_PARTNER)
@require_GET
def clients(request: HttpRequest) -> HttpResponse:
    """The partner's attributed clients with search by portal id (``q``) and pagination."""
    membership = membership_of(request)
    referral_partner, program = membership.partner, membership.program
    if referral_partner is None or program is None:
        return _not_joined(request, "cabinet/referrals/clients.html", membership)
    search = request.GET.get("q", "").strip()[:SEARCH_MAX]
    rows = st.clients_of(program=program, code=referral_partner.code, search=search)
    context = {
        "org": membership.organisation,
        "partner": referral_partner,
        "page": paginate(request, rows, CLIENTS_PER_PAGE),
        "q": search,
    }
    return render(request, "cabinet/referrals/clients.html", context)
