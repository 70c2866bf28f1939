"""The referral rule engine (spec: referrals.md): a pure function of the events, the program
configuration and an as-of time. No Django and no database inside: the live standing
(``referrals.services.live``), the replay command and the property tests all run this code.

``run(objs, as_of=...)`` is the whole pipeline for raw event objects: check each one
(``events.parse_event``), drop repeated ids (the first arrival wins), order by (``at``, ``id``)
and fold them (``core.Engine``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from operator import attrgetter
from typing import Any

from partnerhub.referrals.engine.config import (
    DEFAULT,
    ConfigError,
    ConfigSet,
    ProgramConfig,
    config_from_dict,
    config_to_dict,
)
from partnerhub.referrals.engine.core import Engine, promo_key, promo_owner
from partnerhub.referrals.engine.events import (
    EPOCH,
    EVENT_TYPES,
    ONE_US,
    Event,
    EventRejected,
    parse_event,
    parse_timestamp,
)
from partnerhub.referrals.engine.results import (
    BonusEntry,
    ClientRecord,
    Grant,
    LevelChange,
    PartnerResult,
    Rejection,
    Result,
    Review,
    Standing,
)

__all__ = [
    "DEFAULT",
    "EPOCH",
    "EVENT_TYPES",
    "ONE_US",
    "BonusEntry",
    "ClientRecord",
    "ConfigError",
    "ConfigSet",
    "Engine",
    "Event",
    "EventRejected",
    "Grant",
    "LevelChange",
    "PartnerResult",
    "ProgramConfig",
    "Rejection",
    "Result",
    "Review",
    "Standing",
    "config_from_dict",
    "config_to_dict",
    "in_order",
    "parse_all",
    "parse_event",
    "parse_timestamp",
    "promo_key",
    "promo_owner",
    "run",
]

SORT_KEY = attrgetter("us", "id")
_BY_TIME = attrgetter("us")
_BY_ID = attrgetter("id")


def parse_all(objs: Iterable[Any]) -> tuple[list[Event], list[Rejection]]:
    """Check every object; the first event with an id wins, later ones are rejected."""
    events: list[Event] = []
    rejected: list[Rejection] = []
    seen: set[str] = set()
    for index, obj in enumerate(objs):
        try:
            event = parse_event(obj, index)
        except EventRejected as exc:
            event_id = obj.get("id") if isinstance(obj, dict) else None
            rejected.append(
                Rejection(index, event_id if isinstance(event_id, str) else None, exc.reason)
            )
            continue
        if event.id in seen:
            rejected.append(Rejection(index, event.id, "duplicate id (ignored)"))
            continue
        seen.add(event.id)
        events.append(event)
    return events, rejected


def in_order(events: list[Event]) -> list[Event]:
    """The events sorted by (``at``, ``id``): the order the rules are defined in.

    Sorted by time alone (an integer key, fast), then each run of equal times by id.
    """
    ordered = sorted(events, key=_BY_TIME)
    start = 0
    count = len(ordered)
    for index in range(1, count + 1):
        if index == count or ordered[index].us != ordered[start].us:
            if index - start > 1:
                ordered[start:index] = sorted(ordered[start:index], key=_BY_ID)
            start = index
    return ordered


def run(
    objs: Iterable[Any],
    *,
    as_of: dt.datetime,
    configs: ConfigSet | None = None,
    history: bool = True,
) -> Result:
    """The standing of every partner as of ``as_of`` from raw event objects, in any order
    (``history=False``: standings only, no history and no client records)."""
    events, rejected = parse_all(objs)
    limit = (as_of - EPOCH) // ONE_US
    engine = Engine(configs)
    engine.apply(e for e in in_order(events) if e.us <= limit)
    result = engine.result(as_of, history=history, clients=history)
    result.rejected = sorted([*rejected, *result.rejected], key=attrgetter("index"))
    return result
