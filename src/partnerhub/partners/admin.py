"""Admin of partners: organisations with card history, programs, enrolments, statuses."""

from django.contrib import admin

from partnerhub.partners.card import CARD_FIELDS
from partnerhub.partners.models import (
    CardChange,
    CounterpartyDocument,
    CounterpartyDocumentKind,
    Enrolment,
    Organisation,
    OrgKind,
    Program,
    StatusGrant,
    StatusKind,
)
from partnerhub.partners.services.catalogues import vendor_catalogues_seed


class CardChangeInline(admin.TabularInline):
    """Card history, read only."""

    model = CardChange
    extra = 0
    can_delete = False
    readonly_fields = [
        "field",
        "old_value",
        "new_value",
        "changed_by",
        "actor_label",
        "source",
        "changed_at",
    ]

    def has_add_permission(self, request, obj=None):
        return False


class StatusGrantInline(admin.TabularInline):
    """Statuses granted to the partner, read only: granting and ending go through the back
    office (``backoffice:partner_statuses``), which refuses overlaps, audits and notifies."""

    model = StatusGrant
    fk_name = "organisation"
    extra = 0
    can_delete = False
    fields = readonly_fields = (
        "status",
        "valid_from",
        "valid_until",
        "granted_by",
        "granted_at",
        "ended_by",
    )

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    """Organisations. A partner's card is read only here: it changes through the cabinet and
    the API, which check every number and keep the history."""

    list_display = ["short_name", "kind", "legal_form", "inn", "email", "created_at"]
    list_filter = ["kind", "legal_form", "vat_payer", "is_distributor"]
    search_fields = ["short_name", "full_name", "inn", "email"]
    inlines = [StatusGrantInline, CardChangeInline]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.kind == OrgKind.PARTNER:
            return [*CARD_FIELDS, "kind"]
        return []

    def save_model(self, request, obj, form, change):
        """A vendor created here starts with its own catalogues of status and document kinds."""
        super().save_model(request, obj, form, change)
        if obj.kind == OrgKind.VENDOR:
            vendor_catalogues_seed(vendor=obj)


@admin.register(Program)
class ProgramAdmin(admin.ModelAdmin):
    """The vendor's programs."""

    list_display = ["name", "code", "kind", "card_edit_mode", "auto_approve", "is_active"]
    prepopulated_fields = {"code": ["name"]}


@admin.register(Enrolment)
class EnrolmentAdmin(admin.ModelAdmin):
    """Enrolments; state changes belong to the back office, which applies the transition table."""

    list_display = ["organisation", "program", "state", "applied_at", "state_changed_at"]
    list_filter = ["state", "program"]
    list_select_related = ["organisation", "program"]
    readonly_fields = ["state", "state_reason", "applied_at", "state_changed_at"]
    autocomplete_fields = ["organisation", "distributor"]


@admin.register(StatusKind)
class StatusKindAdmin(admin.ModelAdmin):
    """Kinds of partner status the vendor grants."""

    list_display = ["name", "code", "vendor", "is_active"]
    list_filter = ["vendor", "is_active"]
    search_fields = ["name", "code"]


@admin.register(CounterpartyDocumentKind)
class CounterpartyDocumentKindAdmin(admin.ModelAdmin):
    """Documents the vendor asks of partners for the counterparty check."""

    list_display = ["name", "code", "vendor", "applies_to", "required", "is_active", "position"]
    list_filter = ["vendor", "applies_to", "required", "is_active"]
    search_fields = ["name", "code"]


@admin.register(CounterpartyDocument)
class CounterpartyDocumentAdmin(admin.ModelAdmin):
    """Uploads, read only: files are served and reviewed in the back office, which checks the
    state table and tells the partner."""

    list_display = ["organisation", "kind", "original_name", "state", "uploaded_at"]
    list_filter = ["state", "kind"]
    list_select_related = ["organisation", "kind"]
    search_fields = ["organisation__short_name", "organisation__inn", "original_name"]
    exclude = ["file"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
