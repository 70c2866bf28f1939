"""Notification rules of partner statuses and counterparty documents (issue 6), merged into
``rules.RULES``."""

from __future__ import annotations

from partnerhub.notifications.rules import Rule

RULES: list[Rule] = []
