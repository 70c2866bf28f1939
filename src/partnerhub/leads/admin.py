"""Admin of the lead marketplace (issue 7).

Editable: ``LeadProgramSettings`` (the caps, lifetimes, the agreement version and text) and
``Region`` (staff switch a region off or add one). Read-only: leads, accesses, deals and the
audit of reveals, which the services write (caps, counters, audit rows and events in step).
Django's admin is for the vendor's administrators only (``core.access.ADMIN_SITE``), so the
clients' contacts shown on a lead here are visible to them alone; the lists show no contacts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib import admin

from partnerhub.core.admin.readonly import ReadOnlyAdminMixin
from partnerhub.leads.models import (
    ContactReveal,
    Deal,
    DealEvent,
    Lead,
    LeadProgramSettings,
    MarketplaceAccess,
    Region,
)

if TYPE_CHECKING:
    _SettingsAdmin = admin.ModelAdmin[LeadProgramSettings]
    _RegionAdmin = admin.ModelAdmin[Region]
    _LeadAdmin = admin.ModelAdmin[Lead]
    _AccessAdmin = admin.ModelAdmin[MarketplaceAccess]
    _DealAdmin = admin.ModelAdmin[Deal]
    _RevealAdmin = admin.ModelAdmin[ContactReveal]
    _EventInline = admin.TabularInline[DealEvent, Deal]
else:  # the admin classes are not subscriptable at run time
    _SettingsAdmin = _RegionAdmin = _LeadAdmin = _AccessAdmin = _DealAdmin = admin.ModelAdmin
    _RevealAdmin = admin.ModelAdmin
    _EventInline = admin.TabularInline


@admin.register(LeadProgramSettings)
class LeadProgramSettingsAdmin(_SettingsAdmin):
    list_display = (
        "program",
        "open_deal_cap",
        "partners_per_lead_cap",
        "lead_lifetime_days",
        "agreement_version",
        "site_form_enabled",
    )
    raw_id_fields = ("program",)


@admin.register(Region)
class RegionAdmin(_RegionAdmin):
    list_display = ("code", "name", "is_active")
    list_filter = ("is_active",)
    search_fields = ("code", "name")

    def has_delete_permission(self, request, obj=None):
        return False  # leads refer to regions: switch one off instead


@admin.register(Lead)
class LeadAdmin(ReadOnlyAdminMixin, _LeadAdmin):
    list_display = (
        "pk",
        "company_name",
        "program",
        "region",
        "source",
        "state",
        "published_at",
        "expires_at",
        "take_count",
    )
    list_filter = ("state", "source", "company_size", "need")
    search_fields = ("company_name", "external_id")
    raw_id_fields = ("program", "region", "created_by")
    date_hierarchy = "published_at"


@admin.register(MarketplaceAccess)
class MarketplaceAccessAdmin(ReadOnlyAdminMixin, _AccessAdmin):
    list_display = (
        "organisation",
        "program",
        "page_state",
        "crm_tariff",
        "agreement_version",
        "open_deals",
    )
    list_filter = ("page_state", "crm_tariff")
    search_fields = ("organisation__short_name", "organisation__inn", "page_url")
    raw_id_fields = (
        "organisation",
        "program",
        "page_checked_by",
        "agreement_accepted_by",
    )


class DealEventInline(ReadOnlyAdminMixin, _EventInline):
    model = DealEvent
    fields = ("kind", "happened_at", "text", "author")
    raw_id_fields = ("author",)
    extra = 0


@admin.register(Deal)
class DealAdmin(ReadOnlyAdminMixin, _DealAdmin):
    list_display = ("pk", "organisation", "lead", "stage", "is_open", "taken_at", "closed_at")
    list_filter = ("stage", "is_open")
    search_fields = ("organisation__short_name", "company_name", "won_reference")
    raw_id_fields = ("lead", "organisation", "program", "taken_by")
    inlines = (DealEventInline,)


@admin.register(ContactReveal)
class ContactRevealAdmin(ReadOnlyAdminMixin, _RevealAdmin):
    list_display = ("at", "organisation", "actor_label", "channel", "lead", "deal")
    list_filter = ("channel",)
    search_fields = ("organisation__short_name", "actor_label")
    raw_id_fields = ("lead", "deal", "organisation", "user")
    date_hierarchy = "at"
