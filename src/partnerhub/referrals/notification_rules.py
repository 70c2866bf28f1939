"""Notification rules of the referral program (issue 5, "Notifications"); registered with
``notifications.rules.register`` when the app is ready (``apps``).

The live engine emits the events (level up or down at a review, points about to expire, bonuses
and rewards accrued); the rules read their numbers from the event's payload: amounts in roubles
(1 bonus = 1 rouble), the rate in percent, moments in Moscow time. The partner's owner and
managers hear of them; each email may be switched off on the settings page.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext_lazy as _

from partnerhub.accounts.roles import Role
from partnerhub.core.clock import PROGRAM_TZ
from partnerhub.core.models.outbox import OutboxEvent
from partnerhub.core.money import format_rub
from partnerhub.notifications.rules import Context, Rule, members, organisation_context, register

REFERRAL_LINK = "cabinet:referrals"
REFERRAL_GROUP = _("Реферальная программа")
OWNER_AND_MANAGERS = members(Role.OWNER, Role.MANAGER)


def _roubles(value: Any) -> str:
    if value is None or value == "":
        return ""
    try:
        return format_rub(Decimal(str(value)))
    except (InvalidOperation, TypeError, ValueError):
        return str(value)


def _percent(value: Any) -> str:
    """A rate given in percent ("35", "35.00") as "35 %"."""
    if value is None or value == "":
        return ""
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    return f"{number.normalize():f}".replace(".", ",") + "\u00a0%"


def _moscow(value: Any) -> str:
    """An ISO timestamp as "dd.mm.yyyy hh:mm" in Moscow time."""
    if not value:
        return ""
    try:
        moment = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if moment.tzinfo is None:
        return str(value)
    return moment.astimezone(PROGRAM_TZ).strftime("%d.%m.%Y %H:%M")


def referral_context(event: OutboxEvent) -> Context | None:
    """A referral event of a partner organisation, its numbers ready to read: amounts in roubles
    (1 bonus = 1 rouble), the rate in percent, moments in Moscow time."""
    context = organisation_context(event)
    if context is None:
        return None
    payload = event.payload
    return {
        **context,
        "code": payload.get("code", ""),
        "old": payload.get("old", ""),
        "new": payload.get("new", ""),
        "points": payload.get("points", ""),
        "client": payload.get("client", ""),
        "amount": _roubles(payload.get("amount")),
        "rate": _percent(payload.get("rate")),
        "at": _moscow(payload.get("at")),
        "expires_at": _moscow(payload.get("expires_at")),
    }


#: Referral program events (emitted by the live engine): (event type, title, body, name).
REFERRAL_EVENTS = (
    (
        "referrals.level.up",
        _("Уровень повышен: %(old)s → %(new)s"),
        _("Партнёр %(code)s: уровень в реферальной программе повышен с %(old)s до %(new)s."),
        _("Повышение уровня"),
    ),
    (
        "referrals.level.down",
        _("Уровень понижен: %(old)s → %(new)s"),
        _(
            "Пересмотр %(at)s: активных баллов меньше порога уровня %(old)s, "
            "уровень понижен до %(new)s."
        ),
        _("Понижение уровня при пересмотре"),
    ),
    (
        "referrals.points.expiring",
        _("Скоро сгорят баллы: %(points)s"),
        _("Баллы (%(points)s) перестанут быть активными %(expires_at)s."),
        _("Баллы скоро сгорят"),
    ),
    (
        "referrals.bonus.activation",
        _("Бонус за активного клиента: %(amount)s"),
        _("Клиент %(client)s стал активным: начислен бонус %(amount)s."),
        _("Бонус за активного клиента"),
    ),
    (
        "referrals.reward.accrued",
        _("Вознаграждение: %(amount)s"),
        _("За оплату клиента %(client)s начислено вознаграждение %(amount)s (ставка %(rate)s)."),
        _("Начислено вознаграждение"),
    ),
)

RULES: list[Rule] = [
    *(
        Rule(
            event_type=event_type,
            context=referral_context,
            recipients=OWNER_AND_MANAGERS,
            title=title,
            body=body,
            link=REFERRAL_LINK,
            email=event_type.replace(".", "_"),
            group=REFERRAL_GROUP,
            name=name,
        )
        for event_type, title, body, name in REFERRAL_EVENTS
    ),
]

register(*RULES)
