"""App config of referrals."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReferralsConfig(AppConfig):
    """partnerhub.referrals."""

    name = "partnerhub.referrals"
    label = "referrals"
    verbose_name = _("Реферальная программа")

    def ready(self) -> None:
        from partnerhub.referrals import (
            handlers,  # noqa: F401  (outbox handlers register)
            notification_rules,  # noqa: F401  (notifications)
        )
