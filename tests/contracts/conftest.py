"""Fixtures of the contract tests: partner A in the referral program, its card complete, its
counterparty documents uploaded, files stored under a temporary media root."""

from __future__ import annotations

import pytest

from partnerhub.contracts.models import Contract
from partnerhub.partners.models import Program
from tests.contracts.factories import (
    complete_card,
    contract_started,
    referral_program,
    upload_required_documents,
)


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def program(world) -> Program:
    """The vendor's referral program with partner A enrolled (active)."""
    return referral_program(world)


@pytest.fixture
def ready(world, program) -> Contract:
    """Partner A's draft contract, card complete (not a VAT payer), documents uploaded."""
    complete_card(world.partner_a, vat_payer=False)
    upload_required_documents(world.partner_a, by=world.user("a:owner"))
    return contract_started(world, program)
