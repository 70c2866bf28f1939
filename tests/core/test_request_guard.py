"""core.request_guard: NUL and non-UTF-8 in URLs are a 400 naming the parameter (JSON under /api/,
a page elsewhere), oversized bodies a 413 (issue 14, breaks 2 and 5)."""

from __future__ import annotations

import json

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client, RequestFactory

from partnerhub.accounts.services import api_token_create
from partnerhub.partners.models import ProgramKind
from tests.factories import ProgramFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def vendor_api(world) -> Client:
    _token, raw = api_token_create(organisation=world.vendor, name="ci", role="administrator")
    return Client(HTTP_AUTHORIZATION=f"Token {raw}")


@pytest.fixture
def partner_api(world) -> Client:
    _token, raw = api_token_create(organisation=world.partner_a, name="ci", role="owner")
    return Client(HTTP_AUTHORIZATION=f"Token {raw}")


# --- NUL and undecodable bytes in the URL ---------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/r/AB%00CD",
        "/leads/request/?program=%00",
        "/accounts/login/?next=%00",
    ],
)
def test_nul_in_a_public_url_is_a_400_page_not_a_500(url):
    response = Client().get(url)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    assert "недопустимые символы" in response.content.decode()


def test_the_page_names_the_parameter(world, login_as):
    response = login_as("vendor:administrator").get("/backoffice/partners/?q=%00")
    assert response.status_code == 400
    assert "Параметр «q» содержит недопустимые символы" in response.content.decode()


@pytest.mark.parametrize(
    "query", ["status=%00", "handler=x%00y", "event=%00&status=dead", "page=%00"]
)
def test_nul_in_the_outbox_filters_is_a_400(world, login_as, query):
    response = login_as("vendor:administrator").get(f"/backoffice/outbox/?{query}")
    assert response.status_code == 400


def test_the_page_is_in_the_language_the_user_chose(world, login_as):
    """The guard runs after the language is chosen (its texts go through gettext; the English
    catalogue gets them with the integration)."""
    client = login_as("vendor:administrator")
    client.cookies["django_language"] = "en"
    response = client.get("/backoffice/partners/?q=%00")
    assert response.status_code == 400
    assert response["Content-Language"] == "en"
    assert '<html lang="en">' in response.content.decode()


def test_nul_in_an_api_path_is_a_json_400(vendor_api):
    response = vendor_api.get("/api/v1/referrals/partners/AB%00/standing")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_characters"
    assert set(error["fields"]) == {"path"}


def test_nul_in_an_api_query_names_the_parameter(vendor_api):
    response = vendor_api.get("/api/v1/referrals/partners/AB/standing?as_of=2026-01-01%00")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_characters"
    assert list(error["fields"]) == ["as_of"]
    assert "as_of" in error["message"]


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("q=%ff", "q"),  # not UTF-8
        ("q=%ED%A0%80", "q"),  # an encoded lone surrogate
        ("q%00=1", "q\\0"),  # NUL in the name
        ("ok=1&status=a%C3", "status"),  # a cut multi-byte character
    ],
)
def test_undecodable_bytes_and_surrogates_in_the_query_are_refused(partner_api, query, name):
    response = partner_api.get(f"/api/v1/deals?{query}")
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == [name]


def _wsgi_status(environ_overrides: dict[str, str]) -> int:
    """The status the WSGI application answers for an environ as a real server builds it
    (PEP 3333: the raw bytes of the path as ISO-8859-1 text; the test client would re-quote)."""
    environ = RequestFactory()._base_environ(**environ_overrides)
    statuses: list[str] = []
    # as the test client does: the end of the request must not close the test's connection
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        response = WSGIHandler()(
            environ, lambda status, headers, exc_info=None: statuses.append(status)
        )
        response.close()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return int(statuses[0].split()[0])


def test_nul_in_the_raw_path_is_refused():
    assert _wsgi_status({"PATH_INFO": "/r/AB\x00CD"}) == 400


@pytest.mark.parametrize("raw_path", ["/r/AB\xff", "/r/AB\xed\xa0\x80"])
def test_non_utf8_bytes_in_the_raw_path_are_kept_as_their_percent_text(raw_path):
    """Django turns them into ``%FF`` text, which every column stores: no 500."""
    assert _wsgi_status({"PATH_INFO": raw_path}) == 302


def test_raw_non_utf8_bytes_in_the_query_are_refused():
    assert _wsgi_status({"PATH_INFO": "/leads/request/", "QUERY_STRING": "program=\xff"}) == 400
    # the same parameter in UTF-8 (raw bytes, as a server passes them) reaches the view, which
    # knows no such program
    query = "program=\xd0\x91"
    assert _wsgi_status({"PATH_INFO": "/leads/request/", "QUERY_STRING": query}) == 404


def test_text_that_is_fine_passes(partner_api):
    response = partner_api.get("/api/v1/deals?q=%D0%90%D0%BB%D1%8C%D1%84%D0%B0+%2B1")
    assert response.status_code == 200


def test_nul_in_a_header_is_refused(partner_api):
    response = partner_api.get("/api/v1/deals", HTTP_IDEMPOTENCY_KEY="a\x00b")
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["Idempotency-Key"]


# --- oversized bodies -----------------------------------------------------------------------

TWENTY_MB = 20 * 1024 * 1024


def test_20_mb_body_to_the_leads_api_is_a_json_413(vendor_api):
    body = b"[" + b" " * TWENTY_MB + b"]"
    response = vendor_api.post("/api/v1/leads", body, content_type="application/json")
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "payload_too_large"
    assert "2,5" in error["message"] or "2.5" in error["message"]


def test_a_declared_length_over_the_limit_is_refused_before_reading(vendor_api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = vendor_api.post(
        "/api/v1/leads",
        json.dumps({"comment": "x" * 2000}),
        content_type="application/json",
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_referral_events_take_bodies_up_to_their_own_limit(world, vendor_api, settings):
    ProgramFactory(vendor=world.vendor, kind=ProgramKind.REFERRALS, name="Реферальная")
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    settings.REFERRAL_EVENTS_MAX_BYTES = 100_000
    settings.REQUEST_BODY_LIMITS = {"api:referral_events": 100_000}
    body = "[" + " " * 5000 + "]"
    response = vendor_api.post("/api/v1/referrals/events", body, content_type="application/json")
    assert response.status_code == 200
    big = "[" + " " * 200_000 + "]"
    response = vendor_api.post("/api/v1/referrals/events", big, content_type="application/json")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_a_form_over_the_limit_is_a_413_page(world, login_as, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    client = login_as("a:owner")
    response = client.post("/cabinet/card/edit/", {"short_name": "x" * 5000})
    assert response.status_code == 413
    assert "Слишком большой запрос" in response.content.decode()


def test_data_too_big_raised_while_reading_is_a_json_413(vendor_api, settings):
    """Django raises RequestDataTooBig when the body is read (here the view's declared limit lets
    the guard pass it, Django's reading does not): handler400 answers 413, not an HTML 400."""
    settings.REQUEST_BODY_LIMITS = {"api:leads": 10_000_000}
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = vendor_api.post(
        "/api/v1/leads",
        json.dumps({"comment": "x" * 2000}),
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="k-1",
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
