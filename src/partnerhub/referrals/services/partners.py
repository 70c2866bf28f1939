"""Partners of the referral program: registration with a partner code, blocking, unblocking.

Spec: referrals.md, "Joining". A portal partner is registered when its enrolment in a program of
kind ``referrals`` becomes active (``referrals.handlers``); the registration time is that moment
and level reviews count from it. Each write stores a portal event (``partner.registered``,
``partner.blocked``, ``partner.unblocked``) in the same transaction, so the engine sees partners
exactly as the portal does.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from partnerhub.core import audit
from partnerhub.core.clock import now
from partnerhub.core.errors import ValidationFailed
from partnerhub.partners.models import Organisation, OrgKind, Program, ProgramKind
from partnerhub.referrals import codes
from partnerhub.referrals.models import ReferralPartner
from partnerhub.referrals.services import intake

logger = logging.getLogger(__name__)

#: Attempts at each code length before the next, longer one (6, then 7, then 8 characters).
ATTEMPTS_PER_LENGTH = 3
#: Attempts at the longest length before giving up (31^8 codes: never reached in practice).
ATTEMPTS_AT_MAX_LENGTH = 10


class CodeSpaceExhausted(RuntimeError):
    """No free partner code was found (a broken random generator, not a full code space)."""


def _code_lengths() -> list[int]:
    lengths = [
        length
        for length in range(codes.MIN_LENGTH, codes.MAX_LENGTH)
        for _ in range(ATTEMPTS_PER_LENGTH)
    ]
    return lengths + [codes.MAX_LENGTH] * ATTEMPTS_AT_MAX_LENGTH


def referral_partner_register(
    *, program: Program, organisation: Organisation, at: dt.datetime, actor: Any = None
) -> ReferralPartner:
    """Register ``organisation`` in the referral ``program`` at ``at`` with a new partner code.

    Idempotent: an organisation already registered in the program gets its existing partner
    back, unchanged (also when a parallel call registered it first). A collision of random codes
    is retried, with longer codes after ``ATTEMPTS_PER_LENGTH`` collisions at one length.
    """
    if program.kind != ProgramKind.REFERRALS:
        raise ValidationFailed(
            _("Это не реферальная программа."), fields={"program": [_("Неверная программа.")]}
        )
    if organisation.kind != OrgKind.PARTNER:
        raise ValidationFailed(_("В программах участвуют только партнёры."))
    existing = _partner_of(program, organisation)
    if existing is not None:
        return existing
    for length in _code_lengths():
        code = codes.generate_partner_code(length=length)
        try:
            with transaction.atomic():
                partner = ReferralPartner.objects.create(
                    program=program,
                    organisation=organisation,
                    code=code,
                    registered_at=at,
                    inn=organisation.inn,
                )
                audit.record(
                    action="referrals.partner.registered",
                    obj=partner,
                    organisation_id=organisation.pk,
                    after={"code": code, "registered_at": at.isoformat(), "inn": partner.inn},
                    actor=actor,
                )
                intake.portal_event_record(
                    program=program,
                    type="partner.registered",
                    at=at,
                    fields={"partner": code, "inn": partner.inn},
                )
                return partner
        except IntegrityError:
            existing = _partner_of(program, organisation)
            if existing is not None:  # a parallel registration won
                return existing
            logger.info("partner code %s collided (length %d); retrying", code, length)
    raise CodeSpaceExhausted("no free partner code found")


def _partner_of(program: Program, organisation: Organisation) -> ReferralPartner | None:
    return ReferralPartner.objects.filter(program=program, organisation=organisation).first()


def referral_partner_block(
    *, partner: ReferralPartner, at: dt.datetime | None = None, reason: str = "", actor: Any = None
) -> bool:
    """Block a partner (its enrolment was suspended or terminated): its links and promo codes
    attribute no new clients. Idempotent: returns False when it was blocked already."""
    return _set_blocked(partner, blocked=True, at=at, reason=reason, actor=actor)


def referral_partner_unblock(
    *, partner: ReferralPartner, at: dt.datetime | None = None, reason: str = "", actor: Any = None
) -> bool:
    """Unblock a partner (its enrolment is active again). Idempotent: False when not blocked."""
    return _set_blocked(partner, blocked=False, at=at, reason=reason, actor=actor)


def _set_blocked(
    partner: ReferralPartner, *, blocked: bool, at: dt.datetime | None, reason: str, actor: Any
) -> bool:
    at = at or now()
    with transaction.atomic():
        changed = ReferralPartner.objects.filter(pk=partner.pk, blocked=not blocked).update(
            blocked=blocked
        )
        if changed:
            action = "blocked" if blocked else "unblocked"
            audit.record(
                action=f"referrals.partner.{action}",
                obj=partner,
                organisation_id=partner.organisation_id,
                before={"blocked": not blocked},
                after={"blocked": blocked, "reason": reason},
                actor=actor,
            )
            intake.portal_event_record(
                program=partner.program,
                type=f"partner.{action}",
                at=at,
                fields={"partner": partner.code},
            )
    partner.blocked = blocked
    return bool(changed)
