"""Ours to theirs: taking a lead creates the deal in the partner's CRM through the outbox, and
our stage changes follow (issue 7, part 6: "no deal is lost or duplicated there (idempotent by
our deal id stored in a custom field)"). The outbox's worker step is ``deliver_due()``; a retry
is driven by passing a moment past the backoff (10 s after the first failure)."""

from __future__ import annotations

import datetime as dt

import pytest

from partnerhub.core import clock
from partnerhub.core.delivery import deliver_due
from partnerhub.core.models.outbox import DeliveryState, OutboxDelivery
from partnerhub.leads import services
from partnerhub.leads.crm.handlers import HANDLER_NAME
from partnerhub.leads.models import (
    PIPELINE_NAME,
    ContactReveal,
    CrmCall,
    CrmCallOutcome,
    CrmDealLink,
    DealStage,
    RevealChannel,
)
from tests.leads.factories import CONTACT_EMAIL, CONTACT_NAME, CONTACT_PHONE, make_lead

pytestmark = pytest.mark.django_db


def take(world, program):
    lead = make_lead(program)
    return services.lead_take(lead=lead, organisation=world.partner_a, by=world.user("a:owner"))


def after_backoff() -> dt.datetime:
    return clock.now() + dt.timedelta(seconds=11)


def push_deliveries():
    return OutboxDelivery.objects.filter(handler=HANDLER_NAME)


def test_taking_a_lead_creates_the_pipeline_one_contact_and_one_deal_there(
    world, program, fake_crm, connected
):
    deal = take(world, program)

    deliver_due()

    [category] = fake_crm.categories.values()
    assert category["name"] == PIPELINE_NAME
    [contact] = fake_crm.contacts.values()
    assert contact["NAME"] == CONTACT_NAME
    assert contact["PHONE"] == [{"VALUE": CONTACT_PHONE, "VALUE_TYPE": "WORK"}]
    assert contact["EMAIL"] == [{"VALUE": CONTACT_EMAIL, "VALUE_TYPE": "WORK"}]
    [remote] = fake_crm.deals.values()
    assert remote["CATEGORY_ID"] == str(category["id"])
    assert remote["STAGE_ID"] == f"C{category['id']}:NEW"
    assert remote["CONTACT_ID"] == contact["ID"]
    assert remote["UF_CRM_PARTNERHUB_DEAL"] == str(deal.pk)
    assert "ООО «Строймонтаж»" in remote["TITLE"]
    link = CrmDealLink.objects.get(deal=deal)
    assert (link.remote_deal_id, link.remote_contact_id) == (remote["ID"], contact["ID"])
    assert {f["FIELD_NAME"] for f in fake_crm.userfields.values()} == {
        "UF_CRM_PARTNERHUB_DEAL",
        "UF_CRM_PARTNERHUB_PORTAL",
    }
    assert push_deliveries().get().state == DeliveryState.DONE


def test_the_push_of_contacts_is_an_audited_reveal_with_channel_crm(
    world, program, fake_crm, connected
):
    deal = take(world, program)

    deliver_due()

    reveal = ContactReveal.objects.get(deal=deal, channel=RevealChannel.CRM)
    assert reveal.fields == ["contact_name", "contact_phone", "contact_email"]
    assert reveal.organisation_id == world.partner_a.pk


def test_a_pipeline_of_that_name_already_there_is_reused(world, program, fake_crm, connected):
    existing = fake_crm.add_category(PIPELINE_NAME)

    take(world, program)
    deliver_due()

    assert list(fake_crm.categories) == [existing]
    assert "crm.category.add" not in fake_crm.methods()
    [remote] = fake_crm.deals.values()
    assert remote["STAGE_ID"] == f"C{existing}:NEW"


def test_the_second_deal_reuses_the_remembered_pipeline_and_fields(
    world, program, fake_crm, connected
):
    take(world, program)
    deliver_due()
    fake_crm.forget_calls()

    take(world, program)
    deliver_due()

    assert fake_crm.methods() == [
        "crm.deal.list",
        "crm.contact.list",
        "crm.contact.add",
        "crm.deal.add",
    ]
    assert len(fake_crm.deals) == 2
    assert len(fake_crm.categories) == 1


def test_a_timeout_after_the_crm_stored_the_deal_then_the_retry_leaves_one_deal(
    world, program, fake_crm, connected
):
    # Given a portal that stores the deal but answers after the client gave up
    fake_crm.fail("crm.deal.add", "timeout")
    deal = take(world, program)

    first = deliver_due()
    retry = deliver_due(now=after_backoff())

    assert (first.retried, retry.delivered) == (1, 1)
    assert len(fake_crm.deals) == 1
    assert len(fake_crm.contacts) == 1
    [remote] = fake_crm.deals.values()
    assert CrmDealLink.objects.get(deal=deal).remote_deal_id == remote["ID"]
    assert fake_crm.methods().count("crm.deal.add") == 1
    timeout = CrmCall.objects.get(method="crm.deal.add")
    assert (timeout.outcome, timeout.status) == (CrmCallOutcome.TIMEOUT, None)


def test_a_timeout_after_the_crm_stored_the_contact_then_the_retry_leaves_one_contact(
    world, program, fake_crm, connected
):
    fake_crm.fail("crm.contact.add", "timeout")
    take(world, program)

    deliver_due()
    deliver_due(now=after_backoff())

    assert len(fake_crm.contacts) == 1
    [remote] = fake_crm.deals.values()
    assert remote["CONTACT_ID"] == next(iter(fake_crm.contacts.values()))["ID"]


