"""URL_TABLE entries of the lead-marketplace API (issue 7); see tests/test_url_authorisation.py.

Vendor staff post leads (program manager and administrator; an empty body is a 400 naming the
fields). Every partner role reads the marketplace and its own deals (partner B: 404 for A's
deal); the owner and the manager take leads and write deals. The take is of a lead nobody took,
so partner B's owner and manager take it too (201); deal writes with an empty body are 400.
"""

from __future__ import annotations

from typing import Any

from tests.leads.factories import leads_url_objects
from tests.test_url_authorisation import (
    BAD_REQUEST,
    NOT_FOUND,
    OK,
    UNAUTHORISED,
    Entry,
    partner_only,
    vendor_only,
)

WRITERS = ("owner", "manager")
CREATED = 201


def _made(o: Any) -> dict[str, Any]:
    """No URL arguments, but the leads objects must exist (partner A eligible, two leads)."""
    assert o.lead_program is not None
    return {}


def _deal(o: Any) -> dict[str, Any]:
    return {"pk": o.lead_deal.pk}


TABLE: dict[str, Entry] = {
    "api:leads": Entry(
        expect={
            "POST": vendor_only(
                ("program_manager", "administrator"), BAD_REQUEST, anon=UNAUTHORISED
            )
        },
        body={"POST": {}},
        api=True,
    ),
    "api:marketplace_leads": Entry(
        expect={"GET": partner_only(anon=UNAUTHORISED)},
        kwargs=_made,
        api=True,
    ),
    "api:marketplace_lead_take": Entry(
        expect={"POST": partner_only(WRITERS, CREATED, anon=UNAUTHORISED, b_ok=CREATED)},
        kwargs=lambda o: {"pk": o.lead_untaken.pk},
        api=True,
    ),
    "api:deals": Entry(expect={"GET": partner_only(anon=UNAUTHORISED)}, kwargs=_made, api=True),
    "api:deal": Entry(
        expect={
            "GET": partner_only(anon=UNAUTHORISED, b_ok=NOT_FOUND),
            "PATCH": partner_only(WRITERS, OK, anon=UNAUTHORISED, b_ok=NOT_FOUND),
        },
        kwargs=_deal,
        body={"PATCH": {"services": "Внедрение CRM"}},
        api=True,
    ),
    "api:deal_events": Entry(
        expect={"POST": partner_only(WRITERS, BAD_REQUEST, anon=UNAUTHORISED, b_ok=NOT_FOUND)},
        kwargs=_deal,
        body={"POST": {}},
        api=True,
    ),
    "api:deal_stage": Entry(
        expect={"POST": partner_only(WRITERS, BAD_REQUEST, anon=UNAUTHORISED, b_ok=NOT_FOUND)},
        kwargs=_deal,
        body={"POST": {}},
        api=True,
    ),
    "api:deal_win": Entry(
        expect={"POST": partner_only(WRITERS, BAD_REQUEST, anon=UNAUTHORISED, b_ok=NOT_FOUND)},
        kwargs=_deal,
        body={"POST": {}},
        api=True,
    ),
    "api:deal_lose": Entry(
        expect={"POST": partner_only(WRITERS, BAD_REQUEST, anon=UNAUTHORISED, b_ok=NOT_FOUND)},
        kwargs=_deal,
        body={"POST": {}},
        api=True,
    ),
}


def objects(world: Any) -> dict[str, Any]:
    """The leads program, partner A's deal on a taken lead, an untaken lead (both partners
    eligible): ``tests.leads.factories.leads_url_objects``."""
    return leads_url_objects(world)
