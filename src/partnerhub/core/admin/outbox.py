"""Admin of the outbox: events with their deliveries, read only (core issue, "Outbox and tasks").

Rows are written by ``emit()`` and the delivery engine only; staff requeue dead deliveries on the
back office page (``/backoffice/outbox/``), which goes through ``core.delivery.retry_dead``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.http import HttpRequest

from partnerhub.core.admin.readonly import ReadOnlyAdminMixin
from partnerhub.core.models.outbox import OutboxDelivery, OutboxEvent

DELIVERY_FIELDS = (
    "handler",
    "target",
    "state",
    "attempts",
    "next_attempt_at",
    "locked_until",
    "delivered_at",
    "last_error",
)

if TYPE_CHECKING:
    _DeliveryInline = admin.TabularInline[OutboxDelivery, OutboxEvent]
    _EventAdmin = admin.ModelAdmin[OutboxEvent]
else:  # Django's admin classes take no type parameters at run time
    _DeliveryInline = admin.TabularInline
    _EventAdmin = admin.ModelAdmin


class OutboxDeliveryInline(ReadOnlyAdminMixin, _DeliveryInline):
    """The deliveries of one event: handler, target, state, attempts, last error."""

    model = OutboxDelivery
    extra = 0
    can_delete = False
    fields = DELIVERY_FIELDS
    readonly_fields = DELIVERY_FIELDS


@admin.register(OutboxEvent)
class OutboxEventAdmin(ReadOnlyAdminMixin, _EventAdmin):
    """Outbox events, read only, each with its deliveries inline."""

    list_display = ["created_at", "event_type", "organisation_id", "id"]
    list_filter = ["event_type", "created_at"]
    search_fields = ["=id", "^event_type", "=organisation_id"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    inlines = [OutboxDeliveryInline]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in OutboxEvent._meta.fields]
