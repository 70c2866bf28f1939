"""The audit log: who (user, organisation, API token or system task) did what (an action code) to
which object, with the values before and after, when, and from which IP address and request.

Issue "Audit log". Services call ``record()`` inside their own transaction, so an audit row is
committed or rolled back with the change it describes. The actor comes from the current context
unless the service names one:

- ``AuditContextMiddleware`` (after Django's ``AuthenticationMiddleware``) opens a context per
  request: the request id (``X-Request-ID`` when sane, else a new UUID, echoed in the response),
  the client IP (``REMOTE_ADDR``) and the request, whose ``user`` is read only when a row is
  written (DRF puts the API-token principal on the underlying request after authenticating);
- ``system_actor(name)`` marks work done by a task or a command.

Core knows no domain model, so principals are duck-typed: an object with a ``token`` attribute is
an API token acting for ``organisation_id``; an authenticated object with a ``pk`` is a user.
Written here (no library fits: django-auditlog and django-simple-history hook ``save()`` signals,
while our rows are written explicitly by services with before/after of the use case).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.db import models
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse

from partnerhub.core.clock import PROGRAM_TZ
from partnerhub.core.models.audit import ActorKind, AuditEvent

__all__ = [
    "REQUEST_ID_HEADER",
    "Actor",
    "AuditContextMiddleware",
    "actor_of",
    "audit_events",
    "current_actor",
    "current_request_id",
    "diff",
    "record",
    "system_actor",
]

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_ACTION = re.compile(r"[a-z0-9_]+(\.[a-z0-9_]+)+")


@dataclass(frozen=True)
class Actor:
    """Who acts, as stored in an audit row."""

    kind: str
    label: str = ""
    user_id: int | None = None
    organisation_id: int | None = None
    token_id: int | None = None


SYSTEM = Actor(kind=ActorKind.SYSTEM)


@dataclass(frozen=True)
class _Context:
    request_id: str
    ip: str | None = None
    request: HttpRequest | None = None
    system: str | None = None


_CONTEXT: ContextVar[_Context | None] = ContextVar("partnerhub_audit_context", default=None)


def actor_of(principal: Any) -> Actor:
    """The actor of a principal: an ``Actor``, a user, an API-token principal or anonymous."""
    if isinstance(principal, Actor):
        return principal
    token = getattr(principal, "token", None)
    if token is not None and getattr(principal, "is_authenticated", False):
        return Actor(
            kind=ActorKind.TOKEN,
            label=str(principal)[:200],
            organisation_id=getattr(principal, "organisation_id", None),
            token_id=getattr(token, "pk", None),
        )
    if getattr(principal, "is_authenticated", False) and getattr(principal, "pk", None):
        return Actor(
            kind=ActorKind.USER,
            label=(getattr(principal, "email", "") or str(principal))[:200],
            user_id=principal.pk,
            organisation_id=getattr(principal, "organisation_id", None),
        )
    return Actor(kind=ActorKind.ANONYMOUS)


def current_actor() -> Actor:
    """The actor of the current context: a system task, the request's principal, or the system
    (no context at all: a shell or a command that did not name itself)."""
    context = _CONTEXT.get()
    if context is None:
        return SYSTEM
    if context.system is not None:
        return Actor(kind=ActorKind.SYSTEM, label=context.system[:200])
    return actor_of(getattr(context.request, "user", None))


def current_request_id() -> str:
    """The id of the current request or system run ("" outside any context)."""
    context = _CONTEXT.get()
    return context.request_id if context is not None else ""


@contextmanager
def system_actor(name: str) -> Iterator[None]:
    """Rows recorded inside are by the system task ``name``; a run outside a request gets its own
    request id, so that its rows can be found together."""
    outer = _CONTEXT.get()
    context = _Context(
        request_id=outer.request_id if outer is not None else str(uuid.uuid4()),
        ip=outer.ip if outer is not None else None,
        system=name,
    )
    token = _CONTEXT.set(context)
    try:
        yield
    finally:
        _CONTEXT.reset(token)


def _object_type(obj: models.Model) -> str:
    return f"{obj._meta.app_label}.{obj._meta.model_name}"


def record(
    *,
    action: str,
    obj: models.Model | None = None,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    organisation_id: int | None = None,
    actor: Any = None,
    vendor_id: int | None = None,
) -> AuditEvent:
    """Write one audit row in the current transaction.

    ``organisation_id`` (whose data it is) defaults to ``obj.organisation_id`` when the object has
    one; ``vendor_id`` (whose programs it concerns) to ``vendor_of(obj)``; ``actor`` (a user, an
    API-token principal or an ``Actor``) defaults to the context's.
    """
    if not _ACTION.fullmatch(action):
        raise ValueError(f"audit action must be a dotted lower-case slug, got {action!r}")
    who = actor_of(actor) if actor is not None else current_actor()
    if organisation_id is None and obj is not None:
        owner = getattr(obj, "organisation_id", None)
        organisation_id = owner if isinstance(owner, int) else None
    if vendor_id is None and obj is not None:
        vendor_id = vendor_of(obj)
    context = _CONTEXT.get()
    return AuditEvent.objects.create(
        actor_kind=who.kind,
        actor_user_id=who.user_id,
        actor_organisation_id=who.organisation_id,
        actor_token_id=who.token_id,
        actor_label=who.label,
        action=action,
        object_type=_object_type(obj) if obj is not None else "",
        object_id=str(obj.pk) if obj is not None and obj.pk is not None else "",
        object_repr=str(obj)[:200] if obj is not None else "",
        organisation_id=organisation_id,
        vendor_id=vendor_id,
        before=dict(before) if before is not None else None,
        after=dict(after) if after is not None else None,
        ip=context.ip if context is not None else None,
        request_id=context.request_id if context is not None else "",
    )


def vendor_of(obj: Any) -> int | None:
    """The vendor whose programs ``obj`` belongs to, duck-typed (core knows no domain model):
    its own ``vendor_id`` (a program, a vendor's catalogue entry), else its program's (an
    enrolment, a contract, a lead...). None for anything else (a partner's card)."""
    own = getattr(obj, "vendor_id", None)
    if isinstance(own, int):
        return own
    if getattr(obj, "program_id", None) is not None:
        program_vendor = getattr(getattr(obj, "program", None), "vendor_id", None)
        return program_vendor if isinstance(program_vendor, int) else None
    return None


def diff(
    before: Mapping[str, Any], after: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the keys whose values differ, as (before, after) for ``record``."""
    keys = [key for key in dict.fromkeys([*before, *after]) if before.get(key) != after.get(key)]
    return {key: before.get(key) for key in keys}, {key: after.get(key) for key in keys}


def audit_events(
    *,
    organisation_ids: Any,
    vendor_id: int,
    action_prefix: str = "",
    organisation_id: int | None = None,
    object_type: str = "",
    actor: str = "",
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> QuerySet[AuditEvent]:
    """Audit rows for the vendor's staff, newest first, filtered by action prefix, organisation,
    object type, actor (part of the e-mail or label) and Moscow dates (both ends included).

    Scoped to who asks, the vendor ``vendor_id`` (issue 14): rows marked with its id (whoever
    did them: a system job's too); rows marked with another vendor's id never (a partner of two
    vendors: each sees what concerns its own programs). Rows marked with no vendor (a partner's
    card, rows written before the mark existed) are shown by the earlier rule: rows about one
    of ``organisation_ids`` (ids or a subquery: the vendor and its partners), and rows about no
    organisation done by one of them; rows about no organisation done by no organisation
    (system jobs without a vendor) cannot be told apart by vendor and are left out.
    """
    unmarked = Q(organisation_id__in=organisation_ids) | Q(
        organisation_id__isnull=True, actor_organisation_id__in=organisation_ids
    )
    scope = Q(vendor_id=vendor_id) | (Q(vendor_id__isnull=True) & unmarked)
    qs = AuditEvent.objects.filter(scope).order_by("-at", "-id")
    if action_prefix.strip():
        qs = qs.filter(action__startswith=action_prefix.strip())
    if organisation_id is not None:
        qs = qs.filter(organisation_id=organisation_id)
    if object_type.strip():
        qs = qs.filter(object_type=object_type.strip())
    if actor.strip():
        qs = qs.filter(actor_label__icontains=actor.strip())
    if date_from is not None:
        qs = qs.filter(at__gte=_moscow_midnight(date_from))
    if date_to is not None:
        qs = qs.filter(at__lt=_moscow_midnight(date_to + dt.timedelta(days=1)))
    return qs


def _moscow_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=PROGRAM_TZ)


def _sane_request_id(raw: str | None) -> str | None:
    value = (raw or "").strip()
    return value if _SANE_REQUEST_ID.fullmatch(value) else None


def client_ip(request: HttpRequest) -> str | None:
    """The client's address as the server sees it (``REMOTE_ADDR``: behind a proxy, set it from
    the proxy's header there), or None when it is missing or not an IP address."""
    raw = request.META.get("REMOTE_ADDR") or ""
    try:
        return str(ipaddress.ip_address(raw))
    except ValueError:
        return None


class AuditContextMiddleware:
    """Open the audit context of a request and echo its id in ``X-Request-ID``."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = _sane_request_id(request.headers.get(REQUEST_ID_HEADER)) or str(uuid.uuid4())
        context = _Context(request_id=request_id, ip=client_ip(request), request=request)
        token = _CONTEXT.set(context)
        try:
            response = self.get_response(request)
        finally:
            _CONTEXT.reset(token)
        response[REQUEST_ID_HEADER] = request_id
        return response
