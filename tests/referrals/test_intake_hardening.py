"""No server error from a referral event (issue 14, breaks 2, 5 and 6): an event the database
cannot store (NUL, a lone surrogate), with a timestamp outside 2000..2100 or with oversized or
too deep extra fields is refused alone with a reason, and the rest of its batch or file is
stored. Run on SQLite and on PostgreSQL (which refuses U+0000 in text and jsonb)."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from partnerhub.accounts.services import api_token_create
from partnerhub.referrals.models import StoredEvent
from partnerhub.referrals.models.events import EventRejection
from partnerhub.referrals.services import intake
from tests.factories import ProgramFactory


def five_events(prefix: str = "") -> list[dict]:
    """A partner, two of its clients, activity and a payment: all valid."""
    return [
        {"id": f"{prefix}p1", "type": "partner.registered", "at": "2026-01-10T09:00:00+03:00",
         "partner": "AB12CD"},
        {"id": f"{prefix}c1", "type": "client.registered", "at": "2026-01-11T10:00:00+03:00",
         "client": f"{prefix}a.bitrix24.ru", "referral_code": "AB12CD"},
        {"id": f"{prefix}c2", "type": "client.registered", "at": "2026-01-11T11:00:00+03:00",
         "client": f"{prefix}b.bitrix24.ru", "referral_code": "AB12CD"},
        {"id": f"{prefix}a1", "type": "client.activity", "at": "2026-01-12T10:00:00+03:00",
         "client": f"{prefix}a.bitrix24.ru", "users": 5},
        {"id": f"{prefix}pay1", "type": "payment", "at": "2026-01-13T10:00:00+03:00",
         "client": f"{prefix}a.bitrix24.ru", "product": "tariff.team", "months": 3,
         "amount": "1500.00"},
    ]  # fmt: skip


@pytest.fixture
def program(world):
    return ProgramFactory(vendor=world.vendor, code="referrals")


@pytest.fixture
def vendor_api(world, program):
    _token, raw = api_token_create(organisation=world.vendor, name="product", role="administrator")
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


def post(client: Client, events: list[dict]):
    return client.post("/api/v1/referrals/events", json.dumps(events), "application/json")


def stored_ids(program) -> set[str]:
    return set(StoredEvent.objects.filter(program=program).values_list("event_id", flat=True))


# --- characters the database cannot store ---------------------------------------------------


def test_one_nul_bearing_event_is_refused_and_the_other_four_stored(vendor_api, program):
    events = five_events()
    events[2]["client"] = "b\x00.bitrix24.ru"
    response = post(vendor_api, events)
    assert response.status_code == 200
    assert response.json() == {
        "accepted": 4,
        "waiting": 0,
        "duplicates": 0,
        "rejected": [
            {"index": 2, "id": "c2", "reason": "client: character U+0000 cannot be stored"}
        ],
    }
    assert stored_ids(program) == {"p1", "c1", "a1", "pay1"}
    rejection = EventRejection.objects.get(program=program)
    assert (rejection.event_id, rejection.position) == ("c2", 2)


def test_a_nul_in_a_key_of_nested_extra_data_is_refused(vendor_api, program):
    events = five_events()
    events[0]["meta"] = {"source": [{"ok": 1}, {"bad\x00key": "x"}]}
    body = post(vendor_api, events).json()
    assert body["accepted"] == 4
    assert body["rejected"][0] == {
        "index": 0,
        "id": "p1",
        "reason": "meta.source[1].bad\\u0000key: character U+0000 cannot be stored",
    }


def test_a_nul_in_the_id_is_reported_escaped(vendor_api, program):
    events = five_events()
    events[3]["id"] = "a\x001"
    body = post(vendor_api, events).json()
    assert body["accepted"] == 4
    assert body["rejected"] == [
        {"index": 3, "id": "a\\u00001", "reason": "id: character U+0000 cannot be stored"}
    ]
    assert EventRejection.objects.get(program=program).event_id == "a\\u00001"


def test_lone_surrogates_are_refused_per_event(program):
    """JSON over the API cannot carry them (orjson refuses), but the back office's import
    (json module) and the portal's own events can."""
    events = five_events()
    events[4]["product"] = "tariff\ud800"
    events[2]["extra"] = {"\udfff": 1}
    result = intake.events_ingest(program=program, objs=events, source="file")
    assert result.accepted == 3
    assert [(r["index"], r["reason"]) for r in result.rejected] == [
        (2, "extra.\\udfff: character U+DFFF cannot be stored"),
        (4, "product: character U+D800 cannot be stored"),
    ]


