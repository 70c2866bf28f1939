"""HTTP API of the referral program: event intake, a partner's standing and history.

Issue "Referral program" parts 3 and 4.
- ``POST /api/v1/referrals/events`` (vendor token: administrator or program manager): a JSON
  array of events (at most ``REFERRAL_EVENTS_MAX_BATCH``) or JSON Lines
  (``Content-Type: application/x-ndjson``). 200
  ``{"accepted", "waiting", "duplicates", "rejected"}`` (``waiting``: of the accepted, those
  that name a client, payment or promo code not seen yet and wait for it); 413 for a body
  over the limits; 400 for malformed JSON, naming the line (JSON Lines) or the position
  (array).
- ``GET /api/v1/referrals/partners/{code}/standing?as_of=`` and ``.../history``: vendor staff
  for the partners of their own vendor's programs; a partner for its own code only (any other
  code, another vendor's partner included, is 404).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from django.conf import settings
from django.http import Http404
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import exceptions, serializers
from rest_framework.parsers import BaseParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from partnerhub.accounts.principal import organisation_of
from partnerhub.core.access import AUTHENTICATED, vendor
from partnerhub.core.error_codes import CoreErrorCode
from partnerhub.core.idempotency import idempotent
from partnerhub.partners.models import Program
from partnerhub.referrals.engine import EventRejected, PartnerResult, parse_timestamp
from partnerhub.referrals.engine.replay import standing_entry
from partnerhub.referrals.models.events import EventSource
from partnerhub.referrals.selectors import standing as selectors
from partnerhub.referrals.services import intake

EVENT_WRITERS = vendor("administrator", "program_manager")


class PayloadTooLarge(exceptions.APIException):
    """The body is over the size or count limit."""

    status_code = 413
    default_code = CoreErrorCode.PAYLOAD_TOO_LARGE
    default_detail = "Слишком большой пакет событий."


def _read_limited(stream: Any) -> bytes:
    limit = settings.REFERRAL_EVENTS_MAX_BYTES
    body = stream.read(limit + 1) if stream is not None else b""
    if len(body) > limit:
        raise PayloadTooLarge(f"Тело запроса больше {limit} байт.")
    return bytes(body)


def _check_count(objs: list[Any]) -> list[Any]:
    if len(objs) > settings.REFERRAL_EVENTS_MAX_BATCH:
        raise PayloadTooLarge(
            f"В пакете {len(objs)} событий, допускается не более "
            f"{settings.REFERRAL_EVENTS_MAX_BATCH}."
        )
    return objs


class EventsJsonParser(BaseParser):
    """A JSON array of events (read with a size limit, parsed with orjson)."""

    media_type = "application/json"

    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        body = _read_limited(stream)
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise exceptions.ParseError(
                f"Некорректный JSON: {exc.msg} (символ {exc.pos})."
            ) from None
        if not isinstance(data, list):
            raise exceptions.ParseError("Ожидается JSON-массив событий.")
        return _check_count(data)


class EventsNdjsonParser(BaseParser):
    """JSON Lines: one event a line; blank lines are skipped."""

    media_type = "application/x-ndjson"

    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        body = _read_limited(stream)
        objs: list[Any] = []
        for number, line in enumerate(body.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                objs.append(orjson.loads(line))
            except orjson.JSONDecodeError as exc:
                raise exceptions.ParseError(
                    f"Некорректный JSON в строке {number}: {exc.msg}."
                ) from None
            _check_count(objs)
        return objs


def _program(request: Request, code: str | None = None) -> Program:
    """The program a request is about, always within the asker's reach: for a partner code,
    the asking vendor's program holding that code (vendor staff) or the program where it is the
    partner's own code (a partner); without a code, the vendor's referral program
    (``?program=<program code>`` picks one when the vendor runs several). 404 otherwise, as if
    the code or the program did not exist."""
    organisation = organisation_of(request.user)
    if code is None:
        program = (
            selectors.program_for_vendor(
                vendor=organisation, code=request.query_params.get("program")
            )
            if organisation.is_vendor
            else None
        )
    elif organisation.is_vendor:
        program = selectors.program_of_code(vendor=organisation, code=code)
    else:
        program = selectors.program_of_own_code(organisation=organisation, code=code)
    if program is None:
        raise Http404
    return program


def _as_of(request: Request) -> Any:
    raw = request.query_params.get("as_of")
    if not raw:
        return None
    try:
        return parse_timestamp(raw, "as_of")
    except EventRejected as exc:
        raise exceptions.ValidationError({"as_of": [exc.reason]}) from None


IngestSerializer = inline_serializer(
    name="ReferralIngestResult",
    fields={
        "accepted": serializers.IntegerField(),
        "waiting": serializers.IntegerField(),
        "duplicates": serializers.IntegerField(),
        "rejected": serializers.ListField(child=serializers.DictField()),
    },
)


class EventsApi(APIView):
    """Receive events from the vendor's product (a JSON array or JSON Lines)."""

    access_rule = EVENT_WRITERS
    parser_classes = [EventsJsonParser, EventsNdjsonParser]

    @extend_schema(
        request={"application/json": {"type": "array", "items": {"type": "object"}}},
        responses={200: IngestSerializer},
        operation_id="referral_events_ingest",
    )
    @idempotent
    def post(self, request: Request) -> Response:
        objs = request.data if isinstance(request.data, list) else []
        result = intake.events_ingest(
            program=_program(request),
            objs=objs,
            source=EventSource.API,
            defer=settings.REFERRAL_APPLY_IN_WORKER,
        )
        return Response(result.as_dict())


