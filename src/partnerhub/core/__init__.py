"""Shared primitives with no domain knowledge: errors, access, API errors, validators."""
