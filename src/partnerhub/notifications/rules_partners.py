"""Notification rules of partner statuses and counterparty documents (issue 6); registered with
``rules.register`` when the app is ready (``apps``).

Spec partners-and-contracts ("Statuses"; "Contract" step 1). The partner's owner hears about a
status granted or ended; the owner and the accountant (who upload the documents) hear how each
counterparty document was reviewed, with the reason when it is asked again.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import Http404
from django.utils.translation import gettext_lazy as _

from partnerhub.accounts.roles import Role
from partnerhub.core.models.outbox import OutboxEvent
from partnerhub.notifications.rules import Context, Rule, members, register
from partnerhub.partners import selectors as partner_selectors

STATUS_GROUP = _("Статусы партнёра")
DOCUMENTS_GROUP = _("Документы для проверки контрагента")


def _day(value: Any) -> str:
    if not value:
        return "—"
    try:
        return dt.date.fromisoformat(str(value)).strftime("%d.%m.%Y")
    except ValueError:
        return str(value)


def status_context(event: OutboxEvent) -> Context | None:
    """The grant the event is about; the dates are the event's (what was told at the time)."""
    try:
        grant = partner_selectors.status_grant_get(pk=int(event.payload["id"]))
    except Http404:
        return None
    payload = event.payload
    return {
        "organisation_id": grant.organisation_id,
        "organisation": grant.organisation.short_name,
        "status": grant.status.name,
        "valid_from": _day(payload.get("valid_from")),
        "valid_until": _day(payload.get("valid_until"))
        if payload.get("valid_until")
        else str(_("бессрочно")),
        "reason": payload.get("reason") or "—",
    }


def document_context(event: OutboxEvent) -> Context | None:
    """The reviewed upload; the reason is the event's."""
    try:
        document = partner_selectors.counterparty_document_get(pk=int(event.payload["id"]))
    except Http404:
        return None
    return {
        "organisation_id": document.organisation_id,
        "organisation": document.organisation.short_name,
        "kind": document.kind.name,
        "file_name": document.original_name,
        "reason": event.payload.get("reason") or "—",
    }


OWNER = members(Role.OWNER)
DOCUMENT_PEOPLE = members(Role.OWNER, Role.ACCOUNTANT)

RULES: list[Rule] = [
    Rule(
        event_type="partners.status.granted",
        context=status_context,
        recipients=OWNER,
        title=_("Присвоен статус «%(status)s»"),
        body=_("Статус действует с %(valid_from)s по %(valid_until)s."),
        link="cabinet:card",
        email="partners_status_changed",
        group=STATUS_GROUP,
        name=_("Присвоен статус"),
    ),
    Rule(
        event_type="partners.status.ended",
        context=status_context,
        recipients=OWNER,
        title=_("Статус «%(status)s» прекращён"),
        body=_("Последний день действия статуса — %(valid_until)s. Причина: %(reason)s"),
        link="cabinet:card",
        email="partners_status_changed",
        group=STATUS_GROUP,
        name=_("Статус прекращён досрочно"),
    ),
    Rule(
        event_type="partners.counterparty_document.accepted",
        context=document_context,
        recipients=DOCUMENT_PEOPLE,
        title=_("Документ принят: %(kind)s"),
        body=_("Файл «%(file_name)s» проверен и принят."),
        link="cabinet:counterparty_documents",
        email="partners_document_reviewed",
        group=DOCUMENTS_GROUP,
        name=_("Документ принят"),
    ),
    Rule(
        event_type="partners.counterparty_document.asked_again",
        context=document_context,
        recipients=DOCUMENT_PEOPLE,
        title=_("Загрузите документ заново: %(kind)s"),
        body=_("Файл «%(file_name)s» не принят. Причина: %(reason)s"),
        link="cabinet:counterparty_documents",
        email="partners_document_reviewed",
        optional=False,  # the partner cannot sign the contract without acting on it
        group=DOCUMENTS_GROUP,
        name=_("Документ запрошен повторно"),
    ),
]

register(*RULES)
