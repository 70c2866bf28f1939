"""Writes of referral links and promo codes: a click on a link, creating and deactivating promo
codes.

Spec: referrals.md, "Promo codes": the code text is the partner's choice (4-32 letters, digits
and ``-``, unique in the program case-insensitively), the client bonus one of the vendor's
options, the validity period the partner's choice up to the vendor's maximum. Decisions where the
spec is silent:

- letters are Latin or Cyrillic (Russian clients type Russian codes); the code is stored as
  typed, surrounding spaces removed, and compared by its casefold;
- a period starts today or later (Moscow) and ``valid_until`` is inclusive: a code valid from
  1 March to 31 March works through 31 March, Moscow time, and its ``promo_code.created`` event
  says ``valid_until`` = 1 April 00:00 +03:00 (exclusive, as every other time span of the engine);
- the maximum is counted from ``valid_from``:
  ``valid_until - valid_from <= promo_max_validity_days`` (in days);
- a blocked partner may not create codes, but may deactivate them; deactivation is final (a new
  code takes its place) and idempotent.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from partnerhub.accounts.models import User
from partnerhub.core import audit
from partnerhub.core.clock import PROGRAM_TZ, now
from partnerhub.core.errors import Conflict, ValidationFailed
from partnerhub.referrals.error_codes import ReferralsErrorCode
from partnerhub.referrals.models import PromoCode, ReferralClick, ReferralPartner
from partnerhub.referrals.models.links import REFERER_MAX, USER_AGENT_MAX
from partnerhub.referrals.selectors import links as selectors
from partnerhub.referrals.services import intake

PROMO_CODE_PATTERN = re.compile(r"[A-Za-zА-Яа-яЁё0-9-]{4,32}")

PROMO_CODE_TAKEN = _("Такой промокод уже есть в программе (регистр букв не важен).")


def ip_hash(ip: str) -> str:
    """HMAC-SHA256 of an IP address with the site's secret key, hex ("" without an address)."""
    if not ip:
        return ""
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, ip.encode(), hashlib.sha256).hexdigest()


def referral_click_record(
    *,
    partner: ReferralPartner,
    ip: str,
    referer: str,
    user_agent: str,
    at: dt.datetime | None = None,
) -> ReferralClick:
    """Record a visit of the partner's referral link; the raw IP address is never stored."""
    return ReferralClick.objects.create(
        partner=partner,
        at=at or now(),
        referer=referer[:REFERER_MAX],
        ip_hash=ip_hash(ip),
        user_agent=user_agent[:USER_AGENT_MAX],
    )


def moscow_midnight(day: dt.date) -> dt.datetime:
    """The start of the Moscow day ``day``."""
    return dt.datetime.combine(day, dt.time.min, tzinfo=PROGRAM_TZ)


def promo_code_create(
    *,
    partner: ReferralPartner,
    code: str,
    client_bonus: str,
    valid_from: dt.date,
    valid_until: dt.date,
    actor: Any,
) -> PromoCode:
    """Create a promo code of ``partner`` (spec: "Promo codes").

    Every broken rule is reported at once, under its field, in one ``ValidationFailed``; a
    blocked partner gets ``Conflict`` ``partner_blocked``. A parallel creation of the same code
    loses on the unique constraint and gets the same field error as a plain duplicate.
    """
    if partner.blocked:
        raise Conflict(
            _("Партнёр заблокирован: новые промокоды создавать нельзя."),
            code=ReferralsErrorCode.PARTNER_BLOCKED,
        )
    moment = now()
    config = selectors.program_config(partner.program, at=moment)
    code = (code or "").strip()
    errors: dict[str, list[Any]] = {}
    if not PROMO_CODE_PATTERN.fullmatch(code):
        errors["code"] = [
            _("От 4 до 32 символов: буквы (латиница или кириллица), цифры и дефис «-».")
        ]
    elif PromoCode.objects.filter(program_id=partner.program_id, code_key=code.casefold()).exists():
        errors["code"] = [PROMO_CODE_TAKEN]
    if client_bonus not in {option.code for option in config.client_bonus_options}:
        errors["client_bonus"] = [_("Выберите бонус клиенту из списка.")]
    today = moment.astimezone(PROGRAM_TZ).date()
    if valid_from < today:
        errors["valid_from"] = [_("Срок действия не может начинаться в прошлом.")]
    if valid_until < valid_from:
        errors["valid_until"] = [_("Дата окончания раньше даты начала.")]
    elif (valid_until - valid_from).days > config.promo_max_validity_days:
        errors["valid_until"] = [
            _("Срок действия — не больше %(days)d дней от даты начала.")
            % {"days": config.promo_max_validity_days}
        ]
    if errors:
        raise ValidationFailed(_("Проверьте выделенные поля."), fields=errors)
    try:
        with transaction.atomic():
            promo = PromoCode.objects.create(
                program_id=partner.program_id,
                partner=partner,
                code=code,
                code_key=code.casefold(),
                client_bonus=client_bonus,
                valid_from=valid_from,
                valid_until=valid_until,
                created_at=moment,
                created_by=actor if isinstance(actor, User) else None,
            )
            fields = {
                "partner": partner.code,
                "code": code,
                "client_bonus": client_bonus,
                "valid_from": moscow_midnight(valid_from).isoformat(),
                "valid_until": moscow_midnight(valid_until + dt.timedelta(days=1)).isoformat(),
            }
            audit.record(
                action="referrals.promo_code.created",
                obj=promo,
                organisation_id=partner.organisation_id,
                after={**fields, "valid_until_inclusive": valid_until.isoformat()},
                actor=actor,
            )
            intake.portal_event_record(
                program=partner.program, type="promo_code.created", at=moment, fields=fields
            )
    except IntegrityError as exc:  # a parallel request created the same code first
        raise ValidationFailed(
            _("Проверьте выделенные поля."), fields={"code": [PROMO_CODE_TAKEN]}
        ) from exc
    return promo


def promo_code_deactivate(*, promo_code: PromoCode, actor: Any) -> bool:
    """Switch a promo code off for good; it attributes nobody from now on.

    Idempotent (a conditional update): False, and no event, when it was off already.
    """
    moment = now()
    with transaction.atomic():
        changed = PromoCode.objects.filter(pk=promo_code.pk, deactivated_at__isnull=True).update(
            deactivated_at=moment
        )
        if changed:
            partner = promo_code.partner
            audit.record(
                action="referrals.promo_code.deactivated",
                obj=promo_code,
                organisation_id=partner.organisation_id,
                before={"deactivated_at": None},
                after={"deactivated_at": moment.isoformat()},
                actor=actor,
            )
            intake.portal_event_record(
                program=partner.program,
                type="promo_code.deactivated",
                at=moment,
                fields={"code": promo_code.code},
            )
    promo_code.refresh_from_db(fields=["deactivated_at"])
    return bool(changed)
