"""Shared primitives with no domain knowledge: errors, access rules, API error format, validators."""
