"""App config of the vendor back office."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BackofficeConfig(AppConfig):
    """partnerhub.backoffice: the vendor staff's pages."""

    name = "partnerhub.backoffice"
    label = "backoffice"
    verbose_name = _("Бэк-офис")