# --- timestamps outside 2000..2100 ----------------------------------------------------------


def registered(eid: str, moment: str, partner: str) -> dict:
    return {"id": eid, "type": "partner.registered", "at": moment, "partner": partner}


@pytest.mark.parametrize(
    ("moment", "reason"),
    [
        ("0001-01-01T00:00:00+14:00", "at: year 1 is outside 2000..2100"),
        ("1999-12-31T23:59:59+00:00", "at: year 1999 is outside 2000..2100"),
        ("2101-01-01T00:00:00+03:00", "at: year 2101 is outside 2000..2100"),
    ],
)
def test_timestamps_outside_the_years_are_refused(vendor_api, program, moment, reason):
    with time_machine.travel(dt.datetime(2101, 1, 2, tzinfo=dt.UTC), tick=False):
        body = post(vendor_api, [registered("x", moment, "OUT001"), *five_events()]).json()
    assert body["accepted"] == 5
    assert body["rejected"] == [{"index": 0, "id": "x", "reason": reason}]


def test_a_promo_code_valid_past_2100_is_refused(program):
    events = [
        *five_events()[:1],
        {"id": "pc", "type": "promo_code.created", "at": "2026-01-10T10:00:00+03:00",
         "partner": "AB12CD", "code": "SPRING", "valid_from": "2026-01-10T00:00:00+03:00",
         "valid_until": "2101-01-01T00:00:00+03:00"},
    ]  # fmt: skip
    result = intake.events_ingest(program=program, objs=events, source="file")
    assert result.accepted == 1
    assert result.rejected == [
        {"index": 1, "id": "pc", "reason": "valid_until: year 2101 is outside 2000..2100"}
    ]


def test_the_boundary_years_are_accepted_and_the_event_log_shows_them(
    vendor_api, program, login_as
):
    early = registered("early", "2000-01-01T00:00:00+14:00", "EARLY1")  # 1999-12-31 in UTC
    late = registered("late", "2100-12-31T23:59:59-12:00", "LATE01")  # 2101-01-01 in UTC
    with time_machine.travel(dt.datetime(2101, 1, 2, tzinfo=dt.UTC), tick=False):
        body = post(vendor_api, [early, late]).json()
        assert body == {"accepted": 2, "waiting": 0, "duplicates": 0, "rejected": []}
        page = login_as("vendor:administrator").get("/backoffice/referrals/events/")
    assert page.status_code == 200
    assert "EARLY1" in page.content.decode()
    assert "LATE01" in page.content.decode()


def test_the_year_limits_are_settings(program, settings):
    settings.INPUT_YEAR_MIN = 2026
    events = [registered("old", "2025-12-31T23:00:00+03:00", "OLD001"), *five_events()]
    result = intake.events_ingest(program=program, objs=events, source="file")
    assert result.accepted == 5
    assert result.rejected[0]["reason"] == "at: year 2025 is outside 2026..2100"


# --- extra fields -----------------------------------------------------------------------------


def test_extra_fields_within_the_limits_are_stored_as_received(program):
    events = five_events()
    events[4]["invoice"] = {"number": "A-1", "lines": [{"sku": "team", "qty": 1}]}
    result = intake.events_ingest(program=program, objs=events, source="file")
    assert (result.accepted, result.rejected) == (5, [])
    raw = StoredEvent.objects.get(program=program, event_id="pay1").raw
    assert raw["invoice"] == {"number": "A-1", "lines": [{"sku": "team", "qty": 1}]}


