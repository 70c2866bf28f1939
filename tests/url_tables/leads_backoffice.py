"""URL_TABLE entries of the lead marketplace (issue 7); see tests/test_url_authorisation.py."""

from __future__ import annotations

from typing import Any

from tests.test_url_authorisation import Entry

TABLE: dict[str, Entry] = {}


def objects(world: Any) -> dict[str, Any]:
    """Objects of partner A the entries point at."""
    return {}
