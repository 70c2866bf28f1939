"""Admin of webhooks: endpoints (the secret never shown) and the attempt log, read only.

Partners manage their endpoints in the cabinet; the admin is for looking, so nothing here is
added, changed or deleted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.http import HttpRequest

from partnerhub.core.admin.readonly import ReadOnlyAdminMixin
from partnerhub.webhooks.models import WebhookAttempt, WebhookEndpoint

if TYPE_CHECKING:
    _EndpointAdmin = admin.ModelAdmin[WebhookEndpoint]
    _AttemptAdmin = admin.ModelAdmin[WebhookAttempt]
else:  # Django's admin classes take no type parameters at run time
    _EndpointAdmin = _AttemptAdmin = admin.ModelAdmin

ENDPOINT_FIELDS = ("organisation", "url", "event_types", "is_active", "created_at", "created_by")


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ReadOnlyAdminMixin, _EndpointAdmin):
    """Endpoints of every organisation; the signing secret is left out."""

    list_display = ["url", "organisation", "is_active", "event_types", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["url", "organisation__short_name", "organisation__inn"]
    list_select_related = ["organisation"]
    fields = ENDPOINT_FIELDS
    readonly_fields = ENDPOINT_FIELDS


@admin.register(WebhookAttempt)
class WebhookAttemptAdmin(ReadOnlyAdminMixin, _AttemptAdmin):
    """Every request to an endpoint, with its result."""

    list_display = ["at", "endpoint", "event_type", "attempt", "outcome", "status_code", "error"]
    list_filter = ["outcome", "at"]
    search_fields = ["=event_id", "^event_type", "endpoint__url"]
    list_select_related = ["endpoint"]
    date_hierarchy = "at"
    show_full_result_count = False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in WebhookAttempt._meta.fields]
