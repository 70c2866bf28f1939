"""``partnerhub demo_load`` leaves a partner ready for the issue 6 walk in the demo: «Альфа»
holds a status, its documents were accepted and its contract signed by EDO, and its bonuses
(from the demo's referral events) can be converted at once."""

from __future__ import annotations

import io
from decimal import Decimal

from django.core.management import call_command

from partnerhub.contracts.selectors import closing_documents_channel, contract_signed
from partnerhub.core import clock
from partnerhub.partners import selectors as partner_selectors
from partnerhub.partners.models import Organisation, StatusKind
from partnerhub.payouts import selectors
from tests.referrals.links_support import record_portal_events


def test_the_demo_partner_can_convert_its_bonuses(db, monkeypatch):
    record_portal_events(monkeypatch)  # as the other demo test: enrolments register at once

    call_command("demo_load", stdout=io.StringIO())

    alfa = Organisation.objects.get(inn="5027123457")
    eligibility = selectors.conversion_eligibility(organisation=alfa)
    assert eligibility.reasons == []
    assert eligibility.balance >= Decimal("5000.00")
    assert contract_signed(organisation=alfa, program=eligibility.program)
    assert closing_documents_channel(organisation=alfa, program=eligibility.program) == "edo"
    assert partner_selectors.counterparty_documents_accepted(organisation=alfa)
    assert partner_selectors.has_status(organisation=alfa, code="ck-erp", on=clock.today())
    # the demo adds no status kinds of its own: the migration's are the list
    assert StatusKind.objects.filter(name__icontains="облачной CRM").count() == 1
