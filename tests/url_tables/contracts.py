"""URL_TABLE entries of the contracts pages (issue 6); see tests/test_url_authorisation.py.

``objects(world)`` gives partner A a sent contract (with its application PDF) in the referral
program; partner B's users get 404 on every URL that points at it.
"""

from __future__ import annotations

from typing import Any
from unittest import mock

from tests.test_url_authorisation import (
    BAD_REQUEST,
    FOUND,
    NOT_FOUND,
    OK,
    Entry,
    partner_only,
    vendor_only,
)

EDITORS = ("owner", "accountant")
DECIDERS = ("program_manager", "administrator")


def _contract(o: Any) -> dict[str, Any]:
    return {"pk": o.contract.pk}


TABLE: dict[str, Entry] = {
    # Cabinet: any partner user reads its own contracts; the owner and the accountant prepare
    # and send the application.
    "cabinet:contracts": Entry(expect={"GET": partner_only()}),
    "cabinet:contract_start": Entry(
        # A's contract exists already: starting again goes to it. A program is not a partner's
        # object, so B is not tried.
        expect={"POST": partner_only(EDITORS, FOUND)},
        kwargs=lambda o: {"program_pk": o.contract_program.pk},
    ),
    "cabinet:contract": Entry(
        # GET for every partner role; POST (the channels) by editors: an empty form is 400.
        expect={
            "GET": partner_only(b_ok=NOT_FOUND),
            "POST": partner_only(EDITORS, BAD_REQUEST, b_ok=NOT_FOUND),
        },
        kwargs=_contract,
    ),
    "cabinet:contract_send": Entry(
        # Already sent: refused with a message and back to the contract page.
        expect={"POST": partner_only(EDITORS, FOUND, b_ok=NOT_FOUND)},
        kwargs=_contract,
    ),
    "cabinet:contract_application_preview": Entry(
        expect={"GET": partner_only(b_ok=NOT_FOUND)}, kwargs=_contract
    ),
    "cabinet:contract_application": Entry(
        expect={"GET": partner_only(b_ok=NOT_FOUND)}, kwargs=_contract
    ),
    # Back office: every member of staff reads; program managers and administrators decide.
    "backoffice:contracts": Entry(expect={"GET": vendor_only()}),
    "backoffice:contract": Entry(expect={"GET": vendor_only()}, kwargs=_contract),
    "backoffice:contract_review": Entry(
        expect={"POST": vendor_only(DECIDERS, FOUND)}, kwargs=_contract
    ),
    "backoffice:contract_sign": Entry(
        expect={"POST": vendor_only(DECIDERS, FOUND)}, kwargs=_contract
    ),
    "backoffice:contract_reject": Entry(
        expect={"POST": vendor_only(DECIDERS, FOUND)}, kwargs=_contract
    ),
    "backoffice:contract_terminate": Entry(
        expect={"POST": vendor_only(DECIDERS, FOUND)}, kwargs=_contract
    ),
    "backoffice:contract_application": Entry(expect={"GET": vendor_only(ok=OK)}, kwargs=_contract),
}


def objects(world: Any) -> dict[str, Any]:
    """Partner A's contract in the referral program, sent by EDO."""
    from partnerhub.contracts import services
    from tests.contracts.factories import (
        complete_card,
        prepare_edo,
        referral_program,
        upload_required_documents,
    )

    program = referral_program(world)
    complete_card(world.partner_a)
    upload_required_documents(world.partner_a)
    contract = services.contract_start(organisation=world.partner_a, program=program)
    # the application is rendered once for the whole table (1,300 cases build these objects;
    # the PDF itself is tested in tests/contracts): the same real PDF for every case
    with mock.patch.object(services, "render_pdf", _render_once):
        contract = services.contract_send(contract=prepare_edo(contract))
    return {"contract": contract, "contract_program": program}


_rendered: dict[str, bytes] = {}


def _render_once(template_name: str, context: dict[str, Any]) -> bytes:
    from partnerhub.core.pdf import render_pdf

    if template_name not in _rendered:
        _rendered[template_name] = render_pdf(template_name, context)
    return _rendered[template_name]
