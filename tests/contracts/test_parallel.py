"""Races: staff deciding the same application at once, or a partner starting its contract from
two tabs, end with one outcome (the database's conditional update and unique constraint decide,
on SQLite and PostgreSQL alike)."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.db import connection

from partnerhub.contracts import services
from partnerhub.contracts.models import Contract, ContractState
from partnerhub.core import clock
from partnerhub.core.models.outbox import OutboxEvent
from tests.contracts.factories import prepare_edo

WORKERS = 6


def run_at_once(jobs: list[Callable[[], str]]) -> list[str]:
    """Run each job in its own thread, all released together; each returns an outcome name."""
    barrier = threading.Barrier(len(jobs))
    outcomes: list[str] = []

    def attempt(job: Callable[[], str]) -> None:
        try:
            connection.ensure_connection()
            barrier.wait()
            outcomes.append(job())
        except Exception as exc:  # the outcome by name: a code, or the unexpected error's type
            outcomes.append(getattr(exc, "code", type(exc).__name__))
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


@pytest.mark.django_db(transaction=True)
def test_signing_and_rejecting_at_once_leaves_one_decision(world, ready):
    contract = services.contract_review_start(contract=services.contract_send(contract=ready))
    today = clock.today()

    def sign() -> str:
        services.contract_sign(contract=Contract.objects.get(pk=contract.pk), signed_on=today)
        return "signed"

    def reject() -> str:
        services.contract_reject(contract=Contract.objects.get(pk=contract.pk), reason="Дубль")
        return "rejected"

    outcomes = run_at_once([sign, reject] * (WORKERS // 2))

    contract.refresh_from_db()
    assert contract.state in {ContractState.SIGNED, ContractState.REJECTED}
    assert outcomes.count(contract.state) == 1
    assert set(outcomes) - {contract.state} <= {"stale_state", "transition_not_allowed"}
    decided = OutboxEvent.objects.filter(
        event_type__in=["contracts.contract.signed", "contracts.contract.rejected"]
    )
    assert decided.count() == 1


@pytest.mark.django_db(transaction=True)
def test_starting_from_several_tabs_at_once_makes_one_contract(world, program):
    def start() -> str:
        return str(services.contract_start(organisation=world.partner_a, program=program).pk)

    outcomes = run_at_once([start] * WORKERS)

    contract = Contract.objects.get(organisation=world.partner_a, program=program)
    assert outcomes == [str(contract.pk)] * WORKERS


@pytest.mark.django_db(transaction=True)
def test_two_staff_taking_the_application_under_review_at_once_move_it_once(world, ready):
    contract = services.contract_send(contract=prepare_edo(ready))

    def review() -> str:
        services.contract_review_start(contract=Contract.objects.get(pk=contract.pk))
        return "under_review"

    outcomes = run_at_once([review] * WORKERS)

    assert outcomes.count("under_review") == 1
    assert set(outcomes) - {"under_review"} <= {"stale_state", "transition_not_allowed"}
    assert OutboxEvent.objects.filter(event_type="contracts.contract.under_review").count() == 1
