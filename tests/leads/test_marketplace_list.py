"""The marketplace list as a partner sees it (issue 7, part 3; spec leads.md: contacts masked on
the server, nobody learns who else took a lead, the list says why a take is refused)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from django.http import Http404

from partnerhub.core import clock
from partnerhub.leads import selectors, services
from partnerhub.leads.models import LeadProgramSettings, MarketplaceAccess, PageState
from tests.leads.factories import (
    CONTACT_EMAIL,
    CONTACT_NAME,
    CONTACT_PHONE,
    eligible_partner,
    make_lead,
)


def _list(world, program, **filters):
    return selectors.marketplace_leads(organisation=world.partner_a, program=program, **filters)


def test_list_shows_open_leads_newest_first_with_masked_contacts(world, program):
    now = clock.now()
    older = make_lead(program, now=now - dt.timedelta(days=2))
    newer = make_lead(program, now=now - dt.timedelta(days=1))
    rows = _list(world, program)
    assert [r.id for r in rows] == [newer.pk, older.pk]
    assert rows[0].contact_phone_masked == "+7 *** ***-**-67"
    assert rows[0].contact_name_masked == "А*** В***"
    assert rows[0].can_take and rows[0].refusal == ""


def test_no_row_carries_the_contacts_or_other_partners(world, program):
    lead = make_lead(program)
    services.lead_take(lead=lead, organisation=world.partner_b)
    row = _list(world, program)[0]
    text = repr(dataclasses.asdict(row))
    for secret in (CONTACT_NAME, CONTACT_PHONE, CONTACT_PHONE[2:], CONTACT_EMAIL, "Бета"):
        assert secret not in text
    assert not hasattr(row, "take_count")


def test_expired_and_withdrawn_leads_are_not_listed(world, program):
    make_lead(program, now=clock.now() - dt.timedelta(days=31))
    withdrawn = make_lead(program)
    services.lead_withdraw(lead=withdrawn, reason="Дубль", by=None)
    assert _list(world, program) == []


def test_own_taken_lead_is_marked_and_cannot_be_taken_again(world, program):
    lead = make_lead(program)
    deal = services.lead_take(lead=lead, organisation=world.partner_a)
    row = _list(world, program)[0]
    assert row.taken_by_me and row.my_deal_id == deal.pk
    assert not row.can_take


def test_lead_taken_by_another_partner_looks_untaken(world, program):
    lead = make_lead(program)
    services.lead_take(lead=lead, organisation=world.partner_b)
    row = _list(world, program)[0]
    assert not row.taken_by_me and row.can_take


def test_lead_at_its_partner_cap_leaves_the_list_of_others_only(world, program):
    LeadProgramSettings.objects.filter(program=program).update(partners_per_lead_cap=1)
    lead = make_lead(program)
    services.lead_take(lead=lead, organisation=world.partner_b)
    assert _list(world, program) == []
    mine = selectors.marketplace_leads(organisation=world.partner_b, program=program)
    assert [r.id for r in mine] == [lead.pk]


def test_at_the_cap_the_list_says_why(world, program):
    for _ in range(3):
        services.lead_take(lead=make_lead(program), organisation=world.partner_a)
    make_lead(program)
    free = [r for r in _list(world, program) if not r.taken_by_me]
    assert not free[0].can_take
    assert free[0].refusal == "В работе 3 из 3 заявок: закройте одну из сделок"


def test_ineligible_partner_sees_the_missing_conditions(world, program):
    MarketplaceAccess.objects.filter(organisation=world.partner_a).update(
        page_state=PageState.REJECTED
    )
    make_lead(program)
    row = _list(world, program)[0]
    assert not row.can_take
    assert "Страница о пакетах внедрения проверена" in row.refusal


def test_filters_by_region_size_need_and_dates(world, program):
    now = clock.now()
    spb = make_lead(program, region="78", company_size="large", need="tasks")
    old = make_lead(program, now=now - dt.timedelta(days=10))
    assert [r.id for r in _list(world, program, region="78")] == [spb.pk]
    assert [r.id for r in _list(world, program, company_size="large")] == [spb.pk]
    assert [r.id for r in _list(world, program, need="tasks")] == [spb.pk]
    day = clock.local_date(old.published_at)
    assert [r.id for r in _list(world, program, published_from=day, published_to=day)] == [old.pk]
    assert old.pk not in [
        r.id for r in _list(world, program, published_from=day + dt.timedelta(days=1))
    ]


def test_list_queries_do_not_grow_with_leads(world, program, django_assert_max_num_queries):
    for _ in range(15):
        make_lead(program)
    services.lead_take(lead=make_lead(program), organisation=world.partner_a)
    with django_assert_max_num_queries(8):
        rows = _list(world, program)
    assert len(rows) == 16


def test_programs_of_a_partner_are_its_leads_programs(world, program):
    assert selectors.marketplace_programs_of(world.partner_a) == [program]
    other = eligible_partner(program)
    assert selectors.marketplace_programs_of(other) == [program]


def test_another_partners_deal_is_a_404(world, program):
    deal = services.lead_take(lead=make_lead(program), organisation=world.partner_a)
    assert selectors.deal_get_for_partner(organisation=world.partner_a, pk=deal.pk) == deal
    with pytest.raises(Http404):
        selectors.deal_get_for_partner(organisation=world.partner_b, pk=deal.pk)
