"""URL_TABLE entries of the contracts pages (issue 6); see tests/test_url_authorisation.py.

Import the helpers from there (``Entry``, ``partner_only``, ``vendor_only``, ``own_or_staff``,
statuses...). ``objects(world)`` makes the objects of partner A the URLs point at; they become
attributes of the ``a_objects`` namespace the ``kwargs`` callables receive.
"""

from __future__ import annotations

from typing import Any

from tests.test_url_authorisation import Entry

TABLE: dict[str, Entry] = {}


def objects(world: Any) -> dict[str, Any]:
    return {}
