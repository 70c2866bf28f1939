"""Admin of the core primitives, one module a topic (importing them registers the admins)."""

from partnerhub.core.admin import audit, calendar, ledger, outbox  # noqa: F401
