"""App config of partners."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PartnersConfig(AppConfig):
    """partnerhub.partners."""

    name = "partnerhub.partners"
    label = "partners"
    verbose_name = _("Партнёры")
