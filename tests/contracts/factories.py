"""Helpers of the contract tests: a referral program, a complete card, uploaded counterparty
documents, a started contract, a contract moved along the workflow."""

from __future__ import annotations

import io
from typing import Any

from partnerhub.contracts import services
from partnerhub.contracts.models import Contract
from partnerhub.partners import selectors as partner_selectors
from partnerhub.partners import services as partner_services
from partnerhub.partners.models import (
    Enrolment,
    EnrolmentState,
    Organisation,
    Program,
    ProgramKind,
)
from tests.factories import COMPLETE_UL_CARD, ProgramFactory

PROGRAM_NAME = "Партнёрская программа Битрикс24"
#: Partner A's INN (tests/conftest.py) and an EDO id of Diadoc built on it.
A_INN = "7707083893"
DIADOC_ID = "2BM-7707083893-773601001"
POSTAL_ADDRESS = "236001, г. Калининград, Московский пр-кт, д. 261"
#: A tiny PDF that the upload check accepts (header and end-of-file marker).
TINY_PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def referral_program(world: Any, *, enrol: Organisation | None = None) -> Program:
    """The vendor's referral program; partner A (or ``enrol``) enrolled and active."""
    program = ProgramFactory(vendor=world.vendor, name=PROGRAM_NAME, kind=ProgramKind.REFERRALS)
    Enrolment.objects.create(
        organisation=enrol or world.partner_a, program=program, state=EnrolmentState.ACTIVE
    )
    return program


def complete_card(organisation: Organisation, *, vat_payer: bool = False, **fields: Any) -> None:
    """Fill the card of ``organisation`` completely (its name and INN kept)."""
    card = {k: v for k, v in COMPLETE_UL_CARD.items() if k not in {"short_name", "full_name"}}
    card.update(
        full_name=f"Общество с ограниченной ответственностью {organisation.short_name[4:]}",
        vat_payer=vat_payer,
        **fields,
    )
    partner_services.card_update(
        organisation=organisation, changes=card, changed_by=None, source="test"
    )
    organisation.refresh_from_db()


def upload_required_documents(organisation: Organisation, *, by: Any = None) -> None:
    """Upload a file for every required kind of counterparty document."""
    for kind in partner_selectors.counterparty_document_kinds_for(organisation=organisation):
        if kind.required:
            partner_services.counterparty_document_upload(
                organisation=organisation,
                kind=kind,
                upload=io.BytesIO(TINY_PDF),
                name=f"{kind.code}.pdf",
                by=by,
            )


def contract_started(world: Any, program: Program) -> Contract:
    """Partner A's draft contract in ``program``."""
    return services.contract_start(
        organisation=world.partner_a, program=program, by=world.user("a:owner")
    )


def prepare_edo(contract: Contract, *, by: Any = None, **overrides: Any) -> Contract:
    """The application and closing documents by Diadoc with partner A's id."""
    values = {
        "application_channel": "edo",
        "closing_channel": "edo",
        "edo_operator": "diadoc",
        "edo_participant_id": DIADOC_ID,
        **overrides,
    }
    return services.contract_prepare(contract=contract, by=by, **values)


def signed(world: Any, contract: Contract) -> Contract:
    """Send, take under review and sign ``contract`` (prepared by EDO) today."""
    from partnerhub.core import clock

    staff = world.user("vendor:program_manager")
    contract = prepare_edo(contract)
    contract = services.contract_send(contract=contract, by=world.user("a:owner"))
    contract = services.contract_review_start(contract=contract, by=staff)
    return services.contract_sign(contract=contract, signed_on=clock.today(), by=staff)
