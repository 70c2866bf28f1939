"""Idempotency-Key on the write API: replay, 422 for another body, 409 while the first runs, 4xx
stored, failures released, 24 hours and the hourly cleanup, scoping, and 20 parallel requests."""

import datetime as dt
import json
import threading

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory, force_authenticate
from rest_framework.views import APIView

from partnerhub.accounts.models import Invitation
from partnerhub.accounts.services import api_token_create
from partnerhub.core.access import AUTHENTICATED
from partnerhub.core.clock import now
from partnerhub.core.idempotency import fingerprint, idempotency_cleanup, idempotent
from partnerhub.core.models.idempotency import IdempotencyKey
from partnerhub.core.tasks import idempotency_keys_cleanup
from partnerhub.partners.models import CardChange
from partnerhub.partners.services import card_update

EMPLOYEES = "/api/v1/employees/"
INVITE = {"email": "new@a.example", "role": "manager"}
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def token_client(org, name="crm"):
    _token, raw = api_token_create(organisation=org, name=name)
    return Client(HTTP_AUTHORIZATION=f"Token {raw}")


def invite(client, body=None, *, key="key-1"):
    headers = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}
    payload = body if isinstance(body, str) else json.dumps(body or INVITE)
    return client.post(EMPLOYEES, payload, content_type="application/json", **headers)


# --- the three answers ------------------------------------------------------------------------


def test_the_same_key_and_body_replays_the_first_response(world):
    client = token_client(world.partner_a)
    first = invite(client)
    again = invite(client)
    assert first.status_code == again.status_code == 201
    assert again.content == first.content
    assert again["Idempotency-Replayed"] == "true"
    assert not first.has_header("Idempotency-Replayed")
    assert Invitation.objects.count() == 1  # a second run would have revoked and re-invited


def test_key_order_and_whitespace_of_the_body_do_not_make_another_request(world):
    client = token_client(world.partner_a)
    invite(client, '{"email": "new@a.example", "role": "manager"}')
    again = invite(client, '{ "role":"manager",\n "email":"new@a.example" }')
    assert (again.status_code, again["Idempotency-Replayed"]) == (201, "true")


def test_the_same_key_with_another_body_is_422(world):
    client = token_client(world.partner_a)
    invite(client)
    response = invite(client, {"email": "other@a.example", "role": "manager"})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "idempotency_key_reused"
    assert list(error["fields"]) == ["Idempotency-Key"]
    assert list(Invitation.objects.values_list("email", flat=True)) == ["new@a.example"]


def test_a_key_is_bound_to_its_endpoint(world):
    client = token_client(world.partner_a)
    invite(client)
    response = client.patch(
        "/api/v1/card/", INVITE, content_type="application/json", HTTP_IDEMPOTENCY_KEY="key-1"
    )
    assert response.status_code == 422
    assert not CardChange.objects.exists()


def test_a_key_whose_first_request_still_runs_is_409_with_retry_after(world):
    IdempotencyKey.objects.create(
        scope=f"org:{world.partner_a.pk}",
        key="key-1",
        method="POST",
        path=EMPLOYEES,
        request_hash=fingerprint(method="POST", path=EMPLOYEES, data=INVITE),
        claim_token="first-run",
        lease_until=now() + dt.timedelta(seconds=30),  # its lease has not ended
        expires_at=now() + dt.timedelta(hours=24),
    )
    response = invite(token_client(world.partner_a))
    assert response.status_code == 409
    assert response["Retry-After"] == "1"
    assert response.json()["error"]["code"] == "idempotency_key_in_progress"
    assert not Invitation.objects.exists()


def test_a_client_error_is_stored_and_replayed(world):
    client = token_client(world.partner_a)
    bad = {"email": "x@a.example", "role": "administrator"}
    first = invite(client, bad)
    again = invite(client, bad)
    assert first.status_code == again.status_code == 400
    assert again["Idempotency-Replayed"] == "true"
    assert again.json() == first.json()


