"""App config of the partner cabinet."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CabinetConfig(AppConfig):
    """partnerhub.cabinet: the partner's pages."""

    name = "partnerhub.cabinet"
    label = "cabinet"
    verbose_name = _("Кабинет партнёра")
