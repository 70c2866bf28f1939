"""The event store and the live state derived from it (spec: referrals.md, "Events").

``StoredEvent`` rows are the events exactly as received (append-only: a correction is a new
event); every standing is a function of them. ``partition`` names the partner whose state an
event belongs to (derived at intake, see ``services.intake``; it moves when a late
registration or promo code changes which partner a client's code names). ``PartnerState``
holds, per partner, the engine's state after the last applied event (versioned data of
``engine.Engine`` restricted to that partner's events, see ``engine.state``: JSON, not pickle,
so a row written by anyone is never run) and the standing it shows; ``StateCheckpoint``
keeps the state before each review so that a late event recomputes from the review before it,
not from the start. ``ReferralClient`` is the client list shown to partners and staff.
``EventRejection`` keeps events refused at intake and events the engine did not apply, with the
reason.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from partnerhub.core.clock import now
from partnerhub.core.models.ledger import AppendOnlyModel
from partnerhub.partners.models import Program


class EventSource(models.TextChoices):
    """Where an event came from."""

    API = "api", _("API")
    FILE = "file", _("Файл")
    PORTAL = "portal", _("Портал")
    BACKOFFICE = "backoffice", _("Бэк-офис")


class StoredEvent(AppendOnlyModel):
    """One event as received (``raw``), with the columns the live engine selects by."""

    program = models.ForeignKey(
        Program, on_delete=models.PROTECT, related_name="+", db_index=False
    )  # the composite indexes below lead with the program
    event_id = models.CharField(_("id события"), max_length=100)
    type = models.CharField(_("тип"), max_length=40)
    at = models.DateTimeField(_("время"))
    at_us = models.BigIntegerField(_("время, мкс"))
    subject = models.CharField(_("клиент или код"), max_length=200, blank=True)
    link_code = models.CharField(max_length=200, blank=True)
    promo_key = models.CharField(max_length=200, blank=True)
    raw = models.JSONField(_("событие"))
    source = models.CharField(_("источник"), max_length=16, choices=EventSource.choices)
    received_at = models.DateTimeField(_("получено"), default=now)

    class Meta:
        verbose_name = _("событие")
        verbose_name_plural = _("события")
        constraints = [
            models.UniqueConstraint(fields=["program", "event_id"], name="referral_event_unique")
        ]
        indexes = [
            models.Index(fields=["program", "type", "subject"], name="referral_event_subject"),
            # most events name neither: partial indexes (queries repeat the condition)
            models.Index(
                fields=["program", "link_code"],
                name="referral_event_link",
                condition=~Q(link_code=""),
            ),
            models.Index(
                fields=["program", "promo_key"],
                name="referral_event_promo",
                condition=~Q(promo_key=""),
            ),
            models.Index(fields=["program", "received_at"], name="referral_event_received"),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} ({self.type})"


class EventPartition(models.Model):
    """Which partner's state an event belongs to (derived; moves on re-partitioning).

    Keyed by the event's id (not a foreign key) so that intake writes both tables with plain
    multi-row inserts."""

    program = models.ForeignKey(
        Program, on_delete=models.PROTECT, related_name="+", db_index=False
    )  # the composite indexes below lead with the program
    event_id = models.CharField(max_length=100)
    type = models.CharField(max_length=40)
    partner = models.CharField(max_length=200, blank=True)
    client = models.CharField(max_length=200, blank=True)
    at_us = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["program", "event_id"], name="referral_partition_unique"
            )
        ]
        indexes = [
            models.Index(fields=["program", "partner", "at_us"], name="referral_partition_time"),
            models.Index(fields=["program", "client"], name="referral_partition_client"),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} → {self.partner or '—'}"


class PartnerState(models.Model):
    """The live state and standing of one partner code (also of codes not registered yet)."""

    program = models.ForeignKey(
        Program, on_delete=models.PROTECT, related_name="+", db_index=False
    )  # the composite indexes below lead with the program
    partner = models.CharField(_("код партнёра"), max_length=200)
    state = models.BinaryField()
    last_us = models.BigIntegerField(default=-(2**62))
    last_id = models.CharField(max_length=100, blank=True)
    horizon_us = models.BigIntegerField(default=-(2**62))
    due_us = models.BigIntegerField(_("ближайший пересмотр или сгорание"), null=True)
    registered = models.BooleanField(default=False)
    level = models.PositiveSmallIntegerField(_("уровень"), default=0)
    active_points = models.IntegerField(_("активные баллы"), default=0)
    points_total = models.IntegerField(_("баллов всего"), default=0)
    bonus_accrued = models.DecimalField(
        _("начислено бонусов"), max_digits=18, decimal_places=2, default=0
    )
    clients = models.IntegerField(_("клиентов"), default=0)
    active_clients = models.IntegerField(_("активных клиентов"), default=0)
    next_review = models.DateTimeField(_("следующий пересмотр"), null=True)
    generation = models.IntegerField(default=0)
    notify_us = models.BigIntegerField(_("ближайшее уведомление о сгорании"), null=True)
    expiry_notified_us = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(_("обновлено"), default=now)

    class Meta:
        verbose_name = _("состояние партнёра")
        verbose_name_plural = _("состояния партнёров")
        constraints = [
            models.UniqueConstraint(fields=["program", "partner"], name="referral_state_unique")
        ]
        indexes = [
            models.Index(fields=["program", "level"], name="referral_state_level"),
            models.Index(fields=["program", "due_us"], name="referral_state_due"),
            models.Index(fields=["program", "notify_us"], name="referral_state_notify"),
        ]

    def __str__(self) -> str:
        return self.partner


class StateCheckpoint(models.Model):
    """A partner's engine state just before a review (µs): late events restart from here."""

    program = models.ForeignKey(
        Program, on_delete=models.PROTECT, related_name="+", db_index=False
    )  # the composite indexes below lead with the program
    partner = models.CharField(max_length=200)
    at_us = models.BigIntegerField()
    state = models.BinaryField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["program", "partner", "at_us"], name="referral_checkpoint_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.partner} @ {self.at_us}"


