"""App config of notifications: registers the outbox handlers once the app registry is ready."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    """partnerhub.notifications: email and in-app notifications from outbox events."""

    name = "partnerhub.notifications"
    label = "notifications"
    verbose_name = _("Уведомления")

    def ready(self) -> None:
        # Handlers must be registered before any event is emitted: emit() writes one delivery
        # row per handler registered at that moment.
        # The rules of accounts and partners; each app above registers its own in its ready().
        from partnerhub.notifications import handlers, rules_partners  # noqa: F401
