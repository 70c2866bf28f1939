"""Idempotency keys that recover from crashes (issue 14, part 3): a claim carries a lease; a
retry takes over a claim whose lease has ended; the write and its stored response commit in one
transaction, so a run that lost its claim leaves nothing written; a lost database connection is
answered 503 with Retry-After (JSON for the API, a page elsewhere).

The processes killed for real (``kill -9`` of the server, ``pg_terminate_backend`` of its
connection) are in ``test_crash_recovery.py``.
"""

from __future__ import annotations

import datetime as dt
import threading

import pytest
import time_machine
from django.db import connection, connections
from django.http import HttpResponse
from django.test import Client, RequestFactory
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory, force_authenticate
from rest_framework.views import APIView

from partnerhub.accounts.models import Invitation
from partnerhub.accounts.services import api_token_create
from partnerhub.core import audit
from partnerhub.core.access import AUTHENTICATED
from partnerhub.core.api import json_or_html_500
from partnerhub.core.errors import ValidationFailed
from partnerhub.core.idempotency import (
    Scope,
    claim,
    complete,
    fingerprint,
    idempotent,
    take_over,
)
from partnerhub.core.models.audit import AuditEvent
from partnerhub.core.models.idempotency import IdempotencyKey, IdempotencyState
from partnerhub.core.unavailable import DatabaseUnavailableMiddleware

EMPLOYEES = "/api/v1/employees/"
INVITE = {"email": "new@a.example", "role": "manager"}
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
WRITE = "tests.idempotency.write"
ON_POSTGRES = connection.vendor == "postgresql"
postgres_only = pytest.mark.skipif(
    not ON_POSTGRES,
    reason="PostgreSQL only: SQLite serialises writers, so no other connection can act inside "
    "a request's write transaction, and it has no pg_terminate_backend",
)


def token_client(org):
    _token, raw = api_token_create(organisation=org, name="crm")
    return Client(HTTP_AUTHORIZATION=f"Token {raw}")


def invite(client, body=None, *, key="key-1"):
    return client.post(
        EMPLOYEES, body or INVITE, content_type="application/json", HTTP_IDEMPOTENCY_KEY=key
    )


def dead_claim(world, *, at: dt.datetime) -> IdempotencyKey:
    """The claim a request made at ``at`` and then died holding (the server was killed)."""
    row, claimed = claim(
        scope=Scope(f"org:{world.partner_a.pk}", world.partner_a.pk),
        key="key-1",
        method="POST",
        path=EMPLOYEES,
        request_hash=fingerprint(method="POST", path=EMPLOYEES, data=INVITE),
        now=at,
    )
    assert claimed and row is not None
    return row


# --- the lease --------------------------------------------------------------------------------


def test_a_claim_carries_a_lease_of_the_request_timeout_and_five_seconds(world, settings):
    assert settings.IDEMPOTENCY_LEASE_SECONDS == settings.REQUEST_TIMEOUT_SECONDS + 5 == 35
    row = dead_claim(world, at=T0)
    assert row.lease_until == T0 + dt.timedelta(seconds=35)
    assert len(row.claim_token) == 32


def test_a_retry_after_the_lease_ended_takes_the_claim_over_and_runs_once(world):
    first = dead_claim(world, at=T0)
    client = token_client(world.partner_a)
    with time_machine.travel(T0 + dt.timedelta(seconds=36), tick=False):
        retry = invite(client)
        again = invite(client)
    assert retry.status_code == 201, retry.content
    assert not retry.has_header("Idempotency-Replayed")
    assert (again.status_code, again["Idempotency-Replayed"]) == (201, "true")
    assert again.content == retry.content
    assert Invitation.objects.count() == 1
    row = IdempotencyKey.objects.get()
    assert row.state == IdempotencyState.COMPLETED
    assert row.claim_token != first.claim_token


def test_a_retry_while_the_lease_runs_is_409_with_retry_after(world):
    dead_claim(world, at=T0)
    with time_machine.travel(T0 + dt.timedelta(seconds=34), tick=False):
        response = invite(token_client(world.partner_a))
    assert response.status_code == 409
    assert response["Retry-After"] == "1"
    assert response.json()["error"]["code"] == "idempotency_key_in_progress"
    assert not Invitation.objects.exists()


def test_another_body_after_the_lease_ended_is_still_422(world):
    dead_claim(world, at=T0)
    with time_machine.travel(T0 + dt.timedelta(minutes=5), tick=False):
        response = invite(
            token_client(world.partner_a), {"email": "x@a.example", "role": "manager"}
        )
    assert response.status_code == 422
    assert IdempotencyKey.objects.get().state == IdempotencyState.IN_PROGRESS


def test_of_two_retries_taking_over_one_dead_claim_only_one_wins(world):
    first = dead_claim(world, at=T0)
    retry_1 = IdempotencyKey.objects.get(pk=first.pk)
    retry_2 = IdempotencyKey.objects.get(pk=first.pk)
    assert take_over(retry_1, now=T0 + dt.timedelta(seconds=40)) is True
    assert take_over(retry_2, now=T0 + dt.timedelta(seconds=40)) is False
    assert IdempotencyKey.objects.get().claim_token == retry_1.claim_token


