"""What the engine returns: standings and the history that explains them (plain dataclasses)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

__all__ = [
    "BonusEntry",
    "ClientRecord",
    "Grant",
    "LevelChange",
    "PartnerResult",
    "Rejection",
    "Result",
    "Review",
    "Standing",
]


@dataclass(slots=True)
class Grant:
    """Points granted (баллы): active from ``at`` until ``expires_at`` (exclusive).

    ``revoked_at`` is set when a refund takes the points back; they stop being active then.
    The engine never changes a grant in place: a refund puts a revoked copy where the grant was
    (copies of the engine share grants, ``Engine.snapshot``). ``cause`` is ``activation``,
    ``payment`` or ``adjustment``.
    """

    event_id: str
    at: dt.datetime
    points: int
    expires_at: dt.datetime
    cause: str
    client: str | None
    config_version: int
    payment: str | None = None
    revoked_at: dt.datetime | None = None
    revoked_by: str | None = None


@dataclass(slots=True)
class BonusEntry:
    """Bonuses accrued (positive) or taken back (negative); 1 bonus = 1 rouble.

    ``ref`` is stable across recomputations (the ledger reference derives from it); ``kind`` is
    ``activation``, ``reward``, ``refund`` or ``adjustment``; ``rate`` is the reward percent.
    """

    ref: str
    event_id: str
    at: dt.datetime
    amount: Decimal
    kind: str
    client: str | None
    config_version: int
    payment: str | None = None
    rate: Decimal | None = None
    base: Decimal | None = None


@dataclass(frozen=True, slots=True)
class LevelChange:
    """A move between levels: ``promotion`` after an event, or ``review``."""

    at: dt.datetime
    old: int
    new: int
    cause: str
    event_id: str | None
    config_version: int
    active_points: int


@dataclass(frozen=True, slots=True)
class Review:
    """A level review (every period from registration), whether or not it moved the level."""

    at: dt.datetime
    active_points: int
    level_before: int
    level_after: int
    config_version: int


@dataclass(frozen=True, slots=True)
class Standing:
    """A partner's standing as of a time (spec: "Standing: what a partner sees")."""

    partner: str
    level: int
    active_points: int
    points_total: int
    bonus_accrued: Decimal
    bonus_balance: Decimal
    clients: int
    active_clients: int
    next_review: dt.datetime
    registered_at: dt.datetime


#: The standing's figures the live state stores per partner (``PartnerState`` columns), the admin
#: shows and ``live.verify`` compares with the replay: defined once, here.
STANDING_FIGURES: tuple[str, ...] = (
    "level",
    "active_points",
    "points_total",
    "bonus_accrued",
    "clients",
    "active_clients",
    "next_review",
)


@dataclass(slots=True)
class PartnerResult:
    """One partner's standing and its full history."""

    standing: Standing
    grants: list[Grant] = field(default_factory=list)
    bonuses: list[BonusEntry] = field(default_factory=list)
    levels: list[LevelChange] = field(default_factory=list)
    reviews: list[Review] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ClientRecord:
    """A registered client: its partner (None when unattributed, with ``reason``)."""

    client: str
    partner: str | None
    reason: str | None
    registered_at: dt.datetime
    candidate: str | None
    active_at: dt.datetime | None
    payments: int
    paid: Decimal


@dataclass(frozen=True, slots=True)
class Rejection:
    """An event the engine did not apply: ``index`` is its position in the input (0-based)."""

    index: int
    event_id: str | None
    reason: str


@dataclass(slots=True)
class Result:
    """The engine's answer for a set of events as of a time."""

    as_of: dt.datetime
    partners: dict[str, PartnerResult]
    clients: dict[str, ClientRecord]
    rejected: list[Rejection]
