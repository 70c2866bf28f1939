"""Reads of the partner's referral link, its click statistics and its promo codes.

Spec: referrals.md ("Joining", "Promo codes"); issue 5, items 6 and 7. Everything here is scoped
to one referral partner, which the caller has taken from the asking user's organisation
(``referral_partner_of``): another partner's promo code is a 404.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from partnerhub.core.clock import PROGRAM_TZ, now, today
from partnerhub.partners.models import Organisation, Program, ProgramKind
from partnerhub.referrals.engine.config import DEFAULT, ProgramConfig
from partnerhub.referrals.models import PromoCode, ReferralClick, ReferralPartner
from partnerhub.referrals.selectors.config import current_config

__all__ = [
    "ClickStats",
    "DayClicks",
    "PromoState",
    "click_stats",
    "landing_url_with",
    "landing_url_without_partner",
    "program_config",
    "promo_code_get",
    "promo_code_state",
    "promo_codes_of",
    "referral_link",
    "referral_partner_by_code",
    "referral_partner_of",
]


def program_config(program: Program, at: dt.datetime | None = None) -> ProgramConfig:
    """The configuration of ``program`` in force at ``at`` (now by default): the versioned
    configuration of ``selectors.config`` (one place the link pages and services ask)."""
    return current_config(program, at=at)


def referral_partner_of(organisation: Organisation) -> ReferralPartner | None:
    """The organisation's partner in the referral program (the earliest registration when the
    vendor runs more than one referral program), or None when it has not joined."""
    return (
        ReferralPartner.objects.filter(
            organisation=organisation, program__kind=ProgramKind.REFERRALS
        )
        .select_related("program")
        .order_by("registered_at", "pk")
        .first()
    )


def referral_partner_by_code(code: str) -> ReferralPartner | None:
    """The partner whose code is ``code``, compared case-insensitively (None when unknown)."""
    code = code.strip()
    if not code or len(code) > 32:
        return None
    partners = ReferralPartner.objects.select_related("program")
    found = partners.filter(code=code.upper()).first()  # codes we issue are upper case
    if found is None:
        found = partners.filter(code__iexact=code).first()  # codes from event files
    return found


def landing_url_with(landing_url: str, param: str, code: str | None) -> str:
    """``landing_url`` with ``param=code`` in its query (replacing an earlier value of ``param``,
    keeping every other parameter); without a code, ``landing_url`` as it is."""
    if not code:
        return landing_url
    parts = urlsplit(landing_url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != param]
    query.append((param, code))
    return urlunsplit(parts._replace(query=urlencode(query)))


def landing_url_without_partner() -> str:
    """Where an unknown code leads: the landing URL of the referral program (the oldest one
    when the vendor runs several), else the default configuration's."""
    program = Program.objects.filter(kind=ProgramKind.REFERRALS).order_by("pk").first()
    return (program_config(program) if program else DEFAULT).landing_url


def referral_link(partner: ReferralPartner, config: ProgramConfig) -> str:
    """The partner's referral link: the landing URL with its code (spec: "Joining")."""
    return landing_url_with(config.landing_url, config.referral_param, partner.code)


@dataclass(frozen=True)
class DayClicks:
    """Clicks of one Moscow day."""

    day: dt.date
    clicks: int


@dataclass(frozen=True)
class ClickStats:
    """Clicks of the last ``len(days)`` days: per day (oldest first), total, unique visitors."""

    days: list[DayClicks]
    total: int
    unique_visitors: int

    @property
    def busiest(self) -> int:
        """The most clicks in one day (the scale of the bars)."""
        return max((d.clicks for d in self.days), default=0)


def click_stats(partner: ReferralPartner, days: int = 30) -> ClickStats:
    """Clicks on the partner's link in the last ``days`` Moscow days, today included.

    Two queries: the counts per day, and the total with the unique visitors (distinct IP
    hashes) of the whole period.
    """
    last = today()
    first = last - dt.timedelta(days=days - 1)
    start = dt.datetime.combine(first, dt.time.min, tzinfo=PROGRAM_TZ)
    clicks = ReferralClick.objects.filter(partner=partner, at__gte=start)
    per_day = dict(
        clicks.annotate(day=TruncDate("at", tzinfo=PROGRAM_TZ))
        .values("day")
        .annotate(n=Count("id"))
        .values_list("day", "n")
    )
    totals = clicks.aggregate(
        total=Count("id"), unique=Count("ip_hash", distinct=True, filter=~Q(ip_hash=""))
    )
    series = [
        DayClicks(day=day, clicks=per_day.get(day, 0))
        for day in (first + dt.timedelta(days=i) for i in range(days))
    ]
    return ClickStats(days=series, total=totals["total"], unique_visitors=totals["unique"])


class PromoState:
    """States of a promo code on a day, with their labels."""

    ACTIVE = "active"
    NOT_YET_VALID = "not_yet_valid"
    EXPIRED = "expired"
    DEACTIVATED = "deactivated"

    LABELS = {
        ACTIVE: pgettext_lazy("promo code", "Действует"),
        NOT_YET_VALID: _("Ещё не действует"),
        EXPIRED: _("Истёк"),
        DEACTIVATED: pgettext_lazy("promo code", "Отключён"),
    }


def promo_code_state(promo_code: PromoCode, day: dt.date) -> str:
    """The state of ``promo_code`` on the Moscow date ``day`` (deactivation wins)."""
    if promo_code.deactivated_at is not None:
        return PromoState.DEACTIVATED
    if day < promo_code.valid_from:
        return PromoState.NOT_YET_VALID
    if day > promo_code.valid_until:
        return PromoState.EXPIRED
    return PromoState.ACTIVE


@dataclass(frozen=True)
class PromoCodeRow:
    """A promo code as the cabinet lists it."""

    promo_code: PromoCode
    state: str
    client_bonus_label: str

    @property
    def state_label(self) -> str:
        return str(PromoState.LABELS[self.state])


def promo_codes_of(
    partner: ReferralPartner, config: ProgramConfig | None = None
) -> list[PromoCodeRow]:
    """The partner's promo codes, newest first, each with its state today (one query)."""
    config = config or program_config(partner.program)
    labels = {option.code: option.label for option in config.client_bonus_options}
    day = now().astimezone(PROGRAM_TZ).date()
    return [
        PromoCodeRow(
            promo_code=promo,
            state=promo_code_state(promo, day),
            client_bonus_label=labels.get(promo.client_bonus, promo.client_bonus),
        )
        for promo in PromoCode.objects.filter(partner=partner).order_by("-created_at", "-id")
    ]


def promo_code_get(partner: ReferralPartner, pk: int) -> PromoCode:
    """One of the partner's promo codes; 404 for a code of another partner or none at all."""
    promo = PromoCode.objects.filter(partner=partner, pk=pk).first()
    if promo is None:
        raise Http404
    return promo
