"""Fixtures of the CRM tests: the fake portal on 127.0.0.1 (pytest-httpserver, a thread per
request so that a slow answer does not hold up the next one), CRM calls allowed to reach it,
a short timeout, no rate limit unless a test sets one, and partner A connected to the fake."""

from __future__ import annotations

import re

import pytest

# The outbox handler registers on import; in the app LeadsConfig.ready() imports it.
from partnerhub.leads.crm import handlers  # noqa: F401
from partnerhub.leads.crm.services import crm_connect
from tests.http_servers import HTTPServer
from tests.leads.crm.fake_crm import WEBHOOK_PATH, FakeCrm


@pytest.fixture(autouse=True)
def _crm_settings(settings):
    settings.CRM_ALLOW_LOCAL = True
    settings.CRM_TIMEOUT_SECONDS = 0.5
    settings.CRM_REQUESTS_PER_SECOND = 1000.0


@pytest.fixture
def fake_crm():
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    fake = FakeCrm()
    server.expect_request(re.compile(r"^/rest/"), method="POST").respond_with_handler(fake)
    fake.webhook_url = server.url_for(WEBHOOK_PATH)
    yield fake
    fake.released.set()
    server.clear()
    server.stop()


@pytest.fixture
def connected(world, fake_crm):
    """Partner A's portal is the fake (connected through the service, which calls it once)."""
    connection = crm_connect(
        organisation=world.partner_a, webhook_url=fake_crm.webhook_url, by=world.user("a:owner")
    )
    fake_crm.forget_calls()
    return connection