class PendingEvent(models.Model):
    """A stored event that waits for the worker to apply it to its partner's state (events
    posted over the API, see ``services.live.pending_apply``), or, with an empty event id, a
    partner whose state must be rebuilt from its stored events (its clients moved)."""

    program = models.ForeignKey(
        Program, on_delete=models.PROTECT, related_name="+", db_index=False
    )  # the index below leads with the program
    event_id = models.CharField(max_length=100, blank=True)
    partner = models.CharField(max_length=200, blank=True)  # the partition when it was stored

    class Meta:
        indexes = [models.Index(fields=["program", "event_id"], name="referral_pending_event")]

    def __str__(self) -> str:
        return f"{self.event_id or 'rebuild'} → {self.partner or '—'}"


class WaitsFor(models.TextChoices):
    """What a waiting event names that has not arrived yet."""

    CLIENT = "client", _("Клиент")
    PAYMENT = "payment", _("Платёж")
    PROMO = "promo", _("Промокод")


class WaitingEvent(models.Model):
    """A stored event that names a client, payment or promo code not seen yet (spec: "Live,
    an event that names a client or payment not seen yet ... waits"). It has no partition
    (no ``EventPartition`` row) until what it names arrives; then intake gives it the
    partition, deletes this row and applies it as a late event (``services.intake``). Replay
    of the stored events rejects it as long as it waits, so the standings agree. Staff may drop
    it (``dropped_at``): it stays stored (the store is append-only) and marked, and neither the
    live state nor the verifying replay ever count it."""

    program = models.ForeignKey(
        Program, on_delete=models.PROTECT, related_name="+", db_index=False
    )  # the composite indexes below lead with the program
    event_id = models.CharField(_("id события"), max_length=100)
    type = models.CharField(_("тип"), max_length=40)
    waits_for = models.CharField(_("ждёт"), max_length=8, choices=WaitsFor.choices)
    key = models.CharField(_("чего ждёт"), max_length=200)  # client, payment id or promo key
    at_us = models.BigIntegerField(_("время, мкс"))
    received_at = models.DateTimeField(_("получено"), default=now)
    #: dropped by staff: it never joins a partition, and replay passes over it
    dropped_at = models.DateTimeField(_("снято"), null=True, blank=True)

    class Meta:
        verbose_name = _("ожидающее событие")
        verbose_name_plural = _("ожидающие события")
        constraints = [
            models.UniqueConstraint(fields=["program", "event_id"], name="referral_waiting_unique")
        ]
        indexes = [
            models.Index(fields=["program", "key"], name="referral_waiting_key"),
            models.Index(fields=["program", "received_at"], name="referral_waiting_age"),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} → {self.waits_for} {self.key}"


