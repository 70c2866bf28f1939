"""Admin of notifications: read-only views of the in-app notifications, of sent email and of the
users' email preferences (changed by the users themselves in the cabinet)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from partnerhub.core.admin.readonly import ReadOnlyAdminMixin
from partnerhub.notifications.models import EmailSent, Notification, NotificationPreference


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written by the outbox handlers only: nobody adds or edits them by hand."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "user", "organisation", "kind", "title", "read_at")
    list_filter = ("kind",)
    search_fields = ("user__email", "title")
    list_select_related = ("user", "organisation")
    date_hierarchy = "created_at"


@admin.register(EmailSent)
class EmailSentAdmin(ReadOnlyAdmin):
    list_display = ("claimed_at", "recipient", "template", "sent_at", "event_id")
    list_filter = ("template",)
    search_fields = ("recipient",)


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Which optional emails each user switched off (no row: the email is sent)."""

    list_display = ("user", "event_type", "email", "updated_at")
    list_filter = ("event_type", "email")
    search_fields = ("user__email", "event_type")
    list_select_related = ("user",)
