"""Admin of identity: users, API tokens (digests only), invitations, login attempts."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from partnerhub.accounts.models import ApiToken, Invitation, LoginAttempt, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    """Users by email, with organisation and role."""

    ordering = ["email"]
    list_display = ["email", "full_name", "organisation", "role", "is_active", "is_staff"]
    list_filter = ["role", "is_active", "is_staff", "organisation__kind"]
    search_fields = ["email", "full_name", "organisation__short_name"]
    list_select_related = ["organisation"]
    autocomplete_fields = ["organisation"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Профиль"), {"fields": ("full_name", "phone", "organisation", "role")}),
        (_("Доступ"), {"fields": ("is_active", "is_staff", "is_superuser", "groups")}),
        (_("Даты"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """API tokens; the key itself is never stored, only its digest."""

    list_display = [
        "name",
        "organisation",
        "role",
        "prefix",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    list_select_related = ["organisation"]
    readonly_fields = ["prefix", "key_digest", "created_at", "last_used_at"]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    """Employee invitations."""

    list_display = [
        "email",
        "organisation",
        "role",
        "created_at",
        "expires_at",
        "accepted_at",
        "revoked_at",
    ]
    list_select_related = ["organisation"]
    readonly_fields = ["token_digest"]


@admin.register(LoginAttempt)
class LoginAttemptAdmin(admin.ModelAdmin):
    """Login attempts (read only)."""

    list_display = ["email", "ip", "succeeded", "at"]
    list_filter = ["succeeded"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
