"""App config of the core primitives."""

from django.apps import AppConfig


class CoreConfig(AppConfig):
    """partnerhub.core: shared primitives."""

    name = "partnerhub.core"
    label = "core"
