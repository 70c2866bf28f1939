"""Notification rules of the lead marketplace (issue 7, item 8); registered with
``notifications.rules.register`` when the app is ready (``apps``).

The events come from the periodic jobs in ``leads.notify``:

- "leads.digest": new leads in the partner's regions (opt-in on the marketplace page; the email
  may also be switched off on the settings page);
- "leads.lead.expiring": leads in the partner's regions it has not taken that expire soon;
- "leads.deal.stale": a deal of the partner with no event for the program's number of days;

and from the staff's check of the partner's page about implementation packages (a condition of
the marketplace): "leads.page.accepted", "leads.page.rejected" (with the reason; not optional,
since the partner cannot take leads until it acts on it).

The owner and the managers hear of them (they work the leads). An email lists leads with their
contacts **masked** (``leads.rules.mask_*``): the contacts of an untaken lead never leave the
server. A lead that has meanwhile closed, expired or been taken by the partner is left out; when
nothing is left, nothing is sent.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_lazy as _

from partnerhub.accounts.roles import Role
from partnerhub.core import clock
from partnerhub.core.models.outbox import OutboxEvent
from partnerhub.leads.models import Deal, Lead, LeadState, MarketplaceAccess
from partnerhub.leads.rules import mask_email, mask_name, mask_phone
from partnerhub.notifications.rules import (
    Context,
    Rule,
    members,
    organisation_context,
    register,
)

LEADS_GROUP = _("Биржа заявок")
#: Cabinet pages the in-app notifications link to (cabinet/lead_urls.py).
MARKETPLACE_LINK = "cabinet:leads"
DEALS_LINK = "cabinet:deals"
OWNER_AND_MANAGERS = members(Role.OWNER, Role.MANAGER)


@dataclass(frozen=True)
class LeadLine:
    """One lead as an email lists it: what the marketplace shows, contacts masked."""

    pk: int
    company_name: str
    region: str
    company_size: str
    need: str
    published_at: dt.datetime
    expires_at: dt.datetime
    contact_name: str
    contact_phone: str
    contact_email: str


def _moscow(moment: dt.datetime) -> str:
    return moment.astimezone(clock.PROGRAM_TZ).strftime("%d.%m.%Y %H:%M")


def lead_lines(*, lead_ids: list[Any], organisation_id: int) -> list[LeadLine]:
    """The leads of an event still open and not taken by the partner, contacts masked."""
    ids = [int(pk) for pk in lead_ids]
    taken = Deal.objects.filter(lead_id__in=ids, organisation_id=organisation_id).values("lead_id")
    leads = (
        Lead.objects.filter(pk__in=ids, state=LeadState.OPEN, expires_at__gt=clock.now())
        .exclude(pk__in=taken)
        .select_related("region")
        .order_by("published_at", "pk")
    )
    return [
        LeadLine(
            pk=lead.pk,
            company_name=lead.company_name,
            region=lead.region.name,
            company_size=str(lead.get_company_size_display()),
            need=str(lead.get_need_display()),
            published_at=lead.published_at,
            expires_at=lead.expires_at,
            contact_name=mask_name(lead.contact_name),
            contact_phone=mask_phone(lead.contact_phone),
            contact_email=mask_email(lead.contact_email),
        )
        for lead in leads
    ]


def lead_list_context(event: OutboxEvent) -> Context | None:
    """The partner and the event's leads that are still worth telling about."""
    context = organisation_context(event)
    if context is None:
        return None
    lines = lead_lines(
        lead_ids=list(event.payload.get("lead_ids") or []),
        organisation_id=context["organisation_id"],
    )
    if not lines:
        return None
    return {**context, "leads": lines, "count": len(lines)}


