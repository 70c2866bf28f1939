"""Admin of contracts: read-only (states move only through the back office's services)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from partnerhub.contracts.models import Contract


@admin.register(Contract)
class ContractAdmin(admin.ModelAdmin):
    list_display = ("organisation", "program", "state", "application_number", "signed_on")
    list_filter = ("state", "program", "closing_channel")
    search_fields = ("organisation__short_name", "organisation__inn", "application_number")
    readonly_fields = [f.name for f in Contract._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Contract | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Contract | None = None) -> bool:
        return False
