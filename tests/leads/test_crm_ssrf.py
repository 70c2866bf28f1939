"""Issue 14, break 1, as it was found: in the default install a partner owner connected
``http://127.0.0.1:PORT/rest/...`` as its CRM, the server called it at once and showed the
internal service's error code. With the default settings (no fixture turns local addresses on
here, unlike tests/leads/crm/) the page names the field and no request reaches the listener;
the page never shows a remote's text."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.urls import reverse

from partnerhub.leads.models import CrmCall, CrmConnection
from tests.http_servers import HTTPServer

pytestmark = pytest.mark.django_db

URL = reverse("cabinet:lead_crm")
PUBLIC_ONLY = "Адрес портала должен быть доступен из интернета."
HTTPS_ONLY = "Адрес должен начинаться с https://"


@pytest.fixture
def internal_service():
    """An internal service on 127.0.0.1 that answers every path with its error code."""
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    server.expect_request(re.compile(".*")).respond_with_json(
        {"error": "INTERNAL_ONLY_42", "error_description": "internal service secret"}, status=500
    )
    yield server
    server.clear()
    server.stop()


def field_errors(response) -> list[str]:
    return [str(e) for e in response.context["form"].errors.get("webhook_url", [])]


def test_local_addresses_are_off_by_default():
    assert settings.CRM_ALLOW_LOCAL is False
    assert settings.WEBHOOK_ALLOW_LOCAL is False


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "localhost",
        "[::1]",
        "[::ffff:127.0.0.1]",
        "[64:ff9b::7f00:1]",
        "[2002:7f00:1::]",
        "2130706433",
        "0x7f.1",
        "10.0.0.1",
        "169.254.169.254",
        "100.64.0.1",
    ],
)
@pytest.mark.parametrize("scheme", ["http", "https"])
def test_the_owner_cannot_connect_an_internal_address_and_nothing_is_called(
    login_as, internal_service, host, scheme
):
    webhook = f"{scheme}://{host}:{internal_service.port}/rest/1/abcdef0123456789/"

    response = login_as("a:owner").post(URL, {"webhook_url": webhook})

    assert response.status_code == 400
    [message] = field_errors(response)
    assert message.startswith(HTTPS_ONLY) if scheme == "http" else message == PUBLIC_ONLY
    assert internal_service.log == []
    assert not CrmConnection.objects.exists()
    assert not CrmCall.objects.exists()
    body = response.content.decode()
    assert "INTERNAL_ONLY_42" not in body and "internal service secret" not in body
