"""App config of documents."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DocumentsConfig(AppConfig):
    """partnerhub.documents: contracts, the application to join, acts and invoices as PDF."""

    name = "partnerhub.documents"
    label = "documents"
    verbose_name = _("Документы")