def test_a_replay_returns_the_stored_answer_even_after_the_data_changed(world):
    client = token_client(world.partner_a)
    body = json.dumps({"phone": "+7 495 111-11-11"})
    first = client.patch(
        "/api/v1/card/", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="card-1"
    )
    card_update(
        organisation=world.partner_a,
        changes={"phone": "+7 495 222-22-22"},
        changed_by=None,
        source="cabinet",
    )
    again = client.patch(
        "/api/v1/card/", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="card-1"
    )
    assert again.json()["phone"] == first.json()["phone"] == "+7 495 111-11-11"
    world.partner_a.refresh_from_db()
    assert world.partner_a.phone == "+7 495 222-22-22"  # not reverted by a second run
    assert CardChange.objects.filter(field="phone").count() == 2


# --- the header itself ------------------------------------------------------------------------


def test_without_the_header_every_request_runs(world):
    client = token_client(world.partner_a)
    assert invite(client, key=None).status_code == 201
    assert invite(client, key=None).status_code == 201
    assert Invitation.objects.count() == 2
    assert not IdempotencyKey.objects.exists()


@pytest.mark.parametrize("key", ["", "   ", "k" * 256, '""'])
def test_an_empty_or_too_long_key_is_400_naming_the_header(world, key):
    response = invite(token_client(world.partner_a), key=key)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "idempotency_key_invalid"
    assert "Idempotency-Key" in error["message"]
    assert list(error["fields"]) == ["Idempotency-Key"]
    assert not Invitation.objects.exists()


def test_a_key_of_255_characters_is_accepted(world):
    response = invite(token_client(world.partner_a), key="k" * 255)
    assert response.status_code == 201
    assert IdempotencyKey.objects.get().key == "k" * 255


def test_a_quoted_structured_field_key_is_the_same_key_as_the_bare_one(world):
    client = token_client(world.partner_a)
    invite(client, key='"key-1"')
    again = invite(client, key="key-1")
    assert again["Idempotency-Replayed"] == "true"


def test_two_organisations_may_use_the_same_key(world):
    first = invite(token_client(world.partner_a), key="shared")
    second = invite(token_client(world.partner_b), {"email": "new@b.example", "role": "manager"})
    assert first.status_code == second.status_code == 201
    assert not second.has_header("Idempotency-Replayed")
    assert Invitation.objects.count() == 2


def test_two_tokens_of_one_organisation_share_its_key_space(world):
    invite(token_client(world.partner_a, "crm"))
    again = invite(token_client(world.partner_a, "erp"))
    assert again["Idempotency-Replayed"] == "true"


def test_the_api_schema_documents_the_header_on_write_operations(world):
    schema = Client().get("/api/schema/?format=json").json()
    for path, method in (("/api/v1/employees/", "post"), ("/api/v1/card/", "patch")):
        names = [p["name"] for p in schema["paths"][path][method].get("parameters", [])]
        assert "Idempotency-Key" in names, (path, method)
    read = schema["paths"]["/api/v1/card/"]["get"].get("parameters", [])
    assert "Idempotency-Key" not in [p["name"] for p in read]


# --- failures release the key -----------------------------------------------------------------


class Exploding(APIView):
    """A write whose work crashes."""

    access_rule = AUTHENTICATED

    @idempotent
    def post(self, request):
        raise RuntimeError("the work crashed")


class Unavailable(APIView):
    """A write that answers 503."""

    access_rule = AUTHENTICATED

    @idempotent
    def post(self, request):
        return Response({"error": {"code": "unavailable"}}, status=503)


class Accepting(APIView):
    """A write that succeeds."""

    access_rule = AUTHENTICATED

    @idempotent
    def post(self, request):
        return Response({"done": request.data["n"]}, status=201)


def call(view_class, user, key="retry-1"):
    request = APIRequestFactory().post(
        "/api/v1/things/", {"n": 1}, format="json", HTTP_IDEMPOTENCY_KEY=key
    )
    force_authenticate(request, user=user)
    return view_class.as_view()(request)


def test_a_crashed_first_request_releases_its_key_for_a_retry(world):
    owner = world.user("a:owner")
    with pytest.raises(RuntimeError):
        call(Exploding, owner)
    assert not IdempotencyKey.objects.exists()
    retry = call(Accepting, owner)
    assert retry.status_code == 201
    assert IdempotencyKey.objects.get().state == "completed"


def test_a_5xx_answer_releases_its_key_for_a_retry(world):
    owner = world.user("a:owner")
    assert call(Unavailable, owner).status_code == 503
    assert not IdempotencyKey.objects.exists()
    assert call(Accepting, owner).status_code == 201


