"""URL_TABLE entries of the partner's CRM (issue 7, part 6); see tests/test_url_authorisation.py.

Every partner role reads its own CRM page; the owner and the managers connect (an empty form
comes back with its error) and disconnect. Our inbound webhook is public: the secret in its
path is the authentication (a wrong one is a 404, tested in tests/leads/crm).
"""

from __future__ import annotations

from typing import Any

from partnerhub.leads.models import CrmConnection
from tests.test_url_authorisation import BAD_REQUEST, FOUND, OK, Entry, partner_only, same_for_all

CRM_EDITORS = ("owner", "manager")

TABLE: dict[str, Entry] = {
    "cabinet:lead_crm": Entry(
        expect={"GET": partner_only(), "POST": partner_only(CRM_EDITORS, BAD_REQUEST)},
    ),
    "cabinet:lead_crm_disconnect": Entry(expect={"POST": partner_only(CRM_EDITORS, FOUND)}),
    "cabinet:lead_crm_secret_rotate": Entry(expect={"POST": partner_only(CRM_EDITORS, FOUND)}),
    "crm_inbound": Entry(
        expect={"POST": same_for_all(OK)},
        kwargs=lambda o: {"secret": o.crm_connection.inbound_secret},
        body={"POST": {"event": "ONCRMDEALUPDATE", "data[FIELDS][ID]": "1"}},
    ),
}


def objects(world: Any) -> dict[str, Any]:
    """Partner A's CRM connection (made directly: connecting calls the portal)."""
    connection = CrmConnection.objects.create(
        organisation=world.partner_a,
        webhook_url="https://alfa.bitrix24.ru/rest/1/abcdef0123456789/",
    )
    return {"crm_connection": connection}
