"""The event contract (spec: referrals.md, "Events"): checking one raw event into an ``Event``.

``parse_event`` checks the shape of one event alone: its id, type, timestamp (ISO 8601 with a
UTC offset) and the fields its type needs, with their types. What needs other events (a client
never registered, a refund of an unknown payment, a duplicate id) is judged by the engine, in
time order. A bad event raises ``EventRejected`` with a reason in English (the API and the replay
document show it as is).

Besides the spec's types, the portal writes its own into the same stream, so that the stored
stream alone determines every standing (live equals replay):
``promo_code.created`` {partner, code, valid_from, valid_until (exclusive), client_bonus},
``promo_code.deactivated`` {code}, ``partner.blocked`` / ``partner.unblocked`` {partner},
``points.adjusted`` {partner, points (signed integer), reason} and ``bonus.adjusted`` {partner,
amount (signed decimal string), reason}: manual adjustments of the back office.

Any other field of an event is its extra data, stored as received (``extra_fields``). The intake
passes ``years`` to ``parse_event`` (the setting's first and last year: issue 14), so that every
timestamp of a new event is refused outside them; a replay of stored events passes none.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = [
    "EVENT_TYPES",
    "Event",
    "EventRejected",
    "extra_fields",
    "parse_event",
    "parse_timestamp",
]

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
ONE_US = dt.timedelta(microseconds=1)
_fromisoformat = dt.datetime.fromisoformat
_AMOUNT = re.compile(r"^-?[0-9]+(\.[0-9]{1,2})?$")


class EventRejected(ValueError):
    """One event that cannot be applied; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Event:
    """A checked event: ``us`` is its time in microseconds since the epoch (the sort key with
    ``id``); ``data`` is the raw object (its fields checked, never changed); ``value`` the
    typed value of its type where it has one (a payment's ``amount`` as ``Decimal``, a promo
    code's validity as a pair of instants in µs); ``index`` its position in the input."""

    __slots__ = ("at", "data", "id", "index", "type", "us", "value")

    def __init__(
        self,
        id: str,
        type: str,
        at: dt.datetime,
        us: int,
        data: dict[str, Any],
        index: int,
        value: Any = None,
    ) -> None:
        self.id = id
        self.type = type
        self.at = at
        self.us = us
        self.data = data
        self.index = index
        self.value = value

    def __repr__(self) -> str:
        return f"Event({self.id!r}, {self.type!r}, {self.at.isoformat()})"


def parse_timestamp(value: Any, name: str = "at") -> dt.datetime:
    """An aware datetime from an ISO 8601 string with a UTC offset, or ``EventRejected``."""
    if value.__class__ is not str:
        raise EventRejected(f"{name} must be an ISO 8601 timestamp string")
    try:
        moment = _fromisoformat(value)
    except ValueError:
        raise EventRejected(f"{name} is not an ISO 8601 timestamp: {value[:40]!r}") from None
    if moment.tzinfo is None:
        raise EventRejected(f"timestamp without offset in {name}: {value[:40]!r}")
    return moment


def _text(obj: dict[str, Any], name: str, *, required: bool = True) -> str | None:
    value = obj.get(name)
    if value.__class__ is str and 0 < len(value) <= 200:
        return str(value)
    if value is None or value == "":
        if required:
            raise EventRejected(f"missing field: {name}")
        return None
    if not isinstance(value, str):
        raise EventRejected(f"{name} must be a string")
    if len(value) > 200:
        raise EventRejected(f"{name} is longer than 200 characters")
    return value


def _integer(obj: dict[str, Any], name: str, *, minimum: int | None = 0) -> int:
    if name not in obj or obj[name] is None:
        raise EventRejected(f"missing field: {name}")
    value = obj[name]
    if isinstance(value, bool) or not isinstance(value, int):
        raise EventRejected(f"{name} must be an integer")
    if minimum is not None and value < minimum:
        raise EventRejected(f"{name} must be at least {minimum}")
    return value


def _amount(obj: dict[str, Any], name: str = "amount", *, signed: bool = False) -> Decimal:
    if name not in obj or obj[name] is None:
        raise EventRejected(f"missing field: {name}")
    value = obj[name]
    if value.__class__ is not str or not _AMOUNT.match(value):
        raise EventRejected(f"{name} is not a decimal string with at most 2 decimals")
    try:
        number = Decimal(value)
    except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
        raise EventRejected(f"{name} is not a decimal") from None
    if number < 0 and not signed:
        raise EventRejected(f"{name} must not be negative")
    if abs(number) >= Decimal("1e12"):
        raise EventRejected(f"{name} is too large")
    return number


def _partner_registered(obj: dict[str, Any]) -> None:
    _text(obj, "partner")
    _text(obj, "inn", required=False)


def _client_registered(obj: dict[str, Any]) -> None:
    _text(obj, "client")
    for name in ("referral_code", "promo_code", "inn"):
        if name in obj:
            _text(obj, name, required=False)


def _client_activity(obj: dict[str, Any]) -> None:
    _text(obj, "client")
    _integer(obj, "users")


