"""Admin of the referral program, read only: configuration versions, partners, the event store
(events, rejected events, each partner's standing, clients), promo codes and link clicks.

Versions are added through the back office editor (``backoffice:referral_config_new``), which
checks them and audits the change; partners, codes, events and the live state are written by the
services only. The admin shows them for support and investigation. A partner's live state is
shown by its standing columns only: the engine's stored ``state`` is neither loaded nor shown.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from partnerhub.core.admin.readonly import ReadOnlyAdminMixin
from partnerhub.referrals.engine.results import STANDING_FIGURES
from partnerhub.referrals.models import (
    ConfigVersion,
    EventRejection,
    PartnerState,
    PromoCode,
    ReferralClick,
    ReferralClient,
    ReferralPartner,
    StoredEvent,
)

if TYPE_CHECKING:
    _VersionAdmin = admin.ModelAdmin[ConfigVersion]
    _PartnerAdmin = admin.ModelAdmin[ReferralPartner]
    _EventAdmin = admin.ModelAdmin[StoredEvent]
    _RejectionAdmin = admin.ModelAdmin[EventRejection]
    _StateAdmin = admin.ModelAdmin[PartnerState]
    _ClientAdmin = admin.ModelAdmin[ReferralClient]
    _PromoCodeAdmin = admin.ModelAdmin[PromoCode]
    _ClickAdmin = admin.ModelAdmin[ReferralClick]
else:  # the admin classes are not subscriptable at run time
    _VersionAdmin = _PartnerAdmin = _EventAdmin = _RejectionAdmin = admin.ModelAdmin
    _StateAdmin = _ClientAdmin = _PromoCodeAdmin = _ClickAdmin = admin.ModelAdmin

#: The standing of a partner as the admin shows it (never the engine's ``state`` blob).
STANDING_FIELDS = (
    "program",
    "partner",
    "registered",
    *STANDING_FIGURES,
    "updated_at",
)


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


@admin.register(StoredEvent)
class StoredEventAdmin(ReadOnlyAdminMixin, _EventAdmin):
    """Events exactly as received (append-only), newest received first."""

    list_display = ["event_id", "type", "at", "source", "received_at"]
    list_filter = ["type", "source"]
    search_fields = ["event_id", "subject"]
    ordering = ["-received_at", "-id"]
    show_full_result_count = False  # the store holds millions of rows: no second COUNT(*)


@admin.register(EventRejection)
class EventRejectionAdmin(ReadOnlyAdminMixin, _RejectionAdmin):
    """Events refused at intake or not applied by the engine, with the reason."""

    list_display = ["received_at", "stage", "event_id", "partner", "reason", "source"]
    list_filter = ["stage", "source"]
    search_fields = ["event_id", "=partner"]
    ordering = ["-received_at", "-id"]


@admin.register(PartnerState)
class PartnerStateAdmin(ReadOnlyAdminMixin, _StateAdmin):
    """Each partner code's standing; the live state behind it is not loaded."""

    list_display = [f for f in STANDING_FIELDS if f != "program"]
    list_filter = ["program", "registered", "level"]
    search_fields = ["=partner"]
    fields = STANDING_FIELDS
    exclude = ["state"]
    ordering = ["-level", "-active_points", "partner"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[PartnerState]:
        return super().get_queryset(request).defer("state")


@admin.register(ReferralClient)
class ReferralClientAdmin(ReadOnlyAdminMixin, _ClientAdmin):
    """Clients of the vendor's product with their partner (or the reason there is none)."""

    list_display = [
        "client",
        "partner",
        "registered_at",
        "active_at",
        "payments",
        "paid",
        "reason",
    ]
    list_filter = ["program"]
    search_fields = ["client", "=partner"]
    date_hierarchy = "registered_at"


@admin.register(PromoCode)
class PromoCodeAdmin(ReadOnlyAdminMixin, _PromoCodeAdmin):
    """Partners' promo codes (created and switched off in the cabinet)."""

    list_display = [
        "code",
        "partner",
        "program",
        "client_bonus",
        "valid_from",
        "valid_until",
        "deactivated_at",
        "created_at",
    ]
    list_filter = ["program"]
    list_select_related = ["partner", "program"]
    search_fields = ["code", "=partner__code"]
    date_hierarchy = "created_at"


@admin.register(ReferralClick)
class ReferralClickAdmin(ReadOnlyAdminMixin, _ClickAdmin):
    """Visits of referral links (the visitor's IP address only as a keyed hash)."""

    list_display = ["at", "partner", "referer", "user_agent"]
    list_select_related = ["partner"]
    search_fields = ["=partner__code", "referer"]
    date_hierarchy = "at"
    show_full_result_count = False
