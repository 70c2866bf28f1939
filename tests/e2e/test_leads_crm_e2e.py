"""Browser flow of issue 7 ("Done when": CRM push with the fake): an eligible partner's owner
connects its portal on the cabinet's CRM page by the incoming webhook of the fake CRM, takes a
lead, and the deal appears there once, with the client's contact, in the pipeline "Заявки на
внедрение"; the owner closes the deal as lost with a reason and the deal moves to the portal's
LOSE stage; the CRM page lists each REST call of the delivery log with its outcome.

The fake is the stateful portal of the CRM tests (``tests/leads/crm/fake_crm.py``) served by
pytest-httpserver on 127.0.0.1; its fixture is copied here because the one in
``tests/leads/crm/conftest.py`` is out of this directory's reach. The outbox runs in the live
server's request (Huey's immediate mode, ``tests/conftest.py``); the test also calls
``deliver_due()`` itself, as the worker's sweep would, so that whatever is left due is
delivered, and checks that nothing is left undelivered.

Set-up data only where the marketplace has no page of its own: the vendor's leads program, the
partner made eligible (``make_eligible``) and one lead.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from partnerhub.core.delivery import deliver_due
from partnerhub.core.models.outbox import DeliveryState, OutboxDelivery
from partnerhub.leads.crm.handlers import HANDLER_NAME
from partnerhub.leads.crm.sync import DEAL_FIELD
from partnerhub.leads.models import PIPELINE_NAME, CrmConnection, Deal, DealStage, LostReason
from tests.e2e.payout_support import log_in
from tests.factories import OrganisationFactory, UserFactory, VendorFactory
from tests.http_servers import HTTPServer
from tests.leads.crm.fake_crm import WEBHOOK_PATH, FakeCrm
from tests.leads.factories import (
    CONTACT_EMAIL,
    CONTACT_NAME,
    CONTACT_PHONE,
    ensure_regions,
    lead_program,
    make_eligible,
    make_lead,
)

pytestmark = pytest.mark.e2e

OWNER = "owner@vnedrenie.example"
TOKEN = WEBHOOK_PATH.strip("/").rsplit("/", 1)[-1]


@pytest.fixture
def fake_crm() -> Iterator[FakeCrm]:
    """The partner's portal: the fake CRM on 127.0.0.1 (as in tests/leads/crm/conftest.py)."""
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    fake = FakeCrm()
    server.expect_request(re.compile(r"^/rest/"), method="POST").respond_with_handler(fake)
    fake.webhook_url = server.url_for(WEBHOOK_PATH)
    try:
        yield fake
    finally:
        fake.released.set()
        server.clear()
        server.stop()


def deliver_and_check() -> None:
    """Run the outbox as the worker's sweep would; every CRM push must then be delivered."""
    deliver_due()
    states = set(
        OutboxDelivery.objects.filter(handler=HANDLER_NAME).values_list("state", flat=True)
    )
    assert states == {DeliveryState.DONE}