def _payment(obj: dict[str, Any]) -> Decimal:
    months = obj.get("months")
    if months is not None and (months.__class__ is not int or months <= 0):
        if isinstance(months, bool) or not isinstance(months, int):
            raise EventRejected("months must be an integer")
        raise EventRejected("months must be at least 1")
    _text(obj, "client")
    _text(obj, "product")
    return _amount(obj)


def _payment_refunded(obj: dict[str, Any]) -> None:
    _text(obj, "payment")


def _promo_created(obj: dict[str, Any]) -> tuple[int, int]:
    valid_from = parse_timestamp(obj.get("valid_from"), "valid_from")
    valid_until = parse_timestamp(obj.get("valid_until"), "valid_until")
    if valid_until <= valid_from:
        raise EventRejected("valid_until must be after valid_from")
    _text(obj, "partner")
    _text(obj, "code")
    _text(obj, "client_bonus", required=False)
    return (valid_from - EPOCH) // ONE_US, (valid_until - EPOCH) // ONE_US


def _promo_deactivated(obj: dict[str, Any]) -> None:
    _text(obj, "code")


def _partner_only(obj: dict[str, Any]) -> None:
    _text(obj, "partner")


def _points_adjusted(obj: dict[str, Any]) -> None:
    if _integer(obj, "points", minimum=None) == 0:
        raise EventRejected("points must not be 0")
    _text(obj, "partner")
    _text(obj, "reason")


def _bonus_adjusted(obj: dict[str, Any]) -> Decimal:
    amount = _amount(obj, signed=True)
    if amount == 0:
        raise EventRejected("amount must not be 0")
    _text(obj, "partner")
    _text(obj, "reason")
    return amount


_PARSERS = {
    "partner.registered": _partner_registered,
    "client.registered": _client_registered,
    "client.activity": _client_activity,
    "payment": _payment,
    "payment.refunded": _payment_refunded,
    "promo_code.created": _promo_created,
    "promo_code.deactivated": _promo_deactivated,
    "partner.blocked": _partner_only,
    "partner.unblocked": _partner_only,
    "points.adjusted": _points_adjusted,
    "bonus.adjusted": _bonus_adjusted,
}

#: Every type the engine accepts.
EVENT_TYPES = frozenset(_PARSERS)
_COMMON_FIELDS = frozenset({"id", "type", "at"})
#: The fields each type defines; any other field of an event is extra data.
KNOWN_FIELDS: dict[str, frozenset[str]] = {
    kind: _COMMON_FIELDS | fields
    for kind, fields in {
        "partner.registered": {"partner", "inn"},
        "client.registered": {"client", "referral_code", "promo_code", "inn"},
        "client.activity": {"client", "users"},
        "payment": {"client", "product", "amount", "months"},
        "payment.refunded": {"payment"},
        "promo_code.created": {"partner", "code", "valid_from", "valid_until", "client_bonus"},
        "promo_code.deactivated": {"code"},
        "partner.blocked": {"partner"},
        "partner.unblocked": {"partner"},
        "points.adjusted": {"partner", "points", "reason"},
        "bonus.adjusted": {"partner", "amount", "reason"},
    }.items()
}
#: Timestamps an event carries besides ``at``.
_OTHER_TIMES: dict[str, tuple[str, ...]] = {"promo_code.created": ("valid_from", "valid_until")}
#: The spec's types: what the vendor's product reports.
PRODUCT_EVENT_TYPES = frozenset(
    {"partner.registered", "client.registered", "client.activity", "payment", "payment.refunded"}
)


def extra_fields(event: Event) -> dict[str, Any]:
    """The fields of a checked event its type does not define (kept as received)."""
    known = KNOWN_FIELDS[event.type]
    return {name: value for name, value in event.data.items() if name not in known}


def _check_year(moment: dt.datetime, name: str, years: tuple[int, int]) -> None:
    low, high = years
    if not low <= moment.year <= high:
        raise EventRejected(f"{name}: year {moment.year} is outside {low}..{high}")


def parse_event(obj: Any, index: int = 0, years: tuple[int, int] | None = None) -> Event:
    """Check one raw event (a decoded JSON object) and return it as an ``Event``.

    ``years``: the first and last year its timestamps may fall in (as written, in their own
    offset); ``None`` checks no range.
    """
    if obj.__class__ is not dict:
        raise EventRejected("an event must be a JSON object")
    event_id = obj.get("id")
    if event_id.__class__ is not str or not 0 < len(event_id) <= 100:
        if event_id is None or event_id == "":
            raise EventRejected("missing field: id")
        if not isinstance(event_id, str):
            raise EventRejected("id must be a string")
        raise EventRejected("id is longer than 100 characters")
    kind = obj.get("type")
    parser = _PARSERS.get(kind) if kind.__class__ is str else None
    if parser is None:
        if kind is None:
            raise EventRejected("missing field: type")
        raise EventRejected(f"unknown type: {str(kind)[:40]}")
    if "at" not in obj:
        raise EventRejected("missing field: at")
    at = parse_timestamp(obj["at"])
    if years is not None:
        _check_year(at, "at", years)
    value = parser(obj)
    if years is not None:
        for name in _OTHER_TIMES.get(str(kind), ()):
            _check_year(parse_timestamp(obj[name], name), name, years)
    return Event(event_id, str(kind), at, (at - EPOCH) // ONE_US, obj, index, value)