class ReferralClient(models.Model):
    """A client of the vendor's product, attributed to a partner or not (with the reason)."""

    program = models.ForeignKey(
        Program, on_delete=models.PROTECT, related_name="+", db_index=False
    )  # the composite indexes below lead with the program
    client = models.CharField(_("клиент"), max_length=200)
    partner = models.CharField(_("партнёр"), max_length=200, blank=True)
    partition = models.CharField(max_length=200, blank=True)
    reason = models.CharField(_("причина"), max_length=200, blank=True)
    registered_at = models.DateTimeField(_("зарегистрирован"))
    active_at = models.DateTimeField(_("активен с"), null=True, blank=True)
    payments = models.IntegerField(_("платежей"), default=0)
    paid = models.DecimalField(_("оплачено"), max_digits=18, decimal_places=2, default=0)

    class Meta:
        verbose_name = _("клиент")
        verbose_name_plural = _("клиенты")
        ordering = ["-registered_at"]
        constraints = [
            models.UniqueConstraint(fields=["program", "client"], name="referral_client_unique")
        ]
        indexes = [
            models.Index(fields=["program", "partner", "registered_at"], name="referral_client_p"),
            models.Index(fields=["program", "partition"], name="referral_client_part"),
        ]

    def __str__(self) -> str:
        return self.client


class RejectionStage(models.TextChoices):
    """Where an event was refused."""

    INTAKE = "intake", _("При приёме")
    ENGINE = "engine", _("Не применено правилами")


class EventRejection(models.Model):
    """An event refused at intake (not stored) or not applied by the engine (stored)."""

    program = models.ForeignKey(
        Program, on_delete=models.PROTECT, related_name="+", db_index=False
    )  # the composite indexes below lead with the program
    stage = models.CharField(_("этап"), max_length=8, choices=RejectionStage.choices)
    partner = models.CharField(max_length=200, blank=True)
    event_id = models.CharField(_("id события"), max_length=200, blank=True)
    position = models.IntegerField(_("номер в пакете"), null=True)
    reason = models.CharField(_("причина"), max_length=300)
    raw = models.JSONField(_("событие"), null=True)
    source = models.CharField(_("источник"), max_length=16, choices=EventSource.choices)
    received_at = models.DateTimeField(_("получено"), default=now)

    class Meta:
        verbose_name = _("отклонённое событие")
        verbose_name_plural = _("отклонённые события")
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(fields=["program", "stage", "partner"], name="referral_rejection_p"),
        ]

    def __str__(self) -> str:
        return f"{self.event_id}: {self.reason}"


class HistoryKind(models.TextChoices):
    """Kinds of history entries."""

    GRANT = "grant", _("Начисление баллов")
    REVOKE = "revoke", _("Списание баллов")
    BONUS = "bonus", _("Бонусы")
    LEVEL = "level", _("Смена уровня")
    REVIEW = "review", _("Пересмотр уровня")


class HistoryItem(models.Model):
    """One entry of a partner's history (grants, revocations, bonuses, level changes,
    reviews), taken out of the live engine as it is made so that the saved state stays small.
    A recomputation deletes the entries from the point it restarts and writes them again."""

    program = models.ForeignKey(
        Program, on_delete=models.PROTECT, related_name="+", db_index=False
    )  # the composite indexes below lead with the program
    partner = models.CharField(max_length=200)
    kind = models.CharField(max_length=8, choices=HistoryKind.choices)
    at_us = models.BigIntegerField()
    event_id = models.CharField(max_length=100, blank=True)
    data = models.JSONField()

    class Meta:
        verbose_name = _("запись истории")
        verbose_name_plural = _("история партнёров")
        indexes = [
            models.Index(fields=["program", "partner", "at_us"], name="referral_history_time")
        ]

    def __str__(self) -> str:
        return f"{self.partner} {self.kind} @ {self.at_us}"
