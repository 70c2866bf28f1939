"""URL_TABLE entries of the partner's lead marketplace pages (issue 7); see
tests/test_url_authorisation.py.

Every partner role reads the marketplace, its conditions, the deals and a deal of its own
(partner B: 404 on A's deal); the owner and the managers change the conditions, take leads and
work the deals. Vendor staff are refused everywhere (they have the back office). Empty posts come
back as forms with their errors (400); a take redirects (to the new deal, or to the list with the
reason of a refusal), also for partner B, which is eligible in the same marketplace.
"""

from __future__ import annotations

from typing import Any

from tests.leads.factories import leads_url_objects
from tests.test_url_authorisation import BAD_REQUEST, FOUND, NOT_FOUND, Entry, partner_only

WORKERS = ("owner", "manager")


def _deal(objects: Any) -> dict[str, Any]:
    return {"pk": objects.lead_deal.pk}


def _deal_write() -> Entry:
    # A's open deal: an empty form comes back (400); B's owner and manager pass the rule but
    # the deal is A's: 404.
    return Entry(expect={"POST": partner_only(WORKERS, BAD_REQUEST, b_ok=NOT_FOUND)}, kwargs=_deal)


TABLE: dict[str, Entry] = {
    "cabinet:leads": Entry(expect={"GET": partner_only()}),
    "cabinet:lead_conditions": Entry(
        # A post without a known form comes back with the page (400).
        expect={"GET": partner_only(), "POST": partner_only(WORKERS, BAD_REQUEST)},
    ),
    "cabinet:lead_take": Entry(
        # Leads are shared: B (eligible too) takes the same lead; both get redirected.
        expect={"POST": partner_only(WORKERS, FOUND, b_ok=FOUND)},
        kwargs=lambda o: {"pk": o.lead_untaken.pk},
    ),
    "cabinet:deals": Entry(expect={"GET": partner_only()}),
    "cabinet:deal": Entry(expect={"GET": partner_only(b_ok=NOT_FOUND)}, kwargs=_deal),
    "cabinet:deal_edit": _deal_write(),
    "cabinet:deal_event_add": _deal_write(),
    "cabinet:deal_stage": _deal_write(),
    "cabinet:deal_win": _deal_write(),
    "cabinet:deal_lose": _deal_write(),
}


def objects(world: Any) -> dict[str, Any]:
    """The shared marketplace objects (tests.leads.factories.leads_url_objects): partner A's
    open deal ``lead_deal`` and the untaken ``lead_untaken``."""
    return leads_url_objects(world)
