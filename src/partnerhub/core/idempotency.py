"""Idempotent write APIs with the ``Idempotency-Key`` header (house rule 10; issue "Idempotency",
semantics of the IETF draft "The Idempotency-Key HTTP Header Field").

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
- The first request fails with 5xx or an exception: the claim is deleted, the client may retry.
  Answers below 500 (4xx included) are stored and replayed.
- Keys are kept ``IDEMPOTENCY_KEY_TTL_HOURS`` (24) hours; an expired key counts as new, and the
  hourly task ``core.tasks.idempotency_keys_cleanup`` deletes expired rows.

The stored response is written after the work's own transaction has committed; a process that
dies in between leaves the key "in progress" (409) until it expires, never runs the work twice.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import orjson
from django.conf import settings
from django.db import IntegrityError, transaction
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
from partnerhub.core.models.idempotency import IdempotencyKey, IdempotencyState

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotency-Replayed"
MAX_KEY_LENGTH = 255
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: Response headers kept with the stored response and sent again on replay.
STORED_HEADERS = ("Location",)
_CLAIM_ATTEMPTS = 3

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
    return orjson.dumps(data, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS, default=str)


def fingerprint(*, method: str, path: str, data: Any) -> str:
    """sha256 of the method, the path with its query and the canonical body."""
    digest = hashlib.sha256()
    digest.update(method.upper().encode() + b"\n" + path.encode() + b"\n")
    digest.update(canonical_body(data))
    return digest.hexdigest()


def key_ttl() -> dt.timedelta:
    """How long a key is kept."""
    return dt.timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)


def claim(
    *,
    scope: Scope,
    key: str,
    method: str,
    path: str,
    request_hash: str,
    now: dt.datetime | None = None,
) -> tuple[IdempotencyKey | None, bool]:
    """Claim ``key`` in ``scope``: (the new row, True) for the first request, (the live row,
    False) when another request holds it, (None, False) when it kept changing hands."""
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
        return existing, False
    return None, False


def release(row: IdempotencyKey) -> None:
    """Give up a claim whose request failed, so that the client may retry with the same key."""
    IdempotencyKey.objects.filter(pk=row.pk, state=IdempotencyState.IN_PROGRESS).delete()


def complete(row: IdempotencyKey, response: HttpResponseBase) -> None:
    """Store the response of a claimed key for replays."""
    body = response.content if isinstance(response, HttpResponse) else b""
    IdempotencyKey.objects.filter(pk=row.pk, state=IdempotencyState.IN_PROGRESS).update(
        state=IdempotencyState.COMPLETED,
        response_status=response.status_code,
        response_body=body.decode("utf-8", errors="replace"),
        response_content_type=response.get("Content-Type", ""),
        response_headers={name: response[name] for name in STORED_HEADERS if name in response},
    )


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
    return _error(400, "idempotency_key_invalid", message, {HEADER: [message]})


def _answer_existing(row: IdempotencyKey | None, request_hash: str) -> HttpResponseBase:
    if row is not None and row.request_hash != request_hash:
        return _error(
            422,
            "idempotency_key_reused",
            _("Этот ключ идемпотентности уже использован для другого запроса."),
            {HEADER: [_("Для нового запроса нужен новый ключ.")]},
        )
    if row is not None and row.state == IdempotencyState.COMPLETED:
        return replay(row)
    response = _error(
        409,
        "idempotency_key_in_progress",
        _("Запрос с этим ключом идемпотентности ещё выполняется. Повторите позже."),
    )
    response["Retry-After"] = "1"
    return response


def _run(
    handler: Callable[..., HttpResponseBase],
    view: APIView,
    request: Request,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> HttpResponseBase:
    """The handler's answer as the client will get it: exceptions mapped to the API's error
    response (others propagate), rendered, so that its bytes can be stored."""
    try:
        response = handler(view, request, *args, **kwargs)
    except Exception as exc:
        response = view.handle_exception(exc)  # re-raises what the API does not answer
    response = view.finalize_response(request, cast(Response, response), *args, **kwargs)
    if isinstance(response, SimpleTemplateResponse):
        response.render()
    return response


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
            response = _run(handler, view, request, args, kwargs)
        except BaseException:
            release(row)
            raise
        if response.status_code >= 500:
            release(row)
        else:
            complete(row, response)
        return response

    wrapper.idempotent = True  # type: ignore[attr-defined]
    documented = extend_schema(parameters=[KEY_PARAMETER])(wrapper)
    return cast(HandlerT, documented)