def test_a_completed_key_is_never_taken_over(world):
    client = token_client(world.partner_a)
    with time_machine.travel(T0, tick=False):
        first = invite(client)
    with time_machine.travel(T0 + dt.timedelta(hours=1), tick=False):
        again = invite(client)
    assert again["Idempotency-Replayed"] == "true"
    assert again.content == first.content
    assert Invitation.objects.count() == 1


def test_a_claim_from_before_leases_counts_as_dead(world):
    IdempotencyKey.objects.create(
        scope=f"org:{world.partner_a.pk}",
        key="key-1",
        method="POST",
        path=EMPLOYEES,
        request_hash=fingerprint(method="POST", path=EMPLOYEES, data=INVITE),
        expires_at=T0 + dt.timedelta(hours=24),
    )
    with time_machine.travel(T0 + dt.timedelta(seconds=1), tick=False):
        assert invite(token_client(world.partner_a)).status_code == 201


# --- the write and the response in one transaction --------------------------------------------


class Writing(APIView):
    """A write (an audit row) answered 201."""

    access_rule = AUTHENTICATED

    @idempotent
    def post(self, request):
        audit.record(action=WRITE, organisation_id=request.user.organisation_id)
        return Response({"written": True}, status=201)


class WritingThenRefusing(APIView):
    """A write, then a business rule refuses the request (400)."""

    access_rule = AUTHENTICATED

    @idempotent
    def post(self, request):
        audit.record(action=WRITE, organisation_id=request.user.organisation_id)
        raise ValidationFailed("refused after writing")


class WritingThenUnavailable(APIView):
    """A write, then an answer 503."""

    access_rule = AUTHENTICATED

    @idempotent
    def post(self, request):
        audit.record(action=WRITE, organisation_id=request.user.organisation_id)
        return Response({"error": {"code": "unavailable"}}, status=503)


def call(view_class, user, key="lease-1"):
    request = APIRequestFactory().post(
        "/api/v1/things/", {"n": 1}, format="json", HTTP_IDEMPOTENCY_KEY=key
    )
    force_authenticate(request, user=user)
    return view_class.as_view()(request)


def writes() -> int:
    return AuditEvent.objects.filter(action=WRITE).count()


def test_recording_the_response_is_refused_to_a_run_whose_claim_was_taken_over(world):
    first = dead_claim(world, at=T0)
    retry = IdempotencyKey.objects.get(pk=first.pk)
    assert take_over(retry, now=T0 + dt.timedelta(seconds=40))
    assert complete(first, HttpResponse(b"first", status=201)) is False
    assert complete(retry, HttpResponse(b"retry", status=201)) is True
    stored = IdempotencyKey.objects.get()
    assert (stored.state, stored.response_body) == (IdempotencyState.COMPLETED, "retry")


def test_an_error_answer_is_stored_and_the_writes_before_it_are_rolled_back(world):
    owner = world.user("a:owner")
    assert call(WritingThenRefusing, owner).status_code == 400
    assert writes() == 0
    assert IdempotencyKey.objects.get().response_status == 400


def test_a_5xx_answer_rolls_the_work_back_and_releases_the_key(world):
    owner = world.user("a:owner")
    assert call(WritingThenUnavailable, owner).status_code == 503
    assert writes() == 0
    assert not IdempotencyKey.objects.exists()
    assert call(Writing, owner).status_code == 201
    assert writes() == 1


class WritingWhileWatched(APIView):
    """A write; then another connection looks at the database before the request ends."""

    access_rule = AUTHENTICATED
    seen_mid_request: list[tuple[int, str]] = []

    @idempotent
    def post(self, request):
        audit.record(action=WRITE, organisation_id=request.user.organisation_id)
        watcher = threading.Thread(target=self._look)
        watcher.start()
        watcher.join(timeout=30)
        return Response({"written": True}, status=201)

    def _look(self) -> None:
        try:
            state = IdempotencyKey.objects.values_list("state", flat=True).get()
            self.seen_mid_request.append((writes(), state))
        finally:
            connections.close_all()


@pytest.mark.django_db(transaction=True)
def test_the_write_and_its_stored_response_become_visible_in_one_commit(world):
    WritingWhileWatched.seen_mid_request = []
    response = call(WritingWhileWatched, world.user("a:owner"))
    assert response.status_code == 201
    # mid-request another connection saw the claim, but neither the write nor the answer
    assert WritingWhileWatched.seen_mid_request == [(0, IdempotencyState.IN_PROGRESS)]
    assert writes() == 1
    assert IdempotencyKey.objects.get().state == IdempotencyState.COMPLETED


