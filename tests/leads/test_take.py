"""Taking a lead (issue 7, part 4; spec leads.md, "Taking a lead"; seed, points 2, 3 and 5)."""

from __future__ import annotations

import datetime as dt

import pytest

from partnerhub.core import clock
from partnerhub.core.models.outbox import OutboxEvent
from partnerhub.leads import services
from partnerhub.leads.errors import (
    LeadAlreadyTaken,
    LeadCapReached,
    LeadNotOpen,
    NotEligible,
    OpenDealCapReached,
)
from partnerhub.leads.models import (
    ContactReveal,
    Deal,
    DealStage,
    LeadProgramSettings,
    MarketplaceAccess,
    PageState,
)
from tests.factories import OrganisationFactory
from tests.leads.factories import (
    CONTACT_EMAIL,
    CONTACT_NAME,
    CONTACT_PHONE,
    eligible_partner,
    make_lead,
)


def _open_deals(organisation, program) -> int:
    return MarketplaceAccess.objects.get(organisation=organisation, program=program).open_deals


def test_take_creates_a_new_deal_for_the_partner(world, program):
    # given an open lead
    lead = make_lead(program)
    # when partner A's manager takes it
    deal = services.lead_take(lead=lead, organisation=world.partner_a, by=world.user("a:manager"))
    # then A has an open deal at stage "new" with the lead's company, and one open deal counted
    assert deal.organisation == world.partner_a
    assert deal.stage == DealStage.NEW and deal.is_open
    assert deal.company_name == lead.company_name
    assert deal.taken_by == world.user("a:manager")
    assert _open_deals(world.partner_a, program) == 1
    lead.refresh_from_db()
    assert lead.take_count == 1 and lead.first_taken_at is not None


def test_take_writes_a_reveal_of_the_contacts(world, program):
    lead = make_lead(program)
    deal = services.lead_take(
        lead=lead, organisation=world.partner_a, by=world.user("a:owner"), ip="10.0.0.7"
    )
    reveal = ContactReveal.objects.get(deal=deal)
    assert reveal.channel == "take"
    assert reveal.user == world.user("a:owner")
    assert reveal.organisation == world.partner_a
    assert reveal.fields == ["contact_name", "contact_phone", "contact_email"]
    assert reveal.ip == "10.0.0.7"
    assert reveal.actor_label == "owner@a.example"


def test_take_emits_the_taken_event(world, program):
    lead = make_lead(program)
    deal = services.lead_take(lead=lead, organisation=world.partner_a)
    event = OutboxEvent.objects.get(event_type="leads.deal.taken")
    assert event.payload == {"deal_id": deal.pk, "lead_id": lead.pk}
    assert event.organisation_id == world.partner_a.pk


def test_same_partner_cannot_take_a_lead_twice(world, program):
    lead = make_lead(program)
    services.lead_take(lead=lead, organisation=world.partner_a)
    with pytest.raises(LeadAlreadyTaken):
        services.lead_take(lead=lead, organisation=world.partner_a)
    assert Deal.objects.filter(lead=lead).count() == 1
    assert _open_deals(world.partner_a, program) == 1


def test_several_partners_take_the_same_lead_each_with_its_own_deal(world, program):
    lead = make_lead(program)
    deal_a = services.lead_take(lead=lead, organisation=world.partner_a)
    deal_b = services.lead_take(lead=lead, organisation=world.partner_b)
    assert deal_a.pk != deal_b.pk
    lead.refresh_from_db()
    assert lead.take_count == 2


def test_fourth_take_at_the_default_cap_of_three_is_refused(world, program):
    # given partner A holds 3 open deals (the spec's default cap)
    for _ in range(3):
        services.lead_take(lead=make_lead(program), organisation=world.partner_a)
    fourth = make_lead(program)
    # when it takes a fourth lead
    with pytest.raises(OpenDealCapReached) as refused:
        services.lead_take(lead=fourth, organisation=world.partner_a)
    # then it is refused with the reason, and nothing is written
    assert refused.value.code == "open_deal_cap"
    assert "3 из 3" in str(refused.value.message)
    assert not Deal.objects.filter(lead=fourth).exists()
    fourth.refresh_from_db()
    assert fourth.take_count == 0
    assert _open_deals(world.partner_a, program) == 3


def test_the_cap_is_per_partner(world, program):
    for _ in range(3):
        services.lead_take(lead=make_lead(program), organisation=world.partner_a)
    deal = services.lead_take(lead=make_lead(program), organisation=world.partner_b)
    assert deal.organisation == world.partner_b


