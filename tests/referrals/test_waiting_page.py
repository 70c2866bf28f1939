"""The back office's list of events waiting for what they name, and dropping them (issue 15
item 2: "Staff see the waiting events in the back office (by age, with the client they wait
for) and may drop them; an event still waiting after a configurable time (default 30 days) is
listed as stale")."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from partnerhub.core.models.audit import AuditEvent
from partnerhub.referrals.models import WaitingEvent
from partnerhub.referrals.selectors import standing as st
from partnerhub.referrals.services import intake, live
from tests.referrals.pages_support import NOW, T0, at, client, join, payment, referral_program


@pytest.fixture
def program(world):
    return referral_program(world.vendor)


def post_at(program, moment: dt.datetime, *events: dict) -> intake.IngestResult:
    return intake.events_ingest(program=program, objs=list(events), received_at=moment)


@pytest.fixture
def waiting_two(world, program):
    """A registered partner; a payment of ghost.ru received 40 days before now (stale), and an
    activity of late.ru received now."""
    partner = join(program, world.partner_a, T0 - dt.timedelta(days=60))
    old = post_at(
        program,
        NOW - dt.timedelta(days=40),
        payment("old-pay", "ghost.ru", -35, "tariff.team", 12, "1000.00"),
    )
    new = post_at(
        program,
        NOW,
        {"id": "new-act", "type": "client.activity", "at": at(2), "client": "late.ru", "users": 9},
    )
    assert (old.waiting, new.waiting) == (1, 1)
    return partner


def page(login_as, role: str, query: str = "") -> str:
    with time_machine.travel(NOW, tick=False):
        response = login_as(role).get(reverse("backoffice:referral_waiting") + query)
    assert response.status_code == 200
    return response.content.decode()


def test_staff_see_waiting_events_oldest_first_with_what_they_wait_for_and_staleness(
    waiting_two, login_as
):
    body = page(login_as, "vendor:support")
    assert body.index("old-pay") < body.index("new-act")
    assert "ghost.ru" in body and "late.ru" in body
    assert body.count("устарело") == 1  # 40 days > the default 30
    assert 'name="events"' not in body  # support reads, does not drop
    stale = page(login_as, "vendor:program_manager", "?stale=1")
    assert "old-pay" in stale and "new-act" not in stale
    assert 'name="events"' in stale


def test_the_stale_period_is_a_setting(waiting_two, login_as, settings):
    settings.REFERRAL_WAITING_STALE_DAYS = 50
    assert "устарело" not in page(login_as, "vendor:support")


def test_a_dropped_event_never_counts_even_when_its_client_arrives(
    world, waiting_two, program, login_as
):
    # when the program manager drops ghost.ru's payment
    response = login_as("vendor:program_manager").post(
        reverse("backoffice:referral_waiting_drop"), {"events": ["old-pay"]}
    )
    assert response.status_code == 302
    assert WaitingEvent.objects.get(event_id="old-pay").dropped_at is not None
    assert AuditEvent.objects.filter(action="referrals.waiting.dropped").count() == 1
    assert "old-pay" not in page(login_as, "vendor:support")
    # and ghost.ru registers later with the partner's code
    post_at(program, NOW, client("g", "ghost.ru", -38, referral_code=waiting_two.code))
    # then the dropped payment earns nothing (12 months of Team would be 60 points), live as
    # in the verifying replay
    standing = st.standing_of(program=program, code=waiting_two.code)
    assert (standing.clients, standing.points_total) == (1, 0)
    assert live.verify(program=program, as_of=NOW) == []


def test_dropping_nothing_is_refused_with_a_message(waiting_two, login_as):
    response = login_as("vendor:administrator").post(
        reverse("backoffice:referral_waiting_drop"), {}, follow=True
    )
    assert "Выберите события." in response.content.decode()
    assert WaitingEvent.objects.filter(dropped_at__isnull=True).count() == 2
