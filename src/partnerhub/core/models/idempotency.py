"""Placeholder: filled by the idempotency work."""
