"""Outbox handlers of notifications: one makes the in-app notifications, one sends the email.

Issue "Notifications" (sent from the outbox). Both listen to every event type but name a target
only for events with a rule in ``rules.RULES``, so other events get no delivery row. Both are
safe to run twice (see ``services``). Registered when the app is ready (``apps``).
"""

from __future__ import annotations

from partnerhub.core.models.outbox import OutboxEvent
from partnerhub.core.outbox import handler
from partnerhub.notifications import services
from partnerhub.notifications.rules import rule_for

IN_APP = "notifications.in_app"
EMAIL = "notifications.email"


def in_app_targets(event: OutboxEvent) -> list[str]:
    """One delivery for an event that makes in-app notifications, none otherwise."""
    rule = rule_for(event.event_type)
    return [""] if rule is not None and rule.in_app else []


def email_targets(event: OutboxEvent) -> list[str]:
    """One delivery for an event that sends email, none otherwise."""
    rule = rule_for(event.event_type)
    return [""] if rule is not None and rule.email is not None else []


@handler("*", name=IN_APP, targets=in_app_targets)
def deliver_in_app(event: OutboxEvent, target: str) -> None:
    """Add the event's in-app notifications."""
    services.notifications_create(event=event)


@handler("*", name=EMAIL, targets=email_targets)
def deliver_email(event: OutboxEvent, target: str) -> None:
    """Send the event's emails."""
    services.emails_send(event=event)
