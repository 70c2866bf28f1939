"""Idempotent write APIs with the ``Idempotency-Key`` header (house rule 10; issue "Idempotency",
semantics of the IETF draft "The Idempotency-Key HTTP Header Field"; issue 14, part 3: keys that
recover from crashes).

Applied per handler with the ``@idempotent`` decorator on a DRF view's ``post``/``put``/
``patch``/``delete`` (a decorator rather than a mixin: it runs after DRF has authenticated the
caller, whose organisation is the key's scope, and it is visible next to each write handler; a
test in ``tests/core/test_idempotency.py`` fails for a write handler without it). It also adds the
header to the handler's OpenAPI description.

- No header: the request is processed as usual. Clients SHOULD send a key on every write; every
  write endpoint accepts one. A key is 1..255 characters, sent bare or as a quoted structured-field
  string (``"abc"`` and ``abc`` are the same key); an empty or longer one is answered 400.
- The key is claimed by INSERT under the unique (scope, key) constraint, in its own transaction,
  before the work runs, so a parallel request sees the claim. The scope is the caller's
  organisation (``org:<id>``), or the user for a user without one (``user:<id>``).
- Same key, same request (sha256 of method, path with query, canonical JSON of the parsed body)
  after the first completed: the stored response again, with ``Idempotency-Replayed: true``.
- Same key, another request: 422 ``idempotency_key_reused``.
- Same key while the first is still running: 409 ``idempotency_key_in_progress`` with
  ``Retry-After: 1``.
- The first request fails with 5xx or an exception: its work is rolled back and the claim is
  deleted, the client may retry. Answers below 500 (4xx included) are stored and replayed.
- Keys are kept ``IDEMPOTENCY_KEY_TTL_HOURS`` (24) hours; an expired key counts as new, and the
  hourly task ``core.tasks.idempotency_keys_cleanup`` deletes expired rows.

Crashes (issue 14, part 3). A claim carries a lease: a random claim token and ``lease_until``,
``IDEMPOTENCY_LEASE_SECONDS`` after the claim (a few seconds past ``REQUEST_TIMEOUT_SECONDS``,
gunicorn's timeout). The handler runs inside ``transaction.atomic``, and before that block ends
the response is recorded by a conditional UPDATE of the claim row that checks the token; so the
write and its stored response commit together, and a process killed mid-request (or whose
database connection was cut) leaves nothing written. A retry of a key whose lease has ended takes
the claim over with a conditional UPDATE (old token to new token) and runs the work. Should the
first request still be alive after all (it outlived its lease), its recording UPDATE finds
another token: its work is rolled back and it is answered 409, the retry's result stands. On a
lost database connection the claim is released when the database still answers, else it is
left to its lease; the client gets 503 with Retry-After (``core.api``).

The idempotent handlers, reviewed for running inside that transaction: the employee
invitation (``invitation_create``), the card (``card_update``), lead creation (``lead_create``:
a parallel external id's IntegrityError is caught around its own savepoint), the take
(``lead_take``: no savepoint; a refusal found after its first UPDATE puts the counter back and
is raised after its block, a parallel duplicate deal's IntegrityError rolls the whole run back
and is answered "already taken"), the deal's data, events, stage, win and loss
(``deal_data``/``deals``: ``select_for_update`` on the deal; the partner's CRM hears through the
outbox after commit), and referral event intake (``events_ingest``: one transaction a batch,
now a savepoint, whose retry on a parallel batch's IntegrityError rolls back to it; on
PostgreSQL the worker's ``referrals.apply`` is queued on commit, i.e. once the answer is
recorded; the backpressure wait ``pending_room`` holds no lock and, at READ COMMITTED, sees the
worker's progress; the live-state cache is filled on commit, so a rolled-back run leaves nothing
in memory).

No heartbeat extends a lease: correctness does not depend on it (the token check decides which
run commits). With threaded workers gunicorn's timeout does not interrupt one slow request; such
a request, once past its lease, may be taken over by a retry and is then rolled back at its end
(answered 409), so the work still commits once. A heartbeat would only spare that wasted run, at
the price of a second connection per request, for handlers that take seconds at most (a full
batch of 10 000 referral events: a few seconds). The handler itself runs without a
savepoint (issue 17): an exception the API answers rolls the whole transaction back and the
answer is recorded after it. Services that open their own ``transaction.atomic`` run in
savepoints of the handler's transaction (the take and the outbox do not); side effects stay
``on_commit`` (outbox, mail, Huey tasks, the referral live-state cache) and so happen only when
the write and its response commit.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import orjson
from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.http import HttpResponse
from django.http.response import HttpResponseBase
from django.template.response import SimpleTemplateResponse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from partnerhub.core import clock
from partnerhub.core.api import error_body
from partnerhub.core.error_codes import CoreErrorCode
from partnerhub.core.models.idempotency import IdempotencyKey, IdempotencyState

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotency-Replayed"
MAX_KEY_LENGTH = 255
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: Response headers kept with the stored response and sent again on replay.
STORED_HEADERS = ("Location",)
_CLAIM_ATTEMPTS = 3

logger = logging.getLogger(__name__)

KEY_PARAMETER = OpenApiParameter(
    name=HEADER,
    type=str,
    location=OpenApiParameter.HEADER,
    required=False,
    description=(
        "Unique key of this write (1..255 characters, kept 24 hours per organisation). "
        "Repeating it with the same body returns the first response "
        "(header Idempotency-Replayed: true); with another body: 422; "
        "while the first is still running: 409 with Retry-After."
    ),
)

HandlerT = TypeVar("HandlerT", bound=Callable[..., HttpResponseBase])


@dataclass(frozen=True)
class Scope:
    """Whose key space a key belongs to."""

    name: str
    organisation_id: int | None = None
    user_id: int | None = None


def scope_of(principal: Any) -> Scope | None:
    """The caller's organisation (``org:12``), or the user without one (``user:5``); None for
    an anonymous caller, whose key is ignored (no shared anonymous key space)."""
    if principal is None or not getattr(principal, "is_authenticated", False):
        return None
    organisation_id = getattr(principal, "organisation_id", None)
    user_id = getattr(principal, "pk", None)
    if isinstance(organisation_id, int):
        return Scope(f"org:{organisation_id}", organisation_id, user_id)
    if isinstance(user_id, int):
        return Scope(f"user:{user_id}", None, user_id)
    return None


def parse_key(raw: str) -> str | None:
    """The key of a header value (bare or a quoted sf-string); None when empty or too long."""
    value = raw.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return value if 0 < len(value) <= MAX_KEY_LENGTH else None


def canonical_body(data: Any) -> bytes:
    """The parsed body as canonical JSON: key order and whitespace do not make another request."""
    if hasattr(data, "lists"):  # QueryDict of a form body: every value of every key
        data = dict(data.lists())
    try:
        return orjson.dumps(
            data, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS, default=str
        )
    except TypeError:
        # orjson refuses integers beyond 64 bits (a JSON body may carry any); the standard
        # library writes them, as deterministically, for the same body.
        return json.dumps(
            data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
        ).encode()


def fingerprint(*, method: str, path: str, data: Any) -> str:
    """sha256 of the method, the path with its query and the canonical body."""
    digest = hashlib.sha256()
    digest.update(method.upper().encode() + b"\n" + path.encode() + b"\n")
    digest.update(canonical_body(data))
    return digest.hexdigest()


def key_ttl() -> dt.timedelta:
    """How long a key is kept."""
    return dt.timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)


def lease_length() -> dt.timedelta:
    """How long a claim is held before a retry may take it over."""
    return dt.timedelta(seconds=settings.IDEMPOTENCY_LEASE_SECONDS)


def new_claim_token() -> str:
    """A random token naming one run of a claimed key."""
    return secrets.token_hex(16)


def lease_ended(row: IdempotencyKey, moment: dt.datetime) -> bool:
    """True when ``row`` is in progress and its lease has ended (its request died): a retry may
    take it over. A row without a lease (claimed before leases existed) counts as ended."""
    if row.state != IdempotencyState.IN_PROGRESS:
        return False
    return row.lease_until is None or row.lease_until <= moment


def take_over(row: IdempotencyKey, *, now: dt.datetime | None = None) -> bool:
    """Take over the claim of ``row`` whose lease has ended: its token is replaced by a new one
    (conditional UPDATE on the old token, so of two retries one wins). True when taken; ``row``
    then holds the new token and lease."""
    moment = now or clock.now()
    token, lease_until = new_claim_token(), moment + lease_length()
    taken = IdempotencyKey.objects.filter(
        pk=row.pk, state=IdempotencyState.IN_PROGRESS, claim_token=row.claim_token
    ).update(claim_token=token, lease_until=lease_until)
    if taken != 1:
        return False
    logger.warning(
        "idempotency key %s %r: lease ended at %s, taken over by a retry",
        row.scope,
        row.key,
        row.lease_until,
    )
    row.claim_token, row.lease_until = token, lease_until
    return True


def claim(
    *,
    scope: Scope,
    key: str,
    method: str,
    path: str,
    request_hash: str,
    now: dt.datetime | None = None,
) -> tuple[IdempotencyKey | None, bool]:
    """Claim ``key`` in ``scope``: (the row, True) for the first request or a retry that took
    over a dead request's claim, (the live row, False) when another request holds it or has
    completed it, (None, False) when it kept changing hands."""
    moment = now or clock.now()
    for _attempt in range(_CLAIM_ATTEMPTS):
        try:
            with transaction.atomic():
                row = IdempotencyKey.objects.create(
                    scope=scope.name,
                    key=key,
                    organisation_id=scope.organisation_id,
                    user_id=scope.user_id,
                    method=method.upper(),
                    path=path[:2000],
                    request_hash=request_hash,
                    claim_token=new_claim_token(),
                    lease_until=moment + lease_length(),
                    created_at=moment,
                    expires_at=moment + key_ttl(),
                )
            return row, True
        except IntegrityError:
            pass
        existing = IdempotencyKey.objects.filter(scope=scope.name, key=key).first()
        if existing is None:  # the first request failed and released it meanwhile
            continue
        if existing.expires_at <= moment:  # expired but not swept yet: a new key
            IdempotencyKey.objects.filter(pk=existing.pk, expires_at__lte=moment).delete()
            continue
        if existing.request_hash == request_hash and lease_ended(existing, moment):
            if take_over(existing, now=moment):
                return existing, True
            continue  # another retry took it over first, or the first request just completed
        return existing, False
    return None, False


def release(row: IdempotencyKey) -> None:
    """Give up a claim whose request failed, so that the client may retry with the same key
    (only while this run still holds it: a claim taken over belongs to the retry)."""
    IdempotencyKey.objects.filter(
        pk=row.pk, state=IdempotencyState.IN_PROGRESS, claim_token=row.claim_token
    ).delete()


def release_if_possible(row: IdempotencyKey) -> None:
    """``release``, when the database still answers; otherwise the claim waits for its lease to
    end (the run that failed has written nothing: its transaction did not commit)."""
    try:
        release(row)
    except DatabaseError:
        logger.warning(
            "idempotency key %s %r left to its lease: the database did not answer",
            row.scope,
            row.key,
            exc_info=True,
        )


def complete(row: IdempotencyKey, response: HttpResponseBase) -> bool:
    """Store the response of a claimed key for replays, if this run still holds the claim
    (conditional UPDATE on its token); False when the claim was taken over meanwhile."""
    body = response.content if isinstance(response, HttpResponse) else b""
    recorded = IdempotencyKey.objects.filter(
        pk=row.pk, state=IdempotencyState.IN_PROGRESS, claim_token=row.claim_token
    ).update(
        state=IdempotencyState.COMPLETED,
        lease_until=None,
        response_status=response.status_code,
        response_body=body.decode("utf-8", errors="replace"),
        response_content_type=response.get("Content-Type", ""),
        response_headers={name: response[name] for name in STORED_HEADERS if name in response},
    )
    return recorded == 1


def replay(row: IdempotencyKey) -> HttpResponse:
    """The stored response of a completed key, marked as replayed."""
    response = HttpResponse(
        row.response_body.encode("utf-8"),
        status=row.response_status or 200,
        content_type=row.response_content_type or None,
    )
    for name, value in row.response_headers.items():
        response[name] = value
    response[REPLAYED_HEADER] = "true"
    return response


def idempotency_cleanup(now: dt.datetime | None = None) -> int:
    """Delete the keys expired at ``now``; the number deleted."""
    moment = now or clock.now()
    deleted, _by_model = IdempotencyKey.objects.filter(expires_at__lte=moment).delete()
    return deleted


def _error(status: int, code: str, message: str, fields: dict[str, Any] | None = None) -> Response:
    return Response(error_body(code, message, fields), status=status)


def _invalid_key() -> Response:
    message = _("Заголовок Idempotency-Key должен содержать от 1 до %(max)d символов.") % {
        "max": MAX_KEY_LENGTH
    }
    return _error(400, CoreErrorCode.IDEMPOTENCY_KEY_INVALID, message, {HEADER: [message]})


def _in_progress() -> Response:
    response = _error(
        409,
        CoreErrorCode.IDEMPOTENCY_KEY_IN_PROGRESS,
        _("Запрос с этим ключом идемпотентности ещё выполняется. Повторите позже."),
    )
    response["Retry-After"] = "1"
    return response


def _answer_existing(row: IdempotencyKey | None, request_hash: str) -> HttpResponseBase:
    if row is not None and row.request_hash != request_hash:
        return _error(
            422,
            CoreErrorCode.IDEMPOTENCY_KEY_REUSED,
            _("Этот ключ идемпотентности уже использован для другого запроса."),
            {HEADER: [_("Для нового запроса нужен новый ключ.")]},
        )
    if row is not None and row.state == IdempotencyState.COMPLETED:
        return replay(row)
    return _in_progress()


class _Discarded(Exception):
    """Leaves the handler's transaction so that it rolls back, carrying the answer to give."""

    def __init__(self, response: HttpResponseBase, *, taken_over: bool) -> None:
        super().__init__("the idempotent run is rolled back")
        self.response = response
        self.taken_over = taken_over


