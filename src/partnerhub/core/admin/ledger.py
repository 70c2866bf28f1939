"""Placeholder: filled by the ledger work."""
