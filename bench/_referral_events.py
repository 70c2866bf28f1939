"""Realistic referral events for the referral benchmarks (a helper, not a bench: ``make bench``
skips files whose names start with ``_``).

``generate()`` returns events of the contract in ``shared/spec/referrals.md`` ("Events") in time
order, with ids ``e1``, ``e2``, ... in that order; ``write_jsonl()`` writes them as JSON Lines in
arrival order, that is time order with a few lines arriving late (``arrival_order()``).

What the stream looks like (all of it from one ``random.Random(seed)``, so a seed gives the same
events, byte for byte, on every run):

- ``partner.registered``: 6-character codes from ``ALPHABET`` (no look-alikes), unique, spread
  over the first year (at most half the period).
- ``client.registered``: portal ids ``c<n>.bitrix24.ru``; about 85 % carry the ``referral_code``
  of a partner registered before them, 3 % an unknown code, the rest none; 3 % carry a valid INN.
  Partners are far from equal: each has a log-normal popularity, so a few bring many clients.
- ``client.activity``: ``users`` 1..50 (about half above 3); most within four weeks of the
  client's registration (the registration day included), the rest any time later.
- ``payment``: 60 % of clients pay. The first payment is usually a tariff (Team or Company for
  3, 6 or 12 months), then renewals when the paid period ends (some upgrade Team to Company),
  add-ons (``users.12``, ``disk.*``) and about 5 % other products (``market.app``...) that earn
  nothing. Amounts are decimal strings in roubles; some carry a discount.
- ``payment.refunded``: about 1 % of payments, 1 hour to 14 days after the payment.
- Timestamps are ISO 8601 with seconds and ``+03:00``; about 1 % are written in UTC as
  ``+00:00`` and 0.5 % with ``Z`` (the same instant).

The total is exactly ``events``: after the partners and clients, 15 % of the rest are payments,
1 % of those refunds, and activity fills the remainder.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import random
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 6
MSK = dt.timezone(dt.timedelta(hours=3))
DAY = 86_400
HOUR = 3_600

#: price in roubles by product and months (what a client pays, before any discount)
PRICES: dict[str, dict[int, str]] = {
    "tariff.team": {3: "5990.00", 6: "11390.00", 12: "21490.00"},
    "tariff.company": {3: "9990.00", 6: "18990.00", 12: "33990.00"},
    "users.12": {3: "2490.00", 6: "4790.00", 12: "8990.00"},
    "disk.100gb": {3: "1990.00", 6: "3790.00", 12: "6990.00"},
    "disk.250gb": {3: "3490.00", 6: "6590.00", 12: "12490.00"},
    "disk.1tb": {3: "6990.00", 6: "13290.00", 12: "24990.00"},
}
ADD_ONS = ["users.12", "disk.100gb", "disk.250gb", "disk.1tb"]
ADD_ON_WEIGHTS = [4, 3, 2, 1]
#: other payments: no points, no reward (amounts in roubles)
OTHER_PRODUCTS = {
    "market.app": ["990.00", "1990.00", "2990.00"],
    "market.app.crm-plus": ["1490.00", "4990.00"],
    "telephony.minutes": ["500.00", "1000.00", "3000.00"],
    "sms.pack": ["750.00", "1500.00"],
}
MONTHS = [3, 6, 12]
MONTH_WEIGHTS = [5, 2, 3]

ATTRIBUTED_SHARE = 0.85
UNKNOWN_CODE_SHARE = 0.03
INN_SHARE = 0.03
PAYING_SHARE = 0.60
PAYMENT_SHARE = 0.15  # of the events after the partners' and clients' registrations
REFUND_SHARE = 0.01  # of the payments
OTHER_SHARE = 0.05  # of the payments
UTC_SHARE = 0.01
ZULU_SHARE = 0.005
EARLY_ACTIVITY_SHARE = 0.7
EARLY_ACTIVITY_DAYS = 28


def sizes_for(events: int) -> tuple[int, int]:
    """Partners and clients in the proportions of the default run (500 / 30,000 / 300,000)."""
    return max(1, round(events * 500 / 300_000)), max(1, round(events * 30_000 / 300_000))


def generate(
    *,
    partners: int = 500,
    clients: int = 30_000,
    events: int = 300_000,
    start: str = "2024-11-01T00:00:00+03:00",
    days: int = 730,
    seed: int = 1,
) -> list[dict[str, Any]]:
    """``events`` events in time order: the partners' and clients' registrations, activity,
    payments and refunds (see the module docstring for their shape and proportions)."""
    if partners < 1 or clients < 1:
        raise ValueError("at least one partner and one client are needed")
    if partners + clients > events:
        raise ValueError(f"{partners} partners and {clients} clients do not fit in {events} events")
    if days < 2:
        raise ValueError("the period must be at least two days")
    rng = random.Random(seed)
    begin = int(dt.datetime.fromisoformat(start).timestamp())
    end = begin + days * DAY
    timed: list[tuple[int, int, dict[str, Any]]] = []  # (time, sequence, event)

    def add(at: int, event: dict[str, Any]) -> dict[str, Any]:
        timed.append((at, len(timed), event))
        return event

    codes, code_times, popularity = _partners(rng, partners, begin, days, add)
    names, client_times = _clients(rng, clients, codes, code_times, popularity, begin, end, add)
    rest = events - partners - clients
    payments = round(rest * PAYMENT_SHARE)
    refunds = min(payments, round(payments * REFUND_SHARE))
    paid = _payments(rng, payments, names, client_times, end, add)
    _refunds(rng, refunds, paid, end, add)
    _activity(rng, rest - payments - refunds, names, client_times, end, add)

    timed.sort(key=lambda item: (item[0], item[1]))
    result = []
    for number, (at, _sequence, event) in enumerate(timed, start=1):
        event["id"] = f"e{number}"
        event["at"] = _timestamp(rng, at)
        result.append(event)
    for event in result:  # refunds name their payment's id, known only now
        if event["type"] == "payment.refunded":
            event["payment"] = event["payment"]["id"]
    assert len(result) == events
    return [_ordered(event) for event in result]


def _partners(
    rng: random.Random, count: int, begin: int, days: int, add: Any
) -> tuple[list[str], list[int], list[float]]:
    codes: list[str] = []
    seen: set[str] = set()
    while len(codes) < count:
        code = "".join(rng.choices(ALPHABET, k=CODE_LENGTH))
        if code not in seen:
            seen.add(code)
            codes.append(code)
    window = min(365, days // 2) * DAY
    times = [begin + rng.randrange(window) for _ in codes]
    for code, at in zip(codes, times, strict=True):
        add(at, {"type": "partner.registered", "partner": code})
    popularity = [rng.lognormvariate(0.0, 1.5) for _ in codes]
    return codes, times, popularity


def _clients(
    rng: random.Random,
    count: int,
    codes: list[str],
    code_times: list[int],
    popularity: list[float],
    begin: int,
    end: int,
    add: Any,
) -> tuple[list[str], list[int]]:
    known = set(codes)
    cumulative = list(_accumulate(popularity))
    portal_numbers = rng.sample(range(10_000, 10_000 + 10 * count), count)
    names = [f"c{number}.bitrix24.ru" for number in portal_numbers]
    times = []
    for name in names:
        event: dict[str, Any] = {"type": "client.registered", "client": name}
        draw = rng.random()
        if draw < ATTRIBUTED_SHARE:
            partner = rng.choices(range(len(codes)), cum_weights=cumulative)[0]
            event["referral_code"] = codes[partner]
            earliest = code_times[partner] + HOUR
            at = earliest + rng.randrange(max(1, end - DAY - earliest))
        else:
            if draw < ATTRIBUTED_SHARE + UNKNOWN_CODE_SHARE:
                event["referral_code"] = _unknown_code(rng, known)
            at = begin + rng.randrange(end - DAY - begin)
        if rng.random() < INN_SHARE:
            event["inn"] = _inn(rng)
        add(at, event)
        times.append(at)
    return names, times


def _payments(
    rng: random.Random,
    target: int,
    names: list[str],
    client_times: list[int],
    end: int,
    add: Any,
) -> list[tuple[int, dict[str, Any]]]:
    """Payments by a share of the clients, round robin: each step gives one client its next
    payment (first tariff, renewal or upgrade when the period ends, add-on in between, or now
    and then another product) until ``target`` payments exist or no client has time left for one."""
    made: list[tuple[int, dict[str, Any]]] = []
    paying = [i for i in range(len(client_times)) if rng.random() < PAYING_SHARE] or [0]
    state = {
        i: {"tariff": None, "months": 0, "paid_until": 0, "last": client_times[i]} for i in paying
    }
    pool = list(paying)
    while len(made) < target and pool:
        slot = rng.randrange(len(pool))
        client = pool[slot]
        if rng.random() < OTHER_SHARE:  # an app or a service, bought at any time
            at = state[client]["last"] + HOUR + rng.randrange(60 * DAY)
            if at < end:
                made.append((at, _payment_event(client, *_other(rng))))
            continue
        payment = _next_payment(rng, state[client], client, client_times[client])
        if payment is None or payment[0] >= end:
            pool[slot] = pool[-1]
            pool.pop()
            continue
        made.append(payment)
    while len(made) < target:  # a tiny period: other products at any time after registration
        client = rng.randrange(len(client_times))
        at = client_times[client] + 60 + rng.randrange(max(1, end - client_times[client] - 60))
        made.append((at, _payment_event(client, *_other(rng))))
    for at, event in made:
        event["client"] = names[event["client"]]
        add(at, event)
    return made


def _next_payment(
    rng: random.Random, state: dict[str, Any], client: int, registered: int
) -> tuple[int, dict[str, Any]] | None:
    if state["tariff"] is None:
        at = registered + 600 + int(rng.expovariate(1 / (10 * DAY)))
        product = "tariff.team" if rng.random() < 0.7 else "tariff.company"
        if rng.random() < 0.1:
            product = rng.choices(ADD_ONS, weights=ADD_ON_WEIGHTS)[0]
        months = rng.choices(MONTHS, weights=MONTH_WEIGHTS)[0]
        state["tariff"] = product if product.startswith("tariff.") else "tariff.team"
        state["months"] = months
        state["paid_until"] = at + months * 30 * DAY
        state["last"] = at
        return at, _payment_event(client, product, months, _price(rng, product, months))
    if rng.random() < 0.70:  # renewal (or upgrade) a few days before the paid period ends
        at = max(state["last"] + HOUR, state["paid_until"] - rng.randrange(4 * DAY))
        product = state["tariff"]
        if product == "tariff.team" and rng.random() < 0.15:
            product = "tariff.company"
        months = rng.choices(MONTHS, weights=MONTH_WEIGHTS)[0]
        state["tariff"] = product
        state["paid_until"] = at + months * 30 * DAY
        state["last"] = at
        return at, _payment_event(client, product, months, _price(rng, product, months))
    gap = max(HOUR, state["paid_until"] - state["last"])
    at = state["last"] + HOUR + rng.randrange(gap)
    product = rng.choices(ADD_ONS, weights=ADD_ON_WEIGHTS)[0]
    months = rng.choices(MONTHS, weights=MONTH_WEIGHTS)[0]
    return at, _payment_event(client, product, months, _price(rng, product, months))


def _other(rng: random.Random) -> tuple[str, int, str]:
    product = rng.choice(list(OTHER_PRODUCTS))
    return product, rng.choice(MONTHS), rng.choice(OTHER_PRODUCTS[product])


def _price(rng: random.Random, product: str, months: int) -> str:
    price = Decimal(PRICES[product][months])
    if rng.random() < 0.1:  # a promo discount of 5-15 %
        price = price * (100 - rng.randint(5, 15)) / 100
    return str(price.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _payment_event(client: int, product: str, months: int, amount: str) -> dict[str, Any]:
    return {
        "type": "payment",
        "client": client,
        "product": product,
        "months": months,
        "amount": amount,
    }


def _refunds(
    rng: random.Random, target: int, paid: list[tuple[int, dict[str, Any]]], end: int, add: Any
) -> None:
    candidates = [index for index, (at, _event) in enumerate(paid) if at + 2 * HOUR < end]
    for index in rng.sample(candidates, min(target, len(candidates))):
        at, payment = paid[index]
        delay = HOUR + rng.randrange(min(14 * DAY, end - at - HOUR))
        add(at + delay, {"type": "payment.refunded", "payment": payment})


def _activity(
    rng: random.Random,
    target: int,
    names: list[str],
    client_times: list[int],
    end: int,
    add: Any,
) -> None:
    weights = [rng.lognormvariate(0.0, 1.0) for _ in client_times]
    chosen = rng.choices(range(len(client_times)), cum_weights=list(_accumulate(weights)), k=target)
    for client in chosen:
        registered = client_times[client]
        room = end - registered - 60
        if rng.random() < EARLY_ACTIVITY_SHARE:
            room = min(room, EARLY_ACTIVITY_DAYS * DAY)
        at = registered + 60 + rng.randrange(room)
        users = min(50, 1 + int(rng.expovariate(1 / 5)))
        add(at, {"type": "client.activity", "client": names[client], "users": users})


def _accumulate(values: list[float]) -> list[float]:
    total, out = 0.0, []
    for value in values:
        total += value
        out.append(total)
    return out


def _unknown_code(rng: random.Random, known: set[str]) -> str:
    while True:
        code = "".join(rng.choices(ALPHABET, k=CODE_LENGTH))
        if code not in known:
            return code


def _inn(rng: random.Random) -> str:
    """A 10-digit INN of a legal entity with a valid check digit."""
    digits = [rng.randrange(1, 10)] + [rng.randrange(10) for _ in range(8)]
    weights = [2, 4, 10, 3, 5, 9, 4, 6, 8]
    check = sum(d * w for d, w in zip(digits, weights, strict=True)) % 11 % 10
    return "".join(map(str, digits)) + str(check)


def _timestamp(rng: random.Random, at: int) -> str:
    draw = rng.random()
    if draw < ZULU_SHARE:
        return dt.datetime.fromtimestamp(at, dt.UTC).isoformat().replace("+00:00", "Z")
    if draw < ZULU_SHARE + UTC_SHARE:
        return dt.datetime.fromtimestamp(at, dt.UTC).isoformat()
    return dt.datetime.fromtimestamp(at, MSK).isoformat()


FIELD_ORDER = [
    "id",
    "type",
    "at",
    "partner",
    "client",
    "referral_code",
    "inn",
    "users",
    "product",
    "months",
    "amount",
    "payment",
]


def _ordered(event: dict[str, Any]) -> dict[str, Any]:
    return {name: event[name] for name in FIELD_ORDER if name in event}


def arrival_order(
    events: list[dict[str, Any]], *, late: float = 0.02, max_delay: int = 3_000, seed: int = 1
) -> list[dict[str, Any]]:
    """The events as a product would send them: in time order, except that a share ``late`` of
    them arrives up to ``max_delay`` positions later than its place."""
    rng = random.Random(seed)
    keys = [float(position) for position in range(len(events))]
    for position in rng.sample(range(len(events)), math.floor(len(events) * late + 0.5)):
        keys[position] += rng.randint(1, max_delay) + 0.5
    order = sorted(range(len(events)), key=keys.__getitem__)
    return [events[position] for position in order]


def write_jsonl(
    path: str | Path, events: list[dict[str, Any]], *, late: float = 0.02, seed: int = 1
) -> None:
    """Write ``events`` as JSON Lines in ``arrival_order`` (one object a line, UTF-8)."""
    with open(path, "w", encoding="utf-8") as handle:
        for event in arrival_order(events, late=late, seed=seed):
            handle.write(json.dumps(event, ensure_ascii=False))
            handle.write("\n")
