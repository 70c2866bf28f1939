"""Two clicks or two tabs never convert twice (issue 6, "Bad input and races"): 10 parallel
conversion requests of one partner, on PostgreSQL (``DATABASE_URL``) as in production; SQLite
runs them one at a time (IMMEDIATE transactions) and must give the same answer."""

from __future__ import annotations

import threading
import uuid
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Sum
from django.test import Client
from django.urls import reverse

from partnerhub.core import ledger
from partnerhub.core.models.ledger import LedgerEntry
from partnerhub.payouts import selectors
from partnerhub.payouts.models import PaymentRegister, Payout, RegisterItem
from tests.payouts.factories import partner_ready

WORKERS = 10


@pytest.fixture
def committed(ledger_committed):
    """Payouts point at ledger transactions: delete them before ``ledger_committed`` empties the
    ledger (fixtures are torn down in reverse order)."""
    yield
    RegisterItem.objects.all().delete()
    PaymentRegister.objects.all().delete()
    Payout.objects.all().delete()


def run_parallel(world, bodies: list[dict[str, str]]) -> list[int]:
    clients = []
    for _body in bodies:
        client = Client()
        client.force_login(world.user("a:owner"))
        clients.append(client)
    barrier = threading.Barrier(len(bodies))
    statuses: list[int] = []

    def attempt(i: int) -> None:
        try:
            connection.ensure_connection()  # connect first, so the requests really meet
            barrier.wait()
            response = clients[i].post(reverse("cabinet:payout_convert"), bodies[i])
            statuses.append(response.status_code)
        except Exception as exc:  # any other outcome fails the assertions, by name
            statuses.append(type(exc).__name__)  # type: ignore[arg-type]
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return statuses


def debited(setup) -> Decimal:
    """What conversions took from the bonus account (debits of ``payout_conversion``)."""
    total = LedgerEntry.objects.filter(
        transaction__kind="payout_conversion",
        account__purpose="bonus_rub",
        account__organisation_id=setup.organisation.pk,
        side="debit",
    ).aggregate(s=Sum("amount"))["s"]
    return Decimal(total or 0).quantize(Decimal("0.01"))


@pytest.mark.django_db(transaction=True)
def test_ten_parallel_conversions_of_6000_from_20000_let_three_through(world, committed):
    # Given a balance of 20,000 and ten tabs, each converting 6,000 with its own key
    setup = partner_ready(world, balance=Decimal("20000.00"))
    bodies = [
        {"step": "execute", "amount": "6000.00", "idempotency_key": uuid.uuid4().hex}
        for _ in range(WORKERS)
    ]

    # When all ten confirm at the same moment
    statuses = run_parallel(world, bodies)

    # Then three convert, seven are refused, the balance never goes below zero
    assert sorted(statuses) == [302] * 3 + [400] * 7
    assert selectors.bonus_balance(organisation=setup.organisation) == Decimal("2000.00")
    paid_out = Payout.objects.aggregate(s=Sum("amount"))["s"]
    assert paid_out == Decimal("18000.00") == debited(setup)
    assert ledger.check_invariants() == []


@pytest.mark.django_db(transaction=True)
def test_ten_parallel_clicks_with_one_key_convert_once(world, committed):
    # Given a balance of 12,000 and one confirmation page clicked ten times at once
    setup = partner_ready(world, balance=Decimal("12000.00"))
    key = uuid.uuid4().hex
    bodies = [
        {"step": "execute", "amount": "12000.00", "idempotency_key": key} for _ in range(WORKERS)
    ]

    # When the ten requests arrive together
    statuses = run_parallel(world, bodies)

    # Then every click ends on the one payout, converted once
    assert statuses == [302] * WORKERS
    assert Payout.objects.count() == 1
    assert selectors.bonus_balance(organisation=setup.organisation) == Decimal("0.00")
    assert debited(setup) == Decimal("12000.00")
    assert ledger.check_invariants() == []


@pytest.mark.django_db(transaction=True)
def test_two_accountants_putting_one_payout_into_registers_at_once_make_one(world, committed):
    # Given an accepted payout
    from partnerhub.core.errors import ApplicationError
    from partnerhub.payouts import services
    from tests.payouts.factories import convert

    setup = partner_ready(world, balance=Decimal("12000.00"))
    payout = services.payout_accept(payout=services.payout_mark_sent(payout=convert(setup)))
    workers = 4
    barrier = threading.Barrier(workers)
    results: list[str] = []

    def attempt() -> None:
        try:
            connection.ensure_connection()
            barrier.wait()
            services.register_create(vendor=world.vendor, payout_ids=[payout.pk])
            results.append("created")
        except ApplicationError as exc:
            results.append(exc.code)
        except Exception as exc:  # any other outcome fails the assertion below, by name
            results.append(type(exc).__name__)
        finally:
            connection.close()

    # When four requests put it into a new register at the same moment
    threads = [threading.Thread(target=attempt) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    # Then one register holds it and the others are refused
    assert sorted(results) == ["already_in_register"] * (workers - 1) + ["created"]
    assert PaymentRegister.objects.count() == 1
    assert RegisterItem.objects.filter(payout=payout, active=True).count() == 1
