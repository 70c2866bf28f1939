"""App config of identity."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    """partnerhub.accounts: users, tokens, invitations."""

    name = "partnerhub.accounts"
    label = "accounts"
    verbose_name = _("Пользователи и доступ")
