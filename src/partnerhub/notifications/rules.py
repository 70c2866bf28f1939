"""Which outbox event makes which notification: one table, ``RULES``.

Issue "Notifications"; spec partners-and-contracts ("the partner gets an email and sees the status
in the cabinet"). A rule names, for one event type, how to load what the event is about (the
template context; None when there is nothing left to tell), who receives it, the in-app title
and body (``%``-format strings over the context, translated into the recipient's language), the
cabinet page the notification links to, and the email template, if any.

Each app keeps its rules in ``<app>/notification_rules.py`` and registers them (``register``)
when its ``AppConfig.ready`` imports that module; this module keeps the rules of accounts and
partners, which sit below notifications in the layers contract, so notifications knows no
domain app above it. Adding a notification is adding a rule there (and an email template under
``templates/notifications/email/`` when it sends mail). Emails are optional by default: each
user may switch them off on the settings page (issue 5, "partners choose which emails they
get"); a rule with ``optional=False`` (the invitation) is always sent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import Http404
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from partnerhub.accounts import services as account_services
from partnerhub.accounts.roles import Role
from partnerhub.core.models.outbox import OutboxEvent
from partnerhub.notifications.selectors import Recipient, default_language, members_with_roles
from partnerhub.partners import selectors as partner_selectors

Context = dict[str, Any]
ContextFn = Callable[[OutboxEvent], Context | None]
RecipientsFn = Callable[[OutboxEvent, Context], list[Recipient]]


@dataclass(frozen=True)
class Rule:
    """What one event type notifies, and to whom.

    ``title`` None means no in-app notification; ``email`` None means no mail. ``link`` is the
    name of a cabinet URL (without arguments); the context may give its own absolute ``link``
    for the email instead (the invitation's accept link). ``optional`` emails can be switched
    off by each user on the settings page, where they are listed under ``group`` by ``name``;
    the in-app notification stays either way.
    """

    event_type: str
    context: ContextFn
    recipients: RecipientsFn
    title: str | Promise | None = None
    body: str | Promise = ""
    link: str | None = None
    email: str | None = None
    optional: bool = True
    group: str | Promise = ""
    name: str | Promise = ""

    @property
    def in_app(self) -> bool:
        return self.title is not None

    @property
    def email_optional(self) -> bool:
        """True for an email a user may switch off."""
        return self.email is not None and self.optional


# --- what an event is about -----------------------------------------------------------------


def invitation_context(event: OutboxEvent) -> Context | None:
    """The invitation, while it can still be accepted, with its accept link."""
    invitation = account_services.invitation_pending_get(invitation_id=int(event.payload["id"]))
    if invitation is None:
        return None
    return {
        "organisation_id": invitation.organisation_id,
        "organisation": invitation.organisation.short_name,
        "invitation": invitation,
        "role": invitation.get_role_display(),
        "link": account_services.invitation_accept_url(invitation=invitation),
        "ttl_days": settings.INVITATION_TTL_DAYS,
    }


def enrolment_context(event: OutboxEvent) -> Context | None:
    """The enrolment whose state changed; the state and reason are the event's, not today's."""
    try:
        enrolment = partner_selectors.enrolment_get(pk=int(event.payload["id"]))
    except Http404:
        return None
    return {
        "organisation_id": enrolment.organisation_id,
        "organisation": enrolment.organisation.short_name,
        "program": enrolment.program.name,
        "state": event.payload.get("to") or event.event_type.rsplit(".", 1)[-1],
        "reason": event.payload.get("reason") or "—",
    }


def organisation_context(event: OutboxEvent) -> Context | None:
    """The partner organisation the event belongs to."""
    if event.organisation_id is None:
        return None
    try:
        organisation = partner_selectors.partner_get(pk=event.organisation_id)
    except Http404:
        return None
    return {"organisation_id": organisation.pk, "organisation": organisation.short_name}


# --- who receives it --------------------------------------------------------------------------


def members(*roles: str) -> RecipientsFn:
    """Active users of the organisation the event is about, holding one of ``roles``."""

    def recipients(event: OutboxEvent, context: Context) -> list[Recipient]:
        return members_with_roles(organisation_id=context["organisation_id"], roles=roles)

    return recipients


def invited_address(event: OutboxEvent, context: Context) -> list[Recipient]:
    """The invited email address (no user exists yet: email only)."""
    return [Recipient(email=context["invitation"].email, language=default_language())]


# --- the table ----------------------------------------------------------------------------------

OWNER_AND_MANAGERS = members(Role.OWNER, Role.MANAGER)
#: The partner's referral dashboard in the cabinet.
REASON = _("Причина: %(reason)s")

ENROLMENT_GROUP = _("Участие в программах")

#: Enrolment states the partner hears about: (state, title, body, name on the settings page).
ENROLMENT_CHANGES = (
    (
        "active",
        _("Программа «%(program)s»: участие активно"),
        _("Можно работать по программе; условия — в разделе «Программы»."),
        _("Участие в программе активировано"),
    ),
    (
        "rejected",
        _("Программа «%(program)s»: заявка отклонена"),
        REASON,
        _("Заявка на участие отклонена"),
    ),
    (
        "suspended",
        _("Программа «%(program)s»: участие приостановлено"),
        REASON,
        _("Участие приостановлено"),
    ),
    (
        "terminated",
        _("Программа «%(program)s»: участие прекращено"),
        REASON,
        _("Участие прекращено"),
    ),
)

#: The rules of accounts and partners (below notifications in the layers); each app above
#: registers its own in its ``AppConfig.ready`` (``<app>/notification_rules.py``).
RULES: dict[str, Rule] = {
    rule.event_type: rule
    for rule in (
        Rule(
            event_type="accounts.invitation.created",
            context=invitation_context,
            recipients=invited_address,
            email="invitation",
            optional=False,  # the only way in: an invited person cannot have switched it off
        ),
        *(
            Rule(
                event_type=f"partners.enrolment.{state}",
                context=enrolment_context,
                recipients=OWNER_AND_MANAGERS,
                title=title,
                body=body,
                link="cabinet:programs",
                email="enrolment_changed",
                group=ENROLMENT_GROUP,
                name=name,
            )
            for state, title, body, name in ENROLMENT_CHANGES
        ),
        Rule(
            event_type="partners.card.updated",
            context=organisation_context,
            recipients=members(Role.OWNER),
            title=_("Карточка организации изменена"),
            body=_("Кто и что изменил — в истории карточки."),
            link="cabinet:card_history",
        ),
    )
}


def register(*rules: Rule) -> None:
    """Add an app's rules to the table (its ``AppConfig.ready`` imports its
    ``notification_rules``, which calls this). One rule an event type: another rule for a type
    already taken is a programming error."""
    for rule in rules:
        taken = RULES.get(rule.event_type)
        if taken is not None and taken != rule:
            raise ImproperlyConfigured(f"two notification rules for {rule.event_type!r}")
        RULES[rule.event_type] = rule


def rule_for(event_type: str) -> Rule | None:
    """The rule of an event type, or None when the event notifies nobody."""
    return RULES.get(event_type)


def optional_email_rules() -> list[Rule]:
    """The rules whose email a user may switch off, in table order."""
    return [rule for rule in RULES.values() if rule.email_optional]
