"""App config of the demo data."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DemoConfig(AppConfig):
    """partnerhub.demo: the ``demo_load`` command that fills an empty portal with demo data."""

    name = "partnerhub.demo"
    label = "demo"
    verbose_name = _("Демо-данные")
