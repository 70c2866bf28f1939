"""Theirs to ours: a stage changed in the partner's CRM moves our deal, by the poll
(``crm.deal.get`` on a schedule) or by our inbound webhook (issue 7, part 6), and is not pushed
back. Closing there as lost frees the partner's slot under the cap on open deals (spec
leads.md); won needs the client's portal or licence key there too."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from partnerhub.core import clock
from partnerhub.core.delivery import deliver_due
from partnerhub.core.models.outbox import OutboxDelivery
from partnerhub.leads import selectors, services
from partnerhub.leads.crm import sync
from partnerhub.leads.crm.handlers import HANDLER_NAME
from partnerhub.leads.crm.tasks import poll_due
from partnerhub.leads.models import (
    CrmCall,
    CrmConnection,
    CrmDealLink,
    DealStage,
    LostReason,
    WonKind,
)
from tests.leads.factories import make_lead

pytestmark = pytest.mark.django_db


@pytest.fixture
def pushed(world, program, fake_crm, connected):
    """Partner A took a lead; the deal is in its CRM. Returns (deal, remote deal id, prefix)."""
    lead = make_lead(program)
    deal = services.lead_take(lead=lead, organisation=world.partner_a, by=world.user("a:owner"))
    deliver_due()
    link = CrmDealLink.objects.get(deal=deal)
    category = CrmConnection.objects.get(pk=connected.pk).category_id
    fake_crm.forget_calls()
    return deal, link.remote_deal_id, f"C{category}:"


def open_deals_of(world, program) -> int:
    access = selectors.marketplace_access_of(organisation=world.partner_a, program=program)
    return access.open_deals


def test_the_poll_applies_their_stage_to_ours(pushed, fake_crm):
    deal, remote_id, prefix = pushed
    fake_crm.move(remote_id, f"{prefix}EXECUTING")

    moved = poll_due()

    deal.refresh_from_db()
    assert (moved, deal.stage) == (1, DealStage.PROPOSAL)
    assert fake_crm.methods() == ["crm.deal.get"]


def test_a_change_that_came_from_the_crm_is_not_pushed_back(pushed, fake_crm):
    deal, remote_id, prefix = pushed
    fake_crm.move(remote_id, f"{prefix}PREPARATION")
    pushes_before = OutboxDelivery.objects.filter(handler=HANDLER_NAME).count()

    poll_due()
    deliver_due()

    assert OutboxDelivery.objects.filter(handler=HANDLER_NAME).count() == pushes_before
    assert "crm.deal.update" not in fake_crm.methods()
    assert CrmDealLink.objects.get(deal=deal).remote_stage == f"{prefix}PREPARATION"


def test_an_unchanged_deal_there_changes_nothing_here(pushed, fake_crm):
    deal, _remote_id, _prefix = pushed

    assert poll_due() == 0

    deal.refresh_from_db()
    assert deal.stage == DealStage.NEW


def test_the_poll_waits_crm_poll_minutes_between_polls_of_a_connection(pushed, fake_crm, settings):
    settings.CRM_POLL_MINUTES = 15
    poll_due()
    fake_crm.forget_calls()

    poll_due(now=clock.now() + dt.timedelta(minutes=14))
    assert fake_crm.calls == []
    poll_due(now=clock.now() + dt.timedelta(minutes=15, seconds=1))
    assert fake_crm.methods() == ["crm.deal.get"]


def test_lost_in_their_crm_closes_ours_and_frees_the_slot(world, program, pushed, fake_crm):
    deal, remote_id, prefix = pushed
    assert open_deals_of(world, program) == 1
    fake_crm.move(remote_id, f"{prefix}LOSE")

    poll_due()

    deal.refresh_from_db()
    assert (deal.stage, deal.is_open) == (DealStage.LOST, False)
    assert (deal.lost_reason, deal.lost_comment) == (LostReason.OTHER, "Закрыта в CRM партнёра")
    assert open_deals_of(world, program) == 0


def test_won_there_with_the_clients_portal_wins_ours(world, program, pushed, fake_crm):
    deal, remote_id, prefix = pushed
    fake_crm.move(remote_id, f"{prefix}WON", UF_CRM_PARTNERHUB_PORTAL="https://Client.bitrix24.ru/")

    sync.deal_pull(deal.pk)

    deal.refresh_from_db()
    assert (deal.stage, deal.won_kind, deal.won_reference) == (
        DealStage.WON,
        WonKind.PORTAL,
        "client.bitrix24.ru",
    )
    assert open_deals_of(world, program) == 0


def test_won_there_without_a_portal_leaves_ours_open_and_shows_the_conflict(
    pushed, fake_crm, connected
):
    deal, remote_id, prefix = pushed
    fake_crm.move(remote_id, f"{prefix}WON")

    result = sync.deal_pull(deal.pk)

    deal.refresh_from_db()
    assert (deal.stage, deal.is_open) == (DealStage.NEW, True)
    assert "UF_CRM_PARTNERHUB_PORTAL" in result.note
    connected.refresh_from_db()
    assert connected.last_error.startswith(f"№{deal.pk}: сделка выиграна в CRM")
    call = CrmCall.objects.filter(method="crm.deal.get").get()
    assert call.detail == result.note


def test_once_the_portal_is_filled_in_there_the_next_pull_wins_ours(pushed, fake_crm, connected):
    deal, remote_id, prefix = pushed
    fake_crm.move(remote_id, f"{prefix}WON", UF_CRM_PARTNERHUB_PORTAL="не помню")
    sync.deal_pull(deal.pk)

    fake_crm.move(remote_id, f"{prefix}WON", UF_CRM_PARTNERHUB_PORTAL="client.bitrix24.kz")
    sync.deal_pull(deal.pk)

    deal.refresh_from_db()
    assert (deal.stage, deal.won_reference) == (DealStage.WON, "client.bitrix24.kz")
    connected.refresh_from_db()
    assert connected.last_error == ""


def test_a_stage_of_the_partners_own_making_changes_nothing(pushed, fake_crm):
    deal, remote_id, prefix = pushed
    fake_crm.move(remote_id, f"{prefix}UC_7F3K2A")

    sync.deal_pull(deal.pk)

    deal.refresh_from_db()
    assert deal.stage == DealStage.NEW
    assert CrmDealLink.objects.get(deal=deal).remote_stage == f"{prefix}UC_7F3K2A"


def test_the_inbound_webhook_pulls_the_deal_after_commit(
    client, pushed, fake_crm, connected, django_capture_on_commit_callbacks
):
    deal, remote_id, prefix = pushed
    fake_crm.move(remote_id, f"{prefix}PREPAYMENT_INVOICE")
    url = reverse("crm_inbound", kwargs={"secret": connected.inbound_secret})

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url,
            {
                "event": "ONCRMDEALUPDATE",
                "data[FIELDS][ID]": remote_id,
                "ts": "1767000000",
                "auth[domain]": "partner.bitrix24.ru",
                "auth[application_token]": "anything",
            },
        )

    assert response.status_code == 200
    deal.refresh_from_db()
    assert deal.stage == DealStage.MEETING


def test_the_inbound_webhook_with_a_wrong_secret_is_not_found(client, pushed, fake_crm):
    _deal, remote_id, _prefix = pushed

    response = client.post(
        reverse("crm_inbound", kwargs={"secret": "wrong-secret"}),
        {"event": "ONCRMDEALUPDATE", "data[FIELDS][ID]": remote_id},
    )

    assert response.status_code == 404
    assert fake_crm.calls == []


def test_the_inbound_webhook_of_a_disconnected_crm_is_not_found(client, world, pushed, connected):
    from partnerhub.leads.crm.services import crm_disconnect

    crm_disconnect(organisation=world.partner_a, by=world.user("a:owner"))
    response = client.post(reverse("crm_inbound", kwargs={"secret": connected.inbound_secret}))

    assert response.status_code == 404


def test_the_inbound_webhook_ignores_deals_that_are_not_ours(
    client, pushed, fake_crm, connected, django_capture_on_commit_callbacks
):
    url = reverse("crm_inbound", kwargs={"secret": connected.inbound_secret})

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(url, {"event": "ONCRMDEALUPDATE", "data[FIELDS][ID]": "999999"})

    assert response.status_code == 200
    assert callbacks == []
    assert fake_crm.calls == []


def test_the_poll_stops_at_a_portal_that_does_not_answer_and_tries_again_next_time(
    world, program, pushed, fake_crm
):
    deal, remote_id, prefix = pushed
    fake_crm.fail("crm.deal.get", "500")
    fake_crm.move(remote_id, f"{prefix}PREPARATION")

    assert poll_due() == 0
    assert poll_due(now=clock.now() + dt.timedelta(hours=1)) == 1

    deal.refresh_from_db()
    assert deal.stage == DealStage.CONTACTED
