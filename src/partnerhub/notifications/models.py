"""Notification tables: the in-app list of a user, and the record of every email sent.

Issue "Notifications": an in-app notification list in the cabinet (unread count in the header),
email sent from the outbox. Both tables make the outbox handlers safe to run twice: a
notification is unique per (event, user), a sent email per (event, recipient, template).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from partnerhub.core.clock import now


class Notification(models.Model):
    """One line in a user's notification list (уведомление), made from one outbox event."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("пользователь"),
        on_delete=models.CASCADE,
        related_name="notifications",
        db_index=False,  # the (user, -created_at) index below serves lookups by user
    )
    organisation = models.ForeignKey(
        "partners.Organisation",
        verbose_name=_("организация"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    event_id = models.UUIDField(_("событие"))
    kind = models.CharField(_("вид"), max_length=100)
    title = models.CharField(_("заголовок"), max_length=300)
    body = models.TextField(_("текст"), blank=True)
    url = models.CharField(_("ссылка"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("создано"), default=now)
    read_at = models.DateTimeField(_("прочитано"), null=True, blank=True)

    class Meta:
        verbose_name = _("уведомление")
        verbose_name_plural = _("уведомления")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["event_id", "user"], name="notification_once_per_user")
        ]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="notification_user_list"),
            models.Index(
                fields=["user"], condition=Q(read_at__isnull=True), name="notification_unread"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.title}"

    @property
    def is_unread(self) -> bool:
        return self.read_at is None


class EmailSent(models.Model):
    """An email of an event to one address, claimed (inserted) before it is sent.

    ``sent_at`` is empty while the sender works on it; a claim left by a crashed worker is
    taken over after ``services.EMAIL_CLAIM_TIMEOUT``.
    """

    event_id = models.UUIDField(_("событие"))
    recipient = models.EmailField(_("получатель"))
    template = models.CharField(_("шаблон"), max_length=100)
    claimed_at = models.DateTimeField(_("взято в работу"), default=now)
    sent_at = models.DateTimeField(_("отправлено"), null=True, blank=True)

    class Meta:
        verbose_name = _("отправленное письмо")
        verbose_name_plural = _("отправленные письма")
        ordering = ["-claimed_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["event_id", "recipient", "template"], name="email_sent_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.template} → {self.recipient}"


class NotificationPreference(models.Model):
    """Whether a user gets the email of one event type (настройки писем).

    Issue 5 ("partners choose which emails they get"). No row means the default: the email is
    sent. Only rules marked optional can be switched off (``rules.Rule.optional``); the in-app
    notification is made either way.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("пользователь"),
        on_delete=models.CASCADE,
        related_name="notification_preferences",
        db_index=False,  # the unique (user, event_type) index serves lookups by user
    )
    event_type = models.CharField(_("событие"), max_length=100)
    email = models.BooleanField(_("письмо"), default=True)
    updated_at = models.DateTimeField(_("изменено"), default=now)

    class Meta:
        verbose_name = _("настройка уведомлений")
        verbose_name_plural = _("настройки уведомлений")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "event_type"], name="notification_preference_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.event_type} email={'on' if self.email else 'off'}"
