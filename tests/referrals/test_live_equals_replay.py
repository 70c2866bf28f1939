"""The invariant of the live standing, as a property (issue 15 item 3; spec referrals.md: "Events
may arrive late or out of order: the result must be the same as if they had arrived in order").

For any history (partners, some registered twice; promo codes, some created by two partners or
deactivated; clients registered with link codes, promo codes, unknown codes or none, some twice
with other codes and dates; activity, payments, refunds, adjustments, blocks; events naming
clients and payments that never come) and any permutation and batching of its arrival, posted
through the real intake service (applied in the request, or left for the worker, who may run
late), the live standing of every partner at a few as-of times equals the replay of the stored
events, and ``verify`` passes.

Bounded for CI (``EXAMPLES``, under a minute on SQLite); a longer run:
``PARTNERHUB_PROPERTY_EXAMPLES=500 pytest tests/referrals/test_live_equals_replay.py``.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from partnerhub.partners.models import Organisation
from partnerhub.referrals.engine import run
from partnerhub.referrals.models import PendingEvent, ReferralClient, ReferralPartner, StoredEvent
from partnerhub.referrals.services import intake, live
from partnerhub.referrals.services.live import feed as live_feed
from partnerhub.referrals.services.live import memory as live_memory
from tests.factories import OrganisationFactory, ProgramFactory
from tests.referrals.test_live import NOW, T0, same_history, stored

EXAMPLES = int(os.environ.get("PARTNERHUB_PROPERTY_EXAMPLES", "60"))
CODES = ["PA1111", "PB2222", "PC3333"]
UNKNOWN_CODE = "ZZ9999"
PROMOS = ["SPRING", "autumn"]
INNS = ["7707083893", "500100732259"]
PRODUCTS = ["tariff.team", "tariff.company", "users.12", "disk.100gb", "disk.1tb", "other"]
CLIENTS = [f"c{n}.ru" for n in range(6)]
GHOST = "ghost.ru"  # never registers: its events wait for ever


def at(minutes: int) -> str:
    return (T0 + dt.timedelta(minutes=minutes)).isoformat()


#: event times: minutes over about 400 days, coarse enough for equal times to happen
moments = st.integers(min_value=0, max_value=400).map(lambda day: day * 1440 + 600) | st.integers(
    min_value=0, max_value=400 * 1440
)


DAY = 1440


@st.composite
def histories(draw: Any) -> list[dict[str, Any]]:
    """Times are drawn so that much happens: partners register early, a client's activity
    and payments mostly follow its registration within weeks (some come before it)."""
    events: list[dict[str, Any]] = []
    ids = iter(range(10_000))

    def add(kind: str, minutes: int, **fields: Any) -> str:
        event_id = f"e{next(ids)}"
        events.append({"id": event_id, "type": kind, "at": at(max(0, minutes)), **fields})
        return event_id

    def near(base: int) -> int:
        return base + draw(st.integers(min_value=-3 * DAY, max_value=120 * DAY))

    registered = draw(st.lists(st.sampled_from(CODES), min_size=1, max_size=4))  # repeats: twice
    for code in registered:
        inn = draw(st.sampled_from([None, *INNS]))
        when = draw(st.integers(min_value=0, max_value=40 * DAY))
        add("partner.registered", when, partner=code, **({"inn": inn} if inn else {}))
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        start = draw(st.integers(min_value=0, max_value=60 * DAY))
        text = draw(st.sampled_from(PROMOS))
        add(
            "promo_code.created",
            start + draw(st.integers(min_value=0, max_value=DAY)),
            partner=draw(st.sampled_from(CODES)),
            code=text.swapcase() if draw(st.booleans()) else text,
            valid_from=at(start),
            valid_until=at(start + draw(st.integers(min_value=1, max_value=300 * DAY))),
            client_bonus="month",
        )
    for _ in range(draw(st.integers(min_value=0, max_value=1))):
        add("promo_code.deactivated", draw(moments), code=draw(st.sampled_from(PROMOS)))
    clients = draw(st.lists(st.sampled_from(CLIENTS), min_size=3, max_size=9))  # repeats: twice
    base: dict[str, int] = {}
    for name in clients:
        how = draw(st.sampled_from(["link", "link", "promo", "unknown", "none"]))
        fields: dict[str, Any] = {"client": name}
        if how == "link":
            fields["referral_code"] = draw(st.sampled_from([*registered, *CODES]))
        elif how == "promo":
            fields["promo_code"] = draw(st.sampled_from(PROMOS))
        elif how == "unknown":
            fields["referral_code"] = UNKNOWN_CODE
        if draw(st.integers(min_value=0, max_value=4)) == 0:
            fields["inn"] = draw(st.sampled_from(INNS))
        when = draw(st.integers(min_value=0, max_value=200 * DAY))
        base[name] = min(when, base.get(name, when))
        add("client.registered", when, **fields)
    base[GHOST] = draw(moments)
    named = [*clients, GHOST]
    payments: list[str] = []
    for _ in range(draw(st.integers(min_value=2, max_value=25))):
        kind = draw(st.sampled_from(["activity", "activity", "payment", "payment", "refund"]))
        name = draw(st.sampled_from(named))
        if kind == "activity":
            users = draw(st.integers(min_value=1, max_value=8))
            add("client.activity", near(base[name]), client=name, users=users)
        elif kind == "payment":
            rubles = draw(st.integers(min_value=1, max_value=60_000))
            payments.append(
                add(
                    "payment",
                    near(base[name]),
                    client=name,
                    product=draw(st.sampled_from(PRODUCTS)),
                    months=draw(st.sampled_from([3, 6, 12, 12, 1])),
                    amount=f"{rubles}.{draw(st.integers(0, 99)):02d}",
                )
            )
        else:
            paid = draw(st.sampled_from([*payments, "nopay"]))
            add("payment.refunded", near(base[name]), payment=paid)
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        kind = draw(st.sampled_from(["points", "bonus", "block", "unblock"]))
        code = draw(st.sampled_from(CODES))
        when = draw(moments)
        if kind == "points":
            points = draw(st.integers(min_value=-20, max_value=70).filter(bool))
            add("points.adjusted", when, partner=code, points=points, reason="staff")
        elif kind == "bonus":
            amount = draw(st.integers(min_value=-5000, max_value=5000).filter(bool))
            add("bonus.adjusted", when, partner=code, amount=f"{amount}.50", reason="staff")
        else:
            add(f"partner.{kind}ed", when, partner=code)
    return events


@st.composite
def arrivals(draw: Any) -> tuple[list[dict[str, Any]], list[list[dict[str, Any]]], list[str]]:
    """A history, its events in any order cut into batches, and how each batch is handled."""
    events = draw(histories())
    order = draw(st.permutations(events))
    cuts = sorted(
        draw(st.sets(st.integers(min_value=1, max_value=len(order)), min_size=1, max_size=8))
    )
    batches = [order[a:b] for a, b in zip([0, *cuts], [*cuts, len(order)], strict=True) if a < b]
    modes = draw(
        st.lists(
            st.sampled_from(["request", "worker", "worker-late", "forget"]),
            min_size=len(batches),
            max_size=len(batches),
        )
    )
    return events, batches, modes


def _worker_run(program) -> None:
    with transaction.atomic():
        live.pending_apply(program=program)


def _post(program, batch: list[dict[str, Any]], mode: str) -> intake.IngestResult:
    """One batch: applied in the request, left for the worker (who runs when the request
    commits, or only at the next batch), or after this process forgot its states."""
    if mode == "forget":
        live.cache_clear()
    if mode != "worker-late":
        return intake.events_ingest(
            program=program, objs=batch, received_at=NOW, defer=mode == "worker"
        )
    apply_later, intake._apply_later = intake._apply_later, lambda program: None
    try:
        return intake.events_ingest(program=program, objs=batch, received_at=NOW, defer=True)
    finally:
        intake._apply_later = apply_later


@pytest.mark.django_db(transaction=True)
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(arrival=arrivals(), as_of_minutes=st.lists(moments, min_size=2, max_size=3))
def test_live_equals_replay_whatever_the_order_and_batching(
    ledger_committed, arrival, as_of_minutes
):
    # checkpoints between reviews too, and engine copies in memory every few events (more of
    # them than a partner keeps): late events restart from every kind of mark
    saved = live_feed.CHECKPOINT_EVERY, live_feed.MEMORY_MARK_EVERY, live_memory.MEMORY_SNAPSHOTS
    live_feed.CHECKPOINT_EVERY, live_feed.MEMORY_MARK_EVERY, live_memory.MEMORY_SNAPSHOTS = 5, 2, 2
    try:
        _check(*arrival, as_of_minutes)
    finally:
        live_feed.CHECKPOINT_EVERY, live_feed.MEMORY_MARK_EVERY, live_memory.MEMORY_SNAPSHOTS = (
            saved
        )


def _check(events, batches, modes, as_of_minutes) -> None:
    # given a program whose first partner is a portal partner (its bonuses reach the ledger)
    live.cache_clear()
    program = ProgramFactory()
    organisation = Organisation.objects.filter(kind="partner").first() or OrganisationFactory()
    ReferralPartner.objects.filter(code=CODES[0]).delete()  # the database outlives an example
    ReferralPartner.objects.create(
        program=program, organisation=organisation, code=CODES[0], registered_at=T0
    )
    # when the history arrives in that order and those batches
    accepted = 0
    for batch, mode in zip(batches, modes, strict=True):
        result = _post(program, batch, mode)
        assert result.rejected == []  # nothing is refused: what is not here yet waits
        accepted += result.accepted
    _worker_run(program)  # the worker catches up with what a late run left
    assert not PendingEvent.objects.filter(program=program).exists()
    assert accepted == len(events) == StoredEvent.objects.filter(program=program).count()
    # then at every as-of time each partner's live standing and history equal the replay's
    raw = stored(program)
    for minutes in [*as_of_minutes, None]:
        as_of = NOW if minutes is None else T0 + dt.timedelta(minutes=minutes)
        replay = run(raw, as_of=as_of)
        for code in CODES:
            got = live.standing_at(program=program, code=code, as_of=as_of)
            expected = replay.partners.get(code)
            assert (got is None) == (expected is None), (code, as_of)
            if got is not None and expected is not None:
                assert got.standing == expected.standing, (code, as_of)
                same_history(got, expected)
    assert live.verify(program=program, as_of=NOW) == []


def _promo_race(registered_b: bool) -> list[dict[str, Any]]:
    """Partner B creates promo code SPRING first (by id, at the same minute) and partner A
    second; a client registers with SPRING. The engine refuses a creation by a partner not
    registered yet, so the code is A's unless B registered before."""
    events: list[dict[str, Any]] = [
        {"id": "e0", "type": "partner.registered", "at": at(0), "partner": CODES[0]}
    ]
    if registered_b:
        events.append({"id": "e00", "type": "partner.registered", "at": at(0), "partner": CODES[1]})
    for event_id, code in (("e1", CODES[1]), ("e2", CODES[0])):
        events.append(
            {
                "id": event_id,
                "type": "promo_code.created",
                "at": at(1),
                "partner": code,
                "code": "SPRING",
                "valid_from": at(1),
                "valid_until": at(60),
                "client_bonus": "month",
            }
        )
    events.append(
        {
            "id": "e3",
            "type": "client.registered",
            "at": at(2),
            "client": "c0.ru",
            "promo_code": "SPRING",
        }
    )
    return events


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("registered_b", [False, True])
@pytest.mark.parametrize("split", [1, 2, 4])
def test_a_promo_code_created_by_a_partner_not_registered_yet_is_not_its_own(
    ledger_committed, registered_b, split
):
    # given the same history posted in one batch or split (the partner's registration first)
    events = _promo_race(registered_b)
    batches = [events[:split], events[split:]] if split < len(events) else [events]
    # then the client belongs to the partner the replay attributes it to: A when B had not
    # registered (its creation was refused), B otherwise; live equals replay
    _check(events, batches, ["request"] * len(batches), [30])
    owner = CODES[1] if registered_b else CODES[0]
    assert ReferralClient.objects.get(client="c0.ru").partition == owner