def test_a_500_then_success_delivers_the_deal(world, program, fake_crm, connected):
    fake_crm.fail("crm.deal.add", "500")
    deal = take(world, program)

    first = deliver_due()
    assert (first.retried, len(fake_crm.deals)) == (1, 0)
    retry = deliver_due(now=after_backoff())

    assert retry.delivered == 1
    assert len(fake_crm.deals) == 1
    assert CrmDealLink.objects.filter(deal=deal).exists()
    failed = CrmCall.objects.filter(outcome=CrmCallOutcome.HTTP_ERROR).get()
    assert (failed.method, failed.status) == ("crm.deal.add", 500)
    assert push_deliveries().get().last_error.startswith("CrmError: HTTP 500")


def test_query_limit_exceeded_is_retried(world, program, fake_crm, connected):
    fake_crm.fail("crm.deal.list", "limit")
    take(world, program)

    deliver_due()
    deliver_due(now=after_backoff())

    assert len(fake_crm.deals) == 1
    limited = CrmCall.objects.get(status=503)
    assert (limited.outcome, limited.detail) == (
        CrmCallOutcome.ERROR,
        "QUERY_LIMIT_EXCEEDED: Too many requests",
    )


def test_a_crm_failing_every_time_keeps_the_delivery_for_later_and_tells_the_partner(
    world, program, fake_crm, connected
):
    for n in range(1, 4):
        fake_crm.fail("crm.deal.add", "500", on_call=n)
    deal = take(world, program)

    deliver_due()

    connected.refresh_from_db()
    assert connected.last_error == (
        f"№{deal.pk}: не передана: портал не ответил или ответил ошибкой, передача повторится"
    )
    assert CrmCall.objects.filter(outcome=CrmCallOutcome.HTTP_ERROR).first().detail == (
        "HTTP 500: Internal Server Error"
    ), "the staff log keeps the portal's answer"
    assert push_deliveries().get().state == DeliveryState.PENDING
    assert not CrmDealLink.objects.filter(deal=deal).exists()


def test_our_stage_change_moves_the_deal_there(world, program, fake_crm, connected):
    deal = take(world, program)
    deliver_due()

    services.deal_stage_change(deal=deal, stage=DealStage.MEETING, by=world.user("a:owner"))
    deliver_due()

    [remote] = fake_crm.deals.values()
    category = connected.__class__.objects.get(pk=connected.pk).category_id
    assert remote["STAGE_ID"] == f"C{category}:PREPAYMENT_INVOICE"
    assert CrmDealLink.objects.get(deal=deal).remote_stage == remote["STAGE_ID"]


def test_our_lost_deal_is_lost_there(world, program, fake_crm, connected):
    deal = take(world, program)
    deliver_due()

    services.deal_close_lost(deal=deal, reason="price", by=world.user("a:owner"))
    deliver_due()

    [remote] = fake_crm.deals.values()
    assert remote["STAGE_ID"].endswith(":LOSE")


def test_our_won_deal_is_won_there_with_the_clients_portal(world, program, fake_crm, connected):
    deal = take(world, program)
    deliver_due()

    services.deal_close_won(
        deal=deal, won_kind="portal", won_reference="romashka.bitrix24.ru", by=world.user("a:owner")
    )
    deliver_due()

    [remote] = fake_crm.deals.values()
    assert remote["STAGE_ID"].endswith(":WON")
    assert remote["UF_CRM_PARTNERHUB_PORTAL"] == "romashka.bitrix24.ru"


def test_a_stage_change_before_the_first_push_went_through_creates_the_deal_at_that_stage(
    world, program, fake_crm, connected
):
    fake_crm.fail("crm.deal.list", "500")
    deal = take(world, program)
    deliver_due()
    services.deal_stage_change(deal=deal, stage=DealStage.CONTACTED, by=world.user("a:owner"))

    deliver_due(now=after_backoff())

    [remote] = fake_crm.deals.values()
    assert remote["STAGE_ID"].endswith(":PREPARATION")
    assert fake_crm.methods().count("crm.deal.add") == 1


def test_a_partner_without_a_connection_gets_no_push_delivery(world, program, fake_crm):
    take(world, program)

    assert not push_deliveries().exists()
    assert fake_crm.calls == []


def test_after_disconnecting_nothing_is_pushed(world, program, fake_crm, connected):
    from partnerhub.leads.crm.services import crm_disconnect

    crm_disconnect(organisation=world.partner_a, by=world.user("a:owner"))
    take(world, program)
    deliver_due()

    assert fake_crm.calls == []


def test_a_push_while_another_worker_creates_the_deal_there_waits_for_a_retry(
    world, program, fake_crm, connected
):
    # Given another worker's fresh claim on the deal's first push
    from partnerhub.leads.crm.sync import CrmBusy, deal_push

    deal = take(world, program)
    CrmDealLink.objects.create(
        deal=deal, connection=connected, remote_deal_id=f"pending-{deal.pk}", synced_at=clock.now()
    )

    with pytest.raises(CrmBusy):
        deal_push(deal.pk)

    assert fake_crm.calls == []


def test_a_claim_left_by_a_dead_worker_is_taken_over_after_its_lease(
    world, program, fake_crm, connected
):
    from partnerhub.leads.crm.sync import CLAIM_LEASE, deal_push

    deal = take(world, program)
    CrmDealLink.objects.create(
        deal=deal,
        connection=connected,
        remote_deal_id=f"pending-{deal.pk}",
        synced_at=clock.now() - CLAIM_LEASE - dt.timedelta(seconds=1),
    )

    link = deal_push(deal.pk)

    [remote] = fake_crm.deals.values()
    assert link.remote_deal_id == remote["ID"]
