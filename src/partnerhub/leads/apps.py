"""App config of the lead marketplace."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LeadsConfig(AppConfig):
    """partnerhub.leads: implementation requests, marketplace access, deals, the partner's CRM."""

    name = "partnerhub.leads"
    label = "leads"
    verbose_name = _("Биржа заявок на внедрение")