class WritingWhileARetryTakesOver(APIView):
    """A write that outlives its lease: meanwhile a retry takes its claim over (from another
    connection, as a request of another server process would)."""

    access_rule = AUTHENTICATED

    @idempotent
    def post(self, request):
        audit.record(action=WRITE, organisation_id=request.user.organisation_id)
        retry = threading.Thread(target=self._retry_takes_over)
        retry.start()
        retry.join(timeout=30)
        return Response({"written": True}, status=201)

    @staticmethod
    def _retry_takes_over() -> None:
        try:
            row = IdempotencyKey.objects.get()
            assert take_over(row)
        finally:
            connections.close_all()


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_late_first_run_whose_claim_was_taken_over_rolls_back_and_is_409(world):
    response = call(WritingWhileARetryTakesOver, world.user("a:owner"))
    assert response.status_code == 409
    assert response.data["error"]["code"] == "idempotency_key_in_progress"
    assert writes() == 0  # the retry's run is the one that counts
    row = IdempotencyKey.objects.get()
    assert row.state == IdempotencyState.IN_PROGRESS  # held by the retry, not released


# --- a lost database connection ---------------------------------------------------------------


def terminate_own_backend() -> None:
    """Cut this thread's database connection from the server side, as an administrator (or a
    failing network) would."""
    connection.ensure_connection()
    pid = connection.connection.info.backend_pid
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    finally:
        other.close()


def lost_connection_error() -> Exception:
    """The error a query raises on a connection the server has cut."""
    terminate_own_backend()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:
        return exc
    finally:
        connection.close()
    raise AssertionError("the query on a terminated connection succeeded")


@pytest.fixture
def reconnects(transactional_db):
    """Close the connection a test left cut (the test client keeps it across requests), so
    that the database is emptied through a new one."""
    yield
    connection.close()


class LosingItsConnection(APIView):
    """A write whose database connection is cut in the middle."""

    access_rule = AUTHENTICATED

    @idempotent
    def post(self, request):
        audit.record(action=WRITE, organisation_id=request.user.organisation_id)
        terminate_own_backend()
        audit.record(action=WRITE, organisation_id=request.user.organisation_id)
        return Response({"written": True}, status=201)


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_lost_connection_is_503_with_retry_after_and_leaves_nothing_written(world, settings):
    owner = world.user("a:owner")
    response = call(LosingItsConnection, owner)
    assert response.status_code == 503
    assert response["Retry-After"] == str(settings.DATABASE_UNAVAILABLE_RETRY_AFTER_SECONDS) == "5"
    assert response.data["error"]["code"] == "service_unavailable"
    assert writes() == 0
    assert not IdempotencyKey.objects.exists()  # released: the retry runs at once
    assert call(Writing, owner).status_code == 201
    assert writes() == 1


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_page_whose_connection_is_lost_is_the_503_page_in_russian(world, reconnects):
    client = Client(raise_request_exception=False)
    client.force_login(world.user("vendor:administrator"))
    terminate_own_backend()
    response = client.get("/backoffice/")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "Сервис временно недоступен" in response.content.decode()


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_an_api_url_whose_connection_is_lost_outside_a_view_is_json_503(world, reconnects):
    _token, raw = api_token_create(organisation=world.partner_a, name="crm")
    client = Client(raise_request_exception=False, HTTP_AUTHORIZATION=f"Token {raw}")
    terminate_own_backend()
    response = client.get("/api/v1/card/")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json()["error"]["code"] == "service_unavailable"


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_the_middleware_answers_a_view_s_lost_connection_with_the_503_page():
    middleware = DatabaseUnavailableMiddleware(lambda request: None)
    request = RequestFactory().get("/cabinet/")
    response = middleware.process_exception(request, lost_connection_error())
    assert response is not None
    assert (response.status_code, response["Retry-After"]) == (503, "5")
    assert "Повторите запрос через несколько секунд." in response.content.decode()


def test_the_middleware_answers_only_a_lost_connection():
    middleware = DatabaseUnavailableMiddleware(lambda request: None)
    request = RequestFactory().get("/cabinet/")
    assert middleware.process_exception(request, RuntimeError("a bug")) is None
    assert middleware.process_exception(request, ValueError("connection")) is None


def test_the_500_handler_keeps_500_for_other_errors():
    request = RequestFactory().get("/api/v1/card/")
    try:
        raise RuntimeError("a bug")
    except RuntimeError:
        response = json_or_html_500(request)
    assert response.status_code == 500


def test_a_body_with_an_integer_beyond_64_bits_has_a_stable_fingerprint():
    """orjson refuses such integers; the fingerprint falls back to the standard library (the
    fuzz test found PATCH /api/v1/card/ answering 500 with one)."""
    body = {"b": 1635584260054332977346980056399872, "a": "x"}
    first = fingerprint(method="PATCH", path="/api/v1/card/", data=body)
    again = fingerprint(method="PATCH", path="/api/v1/card/", data=dict(reversed(body.items())))
    other = fingerprint(method="PATCH", path="/api/v1/card/", data={**body, "b": 1})
    assert first == again
    assert first != other
