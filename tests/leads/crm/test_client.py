"""The thin REST client of the partner's CRM (issue 7, part 6): the vendor's limit of 2 requests
per second per portal, timeouts, the delivery log, the destination policy, and the webhook's
token kept out of every log."""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import threading

import pytest
from django.db import connection as db_connection

from partnerhub.core import clock
from partnerhub.leads.crm import client as client_module
from partnerhub.leads.crm.client import CrmClient, CrmError
from partnerhub.leads.models import CrmCall, CrmCallOutcome, CrmConnection

pytestmark = pytest.mark.django_db

TOKEN = "s3cr3tt0ken0123"


def test_five_calls_at_two_per_second_go_out_half_a_second_apart(
    connected, fake_crm, settings, stepped_clock
):
    settings.CRM_REQUESTS_PER_SECOND = 2.0
    client = CrmClient(connected)

    for _ in range(5):
        client.call("profile")

    # the first call goes at once, each next one waits for its slot half a second later
    assert stepped_clock.slept == [0.5, 0.5, 0.5, 0.5]
    moments = list(CrmCall.objects.order_by("pk").values_list("at", flat=True))
    assert moments == [stepped_clock.start + dt.timedelta(seconds=n / 2) for n in range(5)]
    assert fake_crm.methods() == ["profile"] * 5


@pytest.mark.django_db(transaction=True)
def test_two_workers_share_the_portals_limit(world, fake_crm, settings, monkeypatch):
    # Given two workers (threads with their own database connections) calling one portal
    settings.CRM_REQUESTS_PER_SECOND = 2.0
    connection = CrmConnection.objects.create(
        organisation=world.partner_a, webhook_url=fake_crm.webhook_url
    )
    barrier = threading.Barrier(2)
    errors: list[str] = []
    slots: list[float] = []  # the moment each call was given, by the shared reservation
    reserve = client_module.reserve_slot

    def reserve_and_note(connection_id: int, **kwargs) -> float:
        moment = clock.now()
        wait = reserve(connection_id, now=moment)
        slots.append(moment.timestamp() + wait)
        return wait

    monkeypatch.setattr(client_module, "reserve_slot", reserve_and_note)

    def work() -> None:
        try:
            client = CrmClient(CrmConnection.objects.get(pk=connection.pk))
            barrier.wait()
            for _ in range(3):
                client.call("profile")
        except Exception as exc:  # reported by name below
            errors.append(repr(exc))
        finally:
            db_connection.close()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    # Then the six calls were given slots at least half a second apart across both workers
    # (the guarantee is the reservation in the database, not the moments a loaded machine
    # happens to deliver the requests; without the shared limit both threads get the same slots)
    assert errors == []
    assert len(fake_crm.calls) == 6
    ordered = sorted(slots)
    assert len(ordered) == 6
    assert min(b - a for a, b in itertools.pairwise(ordered)) >= 0.5 - 1e-6


def test_every_call_is_logged_with_its_outcome_status_and_duration(connected, fake_crm):
    fake_crm.fail("crm.deal.get", "auth")
    client = CrmClient(connected)

    client.call("profile")
    with pytest.raises(CrmError) as refused:
        client.call("crm.deal.get", {"id": 1})

    assert refused.value.retryable is False
    assert refused.value.code == "INVALID_CREDENTIALS"
    rows = list(CrmCall.objects.order_by("pk").values_list("method", "outcome", "status", "detail"))
    assert rows == [
        ("profile", CrmCallOutcome.OK, 200, ""),
        (
            "crm.deal.get",
            CrmCallOutcome.ERROR,
            401,
            "INVALID_CREDENTIALS: Invalid request credentials",
        ),
    ]
    assert all(d >= 0 for d in CrmCall.objects.values_list("duration_ms", flat=True))


def test_a_portal_that_does_not_answer_in_time_is_a_retryable_timeout(connected, fake_crm):
    fake_crm.fail("profile", "timeout")

    with pytest.raises(CrmError) as failed:
        CrmClient(connected).call("profile")

    assert (failed.value.outcome, failed.value.retryable) == (CrmCallOutcome.TIMEOUT, True)
    call = CrmCall.objects.get()
    assert (call.outcome, call.detail) == (CrmCallOutcome.TIMEOUT, "no answer within 0.5 s")
    assert call.duration_ms >= 450  # the call waited its whole timeout


def test_query_limit_exceeded_is_retryable(connected, fake_crm):
    fake_crm.fail("profile", "limit")

    with pytest.raises(CrmError) as failed:
        CrmClient(connected).call("profile")

    assert (failed.value.code, failed.value.status, failed.value.retryable) == (
        "QUERY_LIMIT_EXCEEDED",
        503,
        True,
    )


def test_local_addresses_are_refused_unless_allowed(connected, fake_crm, settings):
    settings.CRM_ALLOW_LOCAL = False

    with pytest.raises(CrmError) as blocked:
        CrmClient(connected).call("profile")

    assert (blocked.value.outcome, blocked.value.retryable) == (CrmCallOutcome.BLOCKED, False)
    assert fake_crm.calls == []
    assert CrmCall.objects.get().outcome == CrmCallOutcome.BLOCKED


def test_the_webhook_token_is_in_no_log_row_and_no_log_line(connected, fake_crm, caplog):
    fake_crm.fail("profile", "500")
    client = CrmClient(connected)

    with caplog.at_level(logging.DEBUG):
        with pytest.raises(CrmError):
            client.call("profile")
        client.call("profile")

    # (werkzeug's lines are the fake portal's own access log)
    ours = [r for r in caplog.records if not r.name.startswith("werkzeug")]
    assert {"httpx", "partnerhub.leads.crm.client"} <= {r.name for r in ours}
    assert all(TOKEN not in record.getMessage() for record in ours)
    assert all(TOKEN not in detail for detail in CrmCall.objects.values_list("detail", flat=True))
