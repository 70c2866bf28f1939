"""Admin of closing documents: read-only (an issued document never changes; numbers are
given by ``documents.services.closing_documents_issue`` only)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from partnerhub.documents.models import ClosingDocument, DocumentCounter


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ClosingDocument)
class ClosingDocumentAdmin(ReadOnlyAdmin):
    list_display = (
        "number",
        "kind",
        "issued_on",
        "partner",
        "vendor",
        "amount",
        "vat_rate",
        "pdf_status",
    )
    list_filter = ("kind", "year", "pdf_status")
    search_fields = ("number", "partner__short_name", "partner__inn", "source")
    list_select_related = ("partner", "vendor")


@admin.register(DocumentCounter)
class DocumentCounterAdmin(ReadOnlyAdmin):
    list_display = ("vendor", "kind", "year", "last_sequence")
