"""URL_TABLE entries of the documents pages (issue 6); see tests/test_url_authorisation.py.

Import the helpers from there (``Entry``, ``partner_only``, ``vendor_only``, ``own_or_staff``,
statuses...). ``objects(world)`` makes the objects of partner A the URLs point at; they become
attributes of the ``a_objects`` namespace the ``kwargs`` callables receive.

Closing documents are accounting documents: the partner's owner and accountant read its own
(another partner's: 404); the vendor's accountant, program manager and administrator read all
and render again a document whose PDF failed (the act here is ready: the retry is refused with a
message and the page redirects back).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from partnerhub.documents.models import ClosingDocument, DocumentKind
from partnerhub.documents.services import requisites_snapshot
from tests.documents.factories import ready_without_rendering
from tests.test_url_authorisation import FOUND, NOT_FOUND, Entry, partner_only, vendor_only

PARTNER_READERS = ("owner", "accountant")
STAFF_READERS = ("accountant", "program_manager", "administrator")

TABLE: dict[str, Entry] = {
    "cabinet:closing_documents": Entry(expect={"GET": partner_only(PARTNER_READERS)}),
    "cabinet:closing_document_download": Entry(
        # Partner B's owner and accountant pass the rule but the act is A's: 404, not 403.
        expect={"GET": partner_only(PARTNER_READERS, b_ok=NOT_FOUND)},
        kwargs=lambda o: {"pk": o.closing_document.pk},
    ),
    "backoffice:closing_documents": Entry(expect={"GET": vendor_only(STAFF_READERS)}),
    "backoffice:closing_document_download": Entry(
        expect={"GET": vendor_only(STAFF_READERS)},
        kwargs=lambda o: {"pk": o.closing_document.pk},
    ),
    "backoffice:closing_document_render_retry": Entry(
        expect={"POST": vendor_only(STAFF_READERS, FOUND)},
        kwargs=lambda o: {"pk": o.closing_document.pk},
    ),
}


def objects(world: Any) -> dict[str, Any]:
    """An act of partner A, ready (a stub file stands for its PDF: nothing is rendered)."""
    act = ClosingDocument.objects.create(
        vendor=world.vendor,
        partner=world.partner_a,
        kind=DocumentKind.ACT,
        year=2026,
        sequence=1,
        number="А-2026-00001",
        issued_on=dt.date(2026, 3, 2),
        amount=Decimal("6000.00"),
        vat_amount=Decimal("0.00"),
        amount_without_vat=Decimal("6000.00"),
        service="Вознаграждение по партнёрской программе за привлечение клиентов",
        basis="Договор № П-17",
        source="payout:url-table",
        seller=requisites_snapshot(world.partner_a),
        buyer=requisites_snapshot(world.vendor),
    )
    (ready,) = ready_without_rendering([act])
    return {"closing_document": ready}
