"""The audit log table: who did what to which object, before and after, when and from where.

Issue "Audit log" (``core/audit.py`` writes the rows; this module only holds the table). Rows are
written by services inside their own transaction and never change afterwards: ``save()`` refuses
an update and ``delete()`` refuses outright (house rule 7, like Zulip's audit log rows). Who the
data belongs to is a plain ``organisation_id`` integer, and the vendor whose programs it concerns
a plain ``vendor_id`` (issue 14): core knows no domain model.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils.translation import gettext_lazy as _

from partnerhub.core.clock import now


class ActorKind(models.TextChoices):
    """Who acted: a person, an API token, a system task, or a visitor who is not logged in."""

    USER = "user", _("Пользователь")
    TOKEN = "token", _("API-токен")
    SYSTEM = "system", _("Система")
    ANONYMOUS = "anonymous", _("Посетитель")


class AuditEventError(Exception):
    """An attempt to change or delete an audit row."""


class AuditEvent(models.Model):
    """One audited action. ``action`` is a dotted slug (``partner.card.updated``)."""

    actor_kind = models.CharField(
        _("кто действовал"), max_length=16, choices=ActorKind.choices, default=ActorKind.SYSTEM
    )
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("пользователь"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    actor_organisation_id = models.BigIntegerField(_("организация автора"), null=True, blank=True)
    actor_token_id = models.BigIntegerField(_("API-токен"), null=True, blank=True)
    actor_label = models.CharField(_("автор"), max_length=200, blank=True)
    action = models.CharField(_("действие"), max_length=100, db_index=True)
    object_type = models.CharField(_("тип объекта"), max_length=100, blank=True)
    object_id = models.CharField(_("id объекта"), max_length=64, blank=True)
    object_repr = models.CharField(_("объект"), max_length=200, blank=True)
    organisation_id = models.BigIntegerField(_("организация"), null=True, blank=True, db_index=True)
    #: The vendor whose programs the action concerns (a plain id, like ``organisation_id``);
    #: empty when it concerns no one vendor (a partner's card, which all its vendors see).
    vendor_id = models.BigIntegerField(_("вендор"), null=True, blank=True, db_index=True)
    before = models.JSONField(_("было"), null=True, blank=True, encoder=DjangoJSONEncoder)
    after = models.JSONField(_("стало"), null=True, blank=True, encoder=DjangoJSONEncoder)
    ip = models.GenericIPAddressField(_("IP-адрес"), null=True, blank=True)
    request_id = models.CharField(_("id запроса"), max_length=64, blank=True, db_index=True)
    at = models.DateTimeField(_("когда"), default=now, db_index=True)

    class Meta:
        verbose_name = _("событие аудита")
        verbose_name_plural = _("журнал аудита")
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["object_type", "object_id"], name="audit_object_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.object_type}#{self.object_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Insert only: an audit row that exists is never written again."""
        if not self._state.adding:
            raise AuditEventError("audit events are immutable")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        """Refused: the log keeps every row."""
        raise AuditEventError("audit events are never deleted")

    def changes(self) -> list[tuple[str, str, str]]:
        """(key, before, after) of every key in either side, as text for pages that show the
        change: "—" for nothing, да/нет for yes/no, JSON for nested values."""
        before = self.before if isinstance(self.before, dict) else {}
        after = self.after if isinstance(self.after, dict) else {}
        keys = list(dict.fromkeys([*before, *after]))
        return [(key, _shown(before.get(key)), _shown(after.get(key))) for key in keys]


def _shown(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return str(_("да") if value else _("нет"))
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, cls=DjangoJSONEncoder)
    return str(value)
