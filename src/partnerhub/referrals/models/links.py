"""Clicks on referral links and partners' promo codes (spec: referrals.md, "Joining", "Promo
codes"; issue 5, item 6).

A click keeps no personal data: the visitor's IP address is stored only as an HMAC-SHA256 with
the site's secret key (enough to count unique visitors, not to recover the address).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from partnerhub.partners.models import Program
from partnerhub.referrals.models.partner import ReferralPartner

REFERER_MAX = 500
USER_AGENT_MAX = 500


class ReferralClick(models.Model):
    """One visit of ``/r/<code>`` with a known, unblocked partner code."""

    partner = models.ForeignKey(
        ReferralPartner, on_delete=models.CASCADE, related_name="clicks", verbose_name=_("партнёр")
    )
    at = models.DateTimeField(_("время"))
    referer = models.CharField(_("источник перехода"), max_length=REFERER_MAX, blank=True)
    ip_hash = models.CharField(_("хеш IP-адреса"), max_length=64, blank=True)
    user_agent = models.CharField(_("браузер"), max_length=USER_AGENT_MAX, blank=True)

    class Meta:
        verbose_name = _("переход по реферальной ссылке")
        verbose_name_plural = _("переходы по реферальным ссылкам")
        ordering = ["-at", "-id"]
        indexes = [
            # Click statistics: one partner's clicks in a period, by day and by visitor.
            models.Index(fields=["partner", "at"], name="referral_click_partner_at"),
            models.Index(fields=["partner", "ip_hash"], name="referral_click_partner_ip"),
        ]

    def __str__(self) -> str:
        return f"{self.partner_id} @ {self.at:%Y-%m-%d %H:%M}"


class PromoCode(models.Model):
    """A promo code a partner made for its clients (промокод).

    ``code`` is kept as typed; ``code_key`` (its casefold) makes codes unique in a program
    regardless of case. ``valid_until`` is inclusive (the code works through that Moscow day).
    """

    program = models.ForeignKey(
        Program, on_delete=models.PROTECT, related_name="promo_codes", verbose_name=_("программа")
    )
    partner = models.ForeignKey(
        ReferralPartner,
        on_delete=models.PROTECT,
        related_name="promo_codes",
        verbose_name=_("партнёр"),
    )
    code = models.CharField(_("промокод"), max_length=32)
    code_key = models.CharField(max_length=32, editable=False)
    client_bonus = models.CharField(_("бонус клиенту"), max_length=64)
    valid_from = models.DateField(_("действует с"))
    valid_until = models.DateField(_("действует по"))
    deactivated_at = models.DateTimeField(_("отключён"), null=True, blank=True)
    created_at = models.DateTimeField(_("создан"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("создал"),
    )

    class Meta:
        verbose_name = _("промокод")
        verbose_name_plural = _("промокоды")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["program", "code_key"], name="promo_code_unique"),
            models.CheckConstraint(
                condition=Q(valid_until__gte=F("valid_from")), name="promo_code_period_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["partner", "created_at"], name="promo_code_partner_created"),
        ]

    def __str__(self) -> str:
        return self.code
