"""Creating, withdrawing and expiring leads (issue 7, part 2; spec leads.md, "Leads")."""

from __future__ import annotations

import datetime as dt

import pytest

from partnerhub.core import clock
from partnerhub.core.errors import Conflict, ValidationFailed
from partnerhub.core.models.outbox import OutboxEvent
from partnerhub.leads import services
from partnerhub.leads.models import Lead, LeadProgramSettings, LeadState, Region
from tests.factories import ProgramFactory
from tests.leads.factories import make_lead


def test_lead_is_published_with_normalised_phone_and_expiry(program):
    # given a lifetime of 30 days (the default)
    now = clock.now()
    # when a lead is created with a national phone format
    lead = make_lead(program, contact_phone="8 (916) 123-45-67", now=now)
    # then the phone is E.164, it is open and expires in 30 days
    assert lead.contact_phone == "+79161234567"
    assert lead.state == LeadState.OPEN
    assert lead.published_at == now
    assert lead.expires_at == now + dt.timedelta(days=30)


def test_lifetime_comes_from_the_program_settings(program):
    LeadProgramSettings.objects.filter(program=program).update(lead_lifetime_days=7)
    now = clock.now()
    lead = make_lead(program, now=now)
    assert lead.expires_at == now + dt.timedelta(days=7)


def test_publication_emits_an_event(program):
    lead = make_lead(program)
    event = OutboxEvent.objects.get(event_type="leads.lead.published")
    assert event.payload == {"lead_id": lead.pk}


def test_region_may_be_given_by_code(program):
    lead = make_lead(program, region="78")
    assert lead.region.name == "Санкт-Петербург"


def test_every_bad_field_is_named(program):
    with pytest.raises(ValidationFailed) as refused:
        make_lead(
            program,
            company_name=" ",
            region="999",
            company_size="huge",
            need="everything",
            contact_name="",
            contact_phone="12345",
            contact_email="no-at-sign",
        )
    assert set(refused.value.fields) == {
        "company_name",
        "region",
        "company_size",
        "need",
        "contact_name",
        "contact_phone",
        "contact_email",
    }
    assert not Lead.objects.exists()


def test_phone_or_email_is_required(program):
    with pytest.raises(ValidationFailed) as refused:
        make_lead(program, contact_phone="", contact_email="")
    assert list(refused.value.fields) == ["contact_phone"]


def test_email_alone_is_enough(program):
    lead = make_lead(program, contact_phone="")
    assert lead.contact_phone == ""


def test_inactive_region_is_refused(program):
    Region.objects.filter(code="77").update(is_active=False)
    with pytest.raises(ValidationFailed) as refused:
        make_lead(program, region="77")
    assert "region" in refused.value.fields


def test_program_of_another_kind_is_refused(world):
    referrals = ProgramFactory(vendor=world.vendor)
    with pytest.raises(ValidationFailed) as refused:
        make_lead(referrals)
    assert "program" in refused.value.fields


def test_same_external_id_returns_the_first_lead(program):
    first = make_lead(program, source="api", external_id="CRM-1001")
    again = make_lead(program, source="api", external_id="CRM-1001", company_name="Другая")
    assert again.pk == first.pk
    assert Lead.objects.count() == 1
    assert OutboxEvent.objects.filter(event_type="leads.lead.published").count() == 1


def test_same_external_id_from_another_source_is_another_lead(program):
    first = make_lead(program, source="api", external_id="1001")
    other = make_lead(program, source="import", external_id="1001")
    assert other.pk != first.pk


def test_leads_without_external_id_are_never_merged(program):
    make_lead(program)
    make_lead(program)
    assert Lead.objects.count() == 2


def test_withdraw_needs_a_reason(world, program):
    lead = make_lead(program)
    with pytest.raises(ValidationFailed) as refused:
        services.lead_withdraw(lead=lead, reason=" ", by=world.user("vendor:support"))
    assert "reason" in refused.value.fields


def test_withdraw_takes_the_lead_off_with_its_reason(world, program):
    lead = make_lead(program)
    services.lead_withdraw(lead=lead, reason="Дубль", by=world.user("vendor:support"))
    lead.refresh_from_db()
    assert lead.state == LeadState.WITHDRAWN and lead.state_reason == "Дубль"
    with pytest.raises(Conflict):
        services.lead_withdraw(lead=lead, reason="Ещё раз", by=None)


def test_leads_expire_moves_only_leads_whose_time_is_up(program):
    now = clock.now()
    old = make_lead(program, now=now - dt.timedelta(days=30))
    fresh = make_lead(program, now=now - dt.timedelta(days=29))
    moved = services.leads_expire(now=now)
    assert moved == 1
    old.refresh_from_db()
    fresh.refresh_from_db()
    assert old.state == LeadState.EXPIRED
    assert fresh.state == LeadState.OPEN


def test_leads_expire_twice_moves_nothing_the_second_time(program):
    now = clock.now()
    make_lead(program, now=now - dt.timedelta(days=31))
    assert services.leads_expire(now=now) == 1
    assert services.leads_expire(now=now) == 0