# --- 24 hours ---------------------------------------------------------------------------------


def test_cleanup_deletes_keys_only_after_24_hours(world):
    with time_machine.travel(T0, tick=False):
        invite(token_client(world.partner_a))
    assert idempotency_cleanup(now=T0 + dt.timedelta(hours=23, minutes=59)) == 0
    assert idempotency_cleanup(now=T0 + dt.timedelta(hours=24)) == 1
    assert not IdempotencyKey.objects.exists()


def test_after_cleanup_the_key_is_new_again(world):
    client = token_client(world.partner_a)
    with time_machine.travel(T0, tick=False):
        invite(client)
    with time_machine.travel(T0 + dt.timedelta(hours=25), tick=False):
        idempotency_cleanup()
        response = invite(client, {"email": "other@a.example", "role": "manager"})
    assert response.status_code == 201
    assert not response.has_header("Idempotency-Replayed")


def test_an_expired_key_not_yet_swept_counts_as_new(world):
    client = token_client(world.partner_a)
    with time_machine.travel(T0, tick=False):
        invite(client)
    with time_machine.travel(T0 + dt.timedelta(hours=24, seconds=1), tick=False):
        response = invite(client, {"email": "other@a.example", "role": "manager"})
    assert response.status_code == 201
    assert IdempotencyKey.objects.get().request_hash == fingerprint(
        method="POST", path=EMPLOYEES, data={"email": "other@a.example", "role": "manager"}
    )


def test_the_cleanup_task_runs_once_an_hour_and_deletes_expired_keys(world):
    task = idempotency_keys_cleanup.s()
    day = [dt.datetime(2026, 3, 2) + dt.timedelta(minutes=m) for m in range(24 * 60)]
    assert sum(task.validate_datetime(moment) for moment in day) == 24
    with time_machine.travel(T0, tick=False):
        invite(token_client(world.partner_a))
    with time_machine.travel(T0 + dt.timedelta(hours=24), tick=False):
        idempotency_keys_cleanup.call_local()
    assert not IdempotencyKey.objects.exists()


# --- every write endpoint ---------------------------------------------------------------------


def _api_views(resolver: URLResolver):
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            yield from _api_views(pattern)
        elif isinstance(pattern, URLPattern):
            view_class = getattr(pattern.callback, "cls", None)
            if view_class is not None and issubclass(view_class, APIView):
                yield pattern.callback, view_class


def test_every_write_handler_of_the_api_accepts_an_idempotency_key():
    missing = []
    for callback, view_class in _api_views(get_resolver()):
        actions = getattr(callback, "actions", None) or {}
        for method in ("post", "put", "patch", "delete"):
            handler = getattr(view_class, actions.get(method, method), None)
            if handler is not None and not getattr(handler, "idempotent", False):
                missing.append(f"{view_class.__module__}.{view_class.__name__}.{method}")
    assert not missing, f"decorate with core.idempotency.idempotent: {missing}"


# --- 20 at once -------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_twenty_parallel_requests_with_one_key_run_the_work_once(world):
    """One request claims the key and creates the invitation (201); each other one gets 409
    while it runs or the replayed 201 once it is done."""
    _token, raw = api_token_create(organisation=world.partner_a, name="crm")
    count = 20
    barrier = threading.Barrier(count)
    results: list[tuple[object, str, bytes]] = []

    def send() -> None:
        try:
            client = Client(HTTP_AUTHORIZATION=f"Token {raw}")
            barrier.wait()
            response = invite(client, key="parallel-1")
            replayed = response.get("Idempotency-Replayed", "")
            results.append((response.status_code, replayed, response.content))
        except Exception as exc:  # any other outcome fails the assertions below, by name
            results.append((type(exc).__name__, "", b""))
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    executed = [r for r in results if r[:2] == (201, "")]
    others = [r[:2] for r in results if r[:2] != (201, "")]
    assert len(executed) == 1, results
    assert set(others) <= {(409, ""), (201, "true")}, others
    assert len(others) == count - 1
    assert all(body == executed[0][2] for status, _r, body in results if status == 201)
    assert Invitation.objects.count() == 1
    assert IdempotencyKey.objects.get().state == "completed"
