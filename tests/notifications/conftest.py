"""Fixtures of the notification tests: partner A's enrolment in a program (the SMTP server
fixture `smtp` comes from tests/smtp.py)."""

from __future__ import annotations

import pytest

from partnerhub.partners.models import Enrolment, EnrolmentState
from tests.factories import ProgramFactory


@pytest.fixture
def enrolment(world) -> Enrolment:
    """Partner A's application to the program «Реферальная программа 2026»."""
    program = ProgramFactory(vendor=world.vendor, name="Реферальная программа 2026")
    return Enrolment.objects.create(
        organisation=world.partner_a, program=program, state=EnrolmentState.APPLIED
    )
