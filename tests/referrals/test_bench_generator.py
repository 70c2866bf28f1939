"""The benchmarks' event generator (bench/_referral_events.py): deterministic for a seed, valid
events of the spec's contract (referrals.md "Events"), in the proportions it promises."""

from __future__ import annotations

import datetime as dt
import importlib.util
import itertools
import json
import re
import sys
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "_referral_events.py"
POINTS_PRODUCTS = {
    "tariff.team",
    "tariff.company",
    "users.12",
    "disk.100gb",
    "disk.250gb",
    "disk.1tb",
}
AMOUNT = re.compile(r"^\d+\.\d{2}$")
SIZES = {"partners": 40, "clients": 2_000, "events": 20_000, "seed": 7}


def load_generator():
    spec = importlib.util.spec_from_file_location("_referral_events", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("_referral_events", module)
    spec.loader.exec_module(module)
    return module


gen = load_generator()


@pytest.fixture(scope="module")
def events():
    return gen.generate(**SIZES)


def instant(text: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    assert moment.utcoffset() is not None, text
    return moment


def test_the_same_seed_gives_the_same_events_and_another_seed_others(events):
    # given the events of seed 7
    # when they are generated again, and with seed 8
    again = gen.generate(**SIZES)
    other = gen.generate(**{**SIZES, "seed": 8})
    # then the first are equal to the byte and the second differ
    assert json.dumps(again) == json.dumps(events)
    assert json.dumps(other) != json.dumps(events)


def test_exactly_the_number_of_events_asked_with_unique_ids_in_time_order(events):
    assert len(events) == SIZES["events"]
    assert [event["id"] for event in events] == [f"e{n}" for n in range(1, len(events) + 1)]
    moments = [instant(event["at"]) for event in events]
    assert moments == sorted(moments)
    start = dt.datetime.fromisoformat("2024-11-01T00:00:00+03:00")
    assert start <= moments[0] and moments[-1] < start + dt.timedelta(days=730)


def test_every_event_is_valid_for_the_contract(events):
    partners: dict[str, dt.datetime] = {}
    clients: dict[str, dt.datetime] = {}
    payments: dict[str, dt.datetime] = {}
    for event in events:
        at = instant(event["at"])
        kind = event["type"]
        if kind == "partner.registered":
            assert re.fullmatch(r"[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{6}", event["partner"])
            assert event["partner"] not in partners
            partners[event["partner"]] = at
        elif kind == "client.registered":
            assert re.fullmatch(r"c\d+\.bitrix24\.ru", event["client"])
            assert event["client"] not in clients
            clients[event["client"]] = at
            if event.get("referral_code") in partners:
                assert partners[event["referral_code"]] < at
            if "inn" in event:
                assert re.fullmatch(r"\d{10}", event["inn"])
        elif kind == "client.activity":
            assert clients[event["client"]] < at
            assert isinstance(event["users"], int) and 1 <= event["users"] <= 50
        elif kind == "payment":
            assert clients[event["client"]] < at
            assert event["months"] in (3, 6, 12)
            assert AMOUNT.match(event["amount"]) and Decimal(event["amount"]) > 0
            payments[event["id"]] = at
        else:
            assert kind == "payment.refunded"
            assert payments[event["payment"]] < at


def test_the_proportions_are_those_promised(events):
    kinds = Counter(event["type"] for event in events)
    assert kinds["partner.registered"] == SIZES["partners"]
    assert kinds["client.registered"] == SIZES["clients"]
    rest = SIZES["events"] - SIZES["partners"] - SIZES["clients"]
    assert kinds["payment"] == round(rest * 0.15)
    assert kinds["payment.refunded"] == round(kinds["payment"] * 0.01)
    codes = {event["partner"] for event in events if event["type"] == "partner.registered"}
    registered = [event for event in events if event["type"] == "client.registered"]
    attributed = Counter(e["referral_code"] for e in registered if e.get("referral_code") in codes)
    unknown = [e for e in registered if "referral_code" in e and e["referral_code"] not in codes]
    assert 0.82 < sum(attributed.values()) / len(registered) < 0.88
    assert 0 < len(unknown) / len(registered) < 0.06
    assert 0 < sum("inn" in e for e in registered) / len(registered) < 0.06
    # a few partners bring many clients: the busiest brings several times the median
    counts = sorted(attributed.values())
    assert counts[-1] > 4 * counts[len(counts) // 2]
    paid = [event for event in events if event["type"] == "payment"]
    other = sum(event["product"] not in POINTS_PRODUCTS for event in paid)
    assert 0.03 < other / len(paid) < 0.08
    offsets = Counter(event["at"][-6:] for event in events)
    assert offsets["+03:00"] / len(events) > 0.97
    assert offsets["+00:00"] > 0 and sum(event["at"].endswith("Z") for event in events) > 0


def test_payments_include_renewals_and_upgrades(events):
    lines: dict[str, list[str]] = {}
    for event in events:
        if event["type"] == "payment" and event["product"].startswith("tariff."):
            lines.setdefault(event["client"], []).append(event["product"])
    assert any(len(products) > 1 for products in lines.values())
    assert any(products[:2] == ["tariff.team", "tariff.company"] for products in lines.values())


def test_activity_comes_mostly_in_the_first_weeks(events):
    registered = {e["client"]: instant(e["at"]) for e in events if e["type"] == "client.registered"}
    delays = [
        instant(e["at"]) - registered[e["client"]] for e in events if e["type"] == "client.activity"
    ]
    early = sum(delay <= dt.timedelta(days=28) for delay in delays)
    assert 0.7 < early / len(delays) < 0.95


def test_too_many_registrations_for_the_events_asked_is_an_error():
    with pytest.raises(ValueError):
        gen.generate(partners=10, clients=100, events=50)


def test_the_file_is_in_time_order_but_for_two_percent_of_late_lines(events, tmp_path):
    # when the events are written as JSON Lines
    path = tmp_path / "events.jsonl"
    gen.write_jsonl(path, events)
    # then every event is there once, each line one JSON object
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert sorted(lines, key=lambda e: int(e["id"][1:])) == events
    # and about 2 % of the lines came later than an event that follows them in time
    numbers = [int(event["id"][1:]) for event in lines]
    late = sum(1 for before, after in itertools.pairwise(numbers) if after < before)
    assert 0.01 < late / len(lines) < 0.03
    # and writing again gives the same bytes
    again = tmp_path / "again.jsonl"
    gen.write_jsonl(again, events)
    assert again.read_bytes() == path.read_bytes()


def test_sizes_for_keep_the_default_proportions():
    assert gen.sizes_for(300_000) == (500, 30_000)
    assert gen.sizes_for(2_000) == (3, 200)


def test_the_engine_accepts_every_event_and_attributes_the_clients(events):
    # given the generated events, when the engine replays them to the end of the period
    from partnerhub.referrals.engine import run

    result = run(events, as_of=dt.datetime.fromisoformat("2026-11-01T00:00:00+03:00"))
    # then no event is rejected and every partner appears with clients in it
    assert result.rejected == []
    assert len(result.partners) == SIZES["partners"]
    attributed = sum(partner.standing.clients for partner in result.partners.values())
    assert 0.82 < attributed / SIZES["clients"] < 0.88
