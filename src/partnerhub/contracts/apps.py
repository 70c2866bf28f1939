"""App config of contracts."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ContractsConfig(AppConfig):
    """partnerhub.contracts: the contract of an enrolment, the application to join."""

    name = "partnerhub.contracts"
    label = "contracts"
    verbose_name = _("Договоры")

    def ready(self) -> None:
        # its notification rules register with notifications (notification_rules.register)
        from partnerhub.contracts import notification_rules  # noqa: F401
