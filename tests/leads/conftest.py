"""Fixtures of the lead-marketplace tests: a leads program of the world's vendor (default
settings: a cap of 3 open deals, no cap per lead) with partners A and B eligible."""

from __future__ import annotations

import pytest

from tests.leads.factories import lead_program, make_eligible


@pytest.fixture
def program(world):
    """The vendor's lead marketplace with partners A and B eligible."""
    program = lead_program(world.vendor)
    make_eligible(world.partner_a, program)
    make_eligible(world.partner_b, program)
    return program
