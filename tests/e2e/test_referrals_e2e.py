"""Browser flow of the referral program (issue 5, "Done when"): a partner logs in, creates a
promo code in the cabinet, a client registers with it, becomes active the next day and pays for
"Company" for 12 months; the partner's referral dashboard then shows level 3 (1 + 120 = 121
active points, spec referrals.md: level 3 from 120).

The events go through the real intake (``intake.events_ingest``, the path of the API and the
file import). Activity counts only on a day after the registration day, so the test moves the
clock a day forward (time-machine moves it for the live server's thread too); the session lasts
longer than that here so that the partner stays logged in.
"""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone
from playwright.sync_api import expect

from partnerhub.referrals.models import PromoCode
from partnerhub.referrals.services import intake
from tests.factories import PASSWORD, OrganisationFactory, UserFactory, VendorFactory
from tests.referrals.pages_support import join, referral_program

pytestmark = pytest.mark.e2e

OWNER_EMAIL = "owner@vasilek.example"
PROMO = "VASILEK-2026"
CLIENT = "acme.bitrix24.ru"


def test_a_clients_payment_raises_the_partners_level(
    page, live_server, transactional_db, ledger_committed, settings
):
    # given a partner that joined the referral program, and a session that outlives a day
    settings.SESSION_COOKIE_AGE = 3 * 24 * 60 * 60
    vendor = VendorFactory()
    organisation = OrganisationFactory(short_name="ООО «Василёк»", inn="7707083893")
    UserFactory(organisation=organisation, role="owner", email=OWNER_EMAIL)
    program = referral_program(vendor)
    join(program, organisation, when=timezone.now() - dt.timedelta(minutes=5))

    # when its owner logs in and creates a promo code in the cabinet
    page.goto(f"{live_server.url}/accounts/login/?next=/cabinet/referrals/promo-codes/")
    page.fill("#id_email", OWNER_EMAIL)
    page.fill("#id_password", PASSWORD)
    page.click("form button[type=submit]")
    expect(page).to_have_url(f"{live_server.url}/cabinet/referrals/promo-codes/")
    page.fill("#id_code", PROMO)
    page.click("form[action='/cabinet/referrals/promo-codes/'] button[type=submit]")
    expect(page.locator("ul.messages")).to_contain_text(PROMO)
    assert PromoCode.objects.filter(code=PROMO, partner__organisation=organisation).exists()

    # and the dashboard starts at level 0
    page.goto(f"{live_server.url}/cabinet/referrals/")
    expect(page.locator("#level")).to_have_text("0")

    # and a client registers with the promo code now ...
    registered = intake.events_ingest(
        program=program,
        objs=[
            {
                "id": "e2e-reg",
                "type": "client.registered",
                "at": timezone.now().isoformat(),
                "client": CLIENT,
                "promo_code": PROMO.lower(),  # codes compare case-insensitively
            }
        ],
    )
    assert (registered.accepted, registered.rejected) == (1, [])

    # ... is active the next day and pays for Company for 12 months
    with time_machine.travel(timezone.now() + dt.timedelta(days=1), tick=True):
        moment = timezone.now().isoformat()
        result = intake.events_ingest(
            program=program,
            objs=[
                {"id": "e2e-act", "type": "client.activity", "at": moment, "client": CLIENT,
                 "users": 5},
                {"id": "e2e-pay", "type": "payment", "at": moment, "client": CLIENT,
                 "product": "tariff.company", "months": 12, "amount": "96000.00"},
            ],
        )  # fmt: skip
        assert (result.accepted, result.rejected) == (2, [])

        # then the partner's dashboard shows level 3 with 121 active points
        page.reload()
        expect(page.locator("#level")).to_have_text("3")
        expect(page.locator("#active-points")).to_have_text("121")
        expect(page.locator("#bonus-balance")).to_contain_text("100,00")  # the activation bonus
        expect(page.locator("#active-grants tbody tr")).to_have_count(2)
        expect(page.locator("#level-box")).to_contain_text("Это высший уровень программы.")
        # and the chart is drawn from the bundled uPlot
        expect(page.locator("#points-chart[data-ready=true] canvas")).to_have_count(1)
        # and the clients page lists the client as active, with its payment
        page.click("nav.subnav >> text=Клиенты")
        row = page.locator("#clients tbody tr").first
        expect(row).to_contain_text(CLIENT)
        expect(row).to_contain_text("96\u00a0000,00")
