"""The engine's state as versioned data: what the live standing stores between events.

Issue 14 part 7 ("the live states are not code"): the state a partner's engine reached is kept
in the database and read back on another request, in another process or after an upgrade, so
it is stored as plain data (JSON through orjson), never as a pickle: a row someone managed to
write can at worst be refused, never run.

``engine_to_data(engine)`` gives a JSON-ready document; ``engine_from_data(doc, configs)``
builds the engine back with the program's configuration (the configuration is not part of the
state: it lives in the database as data of its own). The document:

- ``"format"``: ``FORMAT``. A document of any other format (or malformed) raises
  ``StateFormatError``; the live layer then rebuilds the state from the stored events, so a
  release that changes the engine's state bumps ``FORMAT`` and states are recomputed on first
  use (issue 15, "a live state that survives an upgrade").
- ``"fields"``: the column names of every table below, checked on reading as well.
- ``"last_key"``, ``"horizon_us"``: how far the engine was fed and brought in time.
- ``"grants"``: every grant once (a grant is shared by its partner's list, expiry heap and
  revocations and by its payment); the others refer to it by its index in this table.
- ``"partners"``, ``"clients"``, ``"payments"``, ``"promos"``, ``"rejected"``: one row (a list
  in the order of ``"fields"``) per object, in the engine's order.

Values: money and rates are decimal strings (``str(Decimal)``, exact); instants ISO 8601 with
their offset, with the IANA zone appended in brackets (RFC 9557) when the engine holds a wall
time of the program's zone (``2026-04-01T10:00:00+03:00[Europe/Moscow]``); days ISO dates;
a client's product lines a sorted list.

``state_encode``/``state_decode`` turn a document into the bytes stored (a format byte, then
the JSON, zlib-compressed above ``COMPRESS_OVER`` bytes) and back.

Pure module: no Django imports.
"""

from __future__ import annotations

import datetime as dt
import zlib
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from partnerhub.referrals.engine.config import ConfigSet
from partnerhub.referrals.engine.core import Engine, _Client, _Partner, _Payment, _Promo
from partnerhub.referrals.engine.results import (
    BonusEntry,
    Grant,
    LevelChange,
    Rejection,
    Review,
)

__all__ = [
    "COMPRESS_OVER",
    "FIELDS",
    "FORMAT",
    "StateFormatError",
    "engine_from_data",
    "engine_to_data",
    "state_decode",
    "state_encode",
]

#: The version of the document. Bump it whenever the engine's state changes shape or meaning:
#: states of another version are rebuilt from the stored events, never read.
FORMAT = 1

#: Column names of the tables of the document (objects are rows in this order).
FIELDS: dict[str, list[str]] = {
    "grant": [
        "event_id",
        "at",
        "points",
        "expires_at",
        "cause",
        "client",
        "config_version",
        "payment",
        "revoked_at",
        "revoked_by",
    ],
    "bonus": [
        "ref",
        "event_id",
        "at",
        "amount",
        "kind",
        "client",
        "config_version",
        "payment",
        "rate",
        "base",
    ],
    "level": ["at", "old", "new", "cause", "event_id", "config_version", "active_points"],
    "review": ["at", "active_points", "level_before", "level_after", "config_version"],
    "heap": ["expires_us", "seq", "grant"],
    "partner": [
        "code",
        "reg_at",
        "reg_us",
        "inn",
        "blocked",
        "level",
        "active",
        "points_total",
        "accrued",
        "clients",
        "active_clients",
        "grants",
        "heap",
        "seq",
        "bonuses",
        "levels",
        "reviews",
        "revocations",
        "review_months",
        "next_review",
        "next_review_us",
    ],
    "client": [
        "id",
        "reg_at",
        "reg_us",
        "partner",
        "candidate",
        "reason",
        "active_at",
        "lines",
        "first_paid",
        "payments",
        "paid",
        "reg_day",
        "last_active_day",
        "reward_until",
    ],
    "payment": ["id", "client", "us", "grant", "reward", "refunded"],
    "promo": ["key", "code", "partner", "valid_us", "until_us", "deactivated_us"],
    "rejection": ["index", "event_id", "reason"],
}