def stale_deal_context(event: OutboxEvent) -> Context | None:
    """The deal still open and without activity since the event was made."""
    deal = (
        Deal.objects.filter(pk=event.payload.get("deal_id"), is_open=True)
        .select_related("organisation", "lead")
        .first()
    )
    if deal is None:
        return None
    at = event.payload.get("at")
    if at and deal.last_event_at and deal.last_event_at > dt.datetime.fromisoformat(at):
        return None  # the partner has added an event since
    last = max(deal.taken_at, deal.last_event_at) if deal.last_event_at else deal.taken_at
    return {
        "organisation_id": deal.organisation_id,
        "organisation": deal.organisation.short_name,
        "number": deal.pk,
        "company": deal.company_name or deal.lead.company_name,
        "days": event.payload.get("idle_days") or event.payload.get("stale_days") or "",
        "last_activity": _moscow(last),
        "deal": deal,
    }


CONDITIONS_LINK = "cabinet:lead_conditions"
#: The generic "reviewed, see the cabinet" email of counterparty documents serves here too.
REVIEWED_EMAIL = "partners_document_reviewed"


def page_context(event: OutboxEvent) -> Context | None:
    """The partner whose page was checked, the page's address and the reason of the event."""
    access = (
        MarketplaceAccess.objects.filter(pk=event.payload.get("access_id"))
        .select_related("organisation")
        .first()
    )
    if access is None:
        return None
    return {
        "organisation_id": access.organisation_id,
        "organisation": access.organisation.short_name,
        "url": access.page_url or "—",
        "reason": event.payload.get("reason") or "—",
    }


RULES: list[Rule] = [
    Rule(
        event_type="leads.page.accepted",
        context=page_context,
        recipients=OWNER_AND_MANAGERS,
        title=_("Страница о пакетах внедрения принята"),
        body=_("Вендор проверил страницу %(url)s: это условие биржи заявок выполнено."),
        link=CONDITIONS_LINK,
        email=REVIEWED_EMAIL,
        group=LEADS_GROUP,
        name=_("Страница о пакетах внедрения принята"),
    ),
    Rule(
        event_type="leads.page.rejected",
        context=page_context,
        recipients=OWNER_AND_MANAGERS,
        title=_("Страница о пакетах внедрения не принята"),
        body=_(
            "Вендор не принял страницу %(url)s. Причина: %(reason)s. Исправьте страницу и "
            "отправьте её на проверку снова."
        ),
        link=CONDITIONS_LINK,
        email=REVIEWED_EMAIL,
        optional=False,  # the partner cannot take leads until it acts on it
        group=LEADS_GROUP,
        name=_("Страница о пакетах внедрения не принята"),
    ),
    Rule(
        event_type="leads.digest",
        context=lead_list_context,
        recipients=OWNER_AND_MANAGERS,
        title=_("Новые заявки в ваших регионах: %(count)s"),
        body=_("На бирже появились заявки на внедрение в регионах, на которые вы подписаны."),
        link=MARKETPLACE_LINK,
        email="leads_digest",
        group=LEADS_GROUP,
        name=_("Новые заявки в моих регионах (ежедневная сводка)"),
    ),
    Rule(
        event_type="leads.lead.expiring",
        context=lead_list_context,
        recipients=OWNER_AND_MANAGERS,
        title=_("Скоро истекут заявки в ваших регионах: %(count)s"),
        body=_("Эти заявки скоро снимут с биржи. Если они вам интересны, возьмите их в работу."),
        link=MARKETPLACE_LINK,
        email="leads_lead_expiring",
        group=LEADS_GROUP,
        name=_("Заявка скоро истечёт"),
    ),
    Rule(
        event_type="leads.deal.stale",
        context=stale_deal_context,
        recipients=OWNER_AND_MANAGERS,
        title=_("Сделка № %(number)s без событий %(days)s дн."),
        body=_(
            "По сделке «%(company)s» нет событий с %(last_activity)s. Добавьте звонок, встречу "
            "или заметку либо закройте сделку, чтобы освободить место для новой заявки."
        ),
        link=DEALS_LINK,
        email="leads_deal_stale",
        group=LEADS_GROUP,
        name=_("Сделка без событий"),
    ),
]

register(*RULES)
