"""App config of payouts."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PayoutsConfig(AppConfig):
    """partnerhub.payouts: conversion of bonuses, payouts, deadlines, payment registers."""

    name = "partnerhub.payouts"
    label = "payouts"
    verbose_name = _("Выплаты")