def test_oversized_extra_fields_are_refused(program, settings):
    assert settings.REFERRAL_EVENT_EXTRA_MAX_BYTES == 4096
    events = five_events()
    events[3]["note"] = "я" * 2100  # 4 200 bytes of UTF-8
    result = intake.events_ingest(program=program, objs=events, source="file")
    assert result.accepted == 4
    reason = "extra fields take 4211 bytes as JSON, at most 4096 allowed"
    assert result.rejected == [{"index": 3, "id": "a1", "reason": reason}]


def test_too_deep_extra_fields_are_refused(program, settings):
    assert settings.REFERRAL_EVENT_EXTRA_MAX_DEPTH == 4
    events = five_events()
    events[3]["ok"] = {"a": {"b": {"c": [1]}}}  # depth 4
    events[4]["deep"] = {"a": {"b": {"c": {"d": [1]}}}}  # depth 5
    result = intake.events_ingest(program=program, objs=events, source="file")
    assert result.accepted == 4
    assert result.rejected == [
        {"index": 4, "id": "pay1", "reason": "extra fields nest 5 levels deep, at most 4 allowed"}
    ]


def test_a_thousand_levels_of_nesting_is_refused_not_a_server_error(vendor_api, program):
    events = five_events()
    events[3]["deep"] = "DEEP"
    body = json.dumps(events).replace('"DEEP"', "[" * 1000 + "1" + "]" * 1000)
    response = vendor_api.post("/api/v1/referrals/events", body, "application/json")
    assert response.status_code == 200
    assert response.json()["rejected"][0]["reason"].startswith("extra fields nest 1000 levels")


# --- the import command ---------------------------------------------------------------------


def test_the_import_command_reports_the_nul_line_and_stores_the_others(program, tmp_path):
    events = five_events()
    events[2]["client"] = "b\x00.bitrix24.ru"
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(json.dumps(e) for e in events) + "\n")
    out = io.StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("referrals", "import", str(path), stdout=out)
    assert caught.value.returncode == 1
    assert "line 3" in str(caught.value)
    assert json.loads(out.getvalue()) == {
        "accepted": 4,
        "waiting": 0,
        "duplicates": 0,
        "rejected": [
            {"line": 3, "id": "c2", "reason": "client: character U+0000 cannot be stored"}
        ],
    }
    assert stored_ids(program) == {"p1", "c1", "a1", "pay1"}


def test_the_import_command_exits_0_when_every_line_is_taken(program, tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(json.dumps(e) for e in five_events()) + "\n")
    out = io.StringIO()
    call_command("referrals", "import", str(path), stdout=out)
    assert json.loads(out.getvalue())["accepted"] == 5


def test_the_back_office_import_reports_nul_and_surrogate_lines_and_stores_the_others(
    program, login_as
):
    """The back office reads the file with the json module, which lets lone surrogates in."""
    events = five_events()
    lines = [json.dumps(e) for e in events]
    lines[1] = lines[1].replace("a.bitrix24.ru", "a\\u0000.bitrix24.ru")  # an escaped NUL
    lines[2] = lines[2].replace("b.bitrix24.ru", "b\\ud800.bitrix24.ru")  # a lone surrogate
    upload = SimpleUploadedFile("events.jsonl", "\n".join(lines).encode())
    response = login_as("vendor:program_manager").post(
        "/backoffice/referrals/events/import/", {"file": upload}
    )
    assert response.status_code == 200
    rejected = response.context["result"]["rejected"]
    assert [(r["line"], r["reason"]) for r in rejected] == [
        (2, "client: character U+0000 cannot be stored"),
        (3, "client: character U+D800 cannot be stored"),
    ]  # lines 4 and 5 name the client of line 2: they wait for it
    assert response.context["result"]["waiting"] == 2
    assert stored_ids(program) == {"p1", "a1", "pay1"}
