"""Webhook endpoints of organisations and the log of every delivery attempt to them.

Core issue, "Outgoing webhooks per organisation (URL, secret, event types) ... delivery log
visible to the organisation". The attempt log is what the partner sees in the cabinet; the outbox
delivery row (``core.OutboxDelivery``) is what the worker retries.
"""

from __future__ import annotations

import fnmatch

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from partnerhub.core.clock import now


class WebhookEndpoint(models.Model):
    """A URL of the partner's system that receives the organisation's events.

    ``secret`` signs every request (HMAC-SHA256, see ``signing``); it is stored as is, since
    signing needs it, and shown to the partner once, right after creation. ``event_types`` holds
    fnmatch patterns (``partners.enrolment.*``); an empty list subscribes to every event.
    """

    organisation = models.ForeignKey(
        "partners.Organisation",
        on_delete=models.CASCADE,
        related_name="webhook_endpoints",
        verbose_name=_("организация"),
    )
    url = models.URLField(_("адрес"), max_length=500)
    secret = models.CharField(_("секрет подписи"), max_length=100)
    event_types = models.JSONField(_("типы событий"), default=list, blank=True)
    is_active = models.BooleanField(_("включён"), default=True)
    created_at = models.DateTimeField(_("создан"), default=now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("создал"),
    )

    class Meta:
        verbose_name = _("адрес вебхука")
        verbose_name_plural = _("адреса вебхуков")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.url

    def subscribes_to(self, event_type: str) -> bool:
        """True when the endpoint wants events of ``event_type``."""
        patterns: list[str] = list(self.event_types or [])
        return not patterns or any(fnmatch.fnmatchcase(event_type, p) for p in patterns)

    @property
    def secret_hint(self) -> str:
        """The start of the secret, enough to tell secrets apart without revealing one."""
        return f"{self.secret[:10]}…"


class AttemptOutcome(models.TextChoices):
    """How one attempt ended."""

    OK = "ok", _("Доставлено")
    HTTP_ERROR = "http_error", _("Ошибка HTTP")
    TIMEOUT = "timeout", _("Нет ответа")
    CONNECTION_ERROR = "connection_error", _("Ошибка соединения")
    BLOCKED = "blocked", _("Адрес запрещён")


class WebhookAttempt(models.Model):
    """One HTTP request to an endpoint (or the refusal to make it), with what came back."""

    endpoint = models.ForeignKey(
        WebhookEndpoint,
        on_delete=models.CASCADE,
        related_name="attempts",
        verbose_name=_("адрес"),
    )
    event_id = models.UUIDField(_("событие"), db_index=True)
    event_type = models.CharField(_("тип события"), max_length=100)
    delivery = models.ForeignKey(
        "core.OutboxDelivery",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("доставка"),
    )
    attempt = models.PositiveIntegerField(_("попытка"))
    outcome = models.CharField(_("результат"), max_length=20, choices=AttemptOutcome.choices)
    status_code = models.PositiveSmallIntegerField(_("код ответа"), null=True, blank=True)
    error = models.TextField(_("ошибка"), blank=True)
    duration_ms = models.PositiveIntegerField(_("длительность, мс"), default=0)
    at = models.DateTimeField(_("время"), default=now)

    class Meta:
        verbose_name = _("попытка доставки вебхука")
        verbose_name_plural = _("попытки доставки вебхуков")
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["endpoint", "-at"], name="webhook_attempt_log")]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id} #{self.attempt}: {self.outcome}"

    @property
    def succeeded(self) -> bool:
        return self.outcome == AttemptOutcome.OK
