"""A partner of the referral program: its code and registration time (spec: "Joining")."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from partnerhub.partners.models import Organisation, Program


class ReferralPartner(models.Model):
    """A partner in the referral program.

    Portal partners get one when their enrolment in the program becomes active (the
    registration time is that moment); partners that come only in event files
    (``partner.registered``) have no organisation. ``code`` is the partner code of the referral
    link; ``blocked`` mirrors a suspended or terminated enrolment (blocked partners attribute
    no new clients).
    """

    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="referral_partners")
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="referral_partners",
    )
    code = models.CharField(_("код партнёра"), max_length=32, unique=True)
    registered_at = models.DateTimeField(_("зарегистрирован"))
    inn = models.CharField(_("ИНН"), max_length=12, blank=True)
    blocked = models.BooleanField(_("заблокирован"), default=False)

    class Meta:
        verbose_name = _("партнёр реферальной программы")
        verbose_name_plural = _("партнёры реферальной программы")
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(
                fields=["program", "organisation"], name="referral_partner_once_per_program"
            )
        ]

    def __str__(self) -> str:
        return self.code