def test_partner_connects_its_crm_and_the_deal_is_pushed_there_and_closed_as_lost(
    page, live_server, transactional_db, settings, fake_crm
):
    url = live_server.url
    # the portal is a local http address, allowed only with CRM_ALLOW_LOCAL; no rate limit
    # (2 requests/s would only slow the test down) and a short timeout
    settings.CRM_ALLOW_LOCAL = True
    settings.CRM_REQUESTS_PER_SECOND = 1000.0
    settings.CRM_TIMEOUT_SECONDS = 5.0
    # the regions come from a data migration, which a flush of an earlier live test removed
    ensure_regions()

    # given an eligible partner of the vendor's marketplace and one open lead
    program = lead_program(VendorFactory())
    organisation = OrganisationFactory(short_name="ООО «Внедрение»", inn="7707083893")
    UserFactory(organisation=organisation, role="owner", email=OWNER)
    make_eligible(organisation, program)
    lead = make_lead(program)

    # when the owner opens the CRM page, no CRM is connected and the log is empty
    log_in(page, url, OWNER, "/cabinet/leads/crm/")
    expect(page.locator("#crm-none")).to_be_visible()
    expect(page.locator("#crm-log tbody")).to_contain_text("Обращений к CRM пока не было.")

    # and connects the portal by its incoming webhook
    page.fill("#id_webhook_url", fake_crm.webhook_url)
    page.click("#crm-connect")

    # then the portal was checked once, and the page shows the connection with the token masked
    expect(page).to_have_url(f"{url}/cabinet/leads/crm/")
    expect(page.locator("ul.messages")).to_contain_text("CRM подключена")
    expect(page.locator("#crm-state")).to_have_text("сделки передаются")
    expect(page.locator("#crm-webhook-url")).to_contain_text("/rest/1/••••••/")
    assert TOKEN not in page.content()
    assert fake_crm.methods() == ["crm.category.list"]
    connection = CrmConnection.objects.get(organisation=organisation)
    assert (connection.webhook_url, connection.is_active) == (fake_crm.webhook_url, True)
    fake_crm.forget_calls()

    # when the owner takes the lead in the marketplace
    page.goto(f"{url}/cabinet/leads/")
    page.locator(f"#lead-{lead.pk} button.take").click()
    deal = Deal.objects.get(lead=lead, organisation=organisation)
    expect(page).to_have_url(f"{url}/cabinet/deals/{deal.pk}/")
    expect(page.locator("ul.messages")).to_contain_text("Заявка взята в работу")
    deliver_and_check()

    # then the portal holds exactly one deal, in the pipeline of that name, with the contact
    pipelines = [c for c in fake_crm.categories.values() if c["name"] == PIPELINE_NAME]
    assert len(pipelines) == 1
    category_id = str(pipelines[0]["id"])
    assert len(fake_crm.deals) == 1
    (remote,) = fake_crm.deals.values()
    assert remote["CATEGORY_ID"] == category_id
    assert remote["STAGE_ID"] == f"C{category_id}:NEW"
    assert remote[DEAL_FIELD] == str(deal.pk)
    assert len(fake_crm.contacts) == 1
    contact = fake_crm.contacts[int(remote["CONTACT_ID"])]
    assert contact["NAME"] == CONTACT_NAME
    assert [p["VALUE"] for p in contact["PHONE"]] == [CONTACT_PHONE]
    assert [e["VALUE"] for e in contact["EMAIL"]] == [CONTACT_EMAIL]
    assert fake_crm.methods().count("crm.deal.add") == 1

    # when the owner closes the deal as lost with a reason
    page.select_option("#id_reason", LostReason.PRICE)
    page.fill("#id_comment", "Клиент выбрал тариф подешевле")
    page.click("#lose-form button[type=submit]")
    expect(page.locator("#deal-stage")).to_have_text("Сделка проиграна")
    expect(page.locator("#deal-closed")).to_contain_text("Не устроила цена")
    expect(page.locator("#lose-form")).to_have_count(0)
    deal.refresh_from_db()
    assert (deal.stage, deal.is_open, deal.lost_reason) == (
        DealStage.LOST,
        False,
        LostReason.PRICE,
    )
    deliver_and_check()

    # then the same deal in the portal is in the LOSE stage, and nothing was added there
    assert list(fake_crm.deals) == [int(remote["ID"])]
    assert fake_crm.deals[int(remote["ID"])]["STAGE_ID"] == f"C{category_id}:LOSE"
    assert len(fake_crm.contacts) == 1
    assert fake_crm.methods().count("crm.deal.add") == 1
    assert fake_crm.methods()[-1] == "crm.deal.update"

    # when the owner opens the CRM page again, the log lists every call, all successful
    page.goto(f"{url}/cabinet/leads/crm/")
    rows = page.locator("#crm-log tbody tr")
    methods = rows.locator("td:nth-child(2) code").all_inner_texts()
    assert list(reversed(methods)) == fake_crm.methods()  # newest first
    expect(rows.filter(has_text="Ошибка")).to_have_count(0)
    for method in ("crm.contact.add", "crm.deal.add", "crm.deal.update"):
        row = rows.filter(has=page.locator("code", has_text=re.compile(rf"^{re.escape(method)}$")))
        expect(row).to_have_count(1)
        expect(row).to_contain_text("Успешно")
        expect(row).to_contain_text(f"№{deal.pk}")
        expect(row.locator(f"a[href='/cabinet/deals/{deal.pk}/']")).to_have_count(1)
    expect(page.locator("#crm-connection dt:has-text('Сделок в CRM') + dd")).to_have_text("1")
