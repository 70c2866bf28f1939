"""App config of the core primitives."""

from django.apps import AppConfig


class CoreConfig(AppConfig):
    """partnerhub.core: shared primitives."""

    name = "partnerhub.core"
    label = "core"

    def ready(self) -> None:
        # The outbox wakes the worker through the delivery task, which imports the outbox.
        from partnerhub.core import outbox, tasks

        outbox.waker_set(tasks.deliver_event)
