"""Admin of the audit log: viewable and filterable, never added, changed or deleted (issue
"Audit log": read-only in the admin)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.http import HttpRequest

from partnerhub.core.admin.readonly import ReadOnlyAdminMixin
from partnerhub.core.models.audit import AuditEvent

if TYPE_CHECKING:
    _ModelAdmin = admin.ModelAdmin[AuditEvent]
else:  # the admin classes are not subscriptable at run time
    _ModelAdmin = admin.ModelAdmin


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, _ModelAdmin):
    """The audit log, read only: rows are written by services, in their transaction."""

    list_display = [
        "at",
        "action",
        "actor_kind",
        "actor_label",
        "object_type",
        "object_id",
        "object_repr",
        "organisation_id",
        "ip",
        "request_id",
    ]
    list_filter = ["actor_kind", "object_type", "at"]
    search_fields = ["^action", "actor_label", "=object_id", "object_repr", "=request_id"]
    date_hierarchy = "at"
    show_full_result_count = False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in AuditEvent._meta.fields]
