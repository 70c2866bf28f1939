"""URL_TABLE entries of the partners pages (issue 6); see tests/test_url_authorisation.py.

Statuses: staff read them, program managers and administrators grant and end them. Counterparty
documents: every partner user reads its own, the owner and the accountant upload, partner B gets
404 on A's file; staff program managers, administrators and accountants read, the first two
review. POSTs with an empty body: forms answer 400, the review redirects with a message.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from partnerhub.partners import services
from partnerhub.partners.models import CounterpartyDocumentKind, StatusKind
from tests.partners.issue6_factories import pdf_bytes, upload_file
from tests.test_url_authorisation import (
    BAD_REQUEST,
    FOUND,
    NOT_FOUND,
    OK,
    Entry,
    partner_only,
    vendor_only,
)

STATUS_EDITORS = ("program_manager", "administrator")
DOCUMENT_VIEWERS = ("program_manager", "administrator", "accountant")
DOCUMENT_REVIEWERS = ("program_manager", "administrator")

TABLE: dict[str, Entry] = {
    "cabinet:counterparty_documents": Entry(expect={"GET": partner_only()}),
    "cabinet:counterparty_document_upload": Entry(
        expect={"POST": partner_only(("owner", "accountant"), BAD_REQUEST)},
    ),
    "cabinet:counterparty_document_download": Entry(
        expect={"GET": partner_only(b_ok=NOT_FOUND)},
        kwargs=lambda o: {"pk": o.counterparty_document.pk},
    ),
    "backoffice:partner_statuses": Entry(
        expect={"GET": vendor_only()},
        kwargs=lambda o: {"pk": o.partner_a_pk},
    ),
    "backoffice:partner_status_grant": Entry(
        expect={"POST": vendor_only(STATUS_EDITORS, BAD_REQUEST)},
        kwargs=lambda o: {"pk": o.partner_a_pk},
    ),
    "backoffice:partner_status_end": Entry(
        expect={"POST": vendor_only(STATUS_EDITORS, BAD_REQUEST)},
        kwargs=lambda o: {"pk": o.status_grant.pk},
    ),
    "backoffice:status_kinds": Entry(expect={"GET": vendor_only()}),
    "backoffice:status_kind_add": Entry(
        expect={"POST": vendor_only(STATUS_EDITORS, BAD_REQUEST)},
    ),
    "backoffice:counterparty_documents": Entry(expect={"GET": vendor_only(DOCUMENT_VIEWERS)}),
    "backoffice:counterparty_document_download": Entry(
        expect={"GET": vendor_only(DOCUMENT_VIEWERS, OK)},
        kwargs=lambda o: {"pk": o.counterparty_document.pk},
    ),
    "backoffice:counterparty_document_review": Entry(
        expect={"POST": vendor_only(DOCUMENT_REVIEWERS, FOUND)},
        kwargs=lambda o: {"pk": o.counterparty_document.pk},
    ),
    "backoffice:counterparty_document_kinds": Entry(
        expect={"GET": vendor_only(DOCUMENT_VIEWERS)},
    ),
    "backoffice:counterparty_document_kind_add": Entry(
        expect={"POST": vendor_only(DOCUMENT_REVIEWERS, BAD_REQUEST)},
    ),
}


def objects(world: Any) -> dict[str, Any]:
    """A status of partner A and a counterparty document of partner A (its file is written to
    the default storage: the download must find it)."""
    status_grant = services.status_grant(
        organisation=world.partner_a,
        status=StatusKind.objects.get(vendor=world.vendor, code="franchisee"),
        valid_from=dt.date(2026, 1, 1),
    )
    document = services.counterparty_document_upload(
        organisation=world.partner_a,
        kind=CounterpartyDocumentKind.objects.get(
            vendor=world.vendor, code="registration-certificate"
        ),
        upload=upload_file("ogrn.pdf", pdf_bytes()),
        name="ogrn.pdf",
    )
    return {"status_grant": status_grant, "counterparty_document": document}
