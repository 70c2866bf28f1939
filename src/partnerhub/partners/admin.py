"""Admin of partners: organisations with card history, programs, enrolments, statuses."""

from django.contrib import admin

from partnerhub.partners.card import CARD_FIELDS
from partnerhub.partners.models import (
    CardChange,
    Enrolment,
    Organisation,
    OrgKind,
    Program,
    StatusGrant,
    StatusKind,
)


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

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


class StatusGrantInline(admin.TabularInline):
    """Statuses granted to the partner."""

    model = StatusGrant
    extra = 0
    autocomplete_fields = ["status"]
    exclude = ["granted_by"]


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    """Organisations. A partner's card is read only here: it changes through the cabinet and
    the API, which check every number and keep the history."""

    list_display = ["short_name", "kind", "legal_form", "inn", "email", "created_at"]
    list_filter = ["kind", "legal_form", "vat_payer", "is_distributor"]
    search_fields = ["short_name", "full_name", "inn", "email"]
    inlines = [StatusGrantInline, CardChangeInline]

    def get_readonly_fields(self, request, obj=None):  # type: ignore[no-untyped-def]
        if obj is not None and obj.kind == OrgKind.PARTNER:
            return [*CARD_FIELDS, "kind"]
        return []


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

    list_display = ["name", "code"]
    search_fields = ["name", "code"]
