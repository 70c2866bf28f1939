"""Outbox tables: events written inside the business transaction, and one delivery row per
(event, handler, target) that the worker works through after commit (at least once)."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from partnerhub.core.clock import now


class OutboxEvent(models.Model):
    """Something that happened, to be delivered to handlers after the transaction commits.

    The transaction writes the event alone; the worker fans it out to its deliveries after
    commit (``outbox.fan_out``) and sets ``fanned_out_at`` (issue 17).

    ``id`` is the event id receivers deduplicate by. ``organisation_id`` names whose event it is
    (webhooks, notifications) without a foreign key: core knows no domain model. ``vendor_id``
    (issue 14) names the vendor whose programs it concerns, empty when none in particular.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    event_type = models.CharField(_("тип события"), max_length=100, db_index=True)
    organisation_id = models.BigIntegerField(_("организация"), null=True, blank=True, db_index=True)
    vendor_id = models.BigIntegerField(_("вендор"), null=True, blank=True, db_index=True)
    payload = models.JSONField(_("данные"), default=dict)
    created_at = models.DateTimeField(_("создано"), default=now, db_index=True)
    #: When its deliveries were written (by the worker, after commit); empty until then.
    fanned_out_at = models.DateTimeField(_("разослано"), null=True, blank=True)

    class Meta:
        verbose_name = _("событие")
        verbose_name_plural = _("события")
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=models.Q(fanned_out_at__isnull=True),
                name="outbox_event_not_fanned_out",
            )
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.id}"


class DeliveryState(models.TextChoices):
    """Life of one delivery."""

    PENDING = "pending", _("Ожидает")
    RUNNING = "running", _("Выполняется")
    DONE = "done", _("Доставлено")
    DEAD = "dead", _("Не доставлено")


class OutboxDelivery(models.Model):
    """Delivery of one event to one handler (and target, e.g. one webhook endpoint)."""

    event = models.ForeignKey(OutboxEvent, on_delete=models.CASCADE, related_name="deliveries")
    handler = models.CharField(_("обработчик"), max_length=100)
    target = models.CharField(_("получатель"), max_length=100, blank=True, default="")
    state = models.CharField(
        _("состояние"),
        max_length=16,
        choices=DeliveryState.choices,
        default=DeliveryState.PENDING,
        db_index=True,
    )
    attempts = models.PositiveIntegerField(_("попыток"), default=0)
    next_attempt_at = models.DateTimeField(_("следующая попытка"), default=now, db_index=True)
    locked_until = models.DateTimeField(_("занято до"), null=True, blank=True)
    last_error = models.TextField(_("последняя ошибка"), blank=True)
    delivered_at = models.DateTimeField(_("доставлено"), null=True, blank=True)

    class Meta:
        verbose_name = _("доставка события")
        verbose_name_plural = _("доставки событий")
        ordering = ["next_attempt_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "handler", "target"], name="outbox_delivery_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.event_id} → {self.handler}:{self.target}"
