"""URL_TABLE entries of the back office's lead marketplace pages and the public site form
(issue 7); see tests/test_url_authorisation.py.

Every member of the vendor's staff reads the leads, a lead, the partners' accesses and the
settings; the program manager and the administrator enter and import leads, withdraw them,
review partners' pages and change the settings. Partner users are refused everywhere. Empty
posts come back as forms with their errors (400); an empty review is refused with a message and
a redirect. The site form is public: everyone gets it, an empty post comes back with its errors.
"""

from __future__ import annotations

from typing import Any

from tests.leads.factories import leads_url_objects
from tests.test_url_authorisation import BAD_REQUEST, FOUND, OK, Entry, same_for_all, vendor_only

WRITERS = ("program_manager", "administrator")


def _marketplace(objects: Any) -> dict[str, Any]:
    """No URL arguments, but the pages need the vendor's leads program to exist."""
    assert objects.lead_program is not None
    return {}


TABLE: dict[str, Entry] = {
    "backoffice:leads": Entry(expect={"GET": vendor_only()}, kwargs=_marketplace),
    "backoffice:lead_create": Entry(
        expect={"GET": vendor_only(WRITERS), "POST": vendor_only(WRITERS, BAD_REQUEST)},
        kwargs=_marketplace,
    ),
    "backoffice:lead_import": Entry(
        # A post without a file comes back with the form's error.
        expect={"GET": vendor_only(WRITERS), "POST": vendor_only(WRITERS, BAD_REQUEST)},
        kwargs=_marketplace,
    ),
    "backoffice:lead": Entry(expect={"GET": vendor_only()}, kwargs=lambda o: {"pk": o.lead.pk}),
    "backoffice:lead_withdraw": Entry(
        # No reason: the lead's page comes back with the error; the lead stays open.
        expect={"POST": vendor_only(WRITERS, BAD_REQUEST)},
        kwargs=lambda o: {"pk": o.lead.pk},
    ),
    "backoffice:lead_deal": Entry(
        expect={"GET": vendor_only()}, kwargs=lambda o: {"pk": o.lead_deal.pk}
    ),
    "backoffice:lead_accesses": Entry(expect={"GET": vendor_only()}, kwargs=_marketplace),
    "backoffice:lead_access_review": Entry(
        # No decision: refused with a message and a redirect to the list.
        expect={"POST": vendor_only(WRITERS, FOUND)},
        kwargs=lambda o: {"pk": o.lead_access_a.pk},
    ),
    "backoffice:lead_settings": Entry(
        # All staff read; an empty post comes back with the form's errors.
        expect={"GET": vendor_only(), "POST": vendor_only(WRITERS, BAD_REQUEST)},
        kwargs=_marketplace,
    ),
    # The vendor's site form for clients: public; an empty post comes back with its errors.
    "lead_request": Entry(
        expect={"GET": same_for_all(OK), "POST": same_for_all(BAD_REQUEST)},
        kwargs=_marketplace,
    ),
    "lead_request_done": Entry(expect={"GET": same_for_all(OK)}),
}


def objects(world: Any) -> dict[str, Any]:
    """The shared marketplace objects (tests.leads.factories.leads_url_objects) and partner A's
    marketplace access in that program."""
    from partnerhub.leads.models import MarketplaceAccess

    shared = leads_url_objects(world)
    access = MarketplaceAccess.objects.get(
        organisation=world.partner_a, program=shared["lead_program"]
    )
    return {**shared, "lead_access_a": access}