def _money(value: Any) -> str | None:  # None stays None (the history's optional amounts)
    return None if value is None else f"{value:.2f}"


def standing_document(result: PartnerResult) -> dict[str, Any]:
    """One partner's entry, in the fields and format of the replay document."""
    return standing_entry(result.standing)


def history_document(result: PartnerResult) -> dict[str, Any]:
    """Grants, bonuses (rewards and others), level changes and reviews."""
    return {
        "partner": result.standing.partner,
        "grants": [
            {
                "event": g.event_id,
                "at": g.at.isoformat(),
                "points": g.points,
                "expires_at": g.expires_at.isoformat(),
                "cause": g.cause,
                "client": g.client,
                "payment": g.payment,
                "revoked_at": g.revoked_at.isoformat() if g.revoked_at else None,
                "revoked_by": g.revoked_by,
                "config_version": g.config_version,
            }
            for g in result.grants
        ],
        "bonuses": [
            {
                "event": b.event_id,
                "at": b.at.isoformat(),
                "kind": b.kind,
                "amount": _money(b.amount),
                "client": b.client,
                "payment": b.payment,
                "rate": str(b.rate) if b.rate is not None else None,
                "base": _money(b.base),
                "config_version": b.config_version,
            }
            for b in result.bonuses
        ],
        "level_changes": [
            {
                "at": c.at.isoformat(),
                "from": c.old,
                "to": c.new,
                "cause": c.cause,
                "event": c.event_id,
                "active_points": c.active_points,
                "config_version": c.config_version,
            }
            for c in result.levels
        ],
        "reviews": [
            {
                "at": r.at.isoformat(),
                "active_points": r.active_points,
                "level_before": r.level_before,
                "level_after": r.level_after,
                "config_version": r.config_version,
            }
            for r in result.reviews
        ],
    }


AS_OF = OpenApiParameter("as_of", str, description="ISO 8601 timestamp with offset; now if absent")


class _PartnerReadApi(APIView):
    """A partner's standing or history as of a time: staff see their vendor's partners, a partner
    its own (another code answers 404, as if it did not exist)."""

    access_rule = AUTHENTICATED
    #: how the result is shown (each subclass names its document)
    render: Callable[[PartnerResult], dict[str, Any]]

    def get(self, request: Request, code: str) -> Response:
        program = _program(request, code)
        result = selectors.history_of(program=program, code=code, as_of=_as_of(request))
        if result is None:
            raise Http404
        return Response(self.render(result))


@extend_schema_view(
    get=extend_schema(parameters=[AS_OF], responses={200: dict}, operation_id="referral_standing")
)
class StandingApi(_PartnerReadApi):
    """A partner's standing as of a time (the fields of one entry of the replay document)."""

    render = staticmethod(standing_document)


@extend_schema_view(
    get=extend_schema(parameters=[AS_OF], responses={200: dict}, operation_id="referral_history")
)
class HistoryApi(_PartnerReadApi):
    """A partner's grants, bonuses, level changes and reviews."""

    render = staticmethod(history_document)
