"""App config of payouts."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PayoutsConfig(AppConfig):
    """partnerhub.payouts: conversion of bonuses, payouts, deadlines, payment registers."""

    name = "partnerhub.payouts"
    label = "payouts"
    verbose_name = _("Выплаты")

    def ready(self) -> None:
        # its notification rules register with notifications (notification_rules.register)
        from partnerhub.payouts import notification_rules  # noqa: F401
