"""The referral API: event intake (JSON array and JSON Lines), limits, standing and history."""

from __future__ import annotations

import datetime as dt
import json
import threading

import pytest
from django.db import connection
from django.test import Client

from partnerhub.accounts.services import api_token_create
from partnerhub.referrals.models import ReferralPartner, StoredEvent
from tests.factories import ProgramFactory

MSK = dt.timezone(dt.timedelta(hours=3))


def event_list(prefix: str = "") -> list[dict]:
    return [
        {
            "id": f"{prefix}p1",
            "type": "partner.registered",
            "at": "2026-01-10T09:00:00+03:00",
            "partner": "AB12CD",
        },
        {
            "id": f"{prefix}c1",
            "type": "client.registered",
            "at": "2026-01-11T10:00:00+03:00",
            "client": f"{prefix}a.bitrix24.ru",
            "referral_code": "AB12CD",
        },
        {
            "id": f"{prefix}a1",
            "type": "client.activity",
            "at": "2026-01-12T10:00:00+03:00",
            "client": f"{prefix}a.bitrix24.ru",
            "users": 5,
        },
    ]


@pytest.fixture
def program(world):
    return ProgramFactory(vendor=world.vendor, code="referrals")


@pytest.fixture
def vendor_api(world, program):
    _token, raw = api_token_create(organisation=world.vendor, name="product", role="administrator")
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


def post(client: Client, body, content_type="application/json", **headers):
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post("/api/v1/referrals/events", data, content_type=content_type, **headers)


def test_a_json_array_is_accepted_with_counts(vendor_api):
    response = post(vendor_api, event_list())
    assert response.status_code == 200
    assert response.json() == {"accepted": 3, "waiting": 0, "duplicates": 0, "rejected": []}


def test_json_lines_are_accepted_and_duplicates_counted(vendor_api):
    lines = "\n".join(json.dumps(e) for e in event_list()) + "\n\n"
    post(vendor_api, event_list()[:1])
    response = post(vendor_api, lines, content_type="application/x-ndjson")
    assert response.json() == {"accepted": 2, "waiting": 0, "duplicates": 1, "rejected": []}


def test_rejected_events_name_their_index_and_id(vendor_api):
    events = [
        *event_list(),
        {
            "id": "x",
            "type": "payment",
            "at": "2026-01-12T10:00:00+03:00",
            "client": "nobody",
            "product": "tariff.team",
            "months": 3,
            "amount": "10.00",
        },
    ]
    body = post(vendor_api, events).json()
    # a payment of a client not registered yet is accepted and waits for it
    assert (body["accepted"], body["waiting"], body["rejected"]) == (4, 1, [])


def test_malformed_json_is_a_400_naming_the_line(vendor_api):
    lines = json.dumps(event_list()[0]) + "\n{oops\n"
    response = post(vendor_api, lines, content_type="application/x-ndjson")
    assert response.status_code == 400
    assert "строке 2" in response.json()["error"]["message"]
    assert StoredEvent.objects.count() == 0


def test_a_body_over_the_limits_is_a_413(vendor_api, settings):
    settings.REFERRAL_EVENTS_MAX_BATCH = 2
    assert post(vendor_api, event_list()).status_code == 413
    settings.REFERRAL_EVENTS_MAX_BATCH = 10_000
    settings.REFERRAL_EVENTS_MAX_BYTES = 100
    assert post(vendor_api, event_list()).status_code == 413
    assert StoredEvent.objects.count() == 0


def test_a_partner_token_cannot_post_events(world, program):
    _token, raw = api_token_create(organisation=world.partner_a, name="crm")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert post(client, event_list()).status_code == 403


def test_the_same_idempotency_key_replays_the_answer(vendor_api):
    first = post(vendor_api, event_list(), HTTP_IDEMPOTENCY_KEY="batch-1")
    again = post(vendor_api, event_list(), HTTP_IDEMPOTENCY_KEY="batch-1")
    assert (
        again.json()
        == first.json()
        == {"accepted": 3, "waiting": 0, "duplicates": 0, "rejected": []}
    )
    assert again.headers["Idempotency-Replayed"] == "true"


def test_standing_has_the_replay_fields_and_as_of(vendor_api, world, program):
    post(vendor_api, event_list())
    url = "/api/v1/referrals/partners/AB12CD/standing"
    body = vendor_api.get(url, {"as_of": "2026-02-01T00:00:00+03:00"}).json()
    assert body == {
        "partner": "AB12CD",
        "level": 0,
        "active_points": 1,
        "points_total": 1,
        "bonus_accrued": "100.00",
        "bonus_balance": "100.00",
        "clients": 1,
        "active_clients": 1,
        "next_review": "2026-04-10T09:00:00+03:00",
    }
    before = vendor_api.get(url, {"as_of": "2026-01-11T00:00:00+03:00"}).json()
    assert (before["clients"], before["bonus_accrued"]) == (0, "0.00")
    assert vendor_api.get(url, {"as_of": "2026-01-11"}).status_code == 400


def test_a_partner_sees_its_own_standing_only(vendor_api, world, program):
    post(vendor_api, event_list())
    ReferralPartner.objects.create(
        program=program,
        organisation=world.partner_a,
        code="AB12CD",
        registered_at=dt.datetime(2026, 1, 10, 9, tzinfo=MSK),
    )
    _t, raw_a = api_token_create(organisation=world.partner_a, name="a")
    _t, raw_b = api_token_create(organisation=world.partner_b, name="b")
    url = "/api/v1/referrals/partners/AB12CD/history"
    own = Client(HTTP_AUTHORIZATION=f"Bearer {raw_a}").get(url)
    other = Client(HTTP_AUTHORIZATION=f"Bearer {raw_b}").get(url)
    assert own.status_code == 200
    assert [b["kind"] for b in own.json()["bonuses"]] == ["activation"]
    assert other.status_code == 404


@pytest.mark.django_db(transaction=True)
def test_parallel_batches_with_the_same_ids_store_each_event_once(world, program):
    _token, raw = api_token_create(organisation=world.vendor, name="product", role="administrator")
    events = event_list()
    results: list[dict] = []

    def send() -> None:
        try:
            client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
            results.append(post(client, events).json())
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r["accepted"] for r in results) == 3
    assert sum(r["accepted"] + r["duplicates"] for r in results) == 18
    assert StoredEvent.objects.count() == 3
