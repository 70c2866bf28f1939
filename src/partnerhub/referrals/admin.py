"""Admin of the referral program: configuration versions and partners, read only.

Versions are added through the back office editor (``backoffice:referral_config_new``), which
checks them and audits the change; partners and their codes are assigned by the services. The
admin shows both for support and investigation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib import admin

from partnerhub.core.admin.readonly import ReadOnlyAdminMixin
from partnerhub.referrals.models import ConfigVersion, ReferralPartner

if TYPE_CHECKING:
    _VersionAdmin = admin.ModelAdmin[ConfigVersion]
    _PartnerAdmin = admin.ModelAdmin[ReferralPartner]
else:  # the admin classes are not subscriptable at run time
    _VersionAdmin = _PartnerAdmin = admin.ModelAdmin


@admin.register(ConfigVersion)
class ConfigVersionAdmin(ReadOnlyAdminMixin, _VersionAdmin):
    """Versions of program configurations (append-only: a correction is a new version)."""

    list_display = ["program", "version", "effective_from", "created_by", "created_at", "comment"]
    list_filter = ["program"]
    list_select_related = ["program", "created_by"]
    ordering = ["program", "-version"]


@admin.register(ReferralPartner)
class ReferralPartnerAdmin(ReadOnlyAdminMixin, _PartnerAdmin):
    """Partners of the referral program with their codes."""

    list_display = ["code", "organisation", "program", "registered_at", "inn", "blocked"]
    list_filter = ["program", "blocked"]
    list_select_related = ["organisation", "program"]
    search_fields = ["=code", "inn", "organisation__short_name"]
    date_hierarchy = "registered_at"
