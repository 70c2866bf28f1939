"""Notification rules of conversions and payouts (issue 6), merged into ``rules.RULES``."""

from __future__ import annotations

from partnerhub.notifications.rules import Rule

RULES: list[Rule] = []
