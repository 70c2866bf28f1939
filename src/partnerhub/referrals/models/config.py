"""Versions of a program's configuration (spec: referrals.md, "every number below is a default of
a program configuration that vendor staff can edit, versioned, with the date it takes effect").

A row is one version: the JSON document of ``engine.config.config_to_dict`` without ``version``
and ``effective_from``, which are columns here. Rows are append-only in practice: nothing edits
one; a correction is a new version (``services.config.config_version_create``).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from partnerhub.core.clock import now
from partnerhub.partners.models import Program
from partnerhub.referrals.engine.config import ProgramConfig, config_from_dict


class ConfigVersion(models.Model):
    """One version of a referral program's rules, in force from ``effective_from``."""

    program = models.ForeignKey(
        Program,
        verbose_name=_("программа"),
        on_delete=models.PROTECT,
        related_name="referral_config_versions",
    )
    version = models.PositiveIntegerField(_("версия"))
    effective_from = models.DateTimeField(_("действует с"))
    document = models.JSONField(_("настройки"))
    comment = models.TextField(_("комментарий"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("автор"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("создана"), default=now)

    class Meta:
        verbose_name = _("версия настроек реферальной программы")
        verbose_name_plural = _("версии настроек реферальной программы")
        ordering = ["program", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["program", "version"], name="referral_config_version_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.program_id} v{self.version}"

    def full_document(self) -> dict[str, Any]:
        """The document with its version and effective time, as ``config_from_dict`` reads it."""
        return {
            **self.document,
            "version": self.version,
            "effective_from": self.effective_from.isoformat(),
        }

    def to_config(self) -> ProgramConfig:
        """The engine's value of this version."""
        return config_from_dict(self.full_document())
