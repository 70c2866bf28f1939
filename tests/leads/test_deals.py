"""Working and closing a deal (issue 7, part 5; spec leads.md, "Working the deal"; seed,
points 3 and 4)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from partnerhub.core import clock
from partnerhub.core.errors import ValidationFailed
from partnerhub.core.models.audit import AuditEvent
from partnerhub.core.models.outbox import OutboxEvent
from partnerhub.leads import services
from partnerhub.leads.errors import DealClosed
from partnerhub.leads.models import DealStage, MarketplaceAccess
from tests.leads.factories import make_lead


@pytest.fixture
def deal(world, program):
    return services.lead_take(lead=make_lead(program), organisation=world.partner_a)


def test_stage_change_moves_an_open_deal_and_emits_the_stage_event(world, deal):
    services.deal_stage_change(deal=deal, stage="contacted", by=world.user("a:manager"))
    deal.refresh_from_db()
    assert deal.stage == DealStage.CONTACTED
    event = OutboxEvent.objects.get(event_type="leads.deal.contacted")
    assert event.payload == {"deal_id": deal.pk, "stage": "contacted", "source": "portal"}


def test_stage_change_from_the_crm_is_marked_in_the_event(deal):
    services.deal_stage_change(deal=deal, stage="meeting", source="crm")
    event = OutboxEvent.objects.get(event_type="leads.deal.meeting")
    assert event.payload["source"] == "crm"


def test_stage_change_to_the_same_stage_is_a_no_op(deal):
    services.deal_stage_change(deal=deal, stage="new")
    assert not OutboxEvent.objects.filter(event_type="leads.deal.new").exists()


@pytest.mark.parametrize("stage", ["won", "lost", "unknown"])
def test_stage_change_accepts_open_stages_only(deal, stage):
    with pytest.raises(ValidationFailed) as refused:
        services.deal_stage_change(deal=deal, stage=stage)
    assert "stage" in refused.value.fields


def test_won_needs_a_valid_portal_address(deal):
    with pytest.raises(ValidationFailed) as refused:
        services.deal_close_won(deal=deal, won_kind="portal", won_reference="stroymontazh.ru")
    assert "won_reference" in refused.value.fields
    deal.refresh_from_db()
    assert deal.is_open and deal.stage == DealStage.NEW


def test_won_needs_a_reference(deal):
    with pytest.raises(ValidationFailed) as refused:
        services.deal_close_won(deal=deal, won_kind="portal", won_reference="")
    assert "won_reference" in refused.value.fields


def test_won_needs_a_kind(deal):
    with pytest.raises(ValidationFailed) as refused:
        services.deal_close_won(deal=deal, won_kind="", won_reference="a.bitrix24.ru")
    assert "won_kind" in refused.value.fields


def test_won_with_a_portal_closes_the_deal(world, program, deal):
    services.deal_close_won(
        deal=deal, won_kind="portal", won_reference="https://StroyMontazh.bitrix24.ru/"
    )
    deal.refresh_from_db()
    assert deal.stage == DealStage.WON and not deal.is_open and deal.closed_at is not None
    assert deal.won_reference == "stroymontazh.bitrix24.ru"
    event = OutboxEvent.objects.get(event_type="leads.deal.won")
    assert event.payload == {"deal_id": deal.pk, "stage": "won", "source": "portal"}


def test_won_with_a_licence_key_closes_the_deal(deal):
    services.deal_close_won(deal=deal, won_kind="licence_key", won_reference="nfr-bx-ab12cd34ef56")
    deal.refresh_from_db()
    assert deal.won_kind == "licence_key" and deal.won_reference == "NFR-BX-AB12CD34EF56"


def test_lost_needs_a_reason(deal):
    with pytest.raises(ValidationFailed) as refused:
        services.deal_close_lost(deal=deal, reason="  ")
    assert "reason" in refused.value.fields
    deal.refresh_from_db()
    assert deal.is_open


def test_lost_with_a_reason_from_the_list(deal):
    services.deal_close_lost(deal=deal, reason="competitor")
    deal.refresh_from_db()
    assert deal.stage == DealStage.LOST and deal.lost_reason == "competitor"


def test_lost_with_a_free_text_is_kept_as_other(deal):
    services.deal_close_lost(deal=deal, reason="Клиент закрыл компанию")
    deal.refresh_from_db()
    assert deal.lost_reason == "other" and deal.lost_comment == "Клиент закрыл компанию"


def test_lost_as_other_needs_a_comment(deal):
    with pytest.raises(ValidationFailed) as refused:
        services.deal_close_lost(deal=deal, reason="other")
    assert "comment" in refused.value.fields


def test_closed_deal_does_not_change_stage_again(deal):
    services.deal_close_lost(deal=deal, reason="price")
    with pytest.raises(DealClosed):
        services.deal_stage_change(deal=deal, stage="contacted")
    with pytest.raises(DealClosed):
        services.deal_close_won(deal=deal, won_kind="portal", won_reference="a.bitrix24.ru")


def test_closing_twice_frees_one_slot_only(world, program, deal):
    stale = type(deal).objects.get(pk=deal.pk)
    services.deal_close_lost(deal=deal, reason="price")
    with pytest.raises(DealClosed):
        services.deal_close_lost(deal=stale, reason="price")
    access = MarketplaceAccess.objects.get(organisation=world.partner_a, program=program)
    assert access.open_deals == 0


def test_deal_update_keeps_company_contact_services_and_amount(world, deal):
    services.deal_update(
        deal=deal,
        by=world.user("a:manager"),
        company_inn="7707083893",
        company_employees="40",
        contact_name="Анастасия Воронцова",
        contact_position="Директор",
        contact_phone="8 (916) 765-43-21",
        contact_email="Director@Client.example",
        services="Внедрение CRM, обучение",
        amount="150000,50",
    )
    deal.refresh_from_db()
    assert deal.company_inn == "7707083893"
    assert deal.company_employees == 40
    assert deal.contact_phone == "+79167654321"
    assert deal.contact_email == "director@client.example"
    assert deal.amount == Decimal("150000.50")
    row = AuditEvent.objects.get(action="leads.deal.updated")
    assert row.after["amount"] == "150000.50"


def test_deal_update_names_each_bad_field(deal):
    with pytest.raises(ValidationFailed) as refused:
        services.deal_update(
            deal=deal,
            by=None,
            company_inn="1234567890",
            contact_phone="12",
            contact_email="not-an-email",
            amount="-5",
            stage="won",
        )
    assert set(refused.value.fields) == {
        "company_inn",
        "contact_phone",
        "contact_email",
        "amount",
        "stage",
    }


def test_an_event_before_the_take_or_over_a_year_ahead_is_refused(deal):
    for happened_at in (
        deal.taken_at - dt.timedelta(minutes=1),
        clock.now() + dt.timedelta(days=367),
    ):
        with pytest.raises(ValidationFailed) as refused:
            services.deal_event_add(
                deal=deal, kind="call", happened_at=happened_at, text="Звонок", by=None
            )
        assert "happened_at" in refused.value.fields
    assert not deal.events.exists()


def test_a_call_logged_in_the_minute_of_the_take_is_accepted(deal):
    minute = deal.taken_at.replace(second=0, microsecond=0)

    services.deal_event_add(deal=deal, kind="call", happened_at=minute, text="Звонок", by=None)

    assert deal.events.count() == 1


def test_closed_deal_data_does_not_change(deal):
    services.deal_close_lost(deal=deal, reason="price")
    with pytest.raises(DealClosed):
        services.deal_update(deal=deal, by=None, services="Ещё что-то")


def test_events_keep_the_first_and_last_event_times(world, program):
    now = clock.now()
    deal = services.lead_take(
        lead=make_lead(program), organisation=world.partner_a, now=now - dt.timedelta(days=1)
    )
    services.deal_event_add(
        deal=deal, kind="call", happened_at=now - dt.timedelta(hours=1), text="Звонок", by=None
    )
    services.deal_event_add(
        deal=deal, kind="note", happened_at=now - dt.timedelta(hours=3), text="Заметка", by=None
    )
    services.deal_event_add(deal=deal, kind="meeting", happened_at=now, text="Встреча", by=None)
    deal.refresh_from_db()
    assert deal.first_event_at == now - dt.timedelta(hours=3)
    assert deal.last_event_at == now
    assert deal.events.count() == 3


def test_event_names_each_bad_field(deal):
    with pytest.raises(ValidationFailed) as refused:
        services.deal_event_add(
            deal=deal, kind="email", happened_at=dt.datetime(2026, 1, 1), text=" ", by=None
        )
    assert set(refused.value.fields) == {"kind", "happened_at", "text"}


def test_event_on_a_closed_deal_is_refused(deal):
    services.deal_close_lost(deal=deal, reason="price")
    with pytest.raises(DealClosed):
        services.deal_event_add(deal=deal, kind="note", happened_at=clock.now(), text="x", by=None)


def test_stage_change_starts_from_the_stage_in_the_database(deal):
    # given the stage moved elsewhere (the CRM) after this copy of the deal was loaded
    type(deal).objects.filter(pk=deal.pk).update(stage="proposal")
    # when the stale copy is moved on
    result = services.deal_stage_change(deal=deal, stage="meeting")
    # then the move starts from the stage the database holds
    assert result.stage == "meeting"
    row = AuditEvent.objects.get(action="leads.deal.meeting")
    assert row.before == {"stage": "proposal"}
