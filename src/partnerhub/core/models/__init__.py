"""Models of the core primitives, one module a topic (importing them registers the models)."""

from partnerhub.core.models import audit, calendar, idempotency, ledger, outbox  # noqa: F401
