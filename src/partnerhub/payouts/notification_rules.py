"""Notification rules of conversions and payouts (issue 6); registered with
``notifications.rules.register`` when the app is ready (``apps``).

The partner's owner and accountant hear about each step of a payout (documents formed, sent,
the act signed, rejected with the reason, paid); the vendor's accountants get the daily digest
of deadlines (email only: in-app notifications link to the partner cabinet).
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from partnerhub.accounts import selectors as account_selectors
from partnerhub.accounts.roles import Role
from partnerhub.core.models.outbox import OutboxEvent
from partnerhub.core.money import format_rub
from partnerhub.notifications.rules import Context, Rule, members, register
from partnerhub.notifications.selectors import Recipient, language_of
from partnerhub.partners.models import Organisation, OrgKind
from partnerhub.payouts.models import Payout

PAYOUT_LINK = "cabinet:payouts"
PAYOUT_GROUP = _("Выплаты")
OWNER_AND_ACCOUNTANT = members(Role.OWNER, Role.ACCOUNTANT)


def _date(value: dt.date | None) -> str:
    return value.strftime("%d.%m.%Y") if value else "—"


def payout_context(event: OutboxEvent) -> Context | None:
    """The payout the event is about, its numbers ready to read; the reason is the event's."""
    payout = (
        Payout.objects.filter(pk=event.payload.get("id"))
        .select_related("organisation", "vendor")
        .first()
    )
    if payout is None:
        return None
    return {
        "organisation_id": payout.organisation_id,
        "organisation": payout.organisation.short_name,
        "number": payout.pk,
        "amount": format_rub(payout.amount),
        "accept_due_on": _date(payout.accept_due_on),
        "pay_due_on": _date(payout.pay_due_on),
        "reason": event.payload.get("reason") or "—",
    }


#: (event type, title, body, name on the settings page).
PAYOUT_EVENTS = (
    (
        "payouts.payout.generated",
        _("Бонусы конвертированы: %(amount)s"),
        _(
            "Выплата № %(number)s: акт сформирован. Скачайте закрывающие документы в кабинете, "
            "подпишите и отправьте их, затем отметьте отправку."
        ),
        _("Бонусы конвертированы"),
    ),
    (
        "payouts.payout.sent",
        _("Выплата № %(number)s: документы отправлены"),
        _("Мы рассмотрим акт до %(accept_due_on)s."),
        _("Документы отправлены"),
    ),
    (
        "payouts.payout.accepted",
        _("Выплата № %(number)s: акт подписан"),
        _("Вознаграждение %(amount)s будет перечислено до %(pay_due_on)s."),
        _("Акт подписан"),
    ),
    (
        "payouts.payout.rejected",
        _("Выплата № %(number)s отклонена"),
        _("Причина: %(reason)s. Бонусы (%(amount)s) возвращены на баланс."),
        _("Выплата отклонена"),
    ),
    (
        "payouts.payout.paid",
        _("Выплата № %(number)s перечислена"),
        _("Вознаграждение %(amount)s перечислено на ваш расчётный счёт."),
        _("Вознаграждение перечислено"),
    ),
)


def digest_context(event: OutboxEvent) -> Context | None:
    """The payouts of the digest, as they are now (one already settled is still listed with its
    state, so the email matches what staff saw at 09:00)."""
    if event.organisation_id is None:
        return None
    vendor = Organisation.objects.filter(pk=event.organisation_id, kind=OrgKind.VENDOR).first()
    if vendor is None:
        return None
    ids = [*event.payload.get("due_today", []), *event.payload.get("overdue", [])]
    payouts = {p.pk: p for p in Payout.objects.filter(pk__in=ids).select_related("organisation")}
    due_today = [payouts[pk] for pk in event.payload.get("due_today", []) if pk in payouts]
    overdue = [payouts[pk] for pk in event.payload.get("overdue", []) if pk in payouts]
    if not due_today and not overdue:
        return None
    return {
        "organisation_id": vendor.pk,
        "organisation": vendor.short_name,
        "on": dt.date.fromisoformat(event.payload["on"]),
        "due_today": due_today,
        "overdue": overdue,
        "link": settings.SITE_URL + reverse("backoffice:payouts"),
    }


def vendor_accountants(event: OutboxEvent, context: Context) -> list[Recipient]:
    """Active accountants of the vendor."""
    vendor = Organisation.objects.get(pk=context["organisation_id"])
    users = account_selectors.employees_of(organisation=vendor).filter(
        role=Role.ACCOUNTANT, is_active=True
    )
    return [
        Recipient(email=u.email, language=language_of(u), user_id=u.pk, organisation_id=vendor.pk)
        for u in users
    ]


RULES: list[Rule] = [
    *(
        Rule(
            event_type=event_type,
            context=payout_context,
            recipients=OWNER_AND_ACCOUNTANT,
            title=title,
            body=body,
            link=PAYOUT_LINK,
            email="payouts_changed",
            group=PAYOUT_GROUP,
            name=name,
        )
        for event_type, title, body, name in PAYOUT_EVENTS
    ),
    Rule(
        event_type="payouts.digest",
        context=digest_context,
        recipients=vendor_accountants,
        email="payouts_digest",
        optional=False,  # a staff duty, not on the partners' settings page
    ),
]

register(*RULES)
