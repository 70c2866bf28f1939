"""Notification rules of contracts and closing documents (issue 6); registered with
``notifications.rules.register`` when the app is ready (``apps``).

Spec: partners-and-contracts, "Contract": the partner (owner and accountant) hears of each step
of its contract by email and in the cabinet. The state and reason are the event's (what
happened then), not the contract's state now.
"""

from __future__ import annotations

from django.http import Http404
from django.utils.translation import gettext_lazy as _

from partnerhub.accounts.roles import Role
from partnerhub.contracts.selectors import contract_get
from partnerhub.core.models.outbox import OutboxEvent
from partnerhub.notifications.rules import REASON, Context, Rule, members, register

CONTRACT_GROUP = _("Договор")
CONTRACT_LINK = "cabinet:contracts"
OWNER_AND_ACCOUNTANT = members(Role.OWNER, Role.ACCOUNTANT)


def contract_context(event: OutboxEvent) -> Context | None:
    """The contract whose state changed, with its program and application number."""
    try:
        contract = contract_get(pk=int(event.payload["id"]))
    except (Http404, KeyError, TypeError, ValueError):
        return None
    return {
        "organisation_id": contract.organisation_id,
        "organisation": contract.organisation.short_name,
        "program": contract.program.name,
        "number": contract.application_number or "—",
        "signed_on": contract.signed_on.strftime("%d.%m.%Y") if contract.signed_on else "",
        "state": event.payload.get("to") or event.event_type.rsplit(".", 1)[-1],
        "reason": event.payload.get("reason") or "—",
    }


#: The decision on the contract (signed, rejected, terminated) is a legally significant notice:
#: its email cannot be switched off; the acknowledgements of the partner's own steps can.
MANDATORY = frozenset({"signed", "rejected", "terminated"})

#: (state, title, body, name on the settings page)
CONTRACT_CHANGES = (
    (
        "sent",
        _("Договор «%(program)s»: заявление № %(number)s отправлено"),
        _("Мы проверим компанию и сообщим о решении."),
        _("Заявление о присоединении отправлено"),
    ),
    (
        "under_review",
        _("Договор «%(program)s»: заявление на проверке"),
        _("Заявление № %(number)s взято на проверку."),
        _("Заявление взято на проверку"),
    ),
    (
        "signed",
        _("Договор «%(program)s» подписан"),
        _("Договор подписан %(signed_on)s: можно конвертировать бонусы в рубли."),
        _("Договор подписан"),
    ),
    (
        "rejected",
        _("Договор «%(program)s»: заявление отклонено"),
        REASON,
        _("Заявление отклонено"),
    ),
    (
        "terminated",
        _("Договор «%(program)s» расторгнут"),
        REASON,
        _("Договор расторгнут"),
    ),
)

RULES: list[Rule] = [
    Rule(
        event_type=f"contracts.contract.{state}",
        context=contract_context,
        recipients=OWNER_AND_ACCOUNTANT,
        title=title,
        body=body,
        link=CONTRACT_LINK,
        email="contracts_changed",
        optional=state not in MANDATORY,
        group=CONTRACT_GROUP,
        name=name,
    )
    for state, title, body, name in CONTRACT_CHANGES
]

register(*RULES)
