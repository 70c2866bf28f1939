"""Browser check of the back office's waiting events (issue 15 item 2) on a phone-sized screen
(390 px wide): the list fits the screen (the table scrolls inside its box, the page does not),
a program manager ticks a stale event and drops it, and the page says so."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from partnerhub.referrals.models import WaitingEvent
from partnerhub.referrals.services import intake
from tests.factories import PASSWORD, OrganisationFactory, UserFactory, VendorFactory
from tests.referrals.pages_support import join, payment, referral_program
from tests.waiting import BROWSER_WAIT_MS

pytestmark = pytest.mark.e2e

MANAGER = "manager@vendor.example"


def test_a_program_manager_drops_a_stale_waiting_event_on_a_phone(
    browser, live_server, transactional_db
):
    # given a referral program with two waiting events: a payment of ghost.ru received 40 days
    # ago (stale) and an activity of late.ru received now
    vendor = VendorFactory()
    UserFactory(organisation=vendor, role="program_manager", email=MANAGER)
    program = referral_program(vendor)
    now = timezone.now()
    join(program, OrganisationFactory(inn="7707083893"), now - dt.timedelta(days=90))
    paid = payment("old-pay", "ghost.ru", 0, "tariff.team", 12, "1000.00")
    old = intake.events_ingest(
        program=program,
        objs=[{**paid, "at": (now - dt.timedelta(days=41)).isoformat()}],
        received_at=now - dt.timedelta(days=40),
    )
    activity = {"id": "new-act", "type": "client.activity", "client": "late.ru", "users": 9}
    new = intake.events_ingest(
        program=program,
        objs=[{**activity, "at": (now - dt.timedelta(hours=1)).isoformat()}],
        received_at=now,
    )
    assert (old.waiting, new.waiting) == (1, 1)

    # when the program manager opens the list on a 390 px wide screen
    context = browser.new_context(locale="ru-RU", viewport={"width": 390, "height": 844})
    context.set_default_timeout(BROWSER_WAIT_MS)
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/accounts/login/?next=/backoffice/referrals/events/waiting/")
        page.fill("#id_email", MANAGER)
        page.fill("#id_password", PASSWORD)
        page.click("form button[type=submit]")
        expect(page).to_have_url(f"{live_server.url}/backoffice/referrals/events/waiting/")
        rows = page.locator("#waiting tbody tr")
        expect(rows).to_have_count(2)
        # then the oldest comes first, marked stale, and the page does not scroll sideways
        expect(rows.nth(0)).to_contain_text("old-pay")
        expect(rows.nth(0)).to_contain_text("устарело")
        expect(rows.nth(1)).not_to_contain_text("устарело")
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0
        # when the stale one is ticked and dropped
        page.check("input[name=events][value='old-pay']")
        page.click("#waiting-form button[type=submit]")
        # then the page confirms it and lists only the other one
        expect(page.locator("ul.messages")).to_be_visible()
        expect(page.locator("#waiting tbody tr")).to_have_count(1)
        expect(page.locator("#waiting")).not_to_contain_text("old-pay")
        assert WaitingEvent.objects.get(event_id="old-pay").dropped_at is not None
    finally:
        context.close()
