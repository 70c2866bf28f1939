"""App config of the lead marketplace."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LeadsConfig(AppConfig):
    """partnerhub.leads: implementation requests, marketplace access, deals, the partner's CRM."""

    name = "partnerhub.leads"
    label = "leads"
    verbose_name = _("Биржа заявок на внедрение")

    def ready(self) -> None:
        # emit() writes one delivery per handler registered at that moment: register early.
        # Huey discovers only ``leads.tasks``; the CRM's and the notification jobs' periodic
        # tasks live beside their code and are registered here.
        from partnerhub.leads import (
            notification_rules,  # noqa: F401  (notifications)
            notify,  # noqa: F401
        )
        from partnerhub.leads.crm import handlers, tasks  # noqa: F401
