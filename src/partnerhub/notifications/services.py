"""Write use cases of notifications: make them from an outbox event, send the email, mark read.

Issue "Notifications": email templates (HTML + text, Russian and English) rendered from Django
templates and sent through Django's email backend from the outbox; the in-app list with its
unread count. The outbox delivers at least once, so both senders are safe to run twice, also at
the same time: a notification is inserted once per (event, user) (``ignore_conflicts``), and an
email is claimed by inserting its ``EmailSent`` row before it is sent; a failed send gives the
claim back so that the retry sends it. An email another worker is still sending is not counted as
done: the delivery fails with ``EmailInProgress`` and the outbox retries it later, when it is
either sent (skipped) or its claim has gone stale (taken over), so no email is lost.

Issue 5, "partners choose which emails they get": an optional email is not sent to a user who
switched its event type off (``NotificationPreference``); the in-app notification is made anyway.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from partnerhub.core import audit, clock
from partnerhub.core.errors import Conflict, NotFound
from partnerhub.core.models.outbox import OutboxEvent
from partnerhub.notifications import selectors
from partnerhub.notifications.error_codes import NotificationsErrorCode
from partnerhub.notifications.models import EmailSent, Notification, NotificationPreference
from partnerhub.notifications.rules import Context, Rule, optional_email_rules, rule_for
from partnerhub.notifications.selectors import Recipient

#: A claim this old without ``sent_at`` was left by a worker that died while sending.
EMAIL_CLAIM_TIMEOUT = timedelta(minutes=10)
EMAIL_TEMPLATES = "notifications/email"


class EmailInProgress(Conflict):
    """Another worker holds the claim of this email and has not sent it yet: retry later."""

    code = NotificationsErrorCode.EMAIL_IN_PROGRESS


@dataclass(frozen=True)
class RenderedEmail:
    """An email ready to send: subject, text and HTML parts, in ``language``."""

    subject: str
    text: str
    html: str
    language: str


# --- rendering ------------------------------------------------------------------------------------


def texts_render(*, rule: Rule, context: Context, language: str) -> tuple[str, str]:
    """The in-app title and body of ``rule`` in ``language``."""
    with translation.override(language):
        title = str(rule.title or "") % context
        body = str(rule.body or "") % context
    return title, body


def email_render(*, template: str, context: Mapping[str, Any], language: str) -> RenderedEmail:
    """Render ``notifications/email/<template>.subject.txt``, ``.txt`` and ``.html`` in
    ``language`` (the HTML part declares it in ``<html lang>``)."""
    base = f"{EMAIL_TEMPLATES}/{template}"
    with translation.override(language):
        subject = render_to_string(f"{base}.subject.txt", dict(context))
        text = render_to_string(f"{base}.txt", dict(context))
        html = render_to_string(f"{base}.html", dict(context))
    return RenderedEmail(subject=" ".join(subject.split()), text=text, html=html, language=language)


def _absolute(path: str) -> str:
    return settings.SITE_URL + path


def _link_path(rule: Rule) -> str:
    return reverse(rule.link) if rule.link else ""


# --- in-app ---------------------------------------------------------------------------------------


def notifications_create(*, event: OutboxEvent) -> int:
    """Add the in-app notifications an event makes (each user once, however often it runs).

    Returns how many rows it offered; rows that exist already are skipped by the database.
    """
    rule = rule_for(event.event_type)
    if rule is None or not rule.in_app:
        return 0
    context = rule.context(event)
    if context is None:
        return 0
    url = _link_path(rule)
    created_at = clock.now()
    rows = []
    for recipient in rule.recipients(event, context):
        if recipient.user_id is None or recipient.organisation_id is None:
            continue
        title, body = texts_render(rule=rule, context=context, language=recipient.language)
        rows.append(
            Notification(
                user_id=recipient.user_id,
                organisation_id=recipient.organisation_id,
                event_id=event.id,
                kind=event.event_type,
                title=title[:300],
                body=body,
                url=url,
                created_at=created_at,
            )
        )
    Notification.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def notification_mark_read(
    *, user: Any, notification_id: int, now: datetime | None = None
) -> Notification:
    """Mark one of the user's notifications read (already read stays as it was).

    NotFound for a notification that is not the user's, as for one that does not exist.
    """
    now = now or clock.now()
    mine = Notification.objects.filter(pk=notification_id, user_id=user.pk)
    mine.filter(read_at__isnull=True).update(read_at=now)
    notification = mine.first()
    if notification is None:
        raise NotFound(_("Уведомление не найдено."))
    return notification


def notifications_mark_all_read(*, user: Any, now: datetime | None = None) -> int:
    """Mark every unread notification of the user read; returns how many changed."""
    now = now or clock.now()
    return Notification.objects.filter(user_id=user.pk, read_at__isnull=True).update(read_at=now)


# --- email ----------------------------------------------------------------------------------------


def emails_send(*, event: OutboxEvent) -> int:
    """Send the emails an event makes, each (recipient, template) once; returns how many this
    call sent. Every recipient is tried; the first failure is raised at the end (its claim given
    back), so that the outbox retries the delivery and the retry sends only what is missing."""
    rule = rule_for(event.event_type)
    if rule is None or rule.email is None:
        return 0
    context = rule.context(event)
    if context is None:
        return 0
    sent = 0
    failure: Exception | None = None
    recipients = rule.recipients(event, context)
    switched_off = (
        selectors.email_switched_off(
            user_ids=[r.user_id for r in recipients if r.user_id is not None],
            event_type=rule.event_type,
        )
        if rule.optional
        else set()
    )
    for recipient in recipients:
        if recipient.user_id in switched_off:
            continue  # the user switched this email off; the in-app notification stays
        message = email_for(rule=rule, context=context, recipient=recipient)
        try:
            if email_send(
                event_id=event.id, to=recipient.email, template=rule.email, email=message
            ):
                sent += 1
        except Exception as exc:  # the others still go out; this one is retried
            failure = failure or exc
    if failure is not None:
        raise failure
    return sent


def email_for(*, rule: Rule, context: Context, recipient: Recipient) -> RenderedEmail:
    """The email of ``rule`` for one recipient, in the recipient's language."""
    assert rule.email is not None
    full = dict(context)
    if rule.in_app:
        full["title"], full["body"] = texts_render(
            rule=rule, context=context, language=recipient.language
        )
    if rule.link:
        full["link"] = _absolute(_link_path(rule))
    if rule.optional and recipient.user_id is not None:
        full["settings_link"] = _absolute(reverse("notifications:settings"))
    full["recipient"] = recipient
    return email_render(template=rule.email, context=full, language=recipient.language)


