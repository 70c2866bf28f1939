"""The vendor's lead report in Chromium (issue 7, item 7 and "Done when"): a support employee
opens the report, sees the figures per partner, the three uPlot charts drawn, narrows the
period and downloads the CSV."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from playwright.sync_api import expect

from partnerhub.core import clock
from partnerhub.leads import services
from partnerhub.leads.models import Region
from partnerhub.leads.regions import REGIONS
from tests.e2e.payout_support import log_in
from tests.factories import OrganisationFactory, UserFactory, VendorFactory
from tests.leads.factories import lead_program, make_eligible, make_lead_at

pytestmark = pytest.mark.e2e

SUPPORT = "support@vendor.example"


def seeded_regions() -> None:
    """The regions the data migration loads (a flush after a browser test may remove them)."""
    for code, name in REGIONS:
        Region.objects.get_or_create(code=code, defaults={"name": name})


def test_staff_reads_the_report_with_its_charts_and_downloads_the_csv(
    page,
    live_server,
    transactional_db,
):
    seeded_regions()
    vendor = VendorFactory()
    UserFactory(organisation=vendor, role="support", email=SUPPORT)
    program = lead_program(vendor)
    alfa = OrganisationFactory(short_name="ООО «Альфа»", inn="7707083893")
    beta = OrganisationFactory(short_name="ООО «Бета»", inn="7728123459")
    for partner in (alfa, beta):
        make_eligible(partner, program)
    now = clock.now()
    lead = make_lead_at(program, now - dt.timedelta(days=2))
    won = services.lead_take(
        lead=lead, organisation=alfa, now=lead.published_at + dt.timedelta(hours=2)
    )
    services.deal_close_won(deal=won, won_kind="portal", won_reference="client.bitrix24.ru")
    services.lead_take(lead=lead, organisation=beta, now=lead.published_at + dt.timedelta(hours=4))

    log_in(page, live_server.url, SUPPORT, "/backoffice/leads/report/")

    expect(page.locator("#overall-taken")).to_have_text("2")
    expect(page.locator(f'#report-partners tr[data-organisation="{alfa.pk}"]')).to_contain_text(
        "ООО «Альфа»"
    )
    for holder in ("#chart-taken", "#chart-win", "#chart-weekly"):
        expect(page.locator(holder)).to_have_attribute("data-ready", "true")
        expect(page.locator(f"{holder} canvas")).to_have_count(1)

    page.fill("#id_stale_days", "1")
    page.click("#report-filters button[type=submit]")
    expect(page.locator("#overall-stale")).to_have_text("1")

    with page.expect_download() as download:
        page.click("#report-csv")
    content = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert content.splitlines()[0].startswith("Партнёр;ИНН;Взято заявок")
    assert "ООО «Альфа»;7707083893;1" in content
