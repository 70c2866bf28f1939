"""A partner's history in the database: drained from the live engine, read back as engine types.

The live engine would otherwise carry every grant, bonus, level change and review it ever made,
and its stored state (saved, checkpointed, replayed) would grow without end. ``drain`` takes
what the engine made since the last time out of it (the lists are emptied) as rows;
``read`` builds the engine's own result types back from the rows as of any time, so pages and
the API see the same ``PartnerResult`` as the replay.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from partnerhub.partners.models import Program
from partnerhub.referrals.engine import EPOCH, ONE_US
from partnerhub.referrals.engine.results import BonusEntry, Grant, LevelChange, Review
from partnerhub.referrals.models.events import HistoryItem, HistoryKind
from partnerhub.referrals.services.bulk import delete_rows

__all__ = ["Drained", "clear_many", "drain", "read"]


def _us(moment: dt.datetime) -> int:
    return (moment - EPOCH) // ONE_US


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _time(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


def _money(value: Decimal | None) -> str | None:
    return str(value) if value is not None else None


class Drained:
    """Rows for ``HistoryItem`` and the bonus entries among them (for the ledger)."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str, int, str, dict[str, Any]]] = []
        self.bonuses: list[BonusEntry] = []
        self.levels: list[LevelChange] = []


def drain(partner: Any, drained: Drained) -> None:
    """Move what the engine's partner made since the last drain into ``drained``."""
    code = partner.code
    for g in partner.grants:
        drained.rows.append(
            (
                code,
                HistoryKind.GRANT,
                _us(g.at),
                g.event_id,
                {
                    "event": g.event_id,
                    "at": g.at.isoformat(),
                    "points": g.points,
                    "expires_at": g.expires_at.isoformat(),
                    "cause": g.cause,
                    "client": g.client,
                    "payment": g.payment,
                    "config_version": g.config_version,
                },
            )
        )
    for g in partner.revocations:
        drained.rows.append(
            (
                code,
                HistoryKind.REVOKE,
                _us(g.revoked_at),
                g.revoked_by or "",
                {"grant": g.event_id, "at": _iso(g.revoked_at), "by": g.revoked_by},
            )
        )
    for b in partner.bonuses:
        drained.bonuses.append(b)
        drained.rows.append(
            (
                code,
                HistoryKind.BONUS,
                _us(b.at),
                b.event_id,
                {
                    "ref": b.ref,
                    "event": b.event_id,
                    "at": b.at.isoformat(),
                    "amount": str(b.amount),
                    "kind": b.kind,
                    "client": b.client,
                    "payment": b.payment,
                    "rate": _money(b.rate),
                    "base": _money(b.base),
                    "config_version": b.config_version,
                },
            )
        )
    for c in partner.levels:
        drained.levels.append(c)
        drained.rows.append(
            (
                code,
                HistoryKind.LEVEL,
                _us(c.at),
                c.event_id or "",
                {
                    "at": c.at.isoformat(),
                    "old": c.old,
                    "new": c.new,
                    "cause": c.cause,
                    "event": c.event_id,
                    "config_version": c.config_version,
                    "active_points": c.active_points,
                },
            )
        )
    for r in partner.reviews:
        drained.rows.append(
            (
                code,
                HistoryKind.REVIEW,
                _us(r.at),
                "",
                {
                    "at": r.at.isoformat(),
                    "active_points": r.active_points,
                    "level_before": r.level_before,
                    "level_after": r.level_after,
                    "config_version": r.config_version,
                },
            )
        )
    partner.grants = []
    partner.revocations = []
    partner.bonuses = []
    partner.levels = []
    partner.reviews = []


def clear_many(
    program: Program, clears: list[tuple[str, int]], *, reviews_only: bool = False
) -> None:
    """Delete, for each (partner code, since µs), the entries a recomputation from that time
    writes again (``reviews_only``: only the reviews and the level changes they made, when time
    is moved on again from the last event); one statement for all partners."""
    delete_rows(
        HistoryItem,
        [(program.pk, code, since) for code, since in clears],
        equal=["program_id", "partner"],
        bound="at_us",
        inclusive=True,
        extra=REVIEWS_ONLY_SQL if reviews_only else "",
    )


#: The rows ``clear_many`` deletes with ``reviews_only``.
REVIEWS_ONLY_SQL = "kind = 'review' OR (kind = 'level' AND event_id = '')"


def read(
    program: Program, code: str, as_of_us: int
) -> tuple[list[Grant], list[BonusEntry], list[LevelChange], list[Review]]:
    """The partner's history up to ``as_of_us``, as the engine's types, in time order."""
    rows = HistoryItem.objects.filter(program=program, partner=code, at_us__lte=as_of_us)
    grants: dict[str, Grant] = {}
    bonuses: list[BonusEntry] = []
    levels: list[LevelChange] = []
    reviews: list[Review] = []
    revocations: list[dict[str, Any]] = []
    for kind, data in rows.order_by("at_us", "pk").values_list("kind", "data"):
        if kind == HistoryKind.GRANT:
            grants[data["event"]] = Grant(
                data["event"],
                dt.datetime.fromisoformat(data["at"]),
                data["points"],
                dt.datetime.fromisoformat(data["expires_at"]),
                data["cause"],
                data["client"],
                data["config_version"],
                data["payment"],
            )
        elif kind == HistoryKind.REVOKE:
            revocations.append(data)
        elif kind == HistoryKind.BONUS:
            bonuses.append(
                BonusEntry(
                    data["ref"],
                    data["event"],
                    dt.datetime.fromisoformat(data["at"]),
                    Decimal(data["amount"]),
                    data["kind"],
                    data["client"],
                    data["config_version"],
                    data["payment"],
                    Decimal(data["rate"]) if data["rate"] is not None else None,
                    Decimal(data["base"]) if data["base"] is not None else None,
                )
            )
        elif kind == HistoryKind.LEVEL:
            levels.append(
                LevelChange(
                    dt.datetime.fromisoformat(data["at"]),
                    data["old"],
                    data["new"],
                    data["cause"],
                    data["event"],
                    data["config_version"],
                    data["active_points"],
                )
            )
        else:
            reviews.append(
                Review(
                    dt.datetime.fromisoformat(data["at"]),
                    data["active_points"],
                    data["level_before"],
                    data["level_after"],
                    data["config_version"],
                )
            )
    for revocation in revocations:
        grant = grants.get(revocation["grant"])
        if grant is not None:
            grant.revoked_at = _time(revocation["at"])
            grant.revoked_by = revocation["by"]
    return list(grants.values()), bonuses, levels, reviews
