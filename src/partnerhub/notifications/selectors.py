"""Read queries of notifications: a user's own list and unread count, and who receives what.

Issue "Notifications": the in-app list in the cabinet with the unread count in the header. A
user only ever sees the notifications addressed to them (house rule 2).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.http import Http404

from partnerhub.accounts import selectors as account_selectors
from partnerhub.notifications.models import Notification, NotificationPreference
from partnerhub.partners import selectors as partner_selectors


@dataclass(frozen=True)
class Recipient:
    """Who gets a notification: an address, the user behind it (None for an invited address,
    which gets email only) and the language to write in."""

    email: str
    language: str
    user_id: int | None = None
    organisation_id: int | None = None


def notifications_of(*, user: Any) -> QuerySet[Notification]:
    """The notifications addressed to ``user``, newest first."""
    return Notification.objects.filter(user_id=user.pk).order_by("-created_at", "-id")


def unread_count(*, user: Any) -> int:
    """How many notifications of ``user`` are unread (one COUNT query)."""
    return Notification.objects.filter(user_id=user.pk, read_at__isnull=True).count()


def language_of(user: Any) -> str:
    """The language to write to ``user`` in: a preference on the user, when the user model gets
    one, otherwise the site's default language (Russian)."""
    supported = {code for code, _name in settings.LANGUAGES}
    chosen = getattr(user, "language", "") or ""
    return chosen if chosen in supported else settings.LANGUAGE_CODE


def default_language() -> str:
    """The language of mail to an address with no user behind it (an invitation)."""
    return str(settings.LANGUAGE_CODE)


def members_with_roles(*, organisation_id: int | None, roles: Collection[str]) -> list[Recipient]:
    """Active users of a partner organisation holding one of ``roles``."""
    if organisation_id is None:
        return []
    try:
        organisation = partner_selectors.partner_get(pk=organisation_id)
    except Http404:
        return []
    users = account_selectors.employees_of(organisation=organisation).filter(
        role__in=list(roles), is_active=True
    )
    return [
        Recipient(
            email=user.email,
            language=language_of(user),
            user_id=user.pk,
            organisation_id=organisation.pk,
        )
        for user in users
    ]


# --- email preferences ----------------------------------------------------------------------------


@dataclass(frozen=True)
class EmailChoice:
    """One line of the email settings page: an event type, its name and whether it is on."""

    event_type: str
    name: str
    enabled: bool


def email_preferences_stored(*, user: Any) -> dict[str, bool]:
    """The user's stored choices, {event type: email on}; a missing type is on."""
    return dict(
        NotificationPreference.objects.filter(user_id=user.pk).values_list("event_type", "email")
    )


def email_switched_off(*, user_ids: Collection[int], event_type: str) -> set[int]:
    """Which of ``user_ids`` switched off the email of ``event_type`` (one query)."""
    if not user_ids:
        return set()
    return set(
        NotificationPreference.objects.filter(
            user_id__in=list(user_ids), event_type=event_type, email=False
        ).values_list("user_id", flat=True)
    )


def email_choices(*, user: Any, rules: Iterable[Any]) -> list[tuple[str, list[EmailChoice]]]:
    """The optional emails of ``rules`` (``rules.optional_email_rules()``) grouped as the settings
    page shows them, with the user's choices."""
    stored = email_preferences_stored(user=user)
    groups: dict[str, list[EmailChoice]] = {}
    for rule in rules:
        groups.setdefault(str(rule.group), []).append(
            EmailChoice(
                event_type=rule.event_type,
                name=str(rule.name or rule.event_type),
                enabled=stored.get(rule.event_type, True),
            )
        )
    return list(groups.items())