#: Encoded documents longer than this are stored compressed.
COMPRESS_OVER = 4096
_PLAIN = b"J"  # format byte: orjson document follows
_ZLIB = b"Z"  # format byte: zlib-compressed orjson document follows
_MAX_INFLATED = 1 << 30  # a compressed state never inflates beyond this (a zip bomb is refused)

_fromisoformat = dt.datetime.fromisoformat
_date = dt.date.fromisoformat


class StateFormatError(ValueError):
    """A stored state that is not a state of this format: rebuild it from the events."""


# --- writing ------------------------------------------------------------------------------------


def _time(moment: dt.datetime) -> str:
    tz = moment.tzinfo
    if tz.__class__ is ZoneInfo:
        return f"{moment.isoformat()}[{tz}]"
    return moment.isoformat()


def _time_or_none(moment: dt.datetime | None) -> str | None:
    return None if moment is None else _time(moment)


def _money_or_none(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def engine_to_data(engine: Engine, *, history: bool = True) -> dict[str, Any]:
    """The engine's whole state as a JSON-ready document (``history=False``: without the
    history lists the live layer drains into the database, which a restored copy must not make
    again; grants still active stay, referred to by the expiry heap and by payments)."""
    grants: list[list[Any]] = []
    grant_index: dict[int, int] = {}

    def ref(grant: Grant) -> int:
        key = id(grant)
        found = grant_index.get(key)
        if found is None:
            found = grant_index[key] = len(grants)
            grants.append(
                [
                    grant.event_id,
                    _time(grant.at),
                    grant.points,
                    _time(grant.expires_at),
                    grant.cause,
                    grant.client,
                    grant.config_version,
                    grant.payment,
                    _time_or_none(grant.revoked_at),
                    grant.revoked_by,
                ]
            )
        return found

    partners = []
    for p in engine.partners.values():
        partners.append(
            [
                p.code,
                _time(p.reg_at),
                p.reg_us,
                p.inn,
                p.blocked,
                p.level,
                p.active,
                p.points_total,
                str(p.accrued),
                p.clients,
                p.active_clients,
                [ref(g) for g in p.grants] if history else [],
                [[expires_us, seq, ref(g)] for expires_us, seq, g in p.heap],
                p.seq,
                [_bonus(b) for b in p.bonuses] if history else [],
                [_level(c) for c in p.levels] if history else [],
                [_review(r) for r in p.reviews] if history else [],
                [ref(g) for g in p.revocations] if history else [],
                p.review_months,
                _time(p.next_review),
                p.next_review_us,
            ]
        )
    clients = [
        [
            c.id,
            _time(c.reg_at),
            c.reg_us,
            c.partner,
            c.candidate,
            c.reason,
            _time_or_none(c.active_at),
            sorted(c.lines),
            c.first_paid,
            c.payments,
            str(c.paid),
            c.reg_day.isoformat(),
            c.last_active_day.isoformat(),
            c.reward_until,
        ]
        for c in engine.clients.values()
    ]
    payments = [
        [
            payment_id,
            pay.client.id,
            pay.us,
            None if pay.grant is None else ref(pay.grant),
            str(pay.reward),
            pay.refunded,
        ]
        for payment_id, pay in engine.payments.items()
    ]
    promos = [
        [key, pr.code, pr.partner, pr.valid_us, pr.until_us, pr.deactivated_us]
        for key, pr in engine.promos.items()
    ]
    return {
        "format": FORMAT,
        "fields": FIELDS,
        "last_key": list(engine.last_key),
        "horizon_us": engine.horizon_us,
        "grants": grants,
        "partners": partners,
        "clients": clients,
        "payments": payments,
        "promos": promos,
        "rejected": [[r.index, r.event_id, r.reason] for r in engine.rejected],
    }


def _bonus(b: BonusEntry) -> list[Any]:
    return [
        b.ref,
        b.event_id,
        _time(b.at),
        str(b.amount),
        b.kind,
        b.client,
        b.config_version,
        b.payment,
        _money_or_none(b.rate),
        _money_or_none(b.base),
    ]


def _level(c: LevelChange) -> list[Any]:
    return [
        _time(c.at),
        c.old,
        c.new,
        c.cause,
        c.event_id,
        c.config_version,
        c.active_points,
    ]


def _review(r: Review) -> list[Any]:
    return [_time(r.at), r.active_points, r.level_before, r.level_after, r.config_version]


# --- reading ------------------------------------------------------------------------------------


def _parse_time(text: str) -> dt.datetime:
    if text[-1] == "]":
        cut = text.index("[")
        return _fromisoformat(text[:cut]).replace(tzinfo=ZoneInfo(text[cut + 1 : -1]))
    moment = _fromisoformat(text)
    if moment.tzinfo is None:
        raise StateFormatError(f"instant without an offset: {text[:40]!r}")
    return moment


def _parse_time_or_none(text: str | None) -> dt.datetime | None:
    return None if text is None else _parse_time(text)


def _money_from(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def engine_from_data(doc: Any, configs: ConfigSet | None = None) -> Engine:
    """The engine a document of ``engine_to_data`` describes, with ``configs``.

    Raises ``StateFormatError`` for a document of another format or one that does not hold
    together (the caller rebuilds the state from the stored events)."""
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        found = doc.get("format") if isinstance(doc, dict) else type(doc).__name__
        raise StateFormatError(f"state format {found!r}, this release reads {FORMAT}")
    if doc.get("fields") != FIELDS:
        raise StateFormatError("state fields differ from this release's")
    try:
        return _engine(doc, configs)
    except StateFormatError:
        raise
    except (KeyError, IndexError, TypeError, ValueError, ArithmeticError) as exc:
        raise StateFormatError(f"malformed state: {exc.__class__.__name__}: {exc}") from exc


def _engine(doc: dict[str, Any], configs: ConfigSet | None) -> Engine:
    engine = Engine(configs)
    last_us, last_id = doc["last_key"]
    engine.last_key = (read_int(last_us), read_str(last_id))
    engine.horizon_us = read_int(doc["horizon_us"])
    grants = [_grant(row) for row in doc["grants"]]
    for row in doc["partners"]:
        partner = _partner(row, grants)
        engine.partners[partner.code] = partner
    clients = engine.clients
    for row in doc["clients"]:
        client = _client(row)
        clients[client.id] = client
    for payment_id, client_id, us, grant, reward, refunded in doc["payments"]:
        pay = _Payment.__new__(_Payment)
        pay.client = clients[client_id]
        pay.us = read_int(us)
        pay.grant = None if grant is None else grants[grant]
        pay.reward = Decimal(reward)
        pay.refunded = _bool(refunded)
        engine.payments[read_str(payment_id)] = pay
    for key, code, partner_code, valid_us, until_us, deactivated_us in doc["promos"]:
        promo = _Promo.__new__(_Promo)
        promo.code = read_str(code)
        promo.partner = read_str(partner_code)
        promo.valid_us = read_int(valid_us)
        promo.until_us = read_int(until_us)
        promo.deactivated_us = None if deactivated_us is None else read_int(deactivated_us)
        engine.promos[read_str(key)] = promo
    engine.rejected = [
        Rejection(read_int(index), event_id, read_str(reason))
        for index, event_id, reason in doc["rejected"]
    ]
    return engine


def read_int(value: Any) -> int:
    if value.__class__ is not int:
        raise StateFormatError(f"an integer expected, found {value!r:.40}")
    return int(value)


def read_str(value: Any) -> str:
    if value.__class__ is not str:
        raise StateFormatError(f"a string expected, found {value!r:.40}")
    return str(value)


def _bool(value: Any) -> bool:
    if value.__class__ is not bool:
        raise StateFormatError(f"true or false expected, found {value!r:.40}")
    return bool(value)


def _grant(row: list[Any]) -> Grant:
    event_id, at, points, expires_at, cause, client, version, payment, revoked_at, by = row
    return Grant(
        read_str(event_id),
        _parse_time(at),
        read_int(points),
        _parse_time(expires_at),
        read_str(cause),
        client,
        read_int(version),
        payment,
        _parse_time_or_none(revoked_at),
        by,
    )


def _partner(row: list[Any], grants: list[Grant]) -> _Partner:
    (
        code,
        reg_at,
        reg_us,
        inn,
        blocked,
        level,
        active,
        points_total,
        accrued,
        clients,
        active_clients,
        grant_refs,
        heap,
        seq,
        bonuses,
        levels,
        reviews,
        revocations,
        review_months,
        next_review,
        next_review_us,
    ) = row
    p = _Partner.__new__(_Partner)
    p.code = read_str(code)
    p.reg_at = _parse_time(reg_at)
    p.reg_us = read_int(reg_us)
    p.inn = inn
    p.blocked = _bool(blocked)
    p.level = read_int(level)
    p.active = read_int(active)
    p.points_total = read_int(points_total)
    p.accrued = Decimal(accrued)
    p.clients = read_int(clients)
    p.active_clients = read_int(active_clients)
    p.grants = [grants[i] for i in grant_refs]
    p.heap = [(read_int(expires_us), read_int(number), grants[i]) for expires_us, number, i in heap]
    p.seq = read_int(seq)
    p.bonuses = [
        BonusEntry(
            read_str(b[0]),
            read_str(b[1]),
            _parse_time(b[2]),
            Decimal(b[3]),
            read_str(b[4]),
            b[5],
            read_int(b[6]),
            b[7],
            _money_from(b[8]),
            _money_from(b[9]),
        )
        for b in bonuses
    ]
    p.levels = [
        LevelChange(
            _parse_time(at),
            read_int(old),
            read_int(new),
            read_str(cause),
            event_id,
            read_int(v),
            read_int(a),
        )
        for at, old, new, cause, event_id, v, a in levels
    ]
    p.reviews = [
        Review(_parse_time(at), read_int(points), read_int(before), read_int(after), read_int(v))
        for at, points, before, after, v in reviews
    ]
    p.revocations = [grants[i] for i in revocations]
    p.review_months = read_int(review_months)
    p.next_review = _parse_time(next_review)
    p.next_review_us = read_int(next_review_us)
    return p


def _client(row: list[Any]) -> _Client:
    (
        client_id,
        reg_at,
        reg_us,
        partner,
        candidate,
        reason,
        active_at,
        lines,
        first_paid,
        payments,
        paid,
        reg_day,
        last_active_day,
        reward_until,
    ) = row
    c = _Client.__new__(_Client)
    c.id = read_str(client_id)
    c.reg_at = _parse_time(reg_at)
    c.reg_us = read_int(reg_us)
    c.partner = partner
    c.candidate = candidate
    c.reason = reason
    c.active_at = _parse_time_or_none(active_at)
    c.lines = {read_str(line) for line in lines}
    c.first_paid = _bool(first_paid)
    c.payments = read_int(payments)
    c.paid = Decimal(paid)
    c.reg_day = _date(reg_day)
    c.last_active_day = _date(last_active_day)
    c.reward_until = read_int(reward_until)
    return c


# --- bytes --------------------------------------------------------------------------------------


def state_encode(doc: dict[str, Any]) -> bytes:
    """The bytes stored for a document: a format byte, then its JSON (compressed when long)."""
    text = orjson.dumps(doc)
    if len(text) > COMPRESS_OVER:
        return _ZLIB + zlib.compress(text, 1)
    return _PLAIN + text


def state_decode(blob: bytes | memoryview | None) -> Any:
    """The document ``state_encode`` wrote; ``StateFormatError`` for anything else (an empty
    value, a state of an older release, damaged bytes). Never runs code: not pickle."""
    data = bytes(blob) if blob is not None else b""
    head, body = data[:1], data[1:]
    try:
        if head == _PLAIN:
            return orjson.loads(body)
        if head == _ZLIB:
            inflater = zlib.decompressobj()
            text = inflater.decompress(body, _MAX_INFLATED)
            if inflater.unconsumed_tail or not inflater.eof:
                raise StateFormatError("compressed state damaged or too large")
            return orjson.loads(text)
    except (orjson.JSONDecodeError, zlib.error) as exc:
        raise StateFormatError(f"unreadable state: {exc}") from exc
    raise StateFormatError(f"not a state of this release (first byte {head!r})")