@pytest.mark.parametrize("close", ["won", "lost"])
def test_closing_a_deal_frees_a_slot_under_the_cap(world, program, close):
    deals = [
        services.lead_take(lead=make_lead(program), organisation=world.partner_a) for _ in range(3)
    ]
    if close == "won":
        services.deal_close_won(
            deal=deals[0], won_kind="portal", won_reference="stroymontazh.bitrix24.ru"
        )
    else:
        services.deal_close_lost(deal=deals[0], reason="price")
    assert _open_deals(world.partner_a, program) == 2
    deal = services.lead_take(lead=make_lead(program), organisation=world.partner_a)
    assert deal.is_open
    assert _open_deals(world.partner_a, program) == 3


def test_a_program_cap_other_than_the_default_applies(world, program):
    LeadProgramSettings.objects.filter(program=program).update(open_deal_cap=1)
    services.lead_take(lead=make_lead(program), organisation=world.partner_a)
    with pytest.raises(OpenDealCapReached, match="1 из 1"):
        services.lead_take(lead=make_lead(program), organisation=world.partner_a)


def test_partners_per_lead_cap_refuses_the_next_partner(world, program):
    # given a cap of 2 partners per lead and two partners who took it
    LeadProgramSettings.objects.filter(program=program).update(partners_per_lead_cap=2)
    lead = make_lead(program)
    services.lead_take(lead=lead, organisation=world.partner_a)
    services.lead_take(lead=lead, organisation=world.partner_b)
    third = eligible_partner(program)
    # when a third partner takes it
    with pytest.raises(LeadCapReached) as refused:
        services.lead_take(lead=lead, organisation=third)
    # then it is refused and its open deals did not grow
    assert refused.value.code == "lead_cap"
    assert _open_deals(third, program) == 0
    lead.refresh_from_db()
    assert lead.take_count == 2


def test_no_cap_per_lead_by_default(world, program):
    lead = make_lead(program)
    for _ in range(6):
        services.lead_take(lead=lead, organisation=eligible_partner(program))
    lead.refresh_from_db()
    assert lead.take_count == 6


def test_expired_lead_cannot_be_taken(world, program):
    published = clock.now() - dt.timedelta(days=31)
    lead = make_lead(program, now=published)
    with pytest.raises(LeadNotOpen) as refused:
        services.lead_take(lead=lead, organisation=world.partner_a)
    assert refused.value.code == "lead_not_open"
    assert _open_deals(world.partner_a, program) == 0


def test_withdrawn_lead_cannot_be_taken(world, program):
    lead = make_lead(program)
    services.lead_withdraw(lead=lead, reason="Клиент передумал", by=world.user("vendor:support"))
    with pytest.raises(LeadNotOpen):
        services.lead_take(lead=lead, organisation=world.partner_a)


def test_lead_withdrawn_after_it_was_loaded_cannot_be_taken(world, program):
    # given a lead object loaded while open, then withdrawn by staff
    lead = make_lead(program)
    stale = type(lead).objects.get(pk=lead.pk)
    services.lead_withdraw(lead=lead, reason="Дубль", by=None)
    # when the partner takes the stale copy: the conditional update refuses
    with pytest.raises(LeadNotOpen):
        services.lead_take(lead=stale, organisation=world.partner_a)
    assert _open_deals(world.partner_a, program) == 0


def test_ineligible_partner_is_refused_with_the_missing_conditions(world, program):
    # given partner A whose page is back to review
    MarketplaceAccess.objects.filter(organisation=world.partner_a).update(
        page_state=PageState.PENDING
    )
    lead = make_lead(program)
    with pytest.raises(NotEligible) as refused:
        services.lead_take(lead=lead, organisation=world.partner_a)
    assert refused.value.code == "not_eligible"
    assert refused.value.http_status == 403
    assert "Страница о пакетах внедрения проверена" in str(refused.value.message)
    assert not Deal.objects.exists()


def test_partner_outside_the_program_is_refused(world, program):
    stranger = OrganisationFactory()
    with pytest.raises(NotEligible):
        services.lead_take(lead=make_lead(program), organisation=stranger)


def test_contacts_reveal_returns_the_contacts_and_is_audited(world, program):
    deal = services.lead_take(lead=make_lead(program), organisation=world.partner_a)
    contacts = services.deal_contacts_reveal(
        deal=deal, by=world.user("a:operator"), channel="page", ip="10.1.1.1"
    )
    assert contacts == {
        "contact_name": CONTACT_NAME,
        "contact_phone": CONTACT_PHONE,
        "contact_email": CONTACT_EMAIL,
    }
    reveal = ContactReveal.objects.filter(deal=deal, channel="page").get()
    assert reveal.user == world.user("a:operator")
    assert reveal.ip == "10.1.1.1"


def test_reveal_lists_only_the_contacts_the_lead_has(world, program):
    deal = services.lead_take(
        lead=make_lead(program, contact_phone=""), organisation=world.partner_a
    )
    reveal = ContactReveal.objects.get(deal=deal)
    assert reveal.fields == ["contact_name", "contact_email"]