def _finished(
    view: APIView,
    request: Request,
    response: HttpResponseBase,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> HttpResponseBase:
    """The answer as the client will get it: finalised and rendered, so that its bytes can be
    stored."""
    response = view.finalize_response(request, cast(Response, response), *args, **kwargs)
    if isinstance(response, SimpleTemplateResponse):
        response.render()
    return response


def _record(row: IdempotencyKey, response: HttpResponseBase) -> HttpResponseBase:
    """Store ``response`` on the claim, or leave by ``_Discarded`` (a 5xx is not stored; a claim
    taken over meanwhile answers 409)."""
    if response.status_code >= 500:
        raise _Discarded(response, taken_over=False)
    if not complete(row, response):
        raise _Discarded(_in_progress(), taken_over=True)
    return response


def _run_and_record(
    handler: Callable[..., HttpResponseBase],
    view: APIView,
    request: Request,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    row: IdempotencyKey,
) -> HttpResponseBase:
    """Run the handler and record its answer in one transaction: both commit or neither.

    The handler runs in that transaction without a savepoint of its own (issue 17: a savepoint
    is two more statements a request). When it raises an exception the API answers (a refusal,
    a validation error), the whole transaction rolls back, so none of its writes stay, and the
    answer is recorded by itself afterwards, with the same token check; other exceptions
    propagate (the caller releases the claim)."""
    try:
        try:
            with transaction.atomic():
                answer = handler(view, request, *args, **kwargs)
                return _record(row, _finished(view, request, answer, args, kwargs))
        except _Discarded:
            raise
        except Exception as exc:  # rolled back: record the API's answer to it
            refusal = view.handle_exception(exc)  # re-raises what the API does not answer
            return _record(row, _finished(view, request, refusal, args, kwargs))
    except _Discarded as discarded:
        if discarded.taken_over:
            logger.warning(
                "idempotency key %s %r was taken over by a retry; this run is rolled back",
                row.scope,
                row.key,
            )
            return discarded.response
        release_if_possible(row)
        return discarded.response


def idempotent(handler: HandlerT) -> HandlerT:
    """Make a DRF write handler honour ``Idempotency-Key`` (see the module docstring)."""

    @functools.wraps(handler)
    def wrapper(view: APIView, request: Request, *args: Any, **kwargs: Any) -> HttpResponseBase:
        raw = request.headers.get(HEADER)
        scope = scope_of(request.user)
        if raw is None or scope is None or (request.method or "").upper() not in WRITE_METHODS:
            return handler(view, request, *args, **kwargs)
        key = parse_key(raw)
        if key is None:
            return _invalid_key()
        method, path = (request.method or "").upper(), request.get_full_path()
        request_hash = fingerprint(method=method, path=path, data=request.data)
        row, claimed = claim(
            scope=scope, key=key, method=method, path=path, request_hash=request_hash
        )
        if not claimed or row is None:
            return _answer_existing(row, request_hash)
        try:
            return _run_and_record(handler, view, request, args, kwargs, row)
        except BaseException:
            release_if_possible(row)
            raise

    wrapper.idempotent = True  # type: ignore[attr-defined]
    documented = extend_schema(parameters=[KEY_PARAMETER])(wrapper)
    return cast(HandlerT, documented)
