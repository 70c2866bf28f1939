"""URL_TABLE entries of the lead marketplace's vendor report (issue 7, item 7); see
tests/test_url_authorisation.py.

Every member of the vendor's staff reads the report and its CSV; partner users never do.
"""

from __future__ import annotations

from typing import Any

from tests.leads.factories import leads_url_objects
from tests.test_url_authorisation import Entry, vendor_only

TABLE: dict[str, Entry] = {
    "backoffice:lead_report": Entry(expect={"GET": vendor_only()}),
    "backoffice:lead_report_csv": Entry(expect={"GET": vendor_only()}),
}


def objects(world: Any) -> dict[str, Any]:
    """The report reads the leads program with partner A's deal (shared with the other lead
    tables)."""
    return leads_url_objects(world)
