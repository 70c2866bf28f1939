"""Tables of the business-day calendar (производственный календарь), issue "Business-day
calendar": one row per date, editable by staff in the admin, and a version token that tells
every process when its cached copy is stale.

The arithmetic and the seeding live in ``partnerhub.core.calendar``; why every date has a row is
explained in that module's docstring.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from partnerhub.core.clock import now


class DayKind(models.TextChoices):
    """What kind of day a date is. ``working`` and ``working_weekend`` are the working kinds."""

    WORKING = "working", _("Рабочий день")
    WEEKEND = "weekend", _("Выходной день")
    HOLIDAY = "holiday", _("Нерабочий праздничный день")
    TRANSFER = "transfer", _("Перенесённый выходной")
    WORKING_WEEKEND = "working_weekend", _("Рабочая суббота")


WORKING_KINDS = frozenset({DayKind.WORKING, DayKind.WORKING_WEEKEND})


class DaySource(models.TextChoices):
    """Who set the day: the seeding from the ``holidays`` package or a member of staff."""

    HOLIDAYS = "holidays", _("Официальный календарь (пакет holidays)")
    STAFF = "staff", _("Сотрудник")


class CalendarDay(models.Model):
    """One date of the production calendar. Written only by the services in
    ``core.calendar`` (seeding and ``calendar_day_set``), which keep ``CalendarVersion``
    in step."""

    date = models.DateField(_("дата"), unique=True)
    is_working = models.BooleanField(_("рабочий день"))
    kind = models.CharField(_("вид дня"), max_length=16, choices=DayKind.choices)
    name = models.CharField(_("название"), max_length=200, blank=True, default="")
    source = models.CharField(
        _("источник"), max_length=16, choices=DaySource.choices, default=DaySource.HOLIDAYS
    )
    updated_at = models.DateTimeField(_("изменено"), default=now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("кем изменено"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("день календаря")
        verbose_name_plural = _("производственный календарь")
        ordering = ["date"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(is_working=True, kind__in=[DayKind.WORKING, DayKind.WORKING_WEEKEND])
                    | Q(
                        is_working=False,
                        kind__in=[DayKind.WEEKEND, DayKind.HOLIDAY, DayKind.TRANSFER],
                    )
                ),
                name="calendar_day_kind_matches_is_working",
            )
        ]

    def __str__(self) -> str:
        return self.date.isoformat()


class CalendarVersion(models.Model):
    """A single row whose ``token`` is replaced in every transaction that changes the calendar.

    Processes cache the calendar together with the token they loaded it at and compare it with a
    primary-key lookup. A fresh random token (rather than a counter or ``Max(updated_at)``) stays
    exact under frozen test clocks, clock skew between servers and rolled-back writes.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    token = models.UUIDField(_("версия"), default=uuid.uuid4)
    changed_at = models.DateTimeField(_("изменено"), default=now)

    class Meta:
        verbose_name = _("версия календаря")
        verbose_name_plural = _("версии календаря")

    def __str__(self) -> str:
        return str(self.token)