def email_send(*, event_id: uuid.UUID, to: str, template: str, email: RenderedEmail) -> bool:
    """Send ``email`` to ``to`` unless it was sent for this event already.

    True when this call sent it, False when it had been sent. The claim row is inserted first;
    when the SMTP server refuses, the claim is deleted and the error raised, so that a retry of
    the delivery sends it. ``EmailInProgress`` when another worker holds a fresh claim.
    """
    to = to.strip().lower()
    claim = _email_claim(event_id=event_id, recipient=to, template=template)
    if claim is None:
        return False
    try:
        _email_deliver(email, to)
    except Exception:
        EmailSent.objects.filter(
            pk=claim.pk, sent_at__isnull=True, claimed_at=claim.claimed_at
        ).delete()
        raise
    EmailSent.objects.filter(pk=claim.pk).update(sent_at=clock.now())
    return True


def _email_claim(*, event_id: uuid.UUID, recipient: str, template: str) -> EmailSent | None:
    """Insert the claim. None when the email was sent already; a claim left unsent for longer
    than ``EMAIL_CLAIM_TIMEOUT`` (its worker died) is taken over; a fresh one is in progress."""
    now = clock.now()
    key = {"event_id": event_id, "recipient": recipient, "template": template}
    try:
        with transaction.atomic():
            return EmailSent.objects.create(**key, claimed_at=now)
    except IntegrityError:
        pass
    if EmailSent.objects.filter(**key, sent_at__isnull=False).exists():
        return None
    taken_over = EmailSent.objects.filter(
        **key, sent_at__isnull=True, claimed_at__lt=now - EMAIL_CLAIM_TIMEOUT
    ).update(claimed_at=now)
    if taken_over != 1:
        raise EmailInProgress(_("Письмо уже отправляется другим обработчиком."))
    return EmailSent.objects.get(**key)


def _email_deliver(email: RenderedEmail, to: str) -> None:
    message = EmailMultiAlternatives(
        email.subject,
        email.text,
        to=[to],
        headers={"Content-Language": email.language, "Auto-Submitted": "auto-generated"},
    )
    message.attach_alternative(email.html, "text/html")
    message.send()


# --- email preferences ----------------------------------------------------------------------------


def email_preferences_set(
    *, user: Any, enabled: Collection[str], now: datetime | None = None
) -> dict[str, bool]:
    """Save which optional emails ``user`` gets: the event types in ``enabled`` on, every other
    optional one off. Types that are not optional emails are ignored (they cannot be switched
    off). Returns the changes made, {event type: on}; an audit row lists them."""
    now = now or clock.now()
    wanted = {rule.event_type: rule.event_type in enabled for rule in optional_email_rules()}
    with transaction.atomic():
        current = selectors.email_preferences_stored(user=user)
        changes = {
            event_type: on
            for event_type, on in wanted.items()
            if current.get(event_type, True) != on
        }
        for event_type, on in changes.items():
            NotificationPreference.objects.update_or_create(
                user_id=user.pk, event_type=event_type, defaults={"email": on, "updated_at": now}
            )
        if changes:
            audit.record(
                action="notifications.preferences.changed",
                obj=user,
                before={event_type: not on for event_type, on in changes.items()},
                after=changes,
                organisation_id=getattr(user, "organisation_id", None),
                actor=user,
            )
    return changes
