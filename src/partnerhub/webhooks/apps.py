"""App config of webhooks: registers the outbox handler once the app registry is ready."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebhooksConfig(AppConfig):
    """partnerhub.webhooks: outgoing webhooks per organisation."""

    name = "partnerhub.webhooks"
    label = "webhooks"
    verbose_name = _("Вебхуки")

    def ready(self) -> None:
        # emit() writes one delivery per handler registered at that moment: register early.
        from partnerhub.webhooks import handlers  # noqa: F401
