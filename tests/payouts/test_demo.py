"""``partnerhub demo_load`` leaves a partner ready for the issue 6 walk in the demo: «Альфа»
holds a status, its documents were accepted and its contract signed by EDO, and its bonuses
(from the demo's referral events) can be converted at once."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import time_machine
from django.core.management import call_command

from partnerhub.contracts.selectors import closing_documents_channel, contract_signed
from partnerhub.core import clock
from partnerhub.core.models.outbox import OutboxEvent
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


def test_every_event_the_demo_emits_about_a_partner_names_its_vendor(db, monkeypatch):
    """Outbox events of program data carry the program's vendor (issue 14: for a partner
    enrolled with two vendors, an unmarked event would show on both vendors' outbox pages)."""
    record_portal_events(monkeypatch)

    call_command("demo_load", stdout=io.StringIO())

    vendor = Organisation.objects.get(kind="vendor")
    partners = Organisation.objects.filter(kind="partner").values("pk")
    about_partners = OutboxEvent.objects.filter(organisation_id__in=partners)
    kinds = set(about_partners.values_list("event_type", flat=True))
    assert "leads.deal.taken" in kinds
    unmarked = about_partners.exclude(vendor_id=vendor.pk)
    # the partner's own card and employees belong to no vendor's program
    unmarked = unmarked.exclude(event_type__startswith="partners.card").exclude(
        event_type__startswith="accounts."
    )
    assert sorted(set(unmarked.values_list("event_type", flat=True))) == []


def test_the_demo_loads_when_moscow_is_already_a_day_ahead_of_utc(db, monkeypatch):
    """At 22:30 UTC it is 01:30 the next day in Moscow: the demo signs its contract on the
    program's date (it took the UTC date, a day before the application was sent)."""
    record_portal_events(monkeypatch)

    with time_machine.travel(dt.datetime(2026, 12, 7, 22, 30, tzinfo=dt.UTC), tick=True):
        call_command("demo_load", stdout=io.StringIO())
        alfa = Organisation.objects.get(inn="5027123457")
        program = selectors.conversion_eligibility(organisation=alfa).program

        assert contract_signed(organisation=alfa, program=program)
